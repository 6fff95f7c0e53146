#include <s8net/core/error.hpp>
#include <s8net/ops/pooling.hpp>
#include <s8net/ops/primitive_runner.hpp>

namespace s8net {

Pooling::Pooling(Context& context, dnnl::algorithm algorithm, const dnnl::memory::desc& src,
                 const dnnl::memory::desc& dst, const Dims& window, Pass pass)
    : context_(context) {
  const Dims no_padding{0, 0};
  const auto prop = pass == Pass::training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  forward_pd_ = {{prop, algorithm, src, dst, window, window, no_padding, no_padding}, context.engine()};
  forward_ = dnnl::pooling_forward(forward_pd_);
  if (pass == Pass::inference) return;
  if (algorithm == dnnl::algorithm::pooling_max)
    workspace_ = dnnl::memory(forward_pd_.workspace_desc(), context.engine());
  backward_pd_ = {
      {algorithm, src, forward_pd_.dst_desc(), window, window, no_padding, no_padding}, context.engine(), forward_pd_};
  backward_ = dnnl::pooling_backward(backward_pd_);
}

BoundPrimitive Pooling::bind_forward(const Tensor& src, const Tensor& dst) const {
  BoundPrimitive bound{forward_, {{DNNL_ARG_SRC, src.memory()}, {DNNL_ARG_DST, dst.memory()}}};
  if (workspace_) bound.args[DNNL_ARG_WORKSPACE] = workspace_;
  return bound;
}

BoundPrimitive Pooling::bind_backward(const Tensor& diff_dst, const Tensor& diff_src) const {
  if (!backward_) throw Error("pooling: built for inference, it has no backward pass");
  BoundPrimitive bound{backward_, {{DNNL_ARG_DIFF_DST, diff_dst.memory()}, {DNNL_ARG_DIFF_SRC, diff_src.memory()}}};
  if (workspace_) bound.args[DNNL_ARG_WORKSPACE] = workspace_;
  return bound;
}

void Pooling::forward(const Tensor& src, const Tensor& dst) { execute(context_, bind_forward(src, dst)); }

void Pooling::backward(const Tensor& diff_dst, const Tensor& diff_src) {
  execute(context_, bind_backward(diff_dst, diff_src));
}

bool Pooling::is_jit() const {
  return !is_reference_kernel(forward_pd_.impl_info_str()) &&
         (!backward_ || !is_reference_kernel(backward_pd_.impl_info_str()));
}

std::string Pooling::implementation() const {
  if (!backward_) return std::string("fwd ") + forward_pd_.impl_info_str();
  return std::string("fwd ") + forward_pd_.impl_info_str() + ", bwd " + backward_pd_.impl_info_str();
}

}  // namespace s8net
