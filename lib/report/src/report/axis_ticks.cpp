#include <s8net/core/format.hpp>
#include <s8net/report/axis_ticks.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace s8net::report {

AxisTicks nice_ticks(double low, double high, int max_ticks) {
  max_ticks = std::max(max_ticks, 2);
  if (!std::isfinite(low) || !std::isfinite(high)) low = 0, high = 1;
  if (low > high) std::swap(low, high);
  if (high - low < 1e-12 * std::max(1.0, std::abs(high))) {
    const double pad = low == 0 ? 1 : std::abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  AxisTicks ticks;
  const double rough = (high - low) / (max_ticks - 1);
  double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  for (bool fits = false; !fits; magnitude *= 10) {
    for (const double factor : {1.0, 2.0, 2.5, 5.0}) {
      ticks.step = factor * magnitude;
      ticks.low = std::floor(low / ticks.step + 1e-9) * ticks.step;
      ticks.high = std::ceil(high / ticks.step - 1e-9) * ticks.step;
      fits = std::llround((ticks.high - ticks.low) / ticks.step) + 1 <= max_ticks;
      if (fits) break;
    }
  }
  // The tolerance above may leave an end an ulp inside the data.
  ticks.low = std::min(ticks.low, low);
  ticks.high = std::max(ticks.high, high);
  const auto count = std::llround((ticks.high - ticks.low) / ticks.step) + 1;
  for (long long i = 0; i < count; ++i) {
    const double v = ticks.low + static_cast<double>(i) * ticks.step;
    ticks.values.push_back(std::abs(v) < ticks.step * 1e-9 ? 0.0 : v);  // no "-0"
  }
  return ticks;
}

std::string tick_label(double value, double step) {
  if (std::abs(value) >= 1000 && step >= 1) return with_thousands(std::llround(value));
  const int decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 10);
  // 2.5 x 10^k steps need one decimal more than their magnitude.
  const double scaled = step * std::pow(10.0, decimals);
  const int extra = std::abs(scaled - std::round(scaled)) > 1e-6 ? 1 : 0;
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals + extra, value);
  return text;
}

}  // namespace s8net::report
