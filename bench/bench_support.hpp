// What the benchmark binaries share: the plugins from the app's search path (S8NET_PLUGIN_PATH,
// then the install directory beside the binary, which in a build tree is the build's plugins),
// random CIFAR-shaped images and a loader over them.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/data/batch_loader.hpp>
#include <s8net/norm/plugin_search.hpp>

#include <iostream>
#include <random>

namespace s8net::bench {

struct Plugins {
  Context context;
  NormRegistry registry{context};
  Plugins() {
    for (const auto& failure : load_plugin_search_path(registry))
      std::cerr << "plugin load failure: " << failure.reason << '\n';
  }
};

inline Plugins& plugins() {
  static Plugins instance;
  return instance;
}

inline constexpr int64_t kPipelineImages = 4096, kPipelineBatch = 32;

// 4,096 images of random pixels, labels cycling through the classes.
inline const Dataset& random_images() {
  static const Dataset data = [] {
    Dataset d;
    std::mt19937 generator(1);
    std::vector<uint8_t> image(kImageBytes);
    for (int64_t i = 0; i < kPipelineImages; ++i) {
      for (uint8_t& v : image) v = static_cast<uint8_t>(generator() & 0xFF);
      d.append(image, static_cast<uint8_t>(i % kClassCount));
    }
    return d;
  }();
  return data;
}

inline LoaderOptions pipeline_options(bool prefetch, bool parallel) {
  LoaderOptions o;
  o.batch_size = kPipelineBatch;
  o.prefetch = prefetch;
  o.parallel = parallel;
  return o;
}

// The loader's next batch, starting the next epoch when one runs out.
inline const Batch& next_batch(BatchLoader& loader, int64_t& epoch) {
  const Batch* batch = loader.next();
  if (!batch) {
    loader.start_epoch(++epoch);
    batch = loader.next();
  }
  return *batch;
}

}  // namespace s8net::bench
