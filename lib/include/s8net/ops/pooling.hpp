// Pooling forward and backward on oneDNN, window = stride, no padding. The max-pool keeps its
// arg-max workspace for backward; the global average pool is one window over the whole plane
// (oneDNN's reduction primitive falls to a reference kernel on blocked layouts, pooling does not).
// The 2x2 max-pool of training runs on s8net's own kernel (blocked_max_pool.hpp) on nChw8c and
// nChw16c activations of even height and width where AVX2 runs.
#pragma once

#include <s8net/core/tensor.hpp>
#include <s8net/ops/blocked_max_pool.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <optional>
#include <string>
#include <vector>

namespace s8net {

class Pooling {
 public:
  Pooling(Context& context, dnnl::algorithm algorithm, const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
          const Dims& window, Pass pass);

  void forward(const Tensor& src, const Tensor& dst);
  // Gradient of the latest forward (Pass::training only).
  void backward(const Tensor& diff_dst, const Tensor& diff_src);
  BoundPass bind_forward(const Tensor& src, const Tensor& dst) const;
  BoundPass bind_backward(const Tensor& diff_dst, const Tensor& diff_src) const;
  std::string implementation() const;
  // True when no pass built is oneDNN's slow reference kernel.
  bool is_jit() const;

 private:
  Context& context_;
  dnnl::pooling_forward::primitive_desc forward_pd_;
  dnnl::pooling_forward forward_;
  dnnl::pooling_backward::primitive_desc backward_pd_;
  dnnl::pooling_backward backward_;
  dnnl::memory workspace_;  // max-pool only
  // s8net's own 2x2 max-pool, where it runs instead, and its arg-max.
  std::optional<blocked_max_pool::Shape> own_;
  mutable std::vector<float> own_argmax_;
};

// 2x2 max-pool, stride 2: dst has half of src's height and width.
class MaxPool2x2 : public Pooling {
 public:
  MaxPool2x2(Context& context, const dnnl::memory::desc& src, const dnnl::memory::desc& dst, Pass pass = Pass::training)
      : Pooling(context, dnnl::algorithm::pooling_max, src, dst, {2, 2}, pass) {}
};

// Global average pool: H x W -> 1 x 1.
class GlobalAvgPool : public Pooling {
 public:
  GlobalAvgPool(Context& context, const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                Pass pass = Pass::training)
      : Pooling(context, dnnl::algorithm::pooling_avg_exclude_padding, src, dst, {src.dims()[2], src.dims()[3]}, pass) {
  }
};

}  // namespace s8net
