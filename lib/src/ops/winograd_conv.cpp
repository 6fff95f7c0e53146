#include <s8net/core/error.hpp>
#include <s8net/norm/plugin_cpu.hpp>
#include <s8net/ops/winograd_conv.hpp>

#include "winograd_f4x3_kernel.hpp"

#include <omp.h>

#include <algorithm>
#include <array>

namespace s8net {
namespace {

constexpr int kSide = 6, kTaps = 3;

template <size_t Rows, size_t Columns>
using Matrix = std::array<std::array<float, Columns>, Rows>;

// G of F(4x4, 3x3): U = G g G^T turns a 3x3 filter into the 6x6 values each point multiplies,
// and the weight gradient G^T M G turns the 6x6 sums per point back into a 3x3 filter's.
constexpr Matrix<kSide, kTaps> kG = {{
    {1.f / 4, 0, 0},
    {-1.f / 6, -1.f / 6, -1.f / 6},
    {-1.f / 6, 1.f / 6, -1.f / 6},
    {1.f / 24, 1.f / 12, 1.f / 6},
    {1.f / 24, -1.f / 12, 1.f / 6},
    {0, 0, 1},
}};
constexpr Matrix<kTaps, kSide> kGTransposed = [] {
  Matrix<kTaps, kSide> t{};
  for (size_t a = 0; a < kG.size(); ++a)
    for (size_t j = 0; j < kG[a].size(); ++j) t[j][a] = kG[a][j];
  return t;
}();

// out[p][q] = (L in L^T)[p][q] for an X x X matrix `in` of vectors of n values: L in L^T done on
// every lane at once, the lanes innermost (vectorised). in[x][y] starts at in + (x * X + y) *
// in_step, out[p][q] at out + (p * P + q) * out_step; rows holds L in, P x X x n values.
template <size_t P, size_t X>
void sandwich(const Matrix<P, X>& l, const float* in, size_t in_step, float* out, size_t out_step, size_t n,
              std::vector<float>& rows) {
  rows.resize(P * X * n);
  for (size_t p = 0; p < P; ++p)
    for (size_t y = 0; y < X; ++y) {
      std::array<const float*, X> from;
      for (size_t x = 0; x < X; ++x) from[x] = in + (x * X + y) * in_step;
      float* row = rows.data() + (p * X + y) * n;
      for (size_t k = 0; k < n; ++k) {
        float sum = 0.f;
        for (size_t x = 0; x < X; ++x) sum += l[p][x] * from[x][k];
        row[k] = sum;
      }
    }
  for (size_t p = 0; p < P; ++p)
    for (size_t q = 0; q < P; ++q) {
      const float* row = rows.data() + p * X * n;
      float* to = out + (p * P + q) * out_step;
      for (size_t k = 0; k < n; ++k) {
        float sum = 0.f;
        for (size_t y = 0; y < X; ++y) sum += row[y * n + k] * l[q][y];
        to[k] = sum;
      }
    }
}

const WinogradShape& checked(const WinogradShape& s) {
  const auto positive = s.batch > 0 && s.height > 0 && s.width > 0 && s.in_channels > 0 && s.out_channels > 0;
  if (!positive || s.in_channels % 8 != 0 || s.out_channels % 8 != 0)
    throw Error("Winograd conv: needs positive sizes and channel counts that are multiples of 8, got " +
                std::to_string(s.in_channels) + " -> " + std::to_string(s.out_channels) + " channels of " +
                std::to_string(s.height) + "x" + std::to_string(s.width) + ", batch " + std::to_string(s.batch));
  return s;
}

// Inside a parallel region: f(first, count) for each block of at most kBlockTiles tiles of this
// thread's share, an equal, contiguous run of the tiles fixed by the thread's number. Both passes
// need that fixed share: the forward so that each thread reads the images it wrote in the layer
// before, still in its core's caches (oneDNN partitions its primitives by image too; a dynamic
// schedule moved tiles between the cores at every layer, slow wherever they share no cache); the
// weight gradient so that its sums come out the same bits every time.
template <class F>
void for_each_block_of_this_thread(int64_t tiles, F&& f) {
  const auto thread = static_cast<int64_t>(omp_get_thread_num());
  const auto threads = static_cast<int64_t>(omp_get_num_threads());
  const int64_t end = tiles * (thread + 1) / threads;
  for (int64_t first = tiles * thread / threads; first < end; first += winograd::kBlockTiles)
    f(first, std::min(winograd::kBlockTiles, end - first));
}

}  // namespace

WinogradConv::WinogradConv(const WinogradShape& shape, bool relu)
    : shape_(checked(shape)),
      relu_(relu),
      transformed_(static_cast<size_t>(kSide * kSide * shape_.in_channels * shape_.out_channels)),
      bias_(static_cast<size_t>(shape_.out_channels)) {
  if (!available()) throw Error("Winograd conv: this CPU (or ONEDNN_MAX_CPU_ISA) offers no AVX2 with FMA");
}

bool WinogradConv::available() {
#if defined(__x86_64__) || defined(__i386__)
  return static_cast<int>(sdk::cpu_isa()) >= static_cast<int>(sdk::CpuIsa::avx2);
#else
  return false;
#endif
}

void WinogradConv::load(std::span<const float> weights, std::span<const float> bias) {
  const int64_t in = shape_.in_channels, out = shape_.out_channels;
  if (weights.size() != static_cast<size_t>(out * in * kTaps * kTaps) || bias.size() != static_cast<size_t>(out))
    throw Error("Winograd conv: weights of " + std::to_string(weights.size()) + " values and a bias of " +
                std::to_string(bias.size()) + " for " + std::to_string(in) + " -> " + std::to_string(out) +
                " channels");
  // g[i][tap][o]: the outputs innermost, so that every step below is a loop over them (vectorised).
  staging_.resize(weights.size());
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i)
      for (int64_t tap = 0; tap < kTaps * kTaps; ++tap)
        staging_[static_cast<size_t>((i * kTaps * kTaps + tap) * out + o)] =
            weights[static_cast<size_t>((o * in + i) * kTaps * kTaps + tap)];
  transform_staged();
  std::copy(bias.begin(), bias.end(), bias_.begin());
}

void WinogradConv::load_turned(std::span<const float> forward_weights) {
  // The forward conv maps this conv's out_channels to its in_channels; this conv's weight [o][i]
  // is the forward's [i][o] turned by 180 degrees.
  const int64_t in = shape_.in_channels, out = shape_.out_channels, taps = kTaps * kTaps;
  if (forward_weights.size() != static_cast<size_t>(in * out * taps))
    throw Error("Winograd conv: forward weights of " + std::to_string(forward_weights.size()) + " values for " +
                std::to_string(out) + " -> " + std::to_string(in) + " channels");
  staging_.resize(forward_weights.size());
  for (int64_t i = 0; i < in; ++i)  // the forward's output channel
    for (int64_t o = 0; o < out; ++o)
      for (int64_t tap = 0; tap < taps; ++tap)
        staging_[static_cast<size_t>((i * taps + taps - 1 - tap) * out + o)] =
            forward_weights[static_cast<size_t>((i * out + o) * taps + tap)];
  transform_staged();
  std::fill(bias_.begin(), bias_.end(), 0.f);
}

// U[p][i][o] = (G g G^T)[p] from staging_ = g[i][tap][o].
void WinogradConv::transform_staged() {
  const auto in = static_cast<size_t>(shape_.in_channels), out = static_cast<size_t>(shape_.out_channels);
  for (size_t i = 0; i < in; ++i)
    sandwich(kG, staging_.data() + i * kTaps * kTaps * out, out, transformed_.data() + i * out, in * out, out, rows_);
}

void WinogradConv::prepare_scratch() {
  const auto threads = static_cast<size_t>(std::max(1, omp_get_max_threads()));
  const auto per_thread =
      static_cast<size_t>(kSide * kSide * winograd::kBlockTiles * (shape_.in_channels + shape_.out_channels));
  if (scratch_.size() < threads) scratch_.resize(threads);
  for (AlignedFloats& s : scratch_) s.resize(per_thread);
}

void WinogradConv::forward(const float* src, float* dst, const WinogradFusion& fusion) {
#if defined(__x86_64__) || defined(__i386__)
  using winograd::kBlockTiles;
  const int64_t tiles = shape_.batch * winograd::TileGrid(shape_).per_image();
  prepare_scratch();
  const int64_t in_floats = kSide * kSide * kBlockTiles * shape_.in_channels;
  if ((fusion.input_scale == nullptr) != (fusion.input_shift == nullptr))
    throw Error("Winograd conv: an input map needs both its scale and its shift");
  winograd::BlockFusion block_fusion{fusion.input_scale, fusion.input_shift, nullptr};
  if (fusion.output_moments != nullptr) {
    tile_moments_.resize(static_cast<size_t>(tiles * 2 * shape_.out_channels));
    block_fusion.tile_moments = tile_moments_.data();
  }
  // Each thread a fixed run of whole images where the threads divide the batch.
#pragma omp parallel
  {
    float* v = scratch_[static_cast<size_t>(omp_get_thread_num())].data();
    for_each_block_of_this_thread(tiles, [&](int64_t first, int64_t count) {
      winograd::run_block_avx2(shape_, relu_, src, transformed_.data(), bias_.data(), dst, first, count, v,
                               v + in_floats, block_fusion);
    });
    if (fusion.output_moments != nullptr) {
      // Each image's merge reads tiles other threads may have written: after the barrier of the
      // loop above's end (an explicit one, since that loop is not a worksharing construct).
#pragma omp barrier
#pragma omp for schedule(static)
      for (int64_t image = 0; image < shape_.batch; ++image)
        winograd::merge_tile_moments_avx2(shape_, tile_moments_.data(), image,
                                          fusion.output_moments + image * shape_.out_channels);
    }
  }
#else
  (void)src;
  (void)dst;
  (void)fusion;
  throw Error("Winograd conv: built for a CPU without AVX2");
#endif
}

void WinogradConv::backward_weights(const float* src, const float* diff_dst, float* diff_weights, float* diff_bias) {
#if defined(__x86_64__) || defined(__i386__)
  using winograd::kBlockTiles;
  const int64_t in = shape_.in_channels, out = shape_.out_channels;
  const int64_t tiles = shape_.batch * winograd::TileGrid(shape_).per_image();
  prepare_scratch();
  const auto sums = static_cast<size_t>(kSide * kSide * in * out + out);
  gradient_sums_.resize(scratch_.size());
  const int64_t in_floats = kSide * kSide * kBlockTiles * in;
  int team = 1;
#pragma omp parallel
  {
    const auto thread = static_cast<size_t>(omp_get_thread_num());
#pragma omp single
    team = omp_get_num_threads();
    AlignedFloats& sum = gradient_sums_[thread];
    sum.assign(sums, 0.f);
    float* v = scratch_[thread].data();
    // Each thread's fixed run summed in order, and the threads' sums added in thread order: the
    // same threads give the same bits every time (a resumed run must equal an uninterrupted one).
    for_each_block_of_this_thread(tiles, [&](int64_t first, int64_t count) {
      winograd::accumulate_weight_gradient_avx2(shape_, src, diff_dst, first, count, v, v + in_floats, sum.data(),
                                                sum.data() + sums - out);
    });
  }
  AlignedFloats& total = gradient_sums_[0];
  for (size_t t = 1; t < static_cast<size_t>(team); ++t)
    for (size_t k = 0; k < sums; ++k) total[k] += gradient_sums_[t][k];
  std::copy(total.end() - out, total.end(), diff_bias);

  // dW[o][i] = G^T M[.][.][i][o] G, then from [tap][o] to oihw.
  const auto ins = static_cast<size_t>(in), outs = static_cast<size_t>(out);
  staging_.resize(kTaps * kTaps * outs);
  for (size_t i = 0; i < ins; ++i) {
    sandwich(kGTransposed, total.data() + i * outs, ins * outs, staging_.data(), outs, outs, rows_);
    for (size_t o = 0; o < outs; ++o)
      for (size_t tap = 0; tap < kTaps * kTaps; ++tap)
        diff_weights[(o * ins + i) * kTaps * kTaps + tap] = staging_[tap * outs + o];
  }
#else
  (void)src;
  (void)diff_dst;
  (void)diff_weights;
  (void)diff_bias;
  throw Error("Winograd conv: built for a CPU without AVX2");
#endif
}

}  // namespace s8net
