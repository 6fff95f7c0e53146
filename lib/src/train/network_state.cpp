#include <s8net/core/error.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/weight_average.hpp>

namespace s8net {
namespace {

constexpr const char* kParam = "param/";
constexpr const char* kState = "state/";
constexpr const char* kMomentum = "momentum/";

}  // namespace

std::vector<NamedValues> capture_tensors(Context& context, S8Network& network, Sgd* optimizer) {
  std::vector<NamedValues> tensors;
  const auto parameters = network.parameters();
  for (const Parameter* p : parameters) tensors.push_back({kParam + p->name, to_plain(context, p->value)});
  for (const Parameter* s : network.state()) tensors.push_back({kState + s->name, to_plain(context, s->value)});
  if (optimizer) {
    auto& buffers = optimizer->momentum_buffers();
    for (size_t k = 0; k < parameters.size(); ++k) {
      // The buffer shares its parameter's (possibly blocked) layout: view it as such a tensor.
      const Tensor view(parameters[k]->value.desc(), context.engine(), buffers[k].data());
      tensors.push_back({kMomentum + parameters[k]->name, to_plain(context, view)});
    }
  }
  return tensors;
}

void restore_tensors(Context& context, const std::vector<NamedValues>& tensors, S8Network& network, Sgd* optimizer,
                     const std::string& source) {
  auto values_of = [&](const std::string& name, int64_t count) -> const std::vector<float>& {
    for (const NamedValues& t : tensors) {
      if (t.name != name) continue;
      if (static_cast<int64_t>(t.values.size()) != count)
        throw Error(source + ": " + name + " has " + std::to_string(t.values.size()) + " values, the network needs " +
                    std::to_string(count));
      return t.values;
    }
    throw Error(source + ": no " + name + " (a checkpoint of another network?)");
  };
  const auto parameters = network.parameters();
  for (const Parameter* p : parameters) from_plain(context, values_of(kParam + p->name, p->count()), p->value);
  for (const Parameter* s : network.state()) from_plain(context, values_of(kState + s->name, s->count()), s->value);
  if (optimizer) {
    auto& buffers = optimizer->momentum_buffers();
    for (size_t k = 0; k < parameters.size(); ++k) {
      const Tensor view(parameters[k]->value.desc(), context.engine(), buffers[k].data());
      from_plain(context, values_of(kMomentum + parameters[k]->name, parameters[k]->count()), view);
    }
  }
}

NetworkConfig network_config_of(const TrainConfig& config) {
  return NetworkConfig{.norm = config.norm,
                       .norm_options = config.norm_options,
                       .layout = config.layout,
                       .seed = config.seed,
                       .dropout = config.dropout,
                       .label_smoothing = config.label_smoothing};
}

std::unique_ptr<S8Network> network_from_checkpoint(Context& context, const NormRegistry& registry,
                                                   const Checkpoint& checkpoint, const std::string& source) {
  std::unique_ptr<S8Network> network;
  try {
    network = std::make_unique<S8Network>(context, registry, network_config_of(checkpoint.config));
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());  // its norm, or options, that no loaded plugin takes
  }
  restore_tensors(context, checkpoint.tensors, *network, nullptr, source);
  // A run with --ema evaluated its average: that is the network it hands on.
  if (checkpoint.config.ema_decay > 0) {
    WeightAverage average(*network, checkpoint.config.ema_decay);
    average.restore(context, checkpoint.tensors, source);
    average.swap_with_network();
  }
  network->set_training_steps(checkpoint.training_steps);
  return network;
}

}  // namespace s8net
