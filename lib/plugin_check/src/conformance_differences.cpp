#include "conformance_differences.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>

namespace s8net::conformance {
namespace {

// The values L takes with `value` moved by each offset (as floats can hold it), and the offsets
// really taken; nullopt if any of them crossed the fused ReLU.
struct Samples {
  std::vector<double> offsets, losses;
};
std::optional<Samples> sample(float& value, std::initializer_list<double> offsets, Loss& loss, const GuardedBuffer& x) {
  const float original = value;
  Samples out;
  for (const double offset : offsets) {
    value = static_cast<float>(original + offset);
    const std::optional<double> l = loss(x);
    out.offsets.push_back(static_cast<double>(value) - static_cast<double>(original));
    if (l) out.losses.push_back(*l);
    value = original;
    if (!l) return std::nullopt;
  }
  return out;
}

// The slope at offset 0 of the parabola through (0, l0), (a, la), (b, lb): second-order accurate,
// like a central difference, but from one side only.
double one_sided_slope(double l0, double a, double la, double b, double lb) {
  return ((la - l0) * b * b - (lb - l0) * a * a) / (a * b * (b - a));
}

}  // namespace

Loss::Loss(PluginInstance& instance, const s8net_tensor_desc& desc, const std::vector<double>& dy, bool relu,
           const GuardedBuffer& y)
    : instance_(instance), desc_(desc), dy_(dy), relu_(relu), y_(y.size()) {
  for_each_element(desc, [&](size_t, size_t offset) {
    offsets_.push_back(offset);
    active_.push_back(y.data()[offset] > 0.f);
  });
}

std::optional<double> Loss::operator()(const GuardedBuffer& x) {
  instance_.forward(S8NET_MODE_TRAIN, desc_, x.data(), y_.data());
  double total = 0;
  for (size_t i = 0; i < offsets_.size(); ++i) {
    const float v = y_.data()[offsets_[i]];
    if (relu_ && (v > 0.f) != active_[i]) return std::nullopt;
    total += dy_[i] * static_cast<double>(v);
  }
  return total;
}

bool within_tolerance(double g, double d, double scale, const ConformanceOptions& options) {
  return std::abs(g - d) <= options.relative_tolerance * std::abs(d) + options.absolute_tolerance * scale;
}

std::optional<double> central_difference(float& value, Loss& loss, const GuardedBuffer& x,
                                         const ConformanceOptions& options) {
  const std::optional<Samples> s = sample(value, {options.step, -options.step}, loss, x);
  if (!s) return std::nullopt;
  return (s->losses[0] - s->losses[1]) / (s->offsets[0] - s->offsets[1]);
}

SecondLook look_again(float& value, double g, double scale, Loss& loss, const GuardedBuffer& x,
                      const ConformanceOptions& options) {
  const std::optional<Samples> at_value = sample(value, {0.0}, loss, x);
  if (!at_value) return SecondLook::off;
  const double l0 = at_value->losses[0];
  const auto agree = [&](double a, double b) {
    return within_tolerance(std::abs(a) < std::abs(b) ? a : b, std::abs(a) < std::abs(b) ? b : a, scale, options);
  };
  bool beside_a_kink = false;
  for (const double step : {options.step, options.step / 4, options.step / 16, options.step / 64}) {
    const std::optional<Samples> s = sample(value, {step / 2, step, -step / 2, -step}, loss, x);
    if (!s) return SecondLook::off;
    const std::vector<double>& o = s->offsets;
    const std::vector<double>& l = s->losses;
    const double right = one_sided_slope(l0, o[0], l[0], o[1], l[1]);
    const double left = one_sided_slope(l0, o[2], l[2], o[3], l[3]);
    const double central = (l[1] - l[3]) / (o[1] - o[3]);
    const bool smooth = agree(left, right) && agree(left, central) && agree(right, central);
    if (smooth && within_tolerance(g, central, scale, options)) return SecondLook::agrees;
    if (!smooth && (within_tolerance(g, left, scale, options) || within_tolerance(g, right, scale, options)))
      beside_a_kink = true;
  }
  return beside_a_kink ? SecondLook::kink : SecondLook::off;
}

}  // namespace s8net::conformance
