// A 1x1 convolution (with bias) followed by a 2x2 max-pool of stride 2, in one pass over nChw8c
// activations with AVX2 and FMA: the network's c3 -> P1 and c6 -> P2 at inference (dropout is the
// identity there). The conv's output is never written: each pooled value is the largest of its
// four pixels' sums, so the pass reads the input once and writes a quarter of the conv's output.
// It can read its input through a norm's map with its ReLU (MappedPlanes), as the plane map pass
// would have applied it.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/ops/conv.hpp>
#include <s8net/ops/plane_map.hpp>

#include <string>
#include <vector>

namespace s8net {

struct PooledConv1x1Shape {
  // The conv's input: in_channels x height x width per image; height and width even, channel
  // counts multiples of 8.
  int64_t batch = 0, in_channels = 0, out_channels = 0, height = 0, width = 0;
};

class PooledConv1x1 {
 public:
  // Throws where the shape does not fit or the CPU (or ONEDNN_MAX_CPU_ISA) has no AVX2 with FMA.
  explicit PooledConv1x1(const PooledConv1x1Shape& shape);

  // Whether this CPU runs it (AVX2 and FMA, as WinogradConv).
  static bool available();
  // Whether the shape is one it takes (see PooledConv1x1Shape).
  static bool fits(const PooledConv1x1Shape& shape);
  static std::string implementation() { return "s8net_conv1x1_maxpool:avx2"; }

  // weight: out x in (oihw of a 1x1 kernel), bias: out.
  void load(const std::vector<float>& weight, const std::vector<float>& bias);
  // The trained conv's weights, in whatever layout oneDNN keeps them.
  void load(Context& context, const ConvWeights& weights);

  // y (batch x out x height/2 x width/2, nChw8c) = maxpool2x2(conv1x1(x) + bias), x read through
  // its map where it has one. Threads: OpenMP, each a contiguous run of images.
  void forward(const MappedPlanes& x, float* y) const;

  const PooledConv1x1Shape& shape() const noexcept { return shape_; }

 private:
  PooledConv1x1Shape shape_;
  // Per block of 8 outputs, per input channel, the block's 8 weights: [out / 8][in][8].
  std::vector<float> packed_weight_;
  std::vector<float> bias_;
};

}  // namespace s8net
