#include <s8net/core/error.hpp>
#include <s8net/ops/inference_conv.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include "conv_choice.hpp"

namespace s8net {

using dnnl::memory;

InferenceConv::InferenceConv(Context& context, const ConvSpec& spec, ConvAlgorithm algorithm, const memory::desc& src,
                             const memory::desc& dst, bool relu)
    : context_(context), spec_(spec), relu_(relu) {
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  const memory::desc bias({spec.out_channels}, memory::data_type::f32, memory::format_tag::x);
  const memory::dims stride{1, 1}, pad{spec.padding(), spec.padding()};
  pd_ = conv_choice::choose<dnnl::convolution_forward::primitive_desc>(algorithm, [&](dnnl::algorithm a) {
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, a, src,
                                               conv_choice::any_desc(conv_choice::weight_dims(spec)), bias, dst, stride,
                                               pad, pad);
    return dnnl::convolution_forward::primitive_desc(desc, attr, context.engine());
  });
  if (algorithm == ConvAlgorithm::winograd && !conv_choice::is_winograd(pd_) &&
      conv_choice::own_winograd_fits(spec, src, dst)) {
    own_ = std::make_unique<WinogradConv>(conv_choice::winograd_shape(spec, src), relu);
    return;
  }
  forward_ = dnnl::convolution_forward(pd_);
  weight_ = Tensor(pd_.weights_desc(), context.engine());
  bias_ = Tensor(pd_.bias_desc(), context.engine());
}

void InferenceConv::load(const ConvWeights& weights, const ChannelAffine* affine) {
  std::vector<float> weight = to_plain(context_, weights.weight.value);
  std::vector<float> bias = to_plain(context_, weights.bias.value);
  if (affine != nullptr) {
    const size_t outputs = static_cast<size_t>(spec_.out_channels);
    if (affine->scale.size() != outputs || affine->shift.size() != outputs)
      throw Error(spec_.name + ": folding a norm of " + std::to_string(affine->scale.size()) +
                  " channels into a conv of " + std::to_string(outputs));
    const size_t per_output = weight.size() / outputs;  // oihw: each output's weights are contiguous
    for (size_t o = 0; o < outputs; ++o) {
      for (size_t k = 0; k < per_output; ++k) weight[o * per_output + k] *= affine->scale[o];
      bias[o] = bias[o] * affine->scale[o] + affine->shift[o];
    }
  }
  if (own_) return own_->load(weight, bias);
  from_plain(context_, weight, weight_);
  from_plain(context_, bias, bias_);
}

// load() writes into weight_ and bias_ in place, so a bound forward sees the latest weights.
BoundPass InferenceConv::bind_forward(const Tensor& src, const Tensor& dst, const WinogradFusion& fusion) const {
  if (own_)
    return BoundPass::own([conv = own_.get(), x = src.memory(), y = dst.memory(),
                           fusion] { conv->forward(data_of(x), data_of(y), fusion); },
                          "convolution forward_inference");
  if (fusion.input_scale != nullptr || fusion.input_shift != nullptr || fusion.output_moments != nullptr)
    throw Error(spec_.name + ": only s8net's own Winograd takes a norm's map or moments in, not " +
                pd_.impl_info_str());
  return {{forward_,
           {{DNNL_ARG_SRC, src.memory()},
            {DNNL_ARG_WEIGHTS, weight_.memory()},
            {DNNL_ARG_BIAS, bias_.memory()},
            {DNNL_ARG_DST, dst.memory()}}}};
}

void InferenceConv::forward(const Tensor& src, const Tensor& dst) { execute(context_, bind_forward(src, dst)); }

std::string InferenceConv::implementation() const {
  return (own_ ? WinogradConv::implementation() : std::string(pd_.impl_info_str())) + (relu_ ? " +relu" : "");
}

bool InferenceConv::is_jit() const { return own_ || !is_reference_kernel(pd_.impl_info_str()); }

}  // namespace s8net
