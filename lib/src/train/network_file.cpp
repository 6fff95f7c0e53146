#include <s8net/train/checkpoint.hpp>
#include <s8net/train/network_file.hpp>
#include <s8net/train/network_state.hpp>

namespace s8net {
namespace {

// The inverse of network_config_of(): what the checkpoint needs to build the same network again.
TrainConfig train_config_of(const NetworkConfig& network) {
  TrainConfig config;
  config.norm = network.norm;
  config.norm_options = network.norm_options;
  config.layout = network.layout;
  config.seed = network.seed;
  config.dropout = network.dropout;
  return config;
}

}  // namespace

void save_network(const std::filesystem::path& path, Context& context, S8Network& network) {
  Checkpoint checkpoint;
  checkpoint.config = train_config_of(network.config());
  checkpoint.training_steps = network.training_steps();
  checkpoint.tensors = capture_tensors(context, network, nullptr);
  save_checkpoint(path, checkpoint);
}

std::unique_ptr<S8Network> load_network(const std::filesystem::path& path, Context& context,
                                        const NormRegistry& registry) {
  return network_from_checkpoint(context, registry, load_checkpoint(path), path.string());
}

}  // namespace s8net
