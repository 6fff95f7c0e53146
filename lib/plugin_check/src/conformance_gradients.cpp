// The gradients check: backward against central finite differences of the plugin's own training
// forward, for dx and every parameter. No reference implementation is needed, so it works for any
// norm; the price is a tolerance loose enough for float outputs and a step of 1e-2, and entries
// whose step straddles a kink of the plugin's function (conformance_differences.hpp), which are
// counted, not compared.
#include "conformance_checks.hpp"
#include "conformance_differences.hpp"

#include <s8net/core/format.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>

namespace s8net::conformance {
namespace {

// The entries of one case excused as kinks, over dx and every parameter.
struct Kinks {
  size_t count = 0, compared = 0;
  std::string first;  // "dx[17] (n 0, c 1, y 0, x 2)"
};

// One tensor's gradient against its finite differences. Fails with the worst entry that misses
// and does not straddle a kink; entries without a difference (at the fused ReLU's kink) are not
// compared. value(i) is the entry the loss reads, where(i) locates it ("" if nothing to add).
struct Compared {
  std::string name;
  const std::vector<double>& analytic;
  const std::vector<std::optional<double>>& numeric;
  std::function<float&(size_t)> value;
  std::function<std::string(size_t)> where;
};

void compare(const Compared& t, Loss& loss, const GuardedBuffer& x, const ConformanceOptions& options, Kinks& kinks) {
  double scale = 1;
  for (const std::optional<double>& d : t.numeric)
    if (d) scale = std::max(scale, std::abs(*d));
  size_t compared = 0, off = 0, worst = 0;
  double worst_ratio = -1;
  for (size_t i = 0; i < t.numeric.size(); ++i) {
    if (!t.numeric[i]) continue;
    ++compared;
    const double g = t.analytic[i], d = *t.numeric[i];
    if (within_tolerance(g, d, scale, options)) continue;
    // Once an entry is off the check fails anyway: no more forwards spent on second looks.
    const SecondLook second = off == 0 ? look_again(t.value(i), g, scale, loss, x, options) : SecondLook::off;
    if (second == SecondLook::agrees) continue;
    if (second == SecondLook::kink) {
      if (kinks.count++ == 0)
        kinks.first = t.name + "[" + std::to_string(i) + "]" + (t.where(i).empty() ? "" : " ") + t.where(i);
      continue;
    }
    ++off;
    const double error = std::abs(g - d);
    const double allowed = options.relative_tolerance * std::abs(d) + options.absolute_tolerance * scale;
    const double ratio = std::isnan(error) ? std::numeric_limits<double>::infinity() : error / allowed;
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  kinks.compared += compared;
  if (off == 0) return;
  const std::string at = t.where(worst);
  throw Failure(t.name + "[" + std::to_string(worst) + "]" + (at.empty() ? "" : " ") + at + " = " +
                format_number("%.4g", t.analytic[worst]) + ", finite differences " +
                format_number("%.4g", *t.numeric[worst]) + "; " + std::to_string(off) + " of " +
                std::to_string(compared) + " entries off");
}

// "" for no kinks; the PASS line's detail otherwise. Fails when more entries than the options
// allow were excused: a kink rule must not wave a wrong gradient through.
std::string kink_report(const Kinks& kinks, const ConformanceOptions& options) {
  if (kinks.count == 0) return {};
  const std::string counted = std::to_string(kinks.count) + " of " + std::to_string(kinks.compared) +
                              " entries straddle a kink of the plugin's function";
  if (static_cast<double>(kinks.count) > options.max_kink_fraction * static_cast<double>(kinks.compared))
    throw Failure(counted + ", more than the " + format_number("%g", 100 * options.max_kink_fraction) +
                  "% the check excuses (first: " + kinks.first + ")");
  return counted + ", not compared (first: " + kinks.first + ")";
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

std::string check_gradients(const Plugin& plugin, const Case& c, const ConformanceOptions& options) {
  Prepared p(plugin, c);
  auto& [generator, instance, in, desc] = p;
  GuardedBuffer x = to_layout(desc, in.x);
  const GuardedBuffer dy = to_layout(desc, in.dy);
  GuardedBuffer y(x.size()), dx(x.size()), dx_again(x.size());

  instance.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data());
  instance.backward(desc, x.data(), y.data(), dy.data(), dx.data());
  require_valid_output(desc, dx, "dx", "backward");
  const std::vector<s8net_norm_tensor> parameters = views(instance, S8NET_NORM_PARAMETERS);
  const std::vector<std::vector<float>> grads = copy_grads(parameters);
  instance.backward(desc, x.data(), y.data(), dy.data(), dx_again.data());
  require_overwritten(parameters, grads, copy_grads(parameters));

  // Every difference below runs a training forward, so the analytic gradients are all read first.
  Loss loss(instance, desc, in.dy, c.relu, y);
  Kinks kinks;
  std::vector<double> analytic_dx;
  std::vector<size_t> offsets;
  std::vector<std::optional<double>> numeric_dx;
  for_each_element(desc, [&](size_t, size_t offset) {
    analytic_dx.push_back(dx.data()[offset]);
    offsets.push_back(offset);
    numeric_dx.push_back(central_difference(x.data()[offset], loss, x, options));
  });
  const s8net_tensor_desc case_desc = p.desc;  // (clang 14 captures no bindings)
  compare({"dx", analytic_dx, numeric_dx, [&](size_t i) -> float& { return x.data()[offsets[i]]; },
           [&](size_t i) { return position(case_desc, i); }},
          loss, x, options, kinks);

  for (size_t t = 0; t < parameters.size(); ++t) {
    const s8net_norm_tensor& parameter = parameters[t];
    std::vector<std::optional<double>> numeric;
    for (int64_t i = 0; i < parameter.size; ++i)
      numeric.push_back(central_difference(parameter.data[i], loss, x, options));
    const std::vector<double> analytic(grads[t].begin(), grads[t].end());
    compare({view_name(parameter) + ".grad", analytic, numeric, [&](size_t i) -> float& { return parameter.data[i]; },
             [](size_t) { return std::string(); }},  // a parameter's index says it all
            loss, x, options, kinks);
  }
  return kink_report(kinks, options);
}

}  // namespace s8net::conformance
