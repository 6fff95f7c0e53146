#include "conformance_support.hpp"

#include <s8net/core/format.hpp>
#include <s8net/norm/plugin_descriptor.hpp>
#include <s8net/norm/plugin_sdk.hpp>

#include <bit>
#include <cmath>
#include <cstring>

namespace s8net::conformance {
namespace {

std::vector<double> random_values(std::mt19937& generator, size_t count, double mean, double spread) {
  std::normal_distribution<float> normal;
  std::vector<double> out(count);
  for (double& v : out) v = static_cast<float>(mean + spread * normal(generator));
  return out;
}

std::vector<std::vector<float>> copy_arrays(const std::vector<s8net_norm_tensor>& tensors, bool grad) {
  std::vector<std::vector<float>> out;
  for (const s8net_norm_tensor& t : tensors) {
    const float* source = grad ? t.grad : t.data;
    if (source == nullptr || t.size <= 0)
      throw Failure(std::string("tensor '") + view_name(t) + "' has no " + (grad ? "grad" : "data") + " array");
    out.emplace_back(source, source + t.size);
  }
  return out;
}

}  // namespace

std::string view_name(const s8net_norm_tensor& t) { return t.name != nullptr ? t.name : "(unnamed)"; }

std::string Case::label() const {
  return std::string(sdk::layout_name(layout)) + " " + std::to_string(shape.n) + "x" + std::to_string(shape.c) + "x" +
         std::to_string(shape.h) + "x" + std::to_string(shape.w) + (relu ? " relu" : "");
}

Inputs make_inputs(const Case& c, std::mt19937& generator) {
  const size_t count = logical_size(c.desc());
  // x off centre, so a norm that forgets to subtract the mean shows it.
  Inputs inputs{random_values(generator, count, 0.5, 1.0), {}};
  inputs.dy = random_values(generator, count, 0.0, 1.0);
  return inputs;
}

std::string call_failure(const PluginCallError& error) {
  if (error.status() == S8NET_OK) return error.call() + " " + error.reason();
  return error.call() + " returned " + status_name(error.status()) + ": " + error.reason();
}

std::vector<s8net_norm_tensor> views(PluginInstance& instance, s8net_norm_tensor_kind kind) {
  const std::vector<s8net_norm_tensor> out = instance.tensors(kind);
  const char* call = kind == S8NET_NORM_PARAMETERS ? "tensors(parameters)" : "tensors(state)";
  // Checked before any check reads a value through the view.
  for (const s8net_norm_tensor& t : out)
    if (t.size > S8NET_MAX_TENSOR_VIEW_SIZE)
      throw Failure(std::string(call) + ": view '" + (t.name ? t.name : "(null)") + "' claims " +
                    std::to_string(t.size) + " floats, more than the ABI's limit of " +
                    std::to_string(S8NET_MAX_TENSOR_VIEW_SIZE));
  return out;
}

size_t logical_size(const s8net_tensor_desc& desc) { return static_cast<size_t>(desc.n * desc.c * desc.h * desc.w); }

size_t buffer_size(const s8net_tensor_desc& desc) { return static_cast<size_t>(sdk::Layout(desc).padded_size()); }

void for_each_element(const s8net_tensor_desc& desc, const std::function<void(size_t, size_t)>& f) {
  const sdk::Layout layout(desc);
  size_t logical = 0;
  for (int64_t n = 0; n < layout.n; ++n)
    for (int64_t c = 0; c < layout.c; ++c)
      for (int64_t s = 0; s < layout.hw; ++s) f(logical++, static_cast<size_t>(layout.offset(n, c, s)));
}

GuardedBuffer to_layout(const s8net_tensor_desc& desc, const std::vector<double>& logical) {
  GuardedBuffer out(buffer_size(desc));
  for_each_element(desc, [&](size_t i, size_t offset) { out.data()[offset] = static_cast<float>(logical[i]); });
  return out;
}

std::string position(const s8net_tensor_desc& desc, size_t logical_index) {
  const auto i = static_cast<int64_t>(logical_index);
  const int64_t x = i % desc.w, y = i / desc.w % desc.h, c = i / (desc.w * desc.h) % desc.c;
  const int64_t n = i / (desc.w * desc.h * desc.c);
  return std::string("(n ") + std::to_string(n) + ", c " + std::to_string(c) + ", y " + std::to_string(y) + ", x " +
         std::to_string(x) + ")";
}

void require_valid_output(const s8net_tensor_desc& desc, const GuardedBuffer& out, std::string_view name,
                          std::string_view call) {
  const std::string prefix = std::string(call) + " ";
  for_each_element(desc, [&](size_t i, size_t offset) {
    const float v = out.data()[offset];
    if (std::bit_cast<uint32_t>(v) == kPoisonBits)
      throw Failure(prefix + "did not write " + std::string(name) + "[" + std::to_string(i) + "] " + position(desc, i));
    if (!std::isfinite(v))
      throw Failure(prefix + "wrote " + std::string(name) + "[" + std::to_string(i) + "] " + position(desc, i) + " = " +
                    format_number("%g", static_cast<double>(v)));
  });
  // The lanes past C in the last block: the ABI has the plugin write zeros there.
  const sdk::Layout layout(desc);
  for (int64_t n = 0; n < layout.n; ++n)
    for (int64_t c = layout.c; c < layout.blocks * layout.block; ++c)
      for (int64_t s = 0; s < layout.hw; ++s)
        if (const float v = out.data()[layout.offset(n, c, s)]; v != 0.f)
          throw Failure(prefix + "left a padded lane of " + std::string(name) + " (n " + std::to_string(n) + ", c " +
                        std::to_string(c) + ", y " + std::to_string(s / desc.w) + ", x " + std::to_string(s % desc.w) +
                        ") at " + format_number("%g", static_cast<double>(v)) + ", not 0");
}

void randomize_parameters(PluginInstance& instance, std::mt19937& generator) {
  std::normal_distribution<float> normal;
  for (const s8net_norm_tensor& t : views(instance, S8NET_NORM_PARAMETERS)) {
    if (t.data == nullptr) throw Failure(std::string("parameter '") + view_name(t) + "' has no data array");
    for (int64_t i = 0; i < t.size; ++i) t.data[i] += 0.25f * normal(generator);
  }
}

Prepared::Prepared(const Plugin& plugin, const Case& c)
    : generator(c.seed), instance(plugin, c.shape.c, c.relu, c.options), desc(c.desc()) {
  randomize_parameters(instance, generator);
  in = make_inputs(c, generator);
}

std::vector<std::vector<float>> copy_data(const std::vector<s8net_norm_tensor>& tensors) {
  return copy_arrays(tensors, false);
}

std::vector<std::vector<float>> copy_grads(const std::vector<s8net_norm_tensor>& tensors) {
  return copy_arrays(tensors, true);
}

std::string first_difference(const std::vector<s8net_norm_tensor>& tensors, const std::vector<std::vector<float>>& a,
                             const std::vector<std::vector<float>>& b, std::string_view what) {
  for (size_t t = 0; t < tensors.size() && t < a.size() && t < b.size(); ++t)
    for (size_t i = 0; i < a[t].size() && i < b[t].size(); ++i)
      if (std::bit_cast<uint32_t>(a[t][i]) != std::bit_cast<uint32_t>(b[t][i]))
        return view_name(tensors[t]) + (what.empty() ? "" : ".") + std::string(what) + "[" + std::to_string(i) +
               "] = " + format_number("%.9g", static_cast<double>(a[t][i])) + " then " +
               format_number("%.9g", static_cast<double>(b[t][i]));
  return {};
}

std::string first_difference(const s8net_tensor_desc& desc, const GuardedBuffer& a, const GuardedBuffer& b,
                             std::string_view name) {
  if (a.same_bits(b)) return {};
  std::string found;
  for_each_element(desc, [&](size_t i, size_t offset) {
    const float u = a.data()[offset], v = b.data()[offset];
    if (found.empty() && std::bit_cast<uint32_t>(u) != std::bit_cast<uint32_t>(v))
      found = std::string(name) + "[" + std::to_string(i) + "] " + position(desc, i) + " = " +
              format_number("%.9g", static_cast<double>(u)) + " then " + format_number("%.9g", static_cast<double>(v));
  });
  return found.empty() ? std::string("a padded lane of ").append(name) : found;
}

}  // namespace s8net::conformance
