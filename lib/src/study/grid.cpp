#include <s8net/study/grid.hpp>

#include <algorithm>

namespace s8net::study {

std::string GridPoint::name() const { return norm + "-b" + std::to_string(batch) + "-s" + std::to_string(seed); }

std::filesystem::path run_directory(const std::filesystem::path& study, const GridPoint& point) {
  return study / "runs" / point.name();
}

double peak_learning_rate(const TrainConfig& config) {
  if (config.schedule.kind != ScheduleKind::seed) return config.schedule.learning_rate;
  double peak = 0;
  for (const auto& [epoch, rate] : config.schedule.points) peak = std::max(peak, rate);
  return peak;
}

}  // namespace s8net::study
