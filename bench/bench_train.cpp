// Whole-network throughput, per norm and batch size, in images per second:
//   TrainStep/<norm>/<batch>   forward, loss, backward and the SGD update
//   Inference/<norm>/<batch>   the evaluation forward
//   EvaluationLayouts/<norm>/<batch>  evaluation in nChw8c against nChw16c, alternated (below)
//   EvaluationAgainstBN/<norm>/<batch>  the norm's evaluation against BN's, alternated (below)
//   EvaluationChunks/<norm>/<chunk>  a batch of 256 in chunks of <chunk> against 32, alternated (below)
//   DataPipeline/<tbb>         augmenting and normalizing batches of 32 training images
//   Sgemm/1024                 dnnl_sgemm on a 1024^3 product: the roofline of these cores
// Counters of the network benchmarks: GFLOP/s of the useful convolution work (docs/network.md's layers,
// S8Network::conv_flops_per_image) and its ratio to dnnl_sgemm measured in the same process.
//   bench_train --benchmark_filter='TrainStep/bn/32'
#include "alternation.hpp"
#include "bench_support.hpp"

#include <s8net/model/s8_network.hpp>
#include <s8net/train/sgd.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
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
  // The layout the measured pass ran in: evaluation may run in another than training.
  const s8net::ActivationLayout layout = mode == s8net::Mode::eval ? network.inference_layout() : network.layout();
  state.SetLabel(std::string(s8net::name_of(layout)));
}

// A network of the norm, in the layout named or the one it picks.
std::unique_ptr<s8net::S8Network> network_of(const std::string& norm, std::optional<s8net::ActivationLayout> layout,
                                             int64_t inference_chunk = 0) {
  s8net::NetworkConfig config;
  config.norm = norm;
  config.layout = layout;
  config.inference_chunk = inference_chunk;
  return std::make_unique<s8net::S8Network>(plugins().context, plugins().registry, config);
}

void train_step(benchmark::State& state, const std::string& norm) {
  const int64_t batch_size = state.range(0);
  const auto owned = network_of(norm, std::nullopt);
  s8net::S8Network& network = *owned;
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
  const auto owned = network_of(norm, std::nullopt);
  s8net::S8Network& network = *owned;
  const Batch batch(batch_size);
  sgemm_gflops();
  network.evaluate(batch.images, batch.labels);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(network.evaluate(batch.images, batch.labels));
  set_counters(state, seconds_since(start), batch_size, s8net::Mode::eval, network);
}

// Two evaluations in one process, a and b, run in turn (3 evaluations each per iteration), so that
// both see the same moments of a shared machine. The counters are each one's median rate and the
// median and quartiles of the per-iteration ratio of a's rate to b's.
void alternate(benchmark::State& state, int64_t batch_size, const std::string& name_a, s8net::S8Network& a,
               const std::string& name_b, s8net::S8Network& b) {
  const Batch batch(batch_size);
  constexpr int kRuns = 3;
  const auto rate = [&](s8net::S8Network& network) {
    const auto start = std::chrono::steady_clock::now();
    for (int run = 0; run < kRuns; ++run) benchmark::DoNotOptimize(network.evaluate(batch.images, batch.labels));
    return static_cast<double>(kRuns * batch_size) / seconds_since(start);
  };
  for (s8net::S8Network* network : {&a, &b}) rate(*network);  // plans built untimed
  std::vector<double> rates_a, rates_b, ratios;
  for (auto _ : state) {
    rates_a.push_back(rate(a));
    rates_b.push_back(rate(b));
    ratios.push_back(rates_a.back() / rates_b.back());
  }
  state.counters[name_a + "_img/s"] = quantile(rates_a, 0.5);
  state.counters[name_b + "_img/s"] = quantile(rates_b, 0.5);
  set_ratio_counters(state, ratios, "ratio", "ratio_q25", "ratio_q75");
}

// Evaluation in nChw8c against nChw16c: the measurement behind the inference layout S8Network
// picks (InferencePlan::layout_for); with AVX-512 it pits s8net's own Winograd against oneDNN's.
void evaluation_layouts(benchmark::State& state, const std::string& norm) {
  const auto blocked8 = network_of(norm, s8net::ActivationLayout::nChw8c);
  const auto blocked16 = network_of(norm, s8net::ActivationLayout::nChw16c);
  alternate(state, state.range(0), "nChw8c", *blocked8, "nChw16c", *blocked16);
}

// A norm's evaluation against BN's, each in the layout S8Network picks: the ratio is how close
// the norm comes to BN, whose affine folds into the convs (docs/performance.md).
void evaluation_against_bn(benchmark::State& state, const std::string& norm) {
  const auto with_norm = network_of(norm, std::nullopt);
  const auto with_bn = network_of("bn", std::nullopt);
  alternate(state, state.range(0), norm, *with_norm, "bn", *with_bn);
  state.SetLabel(std::string(s8net::name_of(with_norm->inference_layout())));
}

// A batch of 256 evaluated in chunks of state.range(0) images against chunks of 32.
void evaluation_chunks(benchmark::State& state, const std::string& norm) {
  const int64_t chunk = state.range(0);
  const auto chunked = network_of(norm, std::nullopt, chunk);
  const auto by32 = network_of(norm, std::nullopt, 32);
  alternate(state, 256, "chunk" + std::to_string(chunk), *chunked, "chunk32", *by32);
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

// One benchmark per norm of an alternated comparison, each argument a case of 30 alternations.
void register_alternated(const std::string& prefix, void (*compare)(benchmark::State&, const std::string&),
                         std::initializer_list<const char*> norms, std::initializer_list<int64_t> args) {
  for (const char* norm : norms) {
    benchmark::internal::Benchmark* cases = benchmark::RegisterBenchmark((prefix + norm).c_str(), compare, norm);
    for (const int64_t arg : args) cases->Arg(arg);
    cases->Iterations(30)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
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
  register_alternated("EvaluationLayouts/", evaluation_layouts, {"bn", "gn", "ln"}, {32, 256});
  register_alternated("EvaluationAgainstBN/", evaluation_against_bn, {"gn", "ln", "in"}, {32, 256});
  register_alternated("EvaluationChunks/", evaluation_chunks, {"bn", "gn", "ln"}, {4, 8, 16});
  benchmark::RegisterBenchmark("DataPipeline", prepare_batches)->Arg(0)->Arg(1)->UseRealTime();
  benchmark::RegisterBenchmark("Sgemm/1024", sgemm)->Unit(benchmark::kMillisecond)->UseRealTime();
  return 0;
}
const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
