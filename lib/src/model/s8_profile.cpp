// S8Network::profile: each plan's steps timed one by one and summed per (pass, layer, op).
#include "s8_architecture.hpp"
#include "s8_inference_plan.hpp"
#include "s8_training_plan.hpp"

#include <s8net/core/error.hpp>

#include <oneapi/dnnl/dnnl_debug.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace s8net {
namespace {

// "convolution backward_weights", "norm", "host": what a profile row calls a step.
std::string op_of(const Step& step) {
  if (step.kind == Step::Kind::plugin) return "norm";
  if (step.kind == Step::Kind::host) return "host";
  if (step.kind == Step::Kind::kernel) return step.op;
  const dnnl::primitive& primitive = step.primitive.primitive;
  std::string name = dnnl_prim_kind2str(static_cast<dnnl_primitive_kind_t>(primitive.get_kind()));
  dnnl_prop_kind_t prop = dnnl_prop_kind_undef;
  // Reorders and a few others have no propagation kind: the query fails and the name stays bare.
  if (dnnl_primitive_desc_query(primitive.get_primitive_desc(), dnnl_query_prop_kind, 0, &prop) == dnnl_success &&
      prop != dnnl_prop_kind_undef)
    name += std::string(" ") + dnnl_prop_kind2str(prop);
  return name;
}

// Forward multiply-adds x 2 of one image through the conv of the layer named `layer`, or 0.
double conv_flops_of_layer(const std::string& layer) {
  const auto flops = s8::conv_forward_flops();
  for (size_t i = 0; i < s8::kStages.size(); ++i)
    if (layer == s8::kStages[i].name) return flops[i];
  return 0;
}

// One row per (layer, op) in the order first met; `scale` turns a run into a batch.
void add_rows(std::vector<OpTiming>& rows, const std::string& pass, const StepList& steps,
              const std::vector<double>& seconds, int runs, double images_per_run, double scale) {
  const size_t first = rows.size();
  for (size_t k = 0; k < steps.steps().size(); ++k) {
    const Step& step = steps.steps()[k];
    const std::string op = op_of(step);
    auto row = std::find_if(rows.begin() + static_cast<std::ptrdiff_t>(first), rows.end(),
                            [&](const OpTiming& r) { return r.layer == step.section && r.op == op; });
    if (row == rows.end()) {
      const double flops = op.starts_with("convolution") ? conv_flops_of_layer(step.section) * images_per_run : 0;
      rows.push_back({pass, step.section, op, 0, flops * scale});
      row = rows.end() - 1;
    }
    row->seconds += seconds[k] / runs * scale;
  }
}

// Pseudo-random images in about [-2, 2] and labels 0..9 repeating: the values matter to no timing.
void synthetic_batch(int64_t batch, std::vector<float>& images, std::vector<int32_t>& labels) {
  images.resize(static_cast<size_t>(batch * S8Network::kImageValues));
  uint32_t state = 12345;
  for (float& value : images) {
    state = state * 1664525u + 1013904223u;
    value = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 4.f - 2.f;
  }
  labels.resize(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>(i % S8Network::kClasses);
}

}  // namespace

std::vector<OpTiming> S8Network::profile(int64_t batch, int runs) {
  if (batch <= 0) throw Error("profile: the batch must be > 0, got " + std::to_string(batch));
  if (runs <= 0) throw Error("profile: the runs must be > 0, got " + std::to_string(runs));
  std::vector<float> images;
  std::vector<int32_t> labels;
  synthetic_batch(batch, images, labels);
  std::vector<OpTiming> rows;

  TrainingPlan& training = plan_for(batch);
  training.forward(images, labels, step_, BatchShard{});  // warm-up; also binds the images and labels
  training.backward();
  std::vector<double> forward_seconds, backward_seconds;
  for (int run = 0; run < runs; ++run) {
    training.forward_steps.run_timed(context_.stream(), forward_seconds);
    training.backward_steps.run_timed(context_.stream(), backward_seconds);
  }
  const auto images_per_batch = static_cast<double>(batch);
  add_rows(rows, "train forward", training.forward_steps, forward_seconds, runs, images_per_batch, 1);
  add_rows(rows, "train backward", training.backward_steps, backward_seconds, runs, images_per_batch, 1);

  InferencePlan& inference = chunk_plan_for(batch);
  const int64_t chunk = inference.batch;
  inference.refresh_weights();
  const std::span<const float> chunk_images(images.data(), static_cast<size_t>(chunk * kImageValues));
  inference.forward(chunk_images, std::span(labels).first(static_cast<size_t>(chunk)));  // warm-up and binding
  std::vector<double> inference_seconds;
  for (int run = 0; run < runs; ++run) inference.steps.run_timed(context_.stream(), inference_seconds);
  add_rows(rows, "inference", inference.steps, inference_seconds, runs, static_cast<double>(chunk),
           images_per_batch / static_cast<double>(chunk));
  return rows;
}

}  // namespace s8net
