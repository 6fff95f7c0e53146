#include "winograd_f4x3_kernel.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include <algorithm>

// Every function that uses AVX2 carries the target itself: a lambda or an OpenMP region would
// not inherit it, so there are none here (the threads are WinogradConv's).
#define S8NET_AVX2 __attribute__((target("avx2,fma")))
#define S8NET_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

namespace s8net::winograd {
namespace {

constexpr int kSide = 6;  // an input tile is 6x6 for 4x4 outputs
constexpr int kPoints = kSide * kSide;
constexpr int kOut = 4;
constexpr int kLanes = 8;

// B^T x for one line of 6 values: the input transform's 1-D step, applied down the columns of
// a tile and then along its rows.
S8NET_AVX2_INLINE void input_line(const __m256 (&d)[kSide], __m256 (&r)[kSide]) {
  const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f);
  r[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
  const __m256 sum34 = _mm256_add_ps(d[3], d[4]), sum12 = _mm256_add_ps(d[1], d[2]);
  r[1] = _mm256_fnmadd_ps(four, sum12, sum34);
  const __m256 diff43 = _mm256_sub_ps(d[4], d[3]), diff12 = _mm256_sub_ps(d[1], d[2]);
  r[2] = _mm256_fmadd_ps(four, diff12, diff43);
  const __m256 diff42 = _mm256_sub_ps(d[4], d[2]), diff31 = _mm256_sub_ps(d[3], d[1]);
  r[3] = _mm256_fmadd_ps(two, diff31, diff42);
  r[4] = _mm256_fnmadd_ps(two, diff31, diff42);
  r[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

// A^T x for one line of 6 products: the output transform's 1-D step.
S8NET_AVX2_INLINE void output_line(const __m256 (&m)[kSide], __m256 (&o)[kOut]) {
  const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), eight = _mm256_set1_ps(8.f);
  const __m256 sum12 = _mm256_add_ps(m[1], m[2]), diff12 = _mm256_sub_ps(m[1], m[2]);
  const __m256 sum34 = _mm256_add_ps(m[3], m[4]), diff34 = _mm256_sub_ps(m[3], m[4]);
  o[0] = _mm256_add_ps(_mm256_add_ps(m[0], sum12), sum34);
  o[1] = _mm256_fmadd_ps(two, diff34, diff12);
  o[2] = _mm256_fmadd_ps(four, sum34, sum12);
  o[3] = _mm256_add_ps(_mm256_fmadd_ps(eight, diff34, diff12), m[5]);
}

// A y for one line of 4 output gradients: the transpose of the output transform's step.
S8NET_AVX2_INLINE void gradient_line(const __m256 (&y)[kOut], __m256 (&r)[kSide]) {
  const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), eight = _mm256_set1_ps(8.f);
  const __m256 sum02 = _mm256_add_ps(y[0], y[2]), sum13 = _mm256_add_ps(y[1], y[3]);
  const __m256 even = _mm256_fmadd_ps(four, y[2], y[0]), odd = _mm256_fmadd_ps(eight, y[3], _mm256_mul_ps(two, y[1]));
  r[0] = y[0];
  r[1] = _mm256_add_ps(sum02, sum13);
  r[2] = _mm256_sub_ps(sum02, sum13);
  r[3] = _mm256_add_ps(even, odd);
  r[4] = _mm256_sub_ps(even, odd);
  r[5] = y[3];
}

struct Block {
  const WinogradShape& shape;
  TileGrid grid;
  int64_t first;
};

// Where a block's tile `slot` lies: its image and the row and column of its first output.
struct TileOrigin {
  int64_t image, y, x;
};

inline TileOrigin origin_of(const Block& block, int64_t slot) {
  const int64_t tile = block.first + slot, at = tile % block.grid.per_image();
  return {tile / block.grid.per_image(), at / block.grid.columns * kOut, at % block.grid.columns * kOut};
}

// V[p][slot][c] = (B^T d B)[p] for each channel c of the tile, d read with zeros outside the image;
// Mapped: d = relu(scale * src + shift) inside the image, with fusion's per-(image, channel) map.
template <bool Mapped>
S8NET_AVX2_INLINE void transform_input(const Block& block, const float* src, int64_t slot, float* v,
                                       const BlockFusion& fusion) {
  const WinogradShape& s = block.shape;
  const auto [image, top, left] = origin_of(block, slot);
  const int64_t y0 = top - 1, x0 = left - 1;  // the input tile starts one pixel before its outputs
  const int64_t channel_blocks = s.in_channels / kLanes, point_stride = kBlockTiles * s.in_channels;
  for (int64_t cb = 0; cb < channel_blocks; ++cb) {
    const float* plane = src + (image * channel_blocks + cb) * s.height * s.width * kLanes;
    __m256 scale = _mm256_setzero_ps(), shift = _mm256_setzero_ps();
    if constexpr (Mapped) {
      scale = _mm256_loadu_ps(fusion.input_scale + image * s.in_channels + cb * kLanes);
      shift = _mm256_loadu_ps(fusion.input_shift + image * s.in_channels + cb * kLanes);
    }
    __m256 columns[kSide][kSide];  // [x][y]: each column of the tile is one line
    for (int i = 0; i < kSide; ++i) {
      const int64_t y = y0 + i;
      const bool row_inside = y >= 0 && y < s.height;
      for (int j = 0; j < kSide; ++j) {
        const int64_t x = x0 + j;
        __m256 value = _mm256_setzero_ps();  // the padding is zero after the map too
        if (row_inside && x >= 0 && x < s.width) {
          value = _mm256_loadu_ps(plane + (y * s.width + x) * kLanes);
          if constexpr (Mapped) value = _mm256_max_ps(_mm256_fmadd_ps(value, scale, shift), _mm256_setzero_ps());
        }
        columns[j][i] = value;
      }
    }
    __m256 rows[kSide][kSide];  // [y'][x]: B^T d
    for (int j = 0; j < kSide; ++j) {
      __m256 line[kSide];
      input_line(columns[j], line);
      for (int i = 0; i < kSide; ++i) rows[i][j] = line[i];
    }
    float* out = v + slot * s.in_channels + cb * kLanes;
    for (int i = 0; i < kSide; ++i) {
      __m256 line[kSide];
      input_line(rows[i], line);
      for (int j = 0; j < kSide; ++j) _mm256_storeu_ps(out + (i * kSide + j) * point_stride, line[j]);
    }
  }
}

// One transform point's matrix product in registers: c[r][k] for r < rows, k < columns, the sum
// over x < depth of a(r, x) b[x][k], with b[x][k] = b[x * b_row + k], c[r][k] = c[r * c_row + k].
// The forward's product (tiles x input channels times input x output channels) stores it, with a
// row-major: a(r, x) = a[r * a_stride + x]. The weight gradient's (input channels x tiles times
// tiles x output channels) adds it to c, with a depth-major: a(r, x) = a[r + x * a_stride]. The
// orientation is a template parameter so that the row offsets stay constants in the addresses.
struct Product {
  const float* a;
  int64_t a_stride;
  const float* b;
  int64_t b_row;
  float* c;
  int64_t c_row;
  int64_t rows, depth, columns;
};

// Rows x Vectors sums of c[r0..r0+Rows)[k0..k0+8*Vectors); Gradient: a depth-major, c += sums.
template <int Rows, int Vectors, bool Gradient>
S8NET_AVX2_INLINE void product_tile(const Product& p, int64_t r0, int64_t k0) {
  const int64_t row_step = Gradient ? 1 : p.a_stride, depth_step = Gradient ? p.a_stride : 1;
  const float* a = p.a + r0 * row_step;
  __m256 sum[Rows][Vectors];
  for (int r = 0; r < Rows; ++r)
    for (int w = 0; w < Vectors; ++w) sum[r][w] = _mm256_setzero_ps();
  for (int64_t x = 0; x < p.depth; ++x) {
    __m256 b[Vectors];
    for (int w = 0; w < Vectors; ++w) b[w] = _mm256_loadu_ps(p.b + x * p.b_row + k0 + w * kLanes);
    for (int r = 0; r < Rows; ++r) {
      const __m256 ax = _mm256_broadcast_ss(a + r * row_step + x * depth_step);
      for (int w = 0; w < Vectors; ++w) sum[r][w] = _mm256_fmadd_ps(ax, b[w], sum[r][w]);
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int w = 0; w < Vectors; ++w) {
      float* at = p.c + (r0 + r) * p.c_row + k0 + w * kLanes;
      _mm256_storeu_ps(at, Gradient ? _mm256_add_ps(_mm256_loadu_ps(at), sum[r][w]) : sum[r][w]);
    }
}

template <int Vectors, bool Gradient>
S8NET_AVX2_INLINE void product_columns(const Product& p, int64_t k0) {
  constexpr int kRows = 6;  // 6 x 2 sums, the b vectors and a broadcast fill the 16 registers
  int64_t r = 0;
  for (; r + kRows <= p.rows; r += kRows) product_tile<kRows, Vectors, Gradient>(p, r, k0);
  switch (p.rows - r) {
    case 5:
      return product_tile<5, Vectors, Gradient>(p, r, k0);
    case 4:
      return product_tile<4, Vectors, Gradient>(p, r, k0);
    case 3:
      return product_tile<3, Vectors, Gradient>(p, r, k0);
    case 2:
      return product_tile<2, Vectors, Gradient>(p, r, k0);
    case 1:
      return product_tile<1, Vectors, Gradient>(p, r, k0);
    default:
      return;
  }
}

template <bool Gradient>
S8NET_AVX2_INLINE void product(const Product& p) {
  int64_t k = 0;
  for (; k + 2 * kLanes <= p.columns; k += 2 * kLanes) product_columns<2, Gradient>(p, k);
  if (k < p.columns) product_columns<1, Gradient>(p, k);
}

// M[p] = V[p] U[p] for the 36 points: per point, tiles x in times in x out.
S8NET_AVX2 void multiply(const WinogradShape& s, const float* v, const float* u, float* m, int64_t count) {
  const int64_t in = s.in_channels, out = s.out_channels;
  for (int p = 0; p < kPoints; ++p)
    product<false>(
        {v + p * kBlockTiles * in, in, u + p * in * out, out, m + p * kBlockTiles * out, out, count, in, out});
}

// dst = relu?(A^T M A + bias) for the part of the tile's 4x4 outputs inside the image; WithMoments:
// and the tile's moments of what it wrote, per channel, into fusion.tile_moments. They are sums of
// (value - k), k the tile's first value, so the square sums stay clear of the mean's size.
template <bool WithMoments>
S8NET_AVX2_INLINE void transform_output(const Block& block, bool relu, const float* m, const float* bias, int64_t slot,
                                        float* dst, const BlockFusion& fusion) {
  const WinogradShape& s = block.shape;
  const auto [image, y0, x0] = origin_of(block, slot);
  const int64_t rows = std::min<int64_t>(kOut, s.height - y0), cols = std::min<int64_t>(kOut, s.width - x0);
  const int64_t channel_blocks = s.out_channels / kLanes, point_stride = kBlockTiles * s.out_channels;
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t kb = 0; kb < channel_blocks; ++kb) {
    __m256 first = zero, sum = zero, squares = zero;
    const float* in = m + slot * s.out_channels + kb * kLanes;
    __m256 reduced[kOut][kSide];  // [y][x']: A^T M
    for (int j = 0; j < kSide; ++j) {
      __m256 column[kSide], line[kOut];
      for (int i = 0; i < kSide; ++i) column[i] = _mm256_loadu_ps(in + (i * kSide + j) * point_stride);
      output_line(column, line);
      for (int r = 0; r < kOut; ++r) reduced[r][j] = line[r];
    }
    const __m256 b = _mm256_loadu_ps(bias + kb * kLanes);
    float* plane = dst + (image * channel_blocks + kb) * s.height * s.width * kLanes;
    if (rows == kOut && cols == kOut) {
      // A whole tile (every tile but the image's last row and column when its sides are not
      // multiples of 4): constant bounds, and the moments' sums a short chain per row.
      for (int r = 0; r < kOut; ++r) {
        __m256 line[kOut];
        output_line(reduced[r], line);
        for (int c = 0; c < kOut; ++c) {
          line[c] = _mm256_add_ps(line[c], b);
          if (relu) line[c] = _mm256_max_ps(line[c], zero);
          _mm256_storeu_ps(plane + ((y0 + r) * s.width + x0 + c) * kLanes, line[c]);
        }
        if constexpr (WithMoments) {
          if (r == 0) first = line[0];
          __m256 d[kOut];
          for (int c = 0; c < kOut; ++c) d[c] = _mm256_sub_ps(line[c], first);
          sum = _mm256_add_ps(sum, _mm256_add_ps(_mm256_add_ps(d[0], d[1]), _mm256_add_ps(d[2], d[3])));
          const __m256 squares01 = _mm256_fmadd_ps(d[0], d[0], _mm256_mul_ps(d[1], d[1]));
          const __m256 squares23 = _mm256_fmadd_ps(d[2], d[2], _mm256_mul_ps(d[3], d[3]));
          squares = _mm256_add_ps(squares, _mm256_add_ps(squares01, squares23));
        }
      }
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        __m256 line[kOut];
        output_line(reduced[r], line);
        for (int64_t c = 0; c < cols; ++c) {
          __m256 value = _mm256_add_ps(line[c], b);
          if (relu) value = _mm256_max_ps(value, zero);
          _mm256_storeu_ps(plane + ((y0 + r) * s.width + x0 + c) * kLanes, value);
          if constexpr (WithMoments) {
            if (r == 0 && c == 0) first = value;
            const __m256 d = _mm256_sub_ps(value, first);
            sum = _mm256_add_ps(sum, d);
            squares = _mm256_fmadd_ps(d, d, squares);
          }
        }
      }
    }
    if constexpr (WithMoments) {
      // mean = k + sum / count, m2 = squares - sum^2 / count
      const __m256 per_value = _mm256_set1_ps(1.f / static_cast<float>(rows * cols));
      const __m256 offset = _mm256_mul_ps(sum, per_value);
      float* out = fusion.tile_moments + ((block.first + slot) * channel_blocks + kb) * 2 * kLanes;
      _mm256_storeu_ps(out, _mm256_add_ps(first, offset));
      _mm256_storeu_ps(out + kLanes, _mm256_fnmadd_ps(sum, offset, squares));
    }
  }
}

// M[p][slot][k] = (A dy A^T)[p] for each output channel k of the tile, dy zero outside the image;
// adds the tile's dy to bias_acc.
S8NET_AVX2 void transform_output_gradient(const Block& block, const float* diff_dst, int64_t slot, float* m,
                                          float* bias_acc) {
  const WinogradShape& s = block.shape;
  const auto [image, y0, x0] = origin_of(block, slot);
  const int64_t rows = std::min<int64_t>(kOut, s.height - y0), cols = std::min<int64_t>(kOut, s.width - x0);
  const int64_t channel_blocks = s.out_channels / kLanes, point_stride = kBlockTiles * s.out_channels;
  for (int64_t kb = 0; kb < channel_blocks; ++kb) {
    const float* plane = diff_dst + (image * channel_blocks + kb) * s.height * s.width * kLanes;
    __m256 columns[kOut][kOut];  // [x][y]
    __m256 sum = _mm256_setzero_ps();
    for (int64_t r = 0; r < kOut; ++r)
      for (int64_t c = 0; c < kOut; ++c) {
        columns[c][r] = r < rows && c < cols ? _mm256_loadu_ps(plane + ((y0 + r) * s.width + x0 + c) * kLanes)
                                             : _mm256_setzero_ps();
        sum = _mm256_add_ps(sum, columns[c][r]);
      }
    _mm256_storeu_ps(bias_acc + kb * kLanes, _mm256_add_ps(_mm256_loadu_ps(bias_acc + kb * kLanes), sum));
    __m256 rows_of[kSide][kOut];  // [a][x]: A dy
    for (int c = 0; c < kOut; ++c) {
      __m256 line[kSide];
      gradient_line(columns[c], line);
      for (int a = 0; a < kSide; ++a) rows_of[a][c] = line[a];
    }
    float* out = m + slot * s.out_channels + kb * kLanes;
    for (int a = 0; a < kSide; ++a) {
      __m256 line[kSide];
      gradient_line(rows_of[a], line);
      for (int b = 0; b < kSide; ++b) _mm256_storeu_ps(out + (a * kSide + b) * point_stride, line[b]);
    }
  }
}

// acc[p] += V[p]^T M[p] for the 36 points: per point, in x tiles times tiles x out.
S8NET_AVX2 void accumulate(const WinogradShape& s, const float* v, const float* m, float* acc, int64_t count) {
  const int64_t in = s.in_channels, out = s.out_channels;
  for (int p = 0; p < kPoints; ++p)
    product<true>(
        {v + p * kBlockTiles * in, in, m + p * kBlockTiles * out, out, acc + p * in * out, out, in, count, out});
}

S8NET_AVX2 void weight_gradient_block(const WinogradShape& shape, const float* src, const float* diff_dst,
                                      int64_t first, int64_t count, float* v, float* m, float* acc, float* bias_acc) {
  const Block block{shape, TileGrid(shape), first};
  for (int64_t slot = 0; slot < count; ++slot) transform_input<false>(block, src, slot, v, {});
  for (int64_t slot = 0; slot < count; ++slot) transform_output_gradient(block, diff_dst, slot, m, bias_acc);
  accumulate(shape, v, m, acc, count);
}

template <bool Mapped, bool WithMoments>
S8NET_AVX2 void run_block(const WinogradShape& shape, bool relu, const float* src, const float* u, const float* bias,
                          float* dst, int64_t first, int64_t count, float* v, float* m, const BlockFusion& fusion) {
  const Block block{shape, TileGrid(shape), first};
  for (int64_t slot = 0; slot < count; ++slot) transform_input<Mapped>(block, src, slot, v, fusion);
  multiply(shape, v, u, m, count);
  for (int64_t slot = 0; slot < count; ++slot) transform_output<WithMoments>(block, relu, m, bias, slot, dst, fusion);
}

// The moments of image's planes from its tiles' in one sweep in double: around k, the first tile's
// mean, mean = k + S1 / N and m2 = sum(m2_t) + S2 - S1^2 / N with S1 = sum n_t (mean_t - k) and
// S2 = sum n_t (mean_t - k)^2 (the pairwise merge of moments, summed in tile order).
S8NET_AVX2 void merge_moments(const WinogradShape& s, const float* tile_moments, int64_t image,
                              s8net_plane_moments* out) {
  const TileGrid grid(s);
  const int64_t blocks = s.out_channels / kLanes, per_tile = 2 * s.out_channels;
  const float* tiles = tile_moments + image * grid.per_image() * per_tile;
  for (int64_t kb = 0; kb < blocks; ++kb) {
    __m256d k[2], s1[2], s2[2], m2[2];
    const float* first = tiles + kb * 2 * kLanes;
    for (int h = 0; h < 2; ++h) {
      k[h] = _mm256_cvtps_pd(_mm_loadu_ps(first + h * 4));
      s1[h] = s2[h] = m2[h] = _mm256_setzero_pd();
    }
    for (int64_t t = 0; t < grid.per_image(); ++t) {
      const int64_t rows = std::min<int64_t>(kOut, s.height - t / grid.columns * kOut);
      const int64_t cols = std::min<int64_t>(kOut, s.width - t % grid.columns * kOut);
      const __m256d count = _mm256_set1_pd(static_cast<double>(rows * cols));
      const float* tile = tiles + t * per_tile + kb * 2 * kLanes;
      for (int h = 0; h < 2; ++h) {
        const __m256d d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(tile + h * 4)), k[h]);
        const __m256d weighted = _mm256_mul_pd(count, d);
        s1[h] = _mm256_add_pd(s1[h], weighted);
        s2[h] = _mm256_fmadd_pd(weighted, d, s2[h]);
        m2[h] = _mm256_add_pd(m2[h], _mm256_cvtps_pd(_mm_loadu_ps(tile + kLanes + h * 4)));
      }
    }
    const __m256d values = _mm256_set1_pd(static_cast<double>(s.height * s.width));
    for (int h = 0; h < 2; ++h) {
      const __m256d offset = _mm256_div_pd(s1[h], values);
      alignas(32) double mean[4], spread[4];
      _mm256_store_pd(mean, _mm256_add_pd(k[h], offset));
      _mm256_store_pd(spread, _mm256_fnmadd_pd(s1[h], offset, _mm256_add_pd(m2[h], s2[h])));
      for (int l = 0; l < 4; ++l) out[kb * kLanes + h * 4 + l] = {mean[l], std::max(0.0, spread[l])};
    }
  }
}

}  // namespace

void merge_tile_moments_avx2(const WinogradShape& shape, const float* tile_moments, int64_t image,
                             s8net_plane_moments* moments) {
  merge_moments(shape, tile_moments, image, moments);
}

// The entry points are plain functions calling the AVX2 ones: their declarations, seen by code
// compiled for the baseline, carry no target attribute.
void accumulate_weight_gradient_avx2(const WinogradShape& shape, const float* src, const float* diff_dst, int64_t first,
                                     int64_t count, float* v, float* m, float* acc, float* bias_acc) {
  weight_gradient_block(shape, src, diff_dst, first, count, v, m, acc, bias_acc);
}

void run_block_avx2(const WinogradShape& shape, bool relu, const float* src, const float* transformed_weights,
                    const float* bias, float* dst, int64_t first, int64_t count, float* v, float* m,
                    const BlockFusion& fusion) {
  const bool mapped = fusion.input_scale != nullptr, with_moments = fusion.tile_moments != nullptr;
  const auto run = mapped ? (with_moments ? run_block<true, true> : run_block<true, false>)
                          : (with_moments ? run_block<false, true> : run_block<false, false>);
  run(shape, relu, src, transformed_weights, bias, dst, first, count, v, m, fusion);
}

}  // namespace s8net::winograd

#endif
