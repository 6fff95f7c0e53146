// An exponential moving average (EMA) of a network's parameters and norm statistics: the weights a
// run with --ema evaluates, selects its best epoch on and hands to eval, predict and export, while
// SGD keeps training the raw weights. Averaging the statistics along with the weights keeps
// BatchNorm's running mean and variance consistent with the averaged convolutions.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/core/parameter.hpp>
#include <s8net/train/checkpoint.hpp>

#include <string>
#include <vector>

namespace s8net {

class S8Network;

class WeightAverage {
 public:
  // Starts as a copy of the network's current values. `decay` in (0, 1).
  WeightAverage(S8Network& network, double decay);

  // After an optimizer step: average = d * average + (1 - d) * value, with
  // d = min(decay, (1 + t) / (10 + t)) for the network's t-th training step, so that the average
  // forgets the random initial weights within the first steps however close to 1 decay is.
  void update();
  // The decay the update after `steps` training steps uses.
  static double decay_at(double decay, uint64_t steps) noexcept;

  // Exchanges the network's values with the averages: twice restores both.
  void swap_with_network() noexcept;

  // "average/param/<name>" and "average/state/<name>" in plain layout, for checkpoints.
  std::vector<NamedValues> capture(Context& context) const;
  // The inverse; throws s8net::Error naming `source` and the tensor when one is missing or has
  // another size.
  void restore(Context& context, const std::vector<NamedValues>& tensors, const std::string& source);

 private:
  S8Network& network_;
  std::vector<Parameter*> tensors_;           // the network's parameters, then its norm statistics
  std::vector<std::vector<float>> averages_;  // each in its tensor's own (possibly blocked) layout
  double decay_;
};

// Evaluates with the averaged weights for as long as it lives (nothing when given no average).
class AveragedWeightsInUse {
 public:
  explicit AveragedWeightsInUse(WeightAverage* average) noexcept : average_(average) {
    if (average_) average_->swap_with_network();
  }
  ~AveragedWeightsInUse() {
    if (average_) average_->swap_with_network();
  }
  AveragedWeightsInUse(const AveragedWeightsInUse&) = delete;
  AveragedWeightsInUse& operator=(const AveragedWeightsInUse&) = delete;

 private:
  WeightAverage* average_;
};

// The checkpoint name of an average's tensor, and the network tensor an averaged one stands for.
inline constexpr const char* kAveragePrefix = "average/";

}  // namespace s8net
