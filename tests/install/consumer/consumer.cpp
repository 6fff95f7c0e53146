// Uses libs8net as a project outside the s8net tree would: 32x32 RGB bytes made into the
// network's input, one training step of the S8 network with a plugin chosen by name, an
// evaluation, and the network saved to a file and loaded back.
//   consumer NORM CHECKPOINT [PLUGIN_DIR]     (PLUGIN_DIR: the installed plugins by default)
#include <s8net/s8net.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#ifndef S8NET_INSTALLED_PLUGINS
#define S8NET_INSTALLED_PLUGINS ""  // built with pkg-config: an argument or S8NET_PLUGIN_PATH names the plugins
#endif

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: consumer NORM CHECKPOINT [PLUGIN_DIR]\n");
    return 2;
  }
  const std::string plugin_dir = argc > 3 ? argv[3] : S8NET_INSTALLED_PLUGINS;
  std::vector<std::filesystem::path> plugin_dirs;
  if (!plugin_dir.empty()) plugin_dirs.push_back(plugin_dir);  // else S8NET_PLUGIN_PATH alone
  s8net::Context context;
  s8net::NormRegistry registry(context);
  // The registry loads only what it is given; the app's search order is one call away.
  for (const s8net::PluginLoadFailure& failure : s8net::load_plugin_search_path(registry, plugin_dirs))
    std::fprintf(stderr, "%s\n", failure.reason.c_str());

  s8net::NetworkConfig config;
  config.norm = argv[1];
  s8net::S8Network network(context, registry, config);
  s8net::Sgd sgd(network.parameters(), {.learning_rate = 0.01f, .momentum = 0.9f});

  constexpr int64_t batch = 4, image_bytes = 32 * 32 * 3;
  std::mt19937 generator(5);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> rgb(batch * image_bytes);  // interleaved R G B, as decoders give images
  for (uint8_t& v : rgb) v = static_cast<uint8_t>(byte(generator));
  const std::vector<float> images = s8net::network_input(rgb);
  const std::vector<int32_t> labels{0, 3, 7, 9};

  const s8net::BatchResult step = network.forward_backward(images, labels);
  sgd.step();
  const s8net::BatchResult before = network.evaluate(images, labels);

  s8net::save_network(argv[2], context, network);
  const auto restored = s8net::load_network(argv[2], context, registry);
  const s8net::BatchResult after = restored->evaluate(images, labels);

  std::printf("norm %s: %lld parameters, training loss %.4f, evaluation loss %.4f, reloaded as %s: %.4f\n", argv[1],
              static_cast<long long>(network.parameter_count()), step.loss, before.loss,
              restored->config().norm.c_str(), after.loss);
  return before.loss == after.loss ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "consumer: %s\n", e.what());
  return 1;
}
