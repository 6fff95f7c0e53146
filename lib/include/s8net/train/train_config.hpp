// Everything that defines a training run, the original "seed" recipe (docs/recipe.md), and its JSON form (stored in
// the run directory and inside every checkpoint, so eval and --resume rebuild the same network).
#pragma once

#include <s8net/core/layout.hpp>
#include <s8net/data/augment.hpp>
#include <s8net/data/validation_split.hpp>
#include <s8net/norm/norm_layer.hpp>
#include <s8net/train/lr_schedule.hpp>
#include <s8net/train/sgd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace s8net {

struct TrainConfig {
  // The named recipe this configuration started from (seed, fast); flags may have changed any part.
  std::string recipe = "seed";
  // The network
  std::string norm = "bn";
  NormOptions norm_options;
  std::optional<ActivationLayout> layout;  // empty: chosen for this CPU
  float dropout = 0.01f;
  // The recipe
  int64_t epochs = 20;
  int64_t batch_size = 32;
  SgdOptions sgd{0.001f, 0.95f, 0.f, false};  // learning_rate is set by the schedule each epoch/step
  ScheduleConfig schedule;
  bool augment = true;
  AugmentOptions augment_options;
  // The training loss's target puts this much mass evenly over the classes (ops/log_softmax_nll.hpp).
  float label_smoothing = 0.f;
  // With a decay in (0, 1): evaluate, select and save for inference an exponential moving average
  // of the weights (train/weight_average.hpp); 0: the weights SGD trains.
  double ema_decay = 0;
  uint64_t seed = 1;  // weights, dropout, shuffling and augmentation
  // The data
  int64_t limit_train = 0;  // first N images only (0: all)
  int64_t limit_test = 0;
  // Training images held out for validation (data/validation_split.hpp); with any, best.s8ckpt is
  // chosen on validation accuracy instead of test accuracy.
  int64_t validation_images = 0;
  int64_t eval_batch_size = 256;
};

// The original recipe (docs/recipe.md): batch 32, 20 epochs, SGD momentum 0.95 (no Nesterov, no weight
// decay), the per-epoch interpolated learning rate, the augmentation, dropout 0.01.
TrainConfig seed_recipe();
// The most accurate model in a 15-minute budget on 2 AVX2 cores, chosen on a validation split
// (docs/recipe.md, "The fast recipe").
TrainConfig fast_recipe();
// The recipe of this name; throws s8net::Error naming the known ones for any other.
TrainConfig recipe_named(std::string_view name);
// The test-time views (an `s8net eval --tta` name) the named recipe evaluates its last checkpoint
// with: "none" for the seed recipe and for a name it does not know.
std::string_view recipe_test_time_views(std::string_view name);

// Far beyond any useful training of this network: a larger number is a typo or an overflow.
inline constexpr int64_t kMaxEpochs = 100'000;

// Throws s8net::Error naming the field for values out of range.
void validate(const TrainConfig& config);

// The images a run of `config` trains on and validates on, out of the data's training images: the
// first limit_train of them, less the validation split when validation_images > 0. The trainer
// and `s8net eval --split validation` both take it from here, so they see the same images.
TrainValidationSplit training_split(const TrainConfig& config, const Dataset& training_images);

std::string to_json(const TrainConfig& config);
// `source` names the file in errors.
TrainConfig train_config_from_json(std::string_view json, const std::string& source);

// Where two configurations disagree: the field ("batch_size", "sgd.momentum") and each value as JSON.
struct ConfigDifference {
  std::string field, stored, other;
};
// The first differing field, or nothing when the configurations are equal.
std::optional<ConfigDifference> first_difference(const TrainConfig& stored, const TrainConfig& other);

}  // namespace s8net
