#include <s8net/core/error.hpp>
#include <s8net/train/sgd.hpp>

#include <string>

namespace s8net {

bool is_weight_decayed(const Parameter& parameter, const SgdOptions& options) {
  return !options.decay_conv_weights_only || parameter.name.ends_with(".conv.weight");
}

Sgd::Sgd(std::vector<Parameter*> parameters, SgdOptions options)
    : parameters_(std::move(parameters)), options_(options) {
  if (!(options_.momentum >= 0.f && options_.momentum < 1.f))
    throw Error("SGD momentum must be in [0, 1), got " + std::to_string(options_.momentum));
  if (options_.nesterov && options_.momentum == 0.f) throw Error("Nesterov momentum needs a momentum > 0");
  if (!(options_.weight_decay >= 0.f)) throw Error("SGD weight decay must be >= 0");
  buffers_.reserve(parameters_.size());
  for (const Parameter* p : parameters_) {
    buffers_.emplace_back(static_cast<size_t>(p->value.size()), 0.f);
    decayed_.push_back(is_weight_decayed(*p, options_));
  }
}

void Sgd::step() {
  const float lr = options_.learning_rate, momentum = options_.momentum;
  const bool nesterov = options_.nesterov;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    const float decay = decayed_[k] ? options_.weight_decay : 0.f;
    float* value = parameters_[k]->value.data();
    const float* grad = parameters_[k]->grad.data();
    float* buffer = buffers_[k].data();
    const int64_t size = parameters_[k]->value.size();
#pragma omp parallel for simd schedule(static) if (size > 4096)
    for (int64_t i = 0; i < size; ++i) {
      float d = grad[i] + decay * value[i];
      if (momentum != 0.f) {
        buffer[i] = momentum * buffer[i] + d;
        d = nesterov ? d + momentum * buffer[i] : buffer[i];
      }
      value[i] -= lr * d;
    }
  }
}

}  // namespace s8net
