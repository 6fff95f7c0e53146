#include <s8net/ops/conv.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include "conv_choice.hpp"

#include <string>

namespace s8net {
namespace {

using conv_choice::any_desc;
using conv_choice::choose;
using conv_choice::weight_dims;

using dnnl::memory;
using tag = memory::format_tag;

dnnl::convolution_forward::desc forward_desc(dnnl::algorithm algorithm, const ConvSpec& spec, const memory::desc& src,
                                             const memory::desc& weights, const memory::desc& dst) {
  const memory::dims bias{spec.out_channels}, stride{1, 1}, pad{spec.padding(), spec.padding()};
  return {dnnl::prop_kind::forward_training,
          algorithm,
          src,
          weights,
          memory::desc(bias, memory::data_type::f32, tag::x),
          dst,
          stride,
          pad,
          pad};
}

dnnl::convolution_forward::primitive_desc forward_pd(const dnnl::engine& engine, const ConvSpec& spec,
                                                     const memory::desc& src, const memory::desc& weights,
                                                     const memory::desc& dst) {
  return choose<dnnl::convolution_forward::primitive_desc>(spec.algorithms.forward, [&](dnnl::algorithm algorithm) {
    return dnnl::convolution_forward::primitive_desc(forward_desc(algorithm, spec, src, weights, dst), engine);
  });
}

}  // namespace

ConvWeights::ConvWeights(Context& context, ConvSpec spec, const memory::desc& weights_desc) : spec_(std::move(spec)) {
  const memory::desc bias_desc({spec_.out_channels}, memory::data_type::f32, tag::x);
  weight = {spec_.name + ".conv.weight", Tensor(weights_desc, context.engine()),
            Tensor(weights_desc, context.engine())};
  bias = {spec_.name + ".conv.bias", Tensor(bias_desc, context.engine()), Tensor(bias_desc, context.engine())};
}

memory::desc ConvWeights::preferred_desc(const dnnl::engine& engine, const ConvSpec& spec, const memory::desc& src,
                                         const memory::desc& dst) {
  return forward_pd(engine, spec, src, any_desc(weight_dims(spec)), dst).weights_desc();
}

Conv2d::Conv2d(Context& context, ConvWeights& weights, const memory::desc& src, const memory::desc& dst,
               bool need_input_gradient)
    : context_(context), weights_(weights), need_input_gradient_(need_input_gradient) {
  const ConvSpec& spec = weights.spec();
  const memory::desc weights_desc = weights.weight.value.desc();
  const dnnl::engine& engine = context.engine();
  forward_pd_ = forward_pd(engine, spec, src, weights_desc, dst);
  if (!conv_choice::is_winograd(forward_pd_) && conv_choice::own_winograd_fits(spec, src, dst)) {
    const WinogradShape shape = conv_choice::winograd_shape(spec, src);
    own_forward_ = std::make_unique<WinogradConv>(shape, false);
    if (need_input_gradient_)
      own_backward_data_ = std::make_unique<WinogradConv>(
          WinogradShape{shape.batch, shape.out_channels, shape.in_channels, shape.height, shape.width}, false);
    plain_weights_ = Tensor(plain_desc(weight_dims(spec)), engine);
    plain_gradient_ = Tensor(plain_desc(weight_dims(spec)), engine);
    const auto reorder = [](const dnnl::memory& from, const dnnl::memory& to) {
      return BoundPrimitive{dnnl::reorder(from, to), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}};
    };
    weights_to_plain_ = reorder(weights.weight.value.memory(), plain_weights_.memory());
    gradient_from_plain_ = reorder(plain_gradient_.memory(), weights.weight.grad.memory());
    return;
  }
  forward_ = dnnl::convolution_forward(forward_pd_);

  const memory::dims stride{1, 1}, pad{spec.padding(), spec.padding()};
  // Gradients share the weights' layout, so the optimizer works element by element.
  const auto make_backward_weights = [&](dnnl::algorithm algorithm) {
    const dnnl::convolution_backward_weights::desc desc(algorithm, forward_pd_.src_desc(), weights_desc,
                                                        weights.bias.value.desc(), forward_pd_.dst_desc(), stride, pad,
                                                        pad);
    return dnnl::convolution_backward_weights::primitive_desc(desc, engine, forward_pd_);
  };
  backward_weights_pd_ = choose<dnnl::convolution_backward_weights::primitive_desc>(spec.algorithms.backward_weights,
                                                                                    make_backward_weights);
  backward_weights_ = dnnl::convolution_backward_weights(backward_weights_pd_);

  if (need_input_gradient_) {
    const auto make_backward_data = [&](dnnl::algorithm algorithm) {
      const dnnl::convolution_backward_data::desc desc(algorithm, forward_pd_.src_desc(), any_desc(weight_dims(spec)),
                                                       forward_pd_.dst_desc(), stride, pad, pad);
      return dnnl::convolution_backward_data::primitive_desc(desc, engine, forward_pd_);
    };
    backward_data_pd_ =
        choose<dnnl::convolution_backward_data::primitive_desc>(spec.algorithms.backward_data, make_backward_data);
    backward_data_ = dnnl::convolution_backward_data(backward_data_pd_);
    if (backward_data_pd_.weights_desc() != weights_desc) {
      backward_data_weights_ = memory(backward_data_pd_.weights_desc(), context.engine());
      weights_to_backward_data_ = dnnl::reorder(weights.weight.value.memory(), backward_data_weights_);
    } else {
      backward_data_weights_ = weights.weight.value.memory();
    }
  }
}

// The weights change every step, so the own forward transforms them when it runs: from one plain
// copy, for itself and for the backward-data pass that follows it in the same step (the gradient
// of that forward, with the weights it used).
void Conv2d::load_own_weights() const {
  execute(context_, weights_to_plain_);
  own_forward_->load(plain_weights_.span(), weights_.bias.value.span());
  if (own_backward_data_) own_backward_data_->load_turned(plain_weights_.span());
}

BoundPass Conv2d::bind_forward(const Tensor& src, const Tensor& dst) const {
  if (own_forward_)
    return BoundPass::own(
        [this, x = src.memory(), y = dst.memory()] {
          load_own_weights();
          own_forward_->forward(data_of(x), data_of(y));
        },
        "convolution forward_training");
  return {{forward_,
           {{DNNL_ARG_SRC, src.memory()},
            {DNNL_ARG_WEIGHTS, weights_.weight.value.memory()},
            {DNNL_ARG_BIAS, weights_.bias.value.memory()},
            {DNNL_ARG_DST, dst.memory()}}}};
}

std::vector<BoundPass> Conv2d::bind_backward(const Tensor& src, const Tensor& diff_dst, const Tensor* diff_src) const {
  std::vector<BoundPass> passes;
  if (own_forward_)
    passes.push_back(BoundPass::own(
        [this, x = src.memory(), dy = diff_dst.memory()] {
          own_forward_->backward_weights(data_of(x), data_of(dy), plain_gradient_.data(), weights_.bias.grad.data());
          execute(context_, gradient_from_plain_);
        },
        "convolution backward_weights"));
  else
    passes.push_back({{backward_weights_,
                       {{DNNL_ARG_SRC, src.memory()},
                        {DNNL_ARG_DIFF_DST, diff_dst.memory()},
                        {DNNL_ARG_DIFF_WEIGHTS, weights_.weight.grad.memory()},
                        {DNNL_ARG_DIFF_BIAS, weights_.bias.grad.memory()}}}});
  if (!need_input_gradient_ || diff_src == nullptr) return passes;
  if (own_backward_data_) {
    passes.push_back(BoundPass::own([conv = own_backward_data_.get(), dy = diff_dst.memory(),
                                     dx = diff_src->memory()] { conv->forward(data_of(dy), data_of(dx)); },
                                    "convolution backward_data"));
    return passes;
  }
  // The weights change every step, so their copy for backward-data is made every step.
  if (weights_to_backward_data_)
    passes.push_back({{weights_to_backward_data_,
                       {{DNNL_ARG_FROM, weights_.weight.value.memory()}, {DNNL_ARG_TO, backward_data_weights_}}}});
  passes.push_back({{backward_data_,
                     {{DNNL_ARG_DIFF_DST, diff_dst.memory()},
                      {DNNL_ARG_WEIGHTS, backward_data_weights_},
                      {DNNL_ARG_DIFF_SRC, diff_src->memory()}}}});
  return passes;
}

void Conv2d::forward(const Tensor& src, const Tensor& dst) { execute(context_, bind_forward(src, dst)); }

void Conv2d::backward(const Tensor& src, const Tensor& diff_dst, const Tensor* diff_src) {
  for (const BoundPass& pass : bind_backward(src, diff_dst, diff_src)) execute(context_, pass);
}

std::string Conv2d::implementation() const {
  if (own_forward_) {
    const std::string own = WinogradConv::implementation();
    return "fwd " + own + (need_input_gradient_ ? ", bwd-data " + own : "") + ", bwd-weights " + own;
  }
  std::string text = std::string("fwd ") + forward_pd_.impl_info_str();
  if (need_input_gradient_) text += std::string(", bwd-data ") + backward_data_pd_.impl_info_str();
  return text + ", bwd-weights " + std::string(backward_weights_pd_.impl_info_str());
}

bool Conv2d::all_jit() const {
  if (own_forward_) return true;
  const bool backward_data = !need_input_gradient_ || !is_reference_kernel(backward_data_pd_.impl_info_str());
  return !is_reference_kernel(forward_pd_.impl_info_str()) &&
         !is_reference_kernel(backward_weights_pd_.impl_info_str()) && backward_data;
}

}  // namespace s8net
