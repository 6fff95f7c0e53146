#include <s8net/core/error.hpp>
#include <s8net/study/grid.hpp>

#include <algorithm>
#include <cmath>

namespace s8net::study {

LrScaling parse_lr_scaling(const std::string& name) {
  if (name == "none") return LrScaling::none;
  if (name == "linear") return LrScaling::linear;
  if (name == "sqrt") return LrScaling::sqrt;
  throw Error("--lr-scaling '" + name + "': expected none, linear or sqrt");
}

const char* name_of(LrScaling scaling) noexcept {
  switch (scaling) {
    case LrScaling::none:
      return "none";
    case LrScaling::linear:
      return "linear";
    case LrScaling::sqrt:
      return "sqrt";
  }
  return "none";
}

std::string GridPoint::name() const { return norm + "-b" + std::to_string(batch) + "-s" + std::to_string(seed); }

std::vector<GridPoint> Grid::points() const {
  std::vector<GridPoint> all;
  for (const std::string& norm : norms)
    for (const int64_t batch : batches)
      for (int64_t seed = 1; seed <= seeds; ++seed) all.push_back({norm, batch, static_cast<uint64_t>(seed)});
  return all;
}

std::filesystem::path run_directory(const std::filesystem::path& study, const GridPoint& point) {
  return study / "runs" / point.name();
}

TrainConfig config_for(const TrainConfig& base, const GridPoint& point, LrScaling scaling) {
  TrainConfig config = base;
  config.norm = point.norm;
  config.batch_size = point.batch;
  config.seed = point.seed;
  // The recipe's batch is 32: the GroupNorm paper scales the rate linearly from its batch 32 too.
  const double ratio = static_cast<double>(point.batch) / 32.0;
  const double factor = scaling == LrScaling::linear ? ratio : scaling == LrScaling::sqrt ? std::sqrt(ratio) : 1.0;
  // Only the rates the schedule reads: an unused one would make two configurations differ for nothing.
  if (config.schedule.kind == ScheduleKind::seed) {
    for (auto& [epoch, rate] : config.schedule.points) rate *= factor;
  } else {
    config.schedule.learning_rate *= factor;
    config.schedule.min_learning_rate *= factor;
  }
  return config;
}

double peak_learning_rate(const TrainConfig& config) {
  if (config.schedule.kind != ScheduleKind::seed) return config.schedule.learning_rate;
  double peak = 0;
  for (const auto& [epoch, rate] : config.schedule.points) peak = std::max(peak, rate);
  return peak;
}

}  // namespace s8net::study
