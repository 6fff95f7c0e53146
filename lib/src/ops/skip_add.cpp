#include <s8net/ops/primitive_runner.hpp>
#include <s8net/ops/skip_add.hpp>

namespace s8net {

SkipAdd::SkipAdd(Context& context, const dnnl::memory::desc& desc) : context_(context) {
  pd_ = {{dnnl::algorithm::binary_add, desc, desc, desc}, context.engine()};
  add_ = dnnl::binary(pd_);
}

BoundPrimitive SkipAdd::bind(const Tensor& a, const Tensor& b, const Tensor& dst) const {
  return {add_, {{DNNL_ARG_SRC_0, a.memory()}, {DNNL_ARG_SRC_1, b.memory()}, {DNNL_ARG_DST, dst.memory()}}};
}

void SkipAdd::add(const Tensor& a, const Tensor& b, const Tensor& dst) { execute(context_, bind(a, b, dst)); }

}  // namespace s8net
