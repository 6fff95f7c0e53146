// Whole-network throughput, per norm and batch size, in images per second:
//   TrainStep/<norm>/<batch>   forward, loss, backward and the SGD update
//   Inference/<norm>/<batch>   the evaluation forward
//   DataPipeline/<tbb>         augmenting and normalizing batches of 32 training images
//   Sgemm/1024                 dnnl_sgemm on a 1024^3 product: the roofline of these cores
// Counters of the network benchmarks: GFLOP/s of the useful convolution work (docs/network.md's layers,
// S8Network::conv_flops_per_image) and its ratio to dnnl_sgemm measured in the same process.
//   bench_train --benchmark_filter='TrainStep/bn/32'
#include "bench_support.hpp"

#include <s8net/model/s8_network.hpp>
#include <s8net/train/sgd.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace s8net::bench;

constexpr dnnl_dim_t kSgemmSize = 1024;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One dnnl_sgemm of kSgemmSize^3, in GFLOP/s.
double sgemm_once(std::vector<float>& a, std::vector<float>& b, std::vector<float>& c) {
  const auto start = std::chrono::steady_clock::now();
  dnnl_sgemm('N', 'N', kSgemmSize, kSgemmSize, kSgemmSize, 1.f, a.data(), kSgemmSize, b.data(), kSgemmSize, 0.f,
             c.data(), kSgemmSize);
  return 2.0 * kSgemmSize * kSgemmSize * kSgemmSize / seconds_since(start) * 1e-9;
}

// The best of a second of products, measured once per process: what the network is compared to.
double sgemm_gflops() {
  static const double best = [] {
    std::vector<float> a(kSgemmSize * kSgemmSize, 0.5f), b(a.size(), 0.25f), c(a.size());
    double fastest = 0;
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(1))
      fastest = std::max(fastest, sgemm_once(a, b, c));
    return fastest;
  }();
  return best;
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

// Counters from the wall time of the timed loop (not kIsRate: a ratio per second would read oddly).
void set_counters(benchmark::State& state, double seconds, int64_t batch_size, s8net::Mode mode,
                  const s8net::S8Network& network) {
  state.SetItemsProcessed(state.iterations() * batch_size);
  const double gflops = s8net::S8Network::conv_flops_per_image(mode) *
                        static_cast<double>(state.iterations() * batch_size) / seconds * 1e-9;
  state.counters["GFLOP/s"] = gflops;
  state.counters["of_sgemm"] = gflops / sgemm_gflops();
  state.SetLabel(std::string(s8net::name_of(network.layout())));
}

void train_step(benchmark::State& state, const std::string& norm) {
  const int64_t batch_size = state.range(0);
  s8net::NetworkConfig config;
  config.norm = norm;
  s8net::S8Network network(plugins().context, plugins().registry, config);
  s8net::SgdOptions options;
  options.learning_rate = 0.001f;
  options.momentum = 0.95f;
  s8net::Sgd sgd(network.parameters(), options);
  const Batch batch(batch_size);
  sgemm_gflops();                                        // measured before the timing, not inside it
  network.forward_backward(batch.images, batch.labels);  // builds the plan outside the timing
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    network.forward_backward(batch.images, batch.labels);
    sgd.step();
  }
  set_counters(state, seconds_since(start), batch_size, s8net::Mode::train, network);
}

void inference(benchmark::State& state, const std::string& norm) {
  const int64_t batch_size = state.range(0);
  s8net::NetworkConfig config;
  config.norm = norm;
  s8net::S8Network network(plugins().context, plugins().registry, config);
  const Batch batch(batch_size);
  sgemm_gflops();
  network.evaluate(batch.images, batch.labels);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(network.evaluate(batch.images, batch.labels));
  set_counters(state, seconds_since(start), batch_size, s8net::Mode::eval, network);
}

// Augmenting and normalizing batches of 32 training images, on one thread (range 0) or spread
// over TBB's (range 1).
void prepare_batches(benchmark::State& state) {
  const s8net::Augmenter augmenter;
  s8net::BatchLoader loader(random_images(), augmenter, pipeline_options(false, state.range(0) != 0));
  int64_t epoch = 0;
  loader.start_epoch(epoch);
  for (auto _ : state) benchmark::DoNotOptimize(next_batch(loader, epoch).images.data());
  state.SetItemsProcessed(state.iterations() * kPipelineBatch);
}

void sgemm(benchmark::State& state) {
  std::vector<float> a(kSgemmSize * kSgemmSize, 0.5f), b(a.size(), 0.25f), c(a.size());
  for (auto _ : state) sgemm_once(a, b, c);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * kSgemmSize * kSgemmSize * kSgemmSize * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

int register_all() {
  for (const char* norm : {"bn", "gn", "ln", "in"}) {
    benchmark::RegisterBenchmark((std::string("TrainStep/") + norm).c_str(), train_step, norm)
        ->Arg(32)
        ->Arg(128)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("Inference/") + norm).c_str(), inference, norm)
        ->Arg(32)
        ->Arg(128)
        ->Arg(256)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("DataPipeline", prepare_batches)->Arg(0)->Arg(1)->UseRealTime();
  benchmark::RegisterBenchmark("Sgemm/1024", sgemm)->Unit(benchmark::kMillisecond)->UseRealTime();
  return 0;
}
const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
