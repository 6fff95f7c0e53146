#include <s8net/core/error.hpp>
#include <s8net/ops/primitive_runner.hpp>
#include <s8net/ops/relu.hpp>

namespace s8net {

Relu::Relu(Context& context, const dnnl::memory::desc& desc, Pass pass) : context_(context) {
  const auto algorithm = dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
  const auto prop = pass == Pass::training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  forward_pd_ = {{prop, algorithm, desc, 0.f, 0.f}, context.engine()};
  forward_ = dnnl::eltwise_forward(forward_pd_);
  if (pass == Pass::inference) return;
  backward_pd_ = {{algorithm, desc, desc, 0.f, 0.f}, context.engine(), forward_pd_};
  backward_ = dnnl::eltwise_backward(backward_pd_);
}

BoundPrimitive Relu::bind_forward(const Tensor& src, const Tensor& dst) const {
  return {forward_, {{DNNL_ARG_SRC, src.memory()}, {DNNL_ARG_DST, dst.memory()}}};
}

BoundPrimitive Relu::bind_backward(const Tensor& dst, const Tensor& diff_dst, const Tensor& diff_src) const {
  if (!backward_) throw Error("relu: built for inference, it has no backward pass");
  return {
      backward_,
      {{DNNL_ARG_DST, dst.memory()}, {DNNL_ARG_DIFF_DST, diff_dst.memory()}, {DNNL_ARG_DIFF_SRC, diff_src.memory()}}};
}

std::string Relu::implementation() const {
  std::string text = std::string("fwd ") + forward_pd_.impl_info_str();
  if (backward_) text += std::string(", bwd ") + backward_pd_.impl_info_str();
  return text;
}

void Relu::forward(const Tensor& src, const Tensor& dst) { execute(context_, bind_forward(src, dst)); }

void Relu::backward(const Tensor& dst, const Tensor& diff_dst, const Tensor& diff_src) {
  execute(context_, bind_backward(dst, diff_dst, diff_src));
}

}  // namespace s8net
