// Global average pool (H x W -> 1 x 1) as oneDNN average pooling over the whole window: the
// reduction primitive falls to a reference kernel on blocked layouts, pooling does not.
#pragma once

#include <s8net/core/tensor.hpp>

#include <string>

namespace s8net {

class GlobalAvgPool {
 public:
  GlobalAvgPool(Context& context, const dnnl::memory::desc& src, const dnnl::memory::desc& dst);
  void forward(const Tensor& src, const Tensor& dst);
  void backward(const Tensor& diff_dst, const Tensor& diff_src);
  std::string implementation() const { return std::string("fwd ") + forward_pd_.impl_info_str() + ", bwd " + backward_pd_.impl_info_str(); }

 private:
  Context& context_;
  dnnl::pooling_forward::primitive_desc forward_pd_;
  dnnl::pooling_forward forward_;
  dnnl::pooling_backward::primitive_desc backward_pd_;
  dnnl::pooling_backward backward_;
};

}  // namespace s8net
