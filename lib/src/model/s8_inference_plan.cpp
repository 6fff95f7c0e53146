#include "s8_inference_plan.hpp"

#include <s8net/ops/primitive_runner.hpp>

#include <string>

namespace s8net {

using s8::kStages;
using s8::Skip;
using s8::StageKind;
using tag = dnnl::memory::format_tag;

namespace {

// Measured per layer at batch 256 on AVX-512 (README, "Benchmarks and performance"):
// - the 16-channel convs at 32x32 run 1.2x faster as oneDNN's brgconv in nhwc than as direct
//   convolution in nChw16c; a norm there must fold, or take the nhwc tensor as nChw16c (16 channels);
// - C3 (8 input channels, half of a 16-channel block) runs 2.1x faster as direct convolution from
//   an nchw copy of its input than as Winograd from the padded block (direct has no JIT kernel there);
// - Winograd wins the forward pass only with 32 channels in and out: C7 (16 in) is 1.6x faster direct.
// Each schedule falls back to the next when any primitive would be a reference kernel.
constexpr InferenceSchedule kSchedules[] = {
    {.channels_last_front = true, .forward_choices = true},
    {.channels_last_front = false, .forward_choices = true},
    {.channels_last_front = false, .forward_choices = false},
};

s8::Shape input_shape(size_t stage) {
  if (stage == 0) return {S8Network::kImageChannels, S8Network::kImageSize, S8Network::kImageSize};
  return s8::stage_shapes()[stage - 1];
}

// The stages that read whole 32x32 planes: C1, C2, c3 and the pool after them.
bool in_front(size_t stage) { return input_shape(stage).h == S8Network::kImageSize; }

ConvAlgorithm forward_algorithm(size_t stage, const InferenceSchedule& schedule) {
  const ConvSpec spec = conv_spec(stage);
  if (!schedule.forward_choices) return spec.algorithms.forward;
  const bool wide = spec.kernel == 3 && spec.in_channels >= 32 && spec.out_channels >= 32;
  return wide ? ConvAlgorithm::winograd : ConvAlgorithm::direct;
}

// How a plugin norm can read an nhwc tensor: as the blocked layout whose block is the channel
// count (nChw16c with 16 channels is nhwc byte for byte), if the plugin takes that layout.
std::optional<s8net_layout> channels_last_view(const NormLayer& norm, int64_t channels) {
  for (const s8net_layout layout : {S8NET_LAYOUT_NCHW16C, S8NET_LAYOUT_NCHW8C})
    if (channels == static_cast<int64_t>(layout) && norm.accepts(layout)) return layout;
  return std::nullopt;
}

void append(std::vector<float>& values, const Tensor& tensor) {
  values.insert(values.end(), tensor.data(), tensor.data() + tensor.size());
}

}  // namespace

S8Network::InferencePlan::InferencePlan(Context& context_, Weights& weights_, ActivationLayout layout, int64_t batch_)
    : context(context_), weights(weights_), batch(batch_), loss(context_, batch_, S8Network::kClasses) {
  image_desc = plain_desc({batch, S8Network::kImageChannels, S8Network::kImageSize, S8Network::kImageSize});
  for (size_t k = 0; k < std::size(kSchedules); ++k) {
    const bool last = k + 1 == std::size(kSchedules);
    try {
      if (build(layout, kSchedules[k]) || last) break;
    } catch (const dnnl::error&) {
      if (last) throw;  // the training plan's own arrangement: nothing left to fall back to
    }
  }
  const Tensor& logits = stages.back().out;
  logits_plain = Tensor(plain_desc(logits.dims()), context.engine());
  logits_to_plain = dnnl::reorder(logits.memory(), logits_plain.memory());
}

bool S8Network::InferencePlan::build(ActivationLayout layout, const InferenceSchedule& candidate) {
  const auto folds = [&](size_t i) {
    return kStages[i].kind == StageKind::conv_norm_relu && weights.norms[i]->offers_eval_affine();
  };
  const auto shapes = s8::stage_shapes();
  if (candidate.channels_last_front)
    for (size_t i = 0; i < kStages.size(); ++i)
      if (in_front(i) && kStages[i].kind == StageKind::conv_norm_relu && !folds(i) &&
          !channels_last_view(*weights.norms[i], shapes[i].c))
        return false;

  const dnnl::engine& engine = context.engine();
  const int64_t block = static_cast<int64_t>(layout);
  bool all_jit = true;
  const Tensor image(image_desc, engine, nullptr);  // primitives take the caller's buffer when they run
  const Tensor* input = &image;
  for (size_t i = 0; i < kStages.size(); ++i) {
    StageState& st = stages[i] = StageState{};
    const StageKind kind = kStages[i].kind;
    const s8::Shape in = input_shape(i);
    const bool channels_last = candidate.channels_last_front && in_front(i);
    const tag out_tag = channels_last ? tag::nhwc : format_tag_of(layout);
    const dnnl::memory::desc out_desc({batch, shapes[i].c, shapes[i].h, shapes[i].w}, dnnl::memory::data_type::f32,
                                      out_tag);
    const dnnl::memory::desc input_desc = input->desc();
    if (s8::has_conv(kind)) {
      // The image arrives as nchw; a conv whose input channels leave most of a block empty reads nchw too.
      tag src_tag = out_tag;
      if (!channels_last && (i == 0 || (candidate.forward_choices && in.c < block))) src_tag = tag::nchw;
      const dnnl::memory::desc src_desc({batch, in.c, in.h, in.w}, dnnl::memory::data_type::f32, src_tag);
      if (src_desc != input_desc) {
        st.input = Tensor(src_desc, engine);
        st.to_input = dnnl::reorder(input->memory(), st.input.memory());
      }
      st.folded = folds(i);
      st.conv = std::make_unique<InferenceConv>(context, conv_spec(i), forward_algorithm(i, candidate), src_desc,
                                                out_desc, st.folded);
      all_jit = all_jit && st.conv->is_jit();
      if (kind == StageKind::conv_norm_relu && !st.folded) {
        st.norm = weights.norms[i].get();
        const s8net_layout norm_layout =
            channels_last ? *channels_last_view(*st.norm, shapes[i].c) : plugin_layout_of(layout);
        st.norm_desc = {batch, shapes[i].c, shapes[i].h, shapes[i].w, norm_layout};
        st.pre = Tensor(out_desc, engine);
        if (!st.norm->fuses_relu()) st.relu = std::make_unique<Relu>(context, out_desc);
      }
      if (kStages[i].skip == Skip::add) st.skip_add = std::make_unique<SkipAdd>(context, out_desc);
    } else if (kind == StageKind::pool_dropout) {
      st.pool = std::make_unique<MaxPool2x2>(context, input_desc, out_desc, Pass::inference);
    } else {
      st.pool = std::make_unique<GlobalAvgPool>(context, input_desc, out_desc, Pass::inference);
    }
    if (st.pool) all_jit = all_jit && st.pool->is_jit();
    st.out = Tensor(out_desc, engine);
    input = &st.out;
  }
  loaded_from.clear();
  return all_jit;
}

// Folding makes the convs' weights a function of the trained weights and the norms' state, so they
// are rebuilt whenever any of those changed since the last refresh (a training step, a load).
void S8Network::InferencePlan::refresh_weights() {
  std::vector<float>& sources = current_sources;  // a member: no allocation per call
  sources.clear();
  for (size_t i = 0; i < kStages.size(); ++i) {
    if (!stages[i].conv) continue;
    append(sources, weights.convs[i]->weight.value);
    append(sources, weights.convs[i]->bias.value);
    if (stages[i].folded) {
      for (const Parameter& p : weights.norms[i]->parameters()) append(sources, p.value);
      for (const Parameter& p : weights.norms[i]->state()) append(sources, p.value);
    }
  }
  if (sources == loaded_from) return;
  loaded_from.swap(sources);
  for (size_t i = 0; i < kStages.size(); ++i) {
    StageState& st = stages[i];
    if (!st.conv) continue;
    const std::optional<ChannelAffine> affine = st.folded ? weights.norms[i]->eval_affine() : std::nullopt;
    st.conv->load(*weights.convs[i], affine ? &*affine : nullptr);
  }
}

BatchResult S8Network::InferencePlan::forward(std::span<const float> images, std::span<const int32_t> labels) {
  // The images are read where they are: oneDNN takes a non-const handle, but only reads a source.
  const Tensor image(image_desc, context.engine(), const_cast<float*>(images.data()));
  const Tensor* input = &image;
  for (size_t i = 0; i < kStages.size(); ++i) {
    StageState& st = stages[i];
    const Tensor* src = input;
    if (st.to_input) {
      execute(context, st.to_input, {{DNNL_ARG_FROM, input->memory()}, {DNNL_ARG_TO, st.input.memory()}});
      src = &st.input;
    }
    if (st.pool) {
      st.pool->forward(*src, st.out);
    } else if (st.norm) {
      st.conv->forward(*src, st.pre);
      st.norm->forward(S8NET_MODE_EVAL, st.norm_desc, st.pre.data(), st.out.data());
      if (st.relu) st.relu->forward(st.out, st.out);
    } else {
      st.conv->forward(*src, st.out);
    }
    if (st.skip_add) st.skip_add->add(st.out, stages[s8::skip_source_of(i)].out, st.out);
    input = &st.out;
  }
  execute(context, logits_to_plain,
          {{DNNL_ARG_FROM, stages.back().out.memory()}, {DNNL_ARG_TO, logits_plain.memory()}});
  const Tensor logits_nc(loss.logits_desc(), context.engine(), logits_plain.data());
  BatchResult result;
  result.loss = loss.forward(logits_nc, labels);
  result.correct = loss.correct();
  return result;
}

std::vector<std::string> S8Network::InferencePlan::implementation_names() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < kStages.size(); ++i) {
    const StageState& st = stages[i];
    const std::string name = std::string("eval ") + kStages[i].name;
    if (st.to_input)
      names.push_back(name + ".reorder: to " + (st.input.desc() == plain_desc(st.input.dims()) ? "nchw" : "nhwc"));
    if (st.conv) {
      std::string line = name + ".conv: fwd " + st.conv->implementation();
      if (st.folded) line += " (" + weights.norms[i]->norm_name() + " folded in)";
      names.push_back(line);
    }
    if (st.norm)
      names.push_back(name + ".norm: " + st.norm->norm_name() + " (plugin, " + (st.relu ? "then" : "fused") + " ReLU)");
    if (st.relu) names.push_back(name + ".relu: " + st.relu->implementation());
    if (st.skip_add) names.push_back(name + ".skip_add: " + st.skip_add->implementation());
    if (st.pool) names.push_back(name + ".pool: " + st.pool->implementation());
  }
  return names;
}

}  // namespace s8net
