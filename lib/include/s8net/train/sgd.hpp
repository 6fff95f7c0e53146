// Stochastic gradient descent with PyTorch's semantics (torch.optim.SGD, no dampening):
//   d = grad + weight_decay * p;  buf = momentum * buf + d;  d = nesterov ? d + momentum * buf : buf;
//   p -= learning_rate * d
// With `decay_conv_weights_only`, weight decay applies to the convolutions' weights alone (names
// ending in ".conv.weight"), not to their biases or to the norms' scales and shifts, which decay
// would pull towards zero without any gain in generalisation.
// Parameters and gradients share a layout, so the update runs element by element over the
// whole buffer (padding stays zero because its gradient is zero).
#pragma once

#include <s8net/core/parameter.hpp>

#include <vector>

namespace s8net {

struct SgdOptions {
  float learning_rate = 0.01f;
  float momentum = 0.f;
  float weight_decay = 0.f;
  bool nesterov = false;
  bool decay_conv_weights_only = false;
};

// True for the parameters weight decay applies to under `options`.
bool is_weight_decayed(const Parameter& parameter, const SgdOptions& options);

class Sgd {
 public:
  Sgd(std::vector<Parameter*> parameters, SgdOptions options);

  void step();
  void set_learning_rate(float learning_rate) noexcept { options_.learning_rate = learning_rate; }
  // Schedules that cycle momentum (one-cycle) change it between steps; the buffers carry over.
  void set_momentum(float momentum) noexcept { options_.momentum = momentum; }
  const SgdOptions& options() const noexcept { return options_; }
  // Momentum buffers, one per parameter (saved with checkpoints to resume exactly).
  std::vector<std::vector<float>>& momentum_buffers() noexcept { return buffers_; }

 private:
  std::vector<Parameter*> parameters_;
  SgdOptions options_;
  std::vector<std::vector<float>> buffers_;
  std::vector<bool> decayed_;  // per parameter: whether weight decay applies
};

}  // namespace s8net
