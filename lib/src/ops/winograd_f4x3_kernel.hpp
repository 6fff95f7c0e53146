// The AVX2 body of WinogradConv: one block of output tiles from input to output, compiled for
// AVX2 and FMA alone (winograd_f4x3_kernel.cpp) so that the rest of the library stays baseline
// x86-64 and this runs only where WinogradConv::available().
#pragma once

#include <s8net/ops/winograd_conv.hpp>

#include <cstdint>

namespace s8net::winograd {

// Tiles of 4x4 outputs, numbered (image, tile row, tile column) row-major.
struct TileGrid {
  int64_t rows, columns;
  explicit TileGrid(const WinogradShape& s) : rows((s.height + 3) / 4), columns((s.width + 3) / 4) {}
  int64_t per_image() const { return rows * columns; }
};

// The tiles a block holds at most; V and M below hold 36 x kBlockTiles x channels floats each.
inline constexpr int64_t kBlockTiles = 12;

// What a block does besides the convolution, each part where its pointers are given.
struct BlockFusion {
  const float* input_scale = nullptr;  // [image][in channel]: src read as relu(scale * x + shift)
  const float* input_shift = nullptr;
  float* tile_moments = nullptr;  // [tile][out block][mean x 8, m2 x 8]: each tile's moments of dst
};

// Transforms the input of tiles [first, first + count), multiplies by U[36][in][out] and
// transforms back into dst with the bias (and ReLU). v, m: scratch of 36 * kBlockTiles * in and
// 36 * kBlockTiles * out floats.
void run_block_avx2(const WinogradShape& shape, bool relu, const float* src, const float* transformed_weights,
                    const float* bias, float* dst, int64_t first, int64_t count, float* v, float* m,
                    const BlockFusion& fusion);

// The mean and m2 of each of image's planes, moments[channel], from the tile moments a forward
// with BlockFusion::tile_moments wrote.
void merge_tile_moments_avx2(const WinogradShape& shape, const float* tile_moments, int64_t image,
                             s8net_plane_moments* moments);

// The weight gradient's share of tiles [first, first + count): adds the sum over the tiles of
// V[p] (x) (A dy A^T)[p] to acc[36][in][out] and the sum of dy to bias_acc[out]. v and m as above
// (m holds the transformed output gradients).
void accumulate_weight_gradient_avx2(const WinogradShape& shape, const float* src, const float* diff_dst, int64_t first,
                                     int64_t count, float* v, float* m, float* acc, float* bias_acc);

}  // namespace s8net::winograd
