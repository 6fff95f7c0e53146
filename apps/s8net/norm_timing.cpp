#include "norm_timing.hpp"

#include <s8net/norm/plugin_sdk.hpp>

#include <algorithm>
#include <chrono>
#include <random>

namespace s8net::app {
namespace {

struct Buffers {
  std::vector<float> x, y, dy, dx;
  explicit Buffers(size_t size) : x(size), y(size), dy(size), dx(size) {
    std::mt19937 generator(7);
    std::normal_distribution<float> normal;
    for (float& v : x) v = normal(generator);
    for (float& v : dy) v = normal(generator);
  }
};

void call(NormLayer& layer, const s8net_tensor_desc& desc, NormPass pass, Buffers& b) {
  switch (pass) {
    case NormPass::forward_train:
      layer.forward(S8NET_MODE_TRAIN, desc, b.x.data(), b.y.data());
      return;
    case NormPass::forward_eval:
      layer.forward(S8NET_MODE_EVAL, desc, b.x.data(), b.y.data());
      return;
    case NormPass::backward:
      layer.backward(desc, b.x.data(), b.y.data(), b.dy.data(), b.dx.data());
      return;
  }
}

double seconds_of(NormLayer& layer, const s8net_tensor_desc& desc, NormPass pass, Buffers& b, int64_t calls) {
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < calls; ++i) call(layer, desc, pass, b);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

const char* pass_name(NormPass pass) noexcept {
  switch (pass) {
    case NormPass::forward_train:
      return "forward train";
    case NormPass::forward_eval:
      return "forward eval";
    case NormPass::backward:
      return "backward";
  }
  return "?";
}

double bytes_touched(NormPass pass, const s8net_tensor_desc& desc) {
  const double tensor = static_cast<double>(sdk::Layout(desc).padded_size()) * sizeof(float);
  return (pass == NormPass::backward ? 4 : 2) * tensor;
}

double median_seconds_per_call(NormLayer& layer, const s8net_tensor_desc& desc, NormPass pass, const TimingPlan& plan) {
  Buffers b(static_cast<size_t>(sdk::Layout(desc).padded_size()));
  layer.forward(S8NET_MODE_TRAIN, desc, b.x.data(), b.y.data());  // what backward differentiates
  for (int i = 0; i < plan.warmup; ++i) call(layer, desc, pass, b);
  const double one = std::max(seconds_of(layer, desc, pass, b, 1), 1e-9);
  const auto calls = std::max<int64_t>(1, static_cast<int64_t>(plan.min_repetition_seconds / one));
  std::vector<double> per_call;
  for (int r = 0; r < std::max(1, plan.repetitions); ++r)
    per_call.push_back(seconds_of(layer, desc, pass, b, calls) / static_cast<double>(calls));
  std::nth_element(per_call.begin(), per_call.begin() + static_cast<std::ptrdiff_t>(per_call.size() / 2),
                   per_call.end());
  return per_call[per_call.size() / 2];
}

}  // namespace s8net::app
