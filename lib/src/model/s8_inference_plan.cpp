#include "s8_inference_plan.hpp"

#include "s8_stage_dispatch.hpp"

#include <s8net/ops/plane_map.hpp>
#include <s8net/ops/pooled_conv1x1.hpp>

#include <optional>
#include <string>

namespace s8net {

using s8::kStages;
using s8::Skip;
using tag = dnnl::memory::format_tag;

namespace {

// The choices, each measured per layer (docs/performance.md):
// - the 16-channel convs at 32x32 run faster as oneDNN's brgconv in nhwc than as direct
//   convolution in nChw16c; a norm there must fold, or take the nhwc tensor as nChw16c (16 channels);
//   where s8net's own Winograd runs (AVX2, nChw8c), C2 runs faster with it than in nhwc;
// - C3 (8 input channels, half of a 16-channel block) runs faster as direct convolution from an
//   nchw copy of its input than as Winograd from the padded block (direct has no JIT kernel there);
// - oneDNN's Winograd (AVX-512) wins the forward pass only with 32 channels in and out: C7 (16 in)
//   runs direct there; s8net's own (AVX2, nChw8c) wins for every 3x3 conv it can run.
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

// Whether s8net's WinogradConv takes the 3x3 convs that oneDNN has no Winograd for.
bool own_winograd_runs(ActivationLayout layout) {
  return layout == ActivationLayout::nChw8c && WinogradConv::available();
}

ConvAlgorithm forward_algorithm(size_t stage, const InferenceSchedule& schedule, ActivationLayout layout) {
  const ConvSpec spec = conv_spec(stage);
  if (!schedule.forward_choices) return spec.algorithms.forward;
  const bool wide = spec.kernel == 3 && spec.in_channels >= 32 && spec.out_channels >= 32;
  const bool own = spec.kernel == 3 && own_winograd_runs(layout);
  return wide || own ? ConvAlgorithm::winograd : ConvAlgorithm::direct;
}

// How a plugin norm can read an nhwc tensor: as the blocked layout whose block is the channel
// count (nChw16c with 16 channels is nhwc byte for byte), if the plugin takes that layout.
std::optional<s8net_layout> channels_last_view(const NormLayer& norm, int64_t channels) {
  for (const s8net_layout layout : {S8NET_LAYOUT_NCHW16C, S8NET_LAYOUT_NCHW8C})
    if (channels == static_cast<int64_t>(layout) && norm.accepts(layout)) return layout;
  return std::nullopt;
}

std::string tag_name(tag format) {
  if (format == tag::nchw) return "nchw";
  if (format == tag::nhwc) return "nhwc";
  return format == tag::nChw8c ? "nChw8c" : "nChw16c";
}

void append(std::vector<float>& values, const Tensor& tensor) {
  values.insert(values.end(), tensor.data(), tensor.data() + tensor.size());
}

}  // namespace

// Builds each stage's ops and buffers and its forward steps, for one schedule.
struct S8Network::InferencePlan::Builder {
  InferencePlan& plan;
  ActivationLayout layout;
  const InferenceSchedule& candidate;
  std::array<s8::Shape, kStages.size()> shapes = s8::stage_shapes();
  const Tensor* input = nullptr;  // the previous stage's output
  bool all_jit = true;
  // A norm taken by the convs around it (see by_moments) whose map no pass has applied yet: its
  // stage's output is the conv's, `input`. The next conv takes the map in if s8net's Winograd
  // runs it; anything else has apply_pending() apply it first.
  std::optional<size_t> pending = std::nullopt;
  // A 1x1 conv left for the max-pool after it to run with it (PooledConv1x1).
  std::optional<size_t> pooled_conv = std::nullopt;

  std::string name(size_t i) const { return std::string("eval ") + kStages[i].name; }
  void begin_stage(size_t i) { plan.steps.begin_section(kStages[i].name); }
  bool channels_last(size_t i) const { return candidate.channels_last_front && in_front(i); }
  dnnl::memory::desc out_desc(size_t i) const {
    const tag out_tag = channels_last(i) ? tag::nhwc : format_tag_of(layout);
    return {{plan.batch, shapes[i].c, shapes[i].h, shapes[i].w}, dnnl::memory::data_type::f32, out_tag};
  }

  void conv_norm_relu(size_t i) {
    NormLayer& norm = *plan.weights.norms[i];
    const bool folded = norm.offers_eval_affine();
    conv(i, folded, folded ? nullptr : &norm);
  }
  void conv1x1(size_t i) {
    if (pools_in_the_conv(i))
      pooled_conv = i;
    else
      conv(i, false, nullptr);
  }
  void head(size_t i) { conv(i, false, nullptr); }

  // plugin_norm: a norm after the conv, run by its plugin or taken as a map of its moments
  // (by_moments); folded: a norm inside the conv.
  void conv(size_t i, bool folded, NormLayer* plugin_norm) {
    StageState& st = plan.stages[i];
    const dnnl::engine& engine = plan.context.engine();
    const s8::Shape in = input_shape(i);
    const dnnl::memory::desc dst_desc = out_desc(i);
    // The image arrives as nchw; a conv whose input channels leave most of a block empty reads nchw too.
    tag src_tag = channels_last(i) ? tag::nhwc : format_tag_of(layout);
    if (!channels_last(i) && (i == 0 || (candidate.forward_choices && in.c < static_cast<int64_t>(layout))))
      src_tag = tag::nchw;
    const dnnl::memory::desc src_desc({plan.batch, in.c, in.h, in.w}, dnnl::memory::data_type::f32, src_tag);
    st.conv = std::make_unique<InferenceConv>(plan.context, conv_spec(i), forward_algorithm(i, candidate, layout),
                                              src_desc, dst_desc, folded);
    WinogradFusion fusion;
    std::string taken_in;  // the stage whose norm this conv applies to its input
    if (pending) {
      const StageState& from = plan.stages[*pending];
      if (st.conv->runs_own_winograd() && src_desc == input->desc() && add_reads_a_map(*pending)) {
        fusion.input_scale = from.map_scale.data();
        fusion.input_shift = from.map_shift.data();
        taken_in = kStages[*pending].name;
        pending.reset();
      } else {
        apply_pending(i);
      }
    }
    const Tensor* src = input;
    if (src_desc != input->desc()) {
      st.input = Tensor(src_desc, engine);
      plan.steps.add_primitive({dnnl::reorder(input->memory(), st.input.memory()),
                                {{DNNL_ARG_FROM, input->memory()}, {DNNL_ARG_TO, st.input.memory()}}},
                               name(i) + ".reorder: to " + tag_name(src_tag));
      src = &st.input;
    }
    st.folded = folded;
    all_jit = all_jit && st.conv->is_jit();
    std::string conv_line = name(i) + ".conv: fwd " + st.conv->implementation();
    if (folded) conv_line += " (" + plan.weights.norms[i]->norm_name() + " folded in)";
    if (!taken_in.empty()) conv_line += " (reading " + taken_in + "'s norm and ReLU in)";
    if (plugin_norm != nullptr && by_moments(i)) return conv_by_moments(i, *plugin_norm, *src, fusion, conv_line);
    st.out = Tensor(dst_desc, engine);

    if (plugin_norm != nullptr) {
      NormLayer& norm = *plugin_norm;
      const s8net_layout norm_layout =
          channels_last(i) ? *channels_last_view(norm, shapes[i].c) : plugin_layout_of(layout);
      st.norm_desc = {plan.batch, shapes[i].c, shapes[i].h, shapes[i].w, norm_layout};
      st.pre = Tensor(dst_desc, engine);
      if (!norm.fuses_relu()) st.relu = std::make_unique<Relu>(plan.context, dst_desc, Pass::inference);
      plan.steps.add_pass(st.conv->bind_forward(*src, st.pre, fusion), conv_line);
      plan.steps.add_plugin(
          [&norm, &st, x = st.pre.data(), y = st.out.data()] { norm.forward(S8NET_MODE_EVAL, st.norm_desc, x, y); },
          name(i) + ".norm: " + norm.norm_name() + " (plugin, " + (st.relu ? "then" : "fused") + " ReLU)");
      if (st.relu)
        plan.steps.add_primitive(st.relu->bind_forward(st.out, st.out),
                                 name(i) + ".relu: " + st.relu->implementation());
    } else {
      plan.steps.add_pass(st.conv->bind_forward(*src, st.out, fusion), conv_line);
    }
    if (kStages[i].skip == Skip::add) {
      st.skip_add = std::make_unique<SkipAdd>(plan.context, dst_desc);
      plan.steps.add_primitive(st.skip_add->bind(st.out, plan.stages[s8::skip_source_of(i)].out, st.out),
                               name(i) + ".skip_add: " + st.skip_add->implementation());
    }
    input = &st.out;
  }

  // Whether stage i's norm is taken as a map of its input's moments instead of by a pass of its
  // own: when it does not fold, offers that map, and the stage's output is nChw8c where s8net's
  // passes run. The conv (s8net's Winograd) then takes the moments of its output, or one pass reads
  // them (after a oneDNN conv); the plugin turns them into a map per (image, channel); the next
  // conv applies the map to what it reads if s8net's Winograd runs it, else one pass applies it,
  // with the skip add where there is one.
  bool by_moments(size_t i) const {
    const NormLayer& norm = *plan.weights.norms[i];
    return !norm.offers_eval_affine() && norm.offers_eval_affine_from_moments() && norm.accepts(S8NET_LAYOUT_NCHW8C) &&
           layout == ActivationLayout::nChw8c && !channels_last(i) && plane_map_available();
  }

  // Whether the skip add that reads stage i (if it is a skip source) can apply i's map itself, as the
  // map pass does: else i's output must be a tensor.
  bool add_reads_a_map(size_t i) const {
    if (kStages[i].skip != Skip::source) return true;
    for (size_t j = i + 1; j < kStages.size(); ++j)
      if (kStages[j].skip == Skip::add) return by_moments(j);
    return false;
  }

  PlaneMapShape map_shape(size_t i) const { return {plan.batch, shapes[i].c, shapes[i].h, shapes[i].w}; }

  void conv_by_moments(size_t i, NormLayer& norm, const Tensor& src, WinogradFusion fusion,
                       const std::string& conv_line) {
    StageState& st = plan.stages[i];
    const auto planes = static_cast<size_t>(plan.batch * shapes[i].c);
    st.pre = Tensor(out_desc(i), plan.context.engine());
    st.moments.assign(planes, {});
    st.map_scale.assign(planes, 0.f);
    st.map_shift.assign(planes, 0.f);
    st.norm_desc = {plan.batch, shapes[i].c, shapes[i].h, shapes[i].w, S8NET_LAYOUT_NCHW8C};
    if (st.conv->runs_own_winograd()) {
      fusion.output_moments = st.moments.data();
      plan.steps.add_pass(st.conv->bind_forward(src, st.pre, fusion),
                          conv_line + " (taking the moments of its output)");
    } else {
      plan.steps.add_pass(st.conv->bind_forward(src, st.pre, fusion), conv_line);
      plan.steps.add_pass(BoundPass::own([shape = map_shape(i), x = st.pre.data(),
                                          moments = st.moments.data()] { plane_moments(shape, x, moments); },
                                         "norm moments forward_inference"),
                          name(i) + ".norm moments: s8net_plane_moments:avx2");
    }
    plan.steps.add_plugin(
        [&norm, &st] {
          norm.eval_affine_from_moments(st.norm_desc, st.moments.data(), st.map_scale.data(), st.map_shift.data());
        },
        name(i) + ".norm: " + norm.norm_name() + " (plugin, as a map of the moments)");
    input = &st.pre;
    pending = i;
    // The skip add needs this stage's map applied before it: in one pass with its own.
    if (kStages[i].skip == Skip::add) apply_pending(i);
  }

  // A stage's output as the map pass reads it: the tensor, or the conv's output and the norm's map
  // where no pass has applied it (a skip source whose next conv took its map in).
  MappedPlanes output_of(size_t i) const {
    const StageState& st = plan.stages[i];
    if (!st.out.empty()) return {st.out.data(), nullptr, nullptr};
    return {st.pre.data(), st.map_scale.data(), st.map_shift.data()};
  }

  // Applies the pending norm's map and ReLU (and its stage's skip add) in one pass, in that stage's
  // section of the profile; `section` is the stage being built.
  void apply_pending(size_t section) {
    const size_t i = *pending;
    pending.reset();
    StageState& st = plan.stages[i];
    st.out = Tensor(out_desc(i), plan.context.engine());
    const bool add = kStages[i].skip == Skip::add;
    const MappedPlanes addend = add ? output_of(s8::skip_source_of(i)) : MappedPlanes{};
    std::string line = name(i) + ".norm map: s8net_plane_map:avx2 (the map with its ReLU";
    if (add) line += addend.scale ? ", and the skip add of the source's map" : ", and the skip add";
    plan.steps.begin_section(kStages[i].name);
    plan.steps.add_pass(
        BoundPass::own([shape = map_shape(i), x = st.pre.data(), a = st.map_scale.data(), b = st.map_shift.data(),
                        addend, y = st.out.data()] { map_planes_relu(shape, x, a, b, addend, y); },
                       "norm map forward_inference"),
        line + ")");
    plan.steps.begin_section(kStages[section].name);
    input = &st.out;
  }

  // Whether 1x1 conv i and the max-pool after it run as one pass: nChw8c in and out where s8net's
  // passes run. Its input is the previous stage's output, or that stage's conv output and map.
  bool pools_in_the_conv(size_t i) const {
    const PooledConv1x1Shape shape = pooled_shape(i);
    const dnnl::memory::desc nchw8c({plan.batch, shape.in_channels, shape.height, shape.width},
                                    dnnl::memory::data_type::f32, tag::nChw8c);
    return candidate.forward_choices && layout == ActivationLayout::nChw8c && PooledConv1x1::available() &&
           i + 1 < kStages.size() && kStages[i + 1].kind == s8::StageKind::pool_dropout && !channels_last(i) &&
           !channels_last(i + 1) && input->desc() == nchw8c && PooledConv1x1::fits(shape);
  }
  PooledConv1x1Shape pooled_shape(size_t i) const {
    const s8::Shape in = input_shape(i);
    return {plan.batch, in.c, shapes[i].c, in.h, in.w};
  }

  // 1x1 conv c and max-pool p in one pass, in c's section of the profile; c's output is never
  // written. The conv reads the pending norm's map in where it can.
  void pooled_conv1x1(size_t c, size_t p) {
    auto conv = std::make_unique<PooledConv1x1>(pooled_shape(c));
    std::string line =
        name(c) + ".conv: fwd " + PooledConv1x1::implementation() + " (" + kStages[p].name + "'s max-pool taken in";
    MappedPlanes src;
    if (pending && add_reads_a_map(*pending)) {
      src = output_of(*pending);
      line += ", reading " + std::string(kStages[*pending].name) + "'s norm and ReLU in";
      pending.reset();
    } else {
      if (pending) apply_pending(p);
      src = {input->data()};
    }
    StageState& st = plan.stages[p];
    st.out = Tensor(out_desc(p), plan.context.engine());
    plan.steps.begin_section(kStages[c].name);
    plan.steps.add_pass(BoundPass::own([conv = conv.get(), src, y = st.out.data()] { conv->forward(src, y); },
                                       "convolution forward_inference"),
                        line + ")");
    plan.steps.begin_section(kStages[p].name);
    plan.stages[c].pooled_conv = std::move(conv);
    input = &st.out;
  }

  void pool_dropout(size_t i) {
    if (pooled_conv) {
      const size_t c = *pooled_conv;
      pooled_conv.reset();
      return pooled_conv1x1(c, i);
    }
    if (pending) apply_pending(i);
    pool(i, std::make_unique<MaxPool2x2>(plan.context, input->desc(), out_desc(i), Pass::inference));
  }
  void global_pool(size_t i) {
    if (pending) apply_pending(i);
    pool(i, std::make_unique<GlobalAvgPool>(plan.context, input->desc(), out_desc(i), Pass::inference));
  }

  void pool(size_t i, std::unique_ptr<Pooling> pool) {
    StageState& st = plan.stages[i];
    st.pool = std::move(pool);
    all_jit = all_jit && st.pool->is_jit();
    st.out = Tensor(out_desc(i), plan.context.engine());
    plan.steps.add_pass(st.pool->bind_forward(*input, st.out), name(i) + ".pool: " + st.pool->implementation());
    input = &st.out;
  }
};

// s8net's own Winograd and pooled 1x1 convs in nChw8c outran oneDNN's AVX-512 kernels in nChw16c
// on this network's forward on an AMD EPYC (whose AVX-512 runs at half width), and are level with
// them for BN and ahead for GN and LN on an Intel Xeon (docs/performance.md). Training keeps
// nChw16c: its backward passes gain nothing there.
ActivationLayout S8Network::InferencePlan::layout_for(ActivationLayout training_layout, const Weights& weights) {
  if (training_layout != ActivationLayout::nChw16c || !own_winograd_runs(ActivationLayout::nChw8c))
    return training_layout;
  for (size_t i = 0; i < kStages.size(); ++i)
    if (const auto& norm = weights.norms[i]; norm && !norm->offers_eval_affine() && !norm->accepts(S8NET_LAYOUT_NCHW8C))
      return training_layout;
  return ActivationLayout::nChw8c;
}

S8Network::InferencePlan::InferencePlan(Context& context_, Weights& weights_, ActivationLayout layout, int64_t batch_)
    : context(context_), weights(weights_), batch(batch_), loss(context_, batch_, S8Network::kClasses) {
  // Primitives read the caller's images where they are: each forward points this view at them.
  image = Tensor(plain_desc({batch, S8Network::kImageChannels, S8Network::kImageSize, S8Network::kImageSize}),
                 context.engine(), nullptr);
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
  const Tensor logits_nc(loss.logits_desc(), context.engine(), logits_plain.data());
  steps.begin_section("loss");
  steps.add_primitive({dnnl::reorder(logits.memory(), logits_plain.memory()),
                       {{DNNL_ARG_FROM, logits.memory()}, {DNNL_ARG_TO, logits_plain.memory()}}});
  steps.add_primitive(loss.bind_forward(logits_nc));
  steps.add_host([this] {
    result.loss = loss.score();
    result.correct = loss.correct();
  });
}

bool S8Network::InferencePlan::build(ActivationLayout layout, const InferenceSchedule& candidate) {
  const auto shapes = s8::stage_shapes();
  if (candidate.channels_last_front && own_winograd_runs(layout)) return false;
  if (candidate.channels_last_front)
    for (size_t i = 0; i < kStages.size(); ++i)
      if (in_front(i) && s8::has_norm(kStages[i].kind) && !weights.norms[i]->offers_eval_affine() &&
          !channels_last_view(*weights.norms[i], shapes[i].c))
        return false;

  steps.clear();
  for (StageState& st : stages) st = StageState{};
  Builder builder{*this, layout, candidate};
  builder.input = &image;
  s8::for_each_stage(builder);
  loaded_from.clear();
  return builder.all_jit;
}

// Folding makes the convs' weights a function of the trained weights and the norms' state, so they
// are rebuilt whenever any of those changed since the last refresh (a training step, a load).
void S8Network::InferencePlan::refresh_weights() {
  std::vector<float>& sources = current_sources;  // a member: no allocation per call
  sources.clear();
  for (size_t i = 0; i < kStages.size(); ++i) {
    if (!stages[i].conv && !stages[i].pooled_conv) continue;
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
    if (st.pooled_conv) st.pooled_conv->load(context, *weights.convs[i]);
    if (!st.conv) continue;
    const std::optional<ChannelAffine> affine = st.folded ? weights.norms[i]->eval_affine() : std::nullopt;
    st.conv->load(*weights.convs[i], affine ? &*affine : nullptr);
  }
}

BatchResult S8Network::InferencePlan::forward(std::span<const float> images, std::span<const int32_t> labels) {
  loss.set_labels(labels);
  // oneDNN takes a non-const handle, but only reads a source.
  image.memory().set_data_handle(const_cast<float*>(images.data()));
  steps.run(context.stream());
  return result;
}

}  // namespace s8net
