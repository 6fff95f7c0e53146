#include "s8_inference_plan.hpp"
#include "s8_stage_dispatch.hpp"
#include "s8_training_plan.hpp"

#include <s8net/core/error.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/plugin_sdk.hpp>
#include <s8net/norm/registry.hpp>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

namespace s8net {

using s8::kStages;

namespace {

constexpr int64_t kLayoutProbeBatch = 32;

ConvWeights make_conv_weights(Context& context, size_t stage, ActivationLayout layout) {
  const ConvSpec spec = conv_spec(stage);
  return ConvWeights(
      context, spec,
      ConvWeights::preferred_desc(context.engine(), spec, conv_src_desc(stage, kLayoutProbeBatch, layout),
                                  conv_dst_desc(stage, kLayoutProbeBatch, layout)));
}

// True when every convolution of the network, forward and backward, gets a JIT kernel in this
// layout (oneDNN falls back to a reference kernel, many times slower, for some layout/shape
// pairs, e.g. 8 input channels in nChw16c).
bool every_conv_is_jit(Context& context, ActivationLayout layout) {
  for (size_t i = 0; i < kStages.size(); ++i) {
    if (!s8::has_conv(kStages[i].kind)) continue;
    ConvWeights weights = make_conv_weights(context, i, layout);
    const Conv2d conv(context, weights, conv_src_desc(i, kLayoutProbeBatch, layout),
                      conv_dst_desc(i, kLayoutProbeBatch, layout), i > 0);
    if (!conv.all_jit()) return false;
  }
  return true;
}

// The CPU's preferred layout, else the first of nChw16c, nChw8c and nchw, whose every conv has a
// JIT kernel, among the layouts the norm plugin takes (`plugin_layouts`, a mask); failing that, the
// first it takes.
ActivationLayout pick_layout(Context& context, uint32_t plugin_layouts) {
  const ActivationLayout preferred = choose_activation_layout(context.engine());
  const ActivationLayout order[] = {preferred, ActivationLayout::nChw16c, ActivationLayout::nChw8c,
                                    ActivationLayout::nchw};
  const auto taken = [&](ActivationLayout layout) {
    return (plugin_layouts & sdk::layout_mask(plugin_layout_of(layout))) != 0;
  };
  for (ActivationLayout layout : order)
    if (taken(layout) && every_conv_is_jit(context, layout)) return layout;
  for (ActivationLayout layout : order)
    if (taken(layout)) return layout;
  return preferred;
}

// The summary's name of each stage's op.
struct OpNames {
  const NetworkConfig& config;
  std::vector<LayerSummary>& rows;
  void conv_norm_relu(size_t i) {
    rows[i].op = "conv3x3+" + config.norm + "+relu" + (kStages[i].skip == s8::Skip::add ? "+skip" : "");
  }
  void conv1x1(size_t i) { rows[i].op = "conv1x1"; }
  void pool_dropout(size_t i) {
    rows[i].op = "maxpool2x2+dropout(" + std::to_string(config.dropout).substr(0, 4) + ")";
  }
  void global_pool(size_t i) { rows[i].op = "global-avgpool"; }
  void head(size_t i) { rows[i].op = "conv1x1+log-softmax"; }
};

}  // namespace

S8Network::S8Network(Context& context, const NormRegistry& registry, NetworkConfig config, const Collective& ranks)
    : context_(context), config_(std::move(config)), weights_(std::make_unique<Weights>()) {
  if (!(config_.dropout >= 0.f && config_.dropout < 1.f))
    throw Error("dropout must be in [0, 1), got " + std::to_string(config_.dropout));
  if (config_.inference_chunk < 0)
    throw Error("inference_chunk must be 0 (the default) or a number of images, got " +
                std::to_string(config_.inference_chunk));
  inference_chunk_ = config_.inference_chunk > 0 ? config_.inference_chunk
                                                 : kInferenceImagesPerThread * std::max(1, omp_get_max_threads());
  layout_ = config_.layout ? *config_.layout : pick_layout(context, registry.find(config_.norm).descriptor->layouts);

  // Xavier-uniform conv weights (bound sqrt(6 / (fan_in + fan_out))), zero biases, drawn in
  // layer order from one seeded generator; norms start at scale 1, shift 0 (their plugins do it).
  std::mt19937_64 generator(config_.seed);
  for (size_t i = 0; i < kStages.size(); ++i) {
    if (!s8::has_conv(kStages[i].kind)) continue;
    weights_->convs[i] = std::make_unique<ConvWeights>(make_conv_weights(context, i, layout_));
    const ConvSpec& spec = weights_->convs[i]->spec();
    const int64_t receptive = spec.kernel * spec.kernel;
    const double bound = std::sqrt(6.0 / static_cast<double>((spec.in_channels + spec.out_channels) * receptive));
    std::uniform_real_distribution<float> uniform(static_cast<float>(-bound), static_cast<float>(bound));
    std::vector<float> values(static_cast<size_t>(weights_->convs[i]->weight.count()));
    for (float& v : values) v = uniform(generator);
    from_plain(context, values, weights_->convs[i]->weight.value);
    if (s8::has_norm(kStages[i].kind))
      weights_->norms[i] = std::make_unique<NormLayer>(registry, config_.norm, spec.out_channels, config_.norm_options,
                                                       true, std::string(kStages[i].name) + ".norm", ranks);
  }
  inference_layout_ = config_.layout ? layout_ : InferencePlan::layout_for(layout_, *weights_);
}

S8Network::~S8Network() = default;

S8Network::TrainingPlan& S8Network::plan_for(int64_t batch) {
  auto found = plans_.find(batch);
  if (found == plans_.end())
    found = plans_.emplace(batch, std::make_unique<TrainingPlan>(context_, *weights_, layout_, batch, config_)).first;
  return *found->second;
}

S8Network::InferencePlan& S8Network::inference_plan_for(int64_t batch) {
  auto found = inference_plans_.find(batch);
  if (found == inference_plans_.end())
    found =
        inference_plans_.emplace(batch, std::make_unique<InferencePlan>(context_, *weights_, inference_layout_, batch))
            .first;
  return *found->second;
}

int64_t S8Network::checked_batch(std::span<const float> images, std::span<const int32_t> labels) const {
  const int64_t batch = static_cast<int64_t>(labels.size());
  if (batch == 0) throw Error("empty batch");
  if (static_cast<int64_t>(images.size()) != batch * kImageValues)
    throw Error("batch of " + std::to_string(batch) + " labels needs " + std::to_string(batch * kImageValues) +
                " image values, got " + std::to_string(images.size()));
  return batch;
}

BatchResult S8Network::forward_backward(std::span<const float> images, std::span<const int32_t> labels,
                                        BatchShard shard) {
  log_probabilities_ = {};  // none, should this forward fail
  const int64_t batch = checked_batch(images, labels);
  if (shard.global_size > 0 && (shard.offset < 0 || shard.offset + batch > shard.global_size))
    throw Error("a share of " + std::to_string(batch) + " images at " + std::to_string(shard.offset) +
                " does not fit a global batch of " + std::to_string(shard.global_size));
  TrainingPlan& plan = plan_for(batch);
  const BatchResult result = plan.forward(images, labels, step_, shard);
  plan.backward();
  ++step_;
  const Tensor& log_p = plan.loss.log_probabilities();
  log_probabilities_ = {log_p.data(), static_cast<size_t>(log_p.size())};
  return result;
}

S8Network::InferencePlan& S8Network::chunk_plan_for(int64_t batch) {
  return inference_plan_for(inference_chunk_for(batch));
}

BatchResult S8Network::evaluate(std::span<const float> images, std::span<const int32_t> labels) {
  const int64_t batch = checked_batch(images, labels);
  log_probabilities_ = {};  // none, should this forward fail (the resize may move the buffer)
  eval_log_probabilities_.resize(static_cast<size_t>(batch * kClasses));
  // At most two plans: full chunks and the rest. Their weights are brought up to date once per call.
  chunk_plan_for(batch).refresh_weights();
  if (const int64_t rest = batch % inference_chunk_; batch > inference_chunk_ && rest > 0)
    inference_plan_for(rest).refresh_weights();
  double loss_sum = 0;
  BatchResult total;
  for (int64_t first = 0; first < batch; first += inference_chunk_) {
    const int64_t count = std::min(inference_chunk_, batch - first);
    InferencePlan& plan = inference_plan_for(count);
    const BatchResult chunk = plan.forward(
        images.subspan(static_cast<size_t>(first * kImageValues), static_cast<size_t>(count * kImageValues)),
        labels.subspan(static_cast<size_t>(first), static_cast<size_t>(count)));
    loss_sum += chunk.loss * static_cast<double>(count);
    total.correct += chunk.correct;
    const float* log_p = plan.log_probabilities().data();
    std::copy(log_p, log_p + count * kClasses, eval_log_probabilities_.begin() + first * kClasses);
  }
  total.loss = loss_sum / static_cast<double>(batch);
  log_probabilities_ = eval_log_probabilities_;
  return total;
}

std::span<const float> S8Network::log_probabilities() const { return log_probabilities_; }

std::vector<Parameter*> S8Network::parameters() {
  std::vector<Parameter*> all;
  for (size_t i = 0; i < kStages.size(); ++i) {
    if (auto& conv = weights_->convs[i]) {
      all.push_back(&conv->weight);
      all.push_back(&conv->bias);
    }
    if (auto& norm = weights_->norms[i])
      for (Parameter& p : norm->parameters()) all.push_back(&p);
  }
  return all;
}

std::vector<Parameter*> S8Network::state() {
  std::vector<Parameter*> all;
  for (auto& norm : weights_->norms)
    if (norm)
      for (Parameter& p : norm->state()) all.push_back(&p);
  return all;
}

double S8Network::conv_flops_per_image(Mode mode) {
  const auto flops = s8::conv_forward_flops();
  double forward = 0;
  for (const double f : flops) forward += f;
  // Training adds backward-data and backward-weights, except backward-data of the first conv.
  return mode == Mode::eval ? forward : 3 * forward - flops[0];
}

int64_t S8Network::parameter_count() const {
  int64_t total = 0;
  for (const LayerSummary& row : summary()) total += row.params;
  return total;
}

std::vector<LayerSummary> S8Network::summary() const {
  const auto shapes = s8::stage_shapes();
  std::vector<LayerSummary> rows;
  for (size_t i = 0; i < kStages.size(); ++i) {
    LayerSummary row{kStages[i].name, "", {shapes[i].c, shapes[i].h, shapes[i].w}, 0};
    if (const auto& conv = weights_->convs[i]) row.params += conv->spec().parameter_count();
    if (const auto& norm = weights_->norms[i])
      for (const Parameter& p : norm->parameters()) row.params += p.count();
    rows.push_back(std::move(row));
  }
  OpNames names{config_, rows};
  s8::for_each_stage(names);
  return rows;
}

std::vector<std::string> S8Network::implementation_names(int64_t batch) {
  std::vector<std::string> names = plan_for(batch).implementation_names();
  for (std::string& line : chunk_plan_for(batch).implementation_names()) names.push_back(std::move(line));
  return names;
}

int64_t S8Network::training_bytes_per_image() {
  // Measured on a plan of one image, which is then dropped unless training already uses it.
  const bool cached = plans_.count(1) > 0;
  const int64_t bytes = plan_for(1).buffer_bytes();
  if (!cached) plans_.erase(1);
  return bytes;
}

std::string S8Network::norm_origin() const {
  for (const auto& norm : weights_->norms)
    if (norm) return norm->origin();
  return {};
}

}  // namespace s8net
