// Learning-rate (and momentum) schedules, as functions of the position in training:
//   seed      the original's (docs/recipe.md): constant within an epoch, linear interpolation over (epoch, lr) points
//             at the epoch's index (0-based), flat beyond the last point
//   onecycle  torch.optim.lr_scheduler.OneCycleLR (two phases, cosine annealing, momentum cycled
//             inversely between base and max), stepped every batch
//   cosine    CosineAnnealingLR stepped every epoch: min + (lr - min) (1 + cos(pi e / epochs)) / 2
//   step      StepLR: lr * gamma^floor(e / step_size)
//   constant  lr
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace s8net {

enum class ScheduleKind { seed, onecycle, cosine, step, constant };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::seed;
  // seed: (epoch, learning rate) points, epochs increasing.
  std::vector<std::pair<double, double>> points = {{0, 0.001}, {2, 0.01}, {8, 0.0002}, {12, 0.0001}, {20, 0}};
  double learning_rate = 0.01;  // onecycle: max_lr; cosine, step, constant: the base rate
  // onecycle (PyTorch's defaults)
  double pct_start = 0.3;
  double div_factor = 25;
  double final_div_factor = 1e4;
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  // cosine
  double min_learning_rate = 0;
  // step
  int64_t step_size = 5;
  double gamma = 0.1;
};

struct ScheduleValue {
  double learning_rate = 0;
  std::optional<double> momentum;  // set when the schedule drives momentum too (onecycle)
};

// Far above any rate SGD trains this network with: a larger one is a typo.
inline constexpr double kMaxLearningRate = 10;

// Throws s8net::Error for an invalid configuration (unsorted points, pct_start outside (0, 1) ...).
void validate(const ScheduleConfig& config);

// The value for batch `step_in_epoch` of epoch `epoch` (both 0-based) of `epochs` epochs of
// `steps_per_epoch` batches.
ScheduleValue schedule_at(const ScheduleConfig& config, int64_t epochs, int64_t steps_per_epoch, int64_t epoch,
                          int64_t step_in_epoch);

// True when the value can change within an epoch.
bool changes_every_step(ScheduleKind kind) noexcept;

const char* name_of(ScheduleKind kind) noexcept;
ScheduleKind parse_schedule_kind(const std::string& name);  // throws s8net::Error listing the names
// "0:0.001,2:0.01" <-> points
std::vector<std::pair<double, double>> parse_schedule_points(const std::string& text);
std::string format_schedule_points(const std::vector<std::pair<double, double>>& points);

}  // namespace s8net
