// A study's grid: every combination of norm, batch size and seed, each trained as an ordinary
// run directory under the study directory (runs/<norm>-b<batch>-s<seed>).
#pragma once

#include <s8net/train/train_config.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace s8net::study {

// How the learning rate follows the batch size, relative to the recipe's batch 32.
enum class LrScaling { none, linear, sqrt };
LrScaling parse_lr_scaling(const std::string& name);  // throws s8net::Error naming --lr-scaling
const char* name_of(LrScaling scaling) noexcept;

struct GridPoint {
  std::string norm;
  int64_t batch = 0;
  uint64_t seed = 0;
  std::string name() const;  // "bn-b32-s1": its run directory under runs/
};

struct Grid {
  std::vector<std::string> norms;
  std::vector<int64_t> batches;
  int64_t seeds = 1;  // seeds 1..seeds
  LrScaling lr_scaling = LrScaling::none;
  std::string test_time_views = "none";  // what each finished run is evaluated with at the end (--tta)

  // Norm-major, then batch, then seed: the order the points are handed out in.
  std::vector<GridPoint> points() const;
};

// The run directory of a point in a study directory.
std::filesystem::path run_directory(const std::filesystem::path& study, const GridPoint& point);

// The recipe `base` for one point: its norm, batch and seed, and the learning rate scaled by
// batch/32 (every point of the seed schedule, or the base and final rates of the others).
TrainConfig config_for(const TrainConfig& base, const GridPoint& point, LrScaling scaling);

// The learning rate a configuration peaks at: the largest of the seed schedule's points, or the
// base rate of the other schedules.
double peak_learning_rate(const TrainConfig& config);

}  // namespace s8net::study
