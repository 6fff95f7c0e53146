// A 3x3 convolution (stride 1, padding 1, with bias, optionally ReLU) by Winograd's F(4x4, 3x3)
// minimal filtering, on nChw8c activations with AVX2 and FMA: s8net's own kernel for the CPUs
// where oneDNN 2.6 has Winograd for AVX-512 only. Each 4x4 block of outputs costs 36 products per
// (input, output) channel pair instead of 144, at the price of transforms of the input and output
// tiles (docs/performance.md has the measurements and the arithmetic).
//
// The same forward gives backward-data: the gradient of the input is the convolution of the
// output's gradient with the weights turned by 180 degrees and their input and output swapped
// (load_turned). The weight gradient is taken in the transformed domain too: per point, the sum
// over tiles of the input's transform times the output gradient's, turned back by G^T . G.
#pragma once

#include <s8net/norm/plugin_api.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <vector>

namespace s8net {

// Buffers on cache-line boundaries: the kernel's 32-byte loads then never straddle two lines.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <class U>
  explicit CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, kAlignment); }
  bool operator==(const CacheLineAllocator&) const noexcept { return true; }
};
using AlignedFloats = std::vector<float, CacheLineAllocator<float>>;

struct WinogradShape {
  int64_t batch = 0, in_channels = 0, out_channels = 0, height = 0, width = 0;
};

// What a forward does besides the convolution, each part where its pointers are given: with both,
// a norm between two such convs that evaluates as a per-sample map of its input's moments
// (GroupNorm, LayerNorm, InstanceNorm) needs no pass over memory of its own.
struct WinogradFusion {
  // batch x in_channels each, [image * in_channels + channel]: the input is read as
  // relu(scale * src + shift) (the padding stays zero).
  const float* input_scale = nullptr;
  const float* input_shift = nullptr;
  // batch x out_channels, [image * out_channels + channel]: the mean and m2 of each plane of dst as written.
  s8net_plane_moments* output_moments = nullptr;
};

// One object's calls must not overlap: it keeps its working buffers between calls.
class WinogradConv {
 public:
  // Channel counts must be multiples of 8 (whole nChw8c blocks); any height and width.
  WinogradConv(const WinogradShape& shape, bool relu);

  // Whether this CPU runs the kernel (AVX2 and FMA), and ONEDNN_MAX_CPU_ISA leaves it at least AVX2.
  static bool available();

  // oihw weights [out][in][3][3] and a bias per output channel.
  void load(std::span<const float> weights, std::span<const float> bias);
  // The same conv as load(w) for the gradient of the input: weights [o][i] of the forward conv
  // this one runs backwards (this conv's in_channels = o, out_channels = i), bias 0.
  void load_turned(std::span<const float> forward_weights);

  // src: batch x in_channels x height x width, dst: batch x out_channels x height x width, both
  // nChw8c; dst = relu?(conv(src) + bias), with what fusion asks for besides.
  void forward(const float* src, float* dst, const WinogradFusion& fusion = {});
  // The gradients of this conv's weights (oihw, overwritten) and bias from its input src and the
  // gradient of its output (before any ReLU: the caller's), both nChw8c.
  void backward_weights(const float* src, const float* diff_dst, float* diff_weights, float* diff_bias);

  const WinogradShape& shape() const noexcept { return shape_; }
  static std::string implementation() { return "s8net_wino_4x3:avx2"; }

 private:
  void transform_staged();
  WinogradShape shape_;
  bool relu_;
  AlignedFloats transformed_;  // U[36][in][out]: G g G^T per channel pair
  std::vector<float> bias_;
  std::vector<float> staging_, rows_;         // load's working copies of the weights
  std::vector<AlignedFloats> scratch_;        // per thread: a block's transformed inputs and products
  std::vector<AlignedFloats> gradient_sums_;  // per thread: the weight gradient's [36][in][out] and bias sums
  AlignedFloats tile_moments_;                // a fused forward's moments of each output tile
  void prepare_scratch();
};

}  // namespace s8net
