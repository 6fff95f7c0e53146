// What the conformance checks share: the case, the failure they throw, inputs in a plugin's
// layout, the ABI's promises about outputs, and copies of an instance's tensors.
#pragma once

#include "guarded_buffer.hpp"

#include <s8net/norm/plugin_api.h>
#include <s8net/norm/plugin_instance.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/plugin_check/conformance.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace s8net::conformance {

// What a check throws: its message becomes the detail of the FAIL line.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The plugin under check: every instance a check creates keeps its library loaded.
using Plugin = std::shared_ptr<const PluginInfo>;

// The FAIL line's detail for a plugin call that did not succeed: "forward (train) returned
// S8NET_ERROR_INTERNAL: <the plugin's message>", or "create succeeded but returned no instance".
std::string call_failure(const PluginCallError& error);

struct Case {
  s8net_layout layout = S8NET_LAYOUT_NCHW;
  ConformanceShape shape;
  bool relu = false;
  uint32_t seed = 0;                            // of this case's inputs and parameter values
  std::span<const s8net_option_value> options;  // what every create() of the case is given

  s8net_tensor_desc desc() const noexcept { return {shape.n, shape.c, shape.h, shape.w, layout}; }
  std::string label() const;  // "nChw16c 3x16x4x4 relu"
};

// A case's input x and output gradient dy (the loss is sum(dy * y)), logical N x C x H x W
// row-major, drawn as floats so the plugin sees exactly these values.
struct Inputs {
  std::vector<double> x, dy;
};
Inputs make_inputs(const Case& c, std::mt19937& generator);

// The views of one kind, each checked against the ABI's size limit before anything reads through it.
std::vector<s8net_norm_tensor> views(PluginInstance& instance, s8net_norm_tensor_kind kind);

// The case's logical element count, and its buffer size in the layout (padding included).
size_t logical_size(const s8net_tensor_desc& desc);
size_t buffer_size(const s8net_tensor_desc& desc);
// Calls f(logical index, offset in the layout) for every logical element.
void for_each_element(const s8net_tensor_desc& desc, const std::function<void(size_t, size_t)>& f);
// A buffer in the layout: the logical values, poison in the padded lanes (which a plugin must
// not read meaning into).
GuardedBuffer to_layout(const s8net_tensor_desc& desc, const std::vector<double>& logical);
// "(n 0, c 1, y 0, x 2)" of a logical index.
std::string position(const s8net_tensor_desc& desc, size_t logical_index);
// The ABI's promises about an output: every logical value finite (written), padded lanes zero.
void require_valid_output(const s8net_tensor_desc& desc, const GuardedBuffer& out, std::string_view name,
                          std::string_view call);
// Moves every parameter a little off its initial value, so that gradients and round trips are
// not checked at a point (weight 1, bias 0) where some mistakes cancel out.
void randomize_parameters(PluginInstance& instance, std::mt19937& generator);

// Where most checks start: a created instance of the case with random parameters, the case's
// random inputs, and the generator, for drawing more. Throws PluginCallError if create() fails.
struct Prepared {
  Prepared(const Plugin& plugin, const Case& c);
  std::mt19937 generator;
  PluginInstance instance;
  Inputs in;
  s8net_tensor_desc desc;
};

// The view's name, "(unnamed)" for none.
std::string view_name(const s8net_norm_tensor& t);
// Copies of what the views point at (data, or grad), in view order.
std::vector<std::vector<float>> copy_data(const std::vector<s8net_norm_tensor>& tensors);
std::vector<std::vector<float>> copy_grads(const std::vector<s8net_norm_tensor>& tensors);
// "" when a and b are bitwise equal; otherwise which tensor and entry differ ("running_mean[3]
// 0.1 then 0.2"), `what` naming the arrays ("grad", "").
std::string first_difference(const std::vector<s8net_norm_tensor>& tensors, const std::vector<std::vector<float>>& a,
                             const std::vector<std::vector<float>>& b, std::string_view what);
// "" when two buffers of desc are bitwise equal; otherwise the first logical element (or padded
// lane) that differs: "y[5] (n 0, c 0, y 1, x 0) = 0.25 then 0.5".
std::string first_difference(const s8net_tensor_desc& desc, const GuardedBuffer& a, const GuardedBuffer& b,
                             std::string_view name);

}  // namespace s8net::conformance
