// The data pipeline and its overlap with training, in images per second:
//   PrepareBatch/<parallel>      augmenting + normalizing one batch of 32 (serial or TBB)
//   TrainFromLoader/<mode>       BN training steps fed by the loader, mode:
//       0 batches made in advance (the ceiling), 1 serial in line, 2 TBB in line,
//       3 prefetched on a background thread (serial), 4 prefetched with TBB
// Compare modes within one run: the machine is shared, only ratios mean anything.
#include <s8net/data/batch_loader.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/train/sgd.hpp>

#include <benchmark/benchmark.h>

#include <iostream>
#include <random>

namespace {

constexpr int64_t kImages = 4096, kBatch = 32;

const s8net::Dataset& images() {
  static const s8net::Dataset data = [] {
    s8net::Dataset d;
    std::mt19937 generator(1);
    std::vector<uint8_t> image(s8net::kImageBytes);
    for (int64_t i = 0; i < kImages; ++i) {
      for (uint8_t& v : image) v = static_cast<uint8_t>(generator() & 0xFF);
      d.append(image, static_cast<uint8_t>(i % 10));
    }
    return d;
  }();
  return data;
}

s8net::LoaderOptions loader_options(bool prefetch, bool parallel) {
  s8net::LoaderOptions o;
  o.batch_size = kBatch;
  o.prefetch = prefetch;
  o.parallel = parallel;
  return o;
}

void prepare_batch(benchmark::State& state) {
  const s8net::Augmenter augmenter;
  s8net::BatchLoader loader(images(), augmenter, loader_options(false, state.range(0) != 0));
  int64_t epoch = 0;
  loader.start_epoch(epoch);
  for (auto _ : state) {
    const s8net::Batch* batch = loader.next();
    if (!batch) {
      loader.start_epoch(++epoch);
      batch = loader.next();
    }
    benchmark::DoNotOptimize(batch->images.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void train_from_loader(benchmark::State& state) {
  const int mode = static_cast<int>(state.range(0));
  s8net::Context context;
  s8net::NormRegistry registry(context);
  for (const auto& failure : registry.load_search_path()) std::cerr << "plugin load failure: " << failure.reason << '\n';
  s8net::S8Network network(context, registry, s8net::NetworkConfig{});
  s8net::Sgd sgd(network.parameters(), {0.001f, 0.95f, 0.f, false});
  const s8net::Augmenter augmenter;
  s8net::BatchLoader loader(images(), augmenter, loader_options(mode >= 3, mode == 2 || mode == 4));
  loader.start_epoch(0);
  const s8net::Batch fixed = *loader.next();
  network.forward_backward(fixed.images, fixed.labels);  // plan built outside the timing
  int64_t epoch = 0;
  for (auto _ : state) {
    const s8net::Batch* batch = &fixed;
    if (mode != 0) {
      batch = loader.next();
      if (!batch) {
        loader.start_epoch(++epoch);
        batch = loader.next();
      }
    }
    network.forward_backward(batch->images, batch->labels);
    sgd.step();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

}  // namespace

BENCHMARK(prepare_batch)->Name("PrepareBatch")->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(train_from_loader)->Name("TrainFromLoader")->DenseRange(0, 4)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
