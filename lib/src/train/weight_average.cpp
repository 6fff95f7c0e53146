#include <s8net/core/error.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/train/weight_average.hpp>

#include <algorithm>

namespace s8net {
namespace {

std::string checkpoint_name(const Parameter& tensor, bool is_state) {
  return std::string(kAveragePrefix) + (is_state ? "state/" : "param/") + tensor.name;
}

}  // namespace

WeightAverage::WeightAverage(S8Network& network, double decay) : network_(network), decay_(decay) {
  if (!(decay > 0 && decay < 1))
    throw Error("the weight average's decay must be in (0, 1), got " + std::to_string(decay));
  tensors_ = network.parameters();
  const std::vector<Parameter*> state = network.state();
  tensors_.insert(tensors_.end(), state.begin(), state.end());
  for (const Parameter* t : tensors_) averages_.emplace_back(t->value.data(), t->value.data() + t->value.size());
}

double WeightAverage::decay_at(double decay, uint64_t steps) noexcept {
  const double t = static_cast<double>(steps);
  return std::min(decay, (1 + t) / (10 + t));
}

void WeightAverage::update() {
  const float d = static_cast<float>(decay_at(decay_, network_.training_steps()));
  for (size_t k = 0; k < tensors_.size(); ++k) {
    const float* value = tensors_[k]->value.data();
    float* average = averages_[k].data();
    const auto size = static_cast<int64_t>(averages_[k].size());
#pragma omp parallel for simd schedule(static) if (size > 4096)
    for (int64_t i = 0; i < size; ++i) average[i] = d * average[i] + (1 - d) * value[i];
  }
}

void WeightAverage::swap_with_network() noexcept {
  for (size_t k = 0; k < tensors_.size(); ++k)
    std::swap_ranges(averages_[k].begin(), averages_[k].end(), tensors_[k]->value.data());
}

std::vector<NamedValues> WeightAverage::capture(Context& context) const {
  std::vector<NamedValues> captured;
  const size_t parameters = network_.parameters().size();
  for (size_t k = 0; k < tensors_.size(); ++k) {
    // The average shares its tensor's layout: view it as such a tensor.
    const Tensor view(tensors_[k]->value.desc(), context.engine(), const_cast<float*>(averages_[k].data()));
    captured.push_back({checkpoint_name(*tensors_[k], k >= parameters), to_plain(context, view)});
  }
  return captured;
}

void WeightAverage::restore(Context& context, const std::vector<NamedValues>& tensors, const std::string& source) {
  const size_t parameters = network_.parameters().size();
  for (size_t k = 0; k < tensors_.size(); ++k) {
    const std::string name = checkpoint_name(*tensors_[k], k >= parameters);
    const auto found =
        std::find_if(tensors.begin(), tensors.end(), [&](const NamedValues& t) { return t.name == name; });
    if (found == tensors.end()) throw Error(source + ": no " + name + " (a run trained without --ema?)");
    if (static_cast<int64_t>(found->values.size()) != tensors_[k]->count())
      throw Error(source + ": " + name + " has " + std::to_string(found->values.size()) +
                  " values, the network needs " + std::to_string(tensors_[k]->count()));
    const Tensor view(tensors_[k]->value.desc(), context.engine(), averages_[k].data());
    from_plain(context, found->values, view);
  }
}

}  // namespace s8net
