#include <s8net/core/error.hpp>
#include <s8net/core/layout.hpp>
#include <s8net/ops/pooling.hpp>
#include <s8net/ops/primitive_runner.hpp>

namespace s8net {

namespace {

// The shape s8net's own max-pool takes src as, if it can: a training 2x2 max-pool of blocked
// activations of even height and width, where AVX2 runs.
std::optional<blocked_max_pool::Shape> own_max_pool(dnnl::algorithm algorithm, const dnnl::memory::desc& src,
                                                    const dnnl::memory::desc& dst, const Dims& window, Pass pass) {
  if (algorithm != dnnl::algorithm::pooling_max || pass != Pass::training || window != Dims{2, 2} ||
      !blocked_max_pool::available())
    return std::nullopt;
  const Dims d = src.dims();
  if (d.size() != 4 || d[2] % 2 != 0 || d[3] % 2 != 0) return std::nullopt;
  for (const ActivationLayout layout : {ActivationLayout::nChw8c, ActivationLayout::nChw16c}) {
    const auto block = static_cast<int64_t>(layout);  // the layout's channel block
    const dnnl::memory::desc blocked_src(d, dnnl::memory::data_type::f32, format_tag_of(layout));
    const dnnl::memory::desc blocked_dst({d[0], d[1], d[2] / 2, d[3] / 2}, dnnl::memory::data_type::f32,
                                         format_tag_of(layout));
    if (src == blocked_src && dst == blocked_dst)
      return blocked_max_pool::Shape{d[0], (d[1] + block - 1) / block, block, d[2], d[3]};
  }
  return std::nullopt;
}

}  // namespace

Pooling::Pooling(Context& context, dnnl::algorithm algorithm, const dnnl::memory::desc& src,
                 const dnnl::memory::desc& dst, const Dims& window, Pass pass)
    : context_(context), own_(own_max_pool(algorithm, src, dst, window, pass)) {
  if (own_) {
    own_argmax_.assign(static_cast<size_t>(dst.get_size() / sizeof(float)), 0.f);
    return;
  }
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

BoundPass Pooling::bind_forward(const Tensor& src, const Tensor& dst) const {
  if (own_)
    return BoundPass::own(
        [shape = *own_, x = src.memory(), y = dst.memory(), argmax = own_argmax_.data()] {
          blocked_max_pool::forward(shape, data_of(x), data_of(y), argmax);
        },
        "pooling forward_training");
  BoundPrimitive bound{forward_, {{DNNL_ARG_SRC, src.memory()}, {DNNL_ARG_DST, dst.memory()}}};
  if (workspace_) bound.args[DNNL_ARG_WORKSPACE] = workspace_;
  return {bound};
}

BoundPass Pooling::bind_backward(const Tensor& diff_dst, const Tensor& diff_src) const {
  if (own_)
    return BoundPass::own(
        [shape = *own_, dy = diff_dst.memory(), dx = diff_src.memory(), argmax = own_argmax_.data()] {
          blocked_max_pool::backward(shape, data_of(dy), argmax, data_of(dx));
        },
        "pooling backward_data");
  if (!backward_) throw Error("pooling: built for inference, it has no backward pass");
  BoundPrimitive bound{backward_, {{DNNL_ARG_DIFF_DST, diff_dst.memory()}, {DNNL_ARG_DIFF_SRC, diff_src.memory()}}};
  if (workspace_) bound.args[DNNL_ARG_WORKSPACE] = workspace_;
  return {bound};
}

void Pooling::forward(const Tensor& src, const Tensor& dst) { execute(context_, bind_forward(src, dst)); }

void Pooling::backward(const Tensor& diff_dst, const Tensor& diff_src) {
  execute(context_, bind_backward(diff_dst, diff_src));
}

bool Pooling::is_jit() const {
  if (own_) return true;
  return !is_reference_kernel(forward_pd_.impl_info_str()) &&
         (!backward_ || !is_reference_kernel(backward_pd_.impl_info_str()));
}

std::string Pooling::implementation() const {
  if (own_) return "fwd s8net_max_pool_2x2:avx2, bwd s8net_max_pool_2x2:avx2";
  if (!backward_) return std::string("fwd ") + forward_pd_.impl_info_str();
  return std::string("fwd ") + forward_pd_.impl_info_str() + ", bwd " + backward_pd_.impl_info_str();
}

}  // namespace s8net
