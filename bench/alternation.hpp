// Two ways of doing the same work, timed in turns in one process so that both see the same moments
// of a shared machine, summed up as benchmark counters: the median and quartiles of the
// per-iteration ratios.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace s8net::bench {

// The value at quantile q (0 to 1) of `values`, the nearest rank.
inline double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(q * static_cast<double>(values.size() - 1) + 0.5)];
}

// Counters `median`, `q25` and `q75` of the ratios.
inline void set_ratio_counters(benchmark::State& state, const std::vector<double>& ratios, const std::string& median,
                               const std::string& q25, const std::string& q75) {
  state.counters[median] = quantile(ratios, 0.5);
  state.counters[q25] = quantile(ratios, 0.25);
  state.counters[q75] = quantile(ratios, 0.75);
}

}  // namespace s8net::bench
