// onnx_reference CHECKPOINT DIR [BATCH [DATA]]: writes DIR/input.f32, BATCH normalized images
// [BATCH, 3, 32, 32] (random ones, or the first BATCH test images of DATA, any source s8net data
// prepare reads), and DIR/expected.f32, the checkpoint's log-probabilities for them
// [BATCH, 10], as s8net evaluates them (raw little-endian floats). scripts/check_onnx_with_onnxruntime.js
// runs an `s8net export --format onnx` of the same checkpoint on the same input and compares.
#include "support/random_network.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/data/any_data_source.hpp>
#include <s8net/data/augment.hpp>
#include <s8net/data/dataset.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/network_state.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: onnx_reference CHECKPOINT DIR [BATCH [DATA]]\n");
    return 2;
  }
  try {
    using namespace s8net;
    const std::string source = argv[1];
    const std::filesystem::path dir = argv[2];
    const int64_t batch = argc >= 4 ? std::stoll(argv[3]) : 8;
    Context context;
    NormRegistry registry(context);
    for (const auto& failure : registry.load_path(S8NET_PLUGIN_DIR))
      std::fprintf(stderr, "warning: %s\n", failure.reason.c_str());
    const auto network = network_from_checkpoint(context, registry, load_checkpoint(source), source);
    std::vector<float> images = test::random_images(batch, 1);
    if (argc == 5) {
      const Dataset test = load_any_cifar(argv[4]).test.first(batch);
      if (test.size() != batch)
        throw Error(std::string(argv[4]) + ": fewer than " + std::to_string(batch) + " test images");
      const Augmenter augmenter;
      for (int64_t i = 0; i < batch; ++i)
        augmenter.apply(test.image(i), false, 0,
                        std::span(images).subspan(static_cast<size_t>(i * kImageBytes), kImageBytes));
    }
    network->evaluate(images, std::vector<int32_t>(static_cast<size_t>(batch), 0));
    const auto bytes = [](std::span<const float> values) {
      return std::span(reinterpret_cast<const uint8_t*>(values.data()), values.size_bytes());
    };
    std::filesystem::create_directories(dir);
    write_file_atomically(dir / "input.f32", bytes(images));
    write_file_atomically(dir / "expected.f32", bytes(network->log_probabilities()));
    std::printf("%s: %lld images and their log-probabilities\n", dir.string().c_str(), static_cast<long long>(batch));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "onnx_reference: %s\n", e.what());
    return 1;
  }
}
