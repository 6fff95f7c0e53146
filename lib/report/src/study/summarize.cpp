#include <s8net/study/aggregate.hpp>

#include <boost/math/distributions/students_t.hpp>

#include <cmath>
#include <numeric>

namespace s8net::study {

Summary summarize(const std::vector<double>& values) {
  Summary summary;
  summary.count = static_cast<int64_t>(values.size());
  if (values.empty()) return summary;
  const auto n = static_cast<double>(values.size());
  summary.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  summary.interval_low = summary.interval_high = summary.mean;
  if (values.size() < 2) return summary;
  double squares = 0;
  for (const double v : values) squares += (v - summary.mean) * (v - summary.mean);
  summary.standard_deviation = std::sqrt(squares / (n - 1));
  // Few seeds: the normal quantile 1.96 would understate the interval badly (12.7 for n = 2).
  const double t = boost::math::quantile(boost::math::students_t_distribution<double>(n - 1), 0.975);
  const double half_width = t * summary.standard_deviation / std::sqrt(n);
  summary.interval_low = summary.mean - half_width;
  summary.interval_high = summary.mean + half_width;
  return summary;
}

}  // namespace s8net::study
