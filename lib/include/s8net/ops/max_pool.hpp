// 2x2 max-pool with stride 2 on oneDNN, keeping the arg-max workspace for backward.
#pragma once

#include <s8net/core/tensor.hpp>

#include <string>

namespace s8net {

class MaxPool2x2 {
 public:
  // dst has half of src's height and width.
  MaxPool2x2(Context& context, const dnnl::memory::desc& src, const dnnl::memory::desc& dst);

  void forward(const Tensor& src, const Tensor& dst);
  // Gradient of the latest forward.
  void backward(const Tensor& diff_dst, const Tensor& diff_src);
  std::string implementation() const { return std::string("fwd ") + forward_pd_.impl_info_str() + ", bwd " + backward_pd_.impl_info_str(); }

 private:
  Context& context_;
  dnnl::pooling_forward::primitive_desc forward_pd_;
  dnnl::pooling_forward forward_;
  dnnl::pooling_backward::primitive_desc backward_pd_;
  dnnl::pooling_backward backward_;
  dnnl::memory workspace_;
};

}  // namespace s8net
