// The gradients check: backward against central finite differences of the plugin's own training
// forward, for dx and every parameter. No reference implementation is needed, so it works for any
// norm; the price is a tolerance loose enough for float outputs and a step of 1e-2.
#include "conformance_checks.hpp"

#include <s8net/core/format.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace s8net::conformance {
namespace {

// L = sum(dy * y) over one training forward, accumulated in double. With the ReLU fused it also
// notices a step that moved an output across the kink (zero to positive or back): L is not
// differentiable along that step and its difference quotient means nothing.
class Loss {
 public:
  Loss(PluginInstance& instance, const s8net_tensor_desc& desc, const std::vector<double>& dy, bool relu,
       const GuardedBuffer& y)
      : instance_(instance), desc_(desc), dy_(dy), relu_(relu), y_(y.size()) {
    for_each_element(desc, [&](size_t, size_t offset) {
      offsets_.push_back(offset);
      active_.push_back(y.data()[offset] > 0.f);
    });
  }

  // nullopt when an output crossed the ReLU's kink.
  std::optional<double> operator()(const GuardedBuffer& x) {
    require_ok(instance_, instance_.forward(S8NET_MODE_TRAIN, desc_, x.data(), y_.data()), "forward (train)");
    double total = 0;
    for (size_t i = 0; i < offsets_.size(); ++i) {
      const float v = y_.data()[offsets_[i]];
      if (relu_ && (v > 0.f) != active_[i]) return std::nullopt;
      total += dy_[i] * static_cast<double>(v);
    }
    return total;
  }

 private:
  PluginInstance& instance_;
  s8net_tensor_desc desc_;
  const std::vector<double>& dy_;
  bool relu_;
  GuardedBuffer y_;
  std::vector<size_t> offsets_;  // of each logical element
  std::vector<bool> active_;     // y > 0 at the unperturbed point
};

// dL/d(value) by central differences, value being an input or parameter entry the loss reads.
// The quotient divides by the steps floats could actually take, not by the nominal step.
std::optional<double> central_difference(float& value, double step, Loss& loss, const GuardedBuffer& x) {
  const float original = value;
  const auto plus = static_cast<float>(original + step), minus = static_cast<float>(original - step);
  value = plus;
  const std::optional<double> up = loss(x);
  value = minus;
  const std::optional<double> down = loss(x);
  value = original;
  if (!up || !down) return std::nullopt;
  return (*up - *down) / (static_cast<double>(plus) - static_cast<double>(minus));
}

// Fails with the worst entry when the analytic gradient misses the differences; entries without a
// difference (at the ReLU's kink) are not compared. where(i) locates entry i ("" if nothing to add).
void compare(const std::string& name, const std::vector<double>& analytic,
             const std::vector<std::optional<double>>& numeric, const std::function<std::string(size_t)>& where,
             const ConformanceOptions& options) {
  double scale = 1;
  for (const std::optional<double>& d : numeric)
    if (d) scale = std::max(scale, std::abs(*d));
  size_t compared = 0, off = 0, worst = 0;
  double worst_ratio = -1;
  for (size_t i = 0; i < numeric.size(); ++i) {
    if (!numeric[i]) continue;
    ++compared;
    const double error = std::abs(analytic[i] - *numeric[i]);
    const double allowed = options.relative_tolerance * std::abs(*numeric[i]) + options.absolute_tolerance * scale;
    if (error <= allowed) continue;
    ++off;
    const double ratio = std::isnan(error) ? std::numeric_limits<double>::infinity() : error / allowed;
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  if (off == 0) return;
  const std::string at = where(worst);
  throw Failure(name + "[" + std::to_string(worst) + "]" + (at.empty() ? "" : " ") + at + " = " +
                format_number("%.4g", analytic[worst]) + ", finite differences " +
                format_number("%.4g", *numeric[worst]) + "; " + std::to_string(off) + " of " +
                std::to_string(compared) + " entries off");
}

// Grads are overwritten by each backward; a plugin that accumulates doubles them the second time.
void require_overwritten(const std::vector<s8net_norm_tensor>& parameters, const std::vector<std::vector<float>>& first,
                         const std::vector<std::vector<float>>& second) {
  for (size_t t = 0; t < parameters.size(); ++t)
    for (size_t i = 0; i < first[t].size(); ++i) {
      const double a = first[t][i], b = second[t][i];
      if (!(std::abs(b - a) <= 1e-4 * (std::abs(a) + 1)))
        throw Failure(std::string("a second backward changed ") + view_name(parameters[t]) + ".grad[" +
                      std::to_string(i) + "] from " + format_number("%.4g", a) + " to " + format_number("%.4g", b) +
                      " (backward must overwrite the grads, not add to them)");
    }
}

}  // namespace

void check_gradients(const s8net_norm_plugin& plugin, const Case& c, const ConformanceOptions& options) {
  Prepared p(plugin, c);
  auto& [generator, instance, in, desc] = p;
  GuardedBuffer x = to_layout(desc, in.x);
  const GuardedBuffer dy = to_layout(desc, in.dy);
  GuardedBuffer y(x.size()), dx(x.size()), dx_again(x.size());

  require_ok(instance, instance.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data()), "forward (train)");
  require_ok(instance, instance.backward(desc, x.data(), y.data(), dy.data(), dx.data()), "backward");
  require_valid_output(desc, dx, "dx", "backward");
  const std::vector<s8net_norm_tensor> parameters = views(instance, S8NET_NORM_PARAMETERS);
  const std::vector<std::vector<float>> grads = copy_grads(parameters);
  require_ok(instance, instance.backward(desc, x.data(), y.data(), dy.data(), dx_again.data()), "backward");
  require_overwritten(parameters, grads, copy_grads(parameters));

  // Every difference below runs a training forward, so the analytic gradients are all read first.
  Loss loss(instance, desc, in.dy, c.relu, y);
  std::vector<double> analytic_dx;
  std::vector<std::optional<double>> numeric_dx;
  for_each_element(desc, [&](size_t, size_t offset) {
    analytic_dx.push_back(dx.data()[offset]);
    numeric_dx.push_back(central_difference(x.data()[offset], options.step, loss, x));
  });
  const auto at_position = [&](size_t i) { return position(p.desc, i); };  // (clang 14 captures no bindings)
  compare("dx", analytic_dx, numeric_dx, at_position, options);

  const auto nowhere = [](size_t) { return std::string(); };  // a parameter's index says it all
  for (size_t t = 0; t < parameters.size(); ++t) {
    const s8net_norm_tensor& parameter = parameters[t];
    std::vector<std::optional<double>> numeric;
    for (int64_t i = 0; i < parameter.size; ++i)
      numeric.push_back(central_difference(parameter.data[i], options.step, loss, x));
    const std::vector<double> analytic(grads[t].begin(), grads[t].end());
    compare(view_name(parameter) + ".grad", analytic, numeric, nowhere, options);
  }
}

}  // namespace s8net::conformance
