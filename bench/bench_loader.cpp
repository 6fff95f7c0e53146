// The data pipeline's overlap with training, in images per second (the pipeline alone is
// bench_train's DataPipeline):
//   TrainFromLoader/<mode>       BN training steps fed by the loader, mode:
//       0 batches made in advance (the ceiling), 1 serial in line, 2 TBB in line,
//       3 prefetched on a background thread (serial), 4 prefetched with TBB
// Compare modes within one run: the machine is shared, only ratios mean anything.
#include "bench_support.hpp"

#include <s8net/model/s8_network.hpp>
#include <s8net/train/sgd.hpp>

#include <benchmark/benchmark.h>

namespace {

using namespace s8net::bench;

void train_from_loader(benchmark::State& state) {
  const int mode = static_cast<int>(state.range(0));
  s8net::S8Network network(plugins().context, plugins().registry, s8net::NetworkConfig{});
  s8net::Sgd sgd(network.parameters(), {0.001f, 0.95f, 0.f, false});
  const s8net::Augmenter augmenter;
  s8net::BatchLoader loader(random_images(), augmenter, pipeline_options(mode >= 3, mode == 2 || mode == 4));
  loader.start_epoch(0);
  const s8net::Batch fixed = *loader.next();
  network.forward_backward(fixed.images, fixed.labels);  // plan built outside the timing
  int64_t epoch = 0;
  for (auto _ : state) {
    const s8net::Batch& batch = mode == 0 ? fixed : next_batch(loader, epoch);
    network.forward_backward(batch.images, batch.labels);
    sgd.step();
  }
  state.SetItemsProcessed(state.iterations() * kPipelineBatch);
}

}  // namespace

BENCHMARK(train_from_loader)->Name("TrainFromLoader")->DenseRange(0, 4)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
