// Moving a network's learned values (and an optimizer's momentum) in and out of checkpoints, in
// plain layout so a checkpoint does not depend on the activation layout this CPU picked.
#pragma once

#include <s8net/model/s8_network.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/sgd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace s8net {

class NormRegistry;

// "param/<name>" for each parameter, "state/<name>" for each norm statistic, and with an optimizer
// "momentum/<name>" for each momentum buffer.
std::vector<NamedValues> capture_tensors(Context& context, S8Network& network, Sgd* optimizer);
// The inverse; throws s8net::Error naming `source` and the tensor when one is missing or has
// another size.
void restore_tensors(Context& context, const std::vector<NamedValues>& tensors, S8Network& network, Sgd* optimizer,
                     const std::string& source);

NetworkConfig network_config_of(const TrainConfig& config);
// A network as the checkpoint's configuration builds it, with its weights and statistics loaded.
std::unique_ptr<S8Network> network_from_checkpoint(Context& context, const NormRegistry& registry,
                                                   const Checkpoint& checkpoint, const std::string& source);

}  // namespace s8net
