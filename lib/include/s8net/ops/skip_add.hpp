// The skip connection's addition, dst = a + b (dst may be a), on oneDNN's binary primitive. The same op serves the
// backward pass: the skip source's gradient is the sum of the two paths' gradients.
#pragma once

#include <s8net/core/tensor.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <string>

namespace s8net {

class SkipAdd {
 public:
  SkipAdd(Context& context, const dnnl::memory::desc& desc);
  void add(const Tensor& a, const Tensor& b, const Tensor& dst);
  BoundPrimitive bind(const Tensor& a, const Tensor& b, const Tensor& dst) const;
  std::string implementation() const { return pd_.impl_info_str(); }

 private:
  Context& context_;
  dnnl::binary::primitive_desc pd_;
  dnnl::binary add_;
};

}  // namespace s8net
