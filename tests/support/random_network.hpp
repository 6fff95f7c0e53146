// The networks the ONNX tests export and the images they feed them.
#pragma once

#include <s8net/core/parameter.hpp>
#include <s8net/core/tensor.hpp>
#include <s8net/model/s8_network.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace s8net::test {

// Normalized-looking images: per-channel values of mean 0 and spread 1.
inline std::vector<float> random_images(int64_t batch, uint32_t seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> images(static_cast<size_t>(batch * S8Network::kImageValues));
  for (float& v : images) v = normal(generator);
  return images;
}

// Every parameter random (no zero bias or unit scale to hide a swapped tensor), then training steps,
// so that BatchNorm's running statistics are far from 0 and 1 too.
inline void randomize_and_train(Context& context, S8Network& network, uint32_t seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.f, 0.3f);
  for (Parameter* p : network.parameters()) {
    std::vector<float> values(static_cast<size_t>(p->count()));
    for (float& v : values) v = normal(generator);
    from_plain(context, values, p->value);
  }
  std::vector<float> images = random_images(8, seed + 1);
  for (float& v : images) v = 0.7f * v + 0.4f;  // statistics that are not those of a fresh BatchNorm
  std::vector<int32_t> labels(8);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i % 10);
  for (int step = 0; step < 3; ++step) network.forward_backward(images, labels);
}

}  // namespace s8net::test
