// Round tick values for a chart axis: steps of 1, 2 or 5 times a power of ten, and an axis range
// widened to whole steps so the data never touches the frame.
#pragma once

#include <string>
#include <vector>

namespace s8net::report {

struct AxisTicks {
  double low = 0, high = 1;  // the axis range, multiples of step
  double step = 1;
  std::vector<double> values;  // low, low + step, ..., high
};

// At most `max_ticks` (>= 2) ticks covering [low, high]; a single value gets a range around it.
AxisTicks nice_ticks(double low, double high, int max_ticks = 6);

// A tick value with as many decimals as the step needs: 0.0025 with step 0.0005 -> "0.0025",
// 20 with step 10 -> "20", 2000 -> "2,000".
std::string tick_label(double value, double step);

}  // namespace s8net::report
