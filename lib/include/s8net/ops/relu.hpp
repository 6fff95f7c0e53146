// ReLU on oneDNN, for norms that cannot fuse it. Backward uses the output (y > 0 <=> x > 0).
#pragma once

#include <s8net/core/tensor.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <string>

namespace s8net {

class Relu {
 public:
  Relu(Context& context, const dnnl::memory::desc& desc, Pass pass = Pass::training);
  // In place is allowed (src == dst).
  void forward(const Tensor& src, const Tensor& dst);
  // dst: the forward's output. In place is allowed (diff_dst == diff_src). Pass::training only.
  void backward(const Tensor& dst, const Tensor& diff_dst, const Tensor& diff_src);
  BoundPrimitive bind_forward(const Tensor& src, const Tensor& dst) const;
  BoundPrimitive bind_backward(const Tensor& dst, const Tensor& diff_dst, const Tensor& diff_src) const;
  std::string implementation() const;

 private:
  Context& context_;
  dnnl::eltwise_forward::primitive_desc forward_pd_;
  dnnl::eltwise_forward forward_;
  dnnl::eltwise_backward::primitive_desc backward_pd_;
  dnnl::eltwise_backward backward_;
};

}  // namespace s8net
