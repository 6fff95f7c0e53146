// Whole-network throughput: one training step (forward, loss, backward, SGD update) and
// inference, per norm and batch size, in images per second.
//   bench_train --benchmark_filter='TrainStep/bn/32'
// Plugins come from the usual search path (build tree, install dir, S8NET_PLUGIN_PATH).
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/train/sgd.hpp>

#include <benchmark/benchmark.h>

#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

struct Fixture {
  s8net::Context context;
  s8net::NormRegistry registry{context};
  Fixture() {
    for (const auto& failure : registry.load_search_path()) std::cerr << "plugin load failure: " << failure.reason << '\n';
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

struct Batch {
  std::vector<float> images;
  std::vector<int32_t> labels;
  explicit Batch(int64_t size) : images(static_cast<size_t>(size * 3 * 32 * 32)), labels(static_cast<size_t>(size)) {
    std::mt19937 generator(1);
    std::normal_distribution<float> normal;
    for (float& v : images) v = normal(generator);
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i % 10);
  }
};

void train_step(benchmark::State& state, const std::string& norm) {
  const int64_t batch_size = state.range(0);
  s8net::NetworkConfig config;
  config.norm = norm;
  s8net::S8Network network(fixture().context, fixture().registry, config);
  s8net::SgdOptions options;
  options.learning_rate = 0.001f;
  options.momentum = 0.95f;
  s8net::Sgd sgd(network.parameters(), options);
  const Batch batch(batch_size);
  network.forward_backward(batch.images, batch.labels);  // builds the plan outside the timing
  for (auto _ : state) {
    network.forward_backward(batch.images, batch.labels);
    sgd.step();
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
  state.SetLabel(std::string(s8net::name_of(network.layout())));
}

void inference(benchmark::State& state, const std::string& norm) {
  const int64_t batch_size = state.range(0);
  s8net::NetworkConfig config;
  config.norm = norm;
  s8net::S8Network network(fixture().context, fixture().registry, config);
  const Batch batch(batch_size);
  network.evaluate(batch.images, batch.labels);
  for (auto _ : state) benchmark::DoNotOptimize(network.evaluate(batch.images, batch.labels));
  state.SetItemsProcessed(state.iterations() * batch_size);
  state.SetLabel(std::string(s8net::name_of(network.layout())));
}

int register_all() {
  for (const char* norm : {"bn", "gn", "ln"}) {
    benchmark::RegisterBenchmark((std::string("TrainStep/") + norm).c_str(), train_step, norm)
        ->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark((std::string("Inference/") + norm).c_str(), inference, norm)
        ->Arg(32)->Arg(128)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  return 0;
}
const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
