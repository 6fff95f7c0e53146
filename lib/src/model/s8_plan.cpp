#include "s8_plan.hpp"

#include <s8net/core/error.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <algorithm>
#include <map>
#include <string>

namespace s8net {

using s8::kStages;
using s8::Skip;
using s8::StageKind;

dnnl::memory::desc activation_desc(const Dims& dims, ActivationLayout layout) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, format_tag_of(layout));
}

ConvSpec conv_spec(size_t stage) {
  const auto shapes = s8::stage_shapes();
  const s8::Shape in = stage == 0 ? s8::Shape{S8Network::kImageChannels, S8Network::kImageSize, S8Network::kImageSize}
                                  : shapes[stage - 1];
  const int64_t kernel = kStages[stage].kind == StageKind::conv_norm_relu ? 3 : 1;
  // Winograd's input and output transforms pay off only with enough channels to share them. On
  // AVX-512 (per layer, batch 32 to 256; README, "Benchmarks and performance") it runs the
  // 32-channel layers 1.5-1.9x faster than direct in all three passes; for the 16-channel C2 it
  // wins only the weight gradient (1.1x in the network at batch 128) and loses backward-data (0.7x).
  ConvAlgorithms algorithms;
  if (kernel == 3 && shapes[stage].c >= 32)
    algorithms = ConvAlgorithms::all(ConvAlgorithm::winograd);
  else if (kernel == 3 && in.c >= 16)
    algorithms.backward_weights = ConvAlgorithm::winograd;
  return {kStages[stage].name, in.c, shapes[stage].c, kernel, in.h, in.w, algorithms};
}

dnnl::memory::desc conv_src_desc(size_t stage, int64_t batch, ActivationLayout layout) {
  const ConvSpec spec = conv_spec(stage);
  const Dims dims{batch, spec.in_channels, spec.height, spec.width};
  // The image arrives as plain nchw; the first conv picks its own input layout (one reorder).
  if (stage == 0) return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
  return activation_desc(dims, layout);
}

dnnl::memory::desc conv_dst_desc(size_t stage, int64_t batch, ActivationLayout layout) {
  const ConvSpec spec = conv_spec(stage);
  return activation_desc({batch, spec.out_channels, spec.height, spec.width}, layout);
}

S8Network::Plan::Plan(Context& context_, Weights& weights_, ActivationLayout layout, int64_t batch_, float dropout,
                      uint64_t seed)
    : context(context_), weights(weights_), batch(batch_), loss(context_, batch_, S8Network::kClasses) {
  const dnnl::engine& engine = context.engine();
  const auto shapes = s8::stage_shapes();
  const Tensor* input = nullptr;
  for (size_t i = 0; i < kStages.size(); ++i) {
    StageState& st = stages[i];
    const Dims out_dims{batch, shapes[i].c, shapes[i].h, shapes[i].w};
    const dnnl::memory::desc out_desc = activation_desc(out_dims, layout);
    const StageKind kind = kStages[i].kind;
    if (s8::has_conv(kind)) {
      st.conv = std::make_unique<Conv2d>(context, *weights.convs[i], conv_src_desc(i, batch, layout), out_desc, i > 0);
      st.pre = Tensor(out_desc, engine);
      st.grad_pre = Tensor(out_desc, engine);
    }
    switch (kind) {
      case StageKind::conv_norm_relu: {
        NormLayer& norm = *weights.norms[i];
        st.norm_desc = {batch, shapes[i].c, shapes[i].h, shapes[i].w, plugin_layout_of(layout)};
        st.normed = Tensor(out_desc, engine);
        if (!norm.fuses_relu()) {
          st.relu = std::make_unique<Relu>(context, out_desc);
          st.raw = Tensor(out_desc, engine);
          st.grad_raw = Tensor(out_desc, engine);
        }
        if (kStages[i].skip == Skip::add) {
          st.skip_add = std::make_unique<SkipAdd>(context, out_desc);
          st.out = Tensor(out_desc, engine);
        } else {
          st.out = st.normed;
        }
        break;
      }
      case StageKind::conv1x1:
      case StageKind::head: st.out = st.pre; break;
      case StageKind::pool_dropout:
        st.pool = std::make_unique<MaxPool2x2>(context, input->desc(), out_desc);
        st.out = Tensor(out_desc, engine);
        if (dropout > 0.f) st.dropout = std::make_unique<Dropout>(context, out_dims, layout, dropout, seed + i);
        break;
      case StageKind::global_pool:
        st.global_pool = std::make_unique<GlobalAvgPool>(context, input->desc(), out_desc);
        st.out = Tensor(out_desc, engine);
        break;
    }
    // A conv without a norm outputs its pre-activation, so dL/d out is dL/d pre.
    st.grad_out = kind == StageKind::conv1x1 || kind == StageKind::head ? st.grad_pre : Tensor(out_desc, engine);
    input = &st.out;
  }

  const Dims image_dims{batch, S8Network::kImageChannels, S8Network::kImageSize, S8Network::kImageSize};
  image = Tensor(plain_desc(image_dims), engine);
  const dnnl::memory::desc first_src = stages[0].conv->src_desc();
  if (first_src == image.desc()) {
    image_for_conv = image;
  } else {
    image_for_conv = Tensor(first_src, engine);
    image_reorder = dnnl::reorder(image.memory(), image_for_conv.memory());
  }
  // The loss reads plain batch x 10; the head writes the blocked layout.
  const Tensor& logits = stages.back().out;
  logits_plain = Tensor(plain_desc(logits.dims()), engine);
  grad_logits_plain = Tensor(plain_desc(logits.dims()), engine);
  logits_to_plain = dnnl::reorder(logits.memory(), logits_plain.memory());
  logits_from_plain = dnnl::reorder(grad_logits_plain.memory(), stages.back().grad_out.memory());
}

BatchResult S8Network::Plan::forward(std::span<const float> images, std::span<const int32_t> labels, uint64_t step) {
  std::copy(images.begin(), images.end(), image.data());
  if (image_reorder) execute(context, image_reorder, {{DNNL_ARG_FROM, image.memory()}, {DNNL_ARG_TO, image_for_conv.memory()}});

  const Tensor* input = &image_for_conv;
  for (size_t i = 0; i < kStages.size(); ++i) {
    StageState& st = stages[i];
    if (st.conv) st.conv->forward(*input, st.pre);
    switch (kStages[i].kind) {
      case StageKind::conv_norm_relu: {
        NormLayer& norm = *weights.norms[i];
        if (st.relu) {
          norm.forward(S8NET_MODE_TRAIN, st.norm_desc, st.pre.data(), st.raw.data());
          st.relu->forward(st.raw, st.normed);
        } else {
          norm.forward(S8NET_MODE_TRAIN, st.norm_desc, st.pre.data(), st.normed.data());
        }
        if (st.skip_add) st.skip_add->add(st.normed, stages[s8::skip_source_of(i)].out, st.out);
        break;
      }
      case StageKind::pool_dropout:
        st.pool->forward(*input, st.out);
        if (st.dropout) st.dropout->forward_train(st.out, step);
        break;
      case StageKind::global_pool: st.global_pool->forward(*input, st.out); break;
      case StageKind::conv1x1:
      case StageKind::head: break;
    }
    input = &st.out;
  }
  execute(context, logits_to_plain, {{DNNL_ARG_FROM, stages.back().out.memory()}, {DNNL_ARG_TO, logits_plain.memory()}});
  const Tensor logits_nc(loss.logits_desc(), context.engine(), logits_plain.data());
  BatchResult result;
  result.loss = loss.forward(logits_nc, labels);
  result.correct = loss.correct();
  return result;
}

void S8Network::Plan::backward() {
  const Tensor grad_logits_nc(loss.logits_desc(), context.engine(), grad_logits_plain.data());
  loss.backward(grad_logits_nc);
  execute(context, logits_from_plain,
      {{DNNL_ARG_FROM, grad_logits_plain.memory()}, {DNNL_ARG_TO, stages.back().grad_out.memory()}});

  for (size_t i = kStages.size(); i-- > 0;) {
    StageState& st = stages[i];
    const Tensor& input = i == 0 ? image_for_conv : stages[i - 1].out;
    const Tensor* grad_input = i == 0 ? nullptr : &stages[i - 1].grad_out;
    switch (kStages[i].kind) {
      case StageKind::conv_norm_relu: {
        NormLayer& norm = *weights.norms[i];
        // The skip addition passes dL/d out unchanged to the norm's output.
        if (st.relu) {
          st.relu->backward(st.normed, st.grad_out, st.grad_raw);
          norm.backward(st.norm_desc, st.pre.data(), st.raw.data(), st.grad_raw.data(), st.grad_pre.data());
        } else {
          norm.backward(st.norm_desc, st.pre.data(), st.normed.data(), st.grad_out.data(), st.grad_pre.data());
        }
        st.conv->backward(input, st.grad_pre, grad_input);
        break;
      }
      case StageKind::conv1x1:
      case StageKind::head: st.conv->backward(input, st.grad_out, grad_input); break;
      case StageKind::pool_dropout:
        if (st.dropout) st.dropout->backward(st.grad_out);
        st.pool->backward(st.grad_out, *grad_input);
        break;
      case StageKind::global_pool: st.global_pool->backward(st.grad_out, *grad_input); break;
    }
    // A skip source also receives the gradient of the addition that reads it.
    if (i > 0 && kStages[i - 1].skip == Skip::source)
      for (size_t m = i; m < kStages.size(); ++m)
        if (kStages[m].skip == Skip::add && s8::skip_source_of(m) == i - 1)
          stages[m].skip_add->add(*grad_input, stages[m].grad_out, *grad_input);
  }
}

int64_t S8Network::Plan::buffer_bytes() const {
  // Stage tensors may share a buffer (an output that is its input's view): each buffer counts once.
  std::map<const float*, int64_t> buffers;
  const auto count = [&](const Tensor& t) {
    if (!t.empty()) buffers[t.data()] = std::max(buffers[t.data()], t.size());
  };
  for (const Tensor* t : {&image, &image_for_conv, &logits_plain, &grad_logits_plain}) count(*t);
  for (const StageState& s : stages)
    for (const Tensor* t : {&s.pre, &s.raw, &s.normed, &s.out, &s.grad_pre, &s.grad_raw, &s.grad_out}) count(*t);
  int64_t floats = 0;
  for (const auto& [data, size] : buffers) floats += size;
  return floats * static_cast<int64_t>(sizeof(float));
}

std::vector<std::string> S8Network::Plan::implementation_names() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < kStages.size(); ++i) {
    const StageState& st = stages[i];
    const std::string name = kStages[i].name;
    if (st.conv) names.push_back(name + ".conv: " + st.conv->implementation());
    if (st.relu) names.push_back(name + ".relu: " + st.relu->implementation());
    if (st.skip_add) names.push_back(name + ".skip_add: " + st.skip_add->implementation());
    if (st.pool) names.push_back(name + ".maxpool: " + st.pool->implementation());
    if (st.dropout) names.push_back(name + ".dropout: " + st.dropout->implementation());
    if (st.global_pool) names.push_back(name + ".avgpool: " + st.global_pool->implementation());
  }
  names.push_back("loss.log_softmax: " + loss.implementation());
  return names;
}

}  // namespace s8net
