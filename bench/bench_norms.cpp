// Each normalization plugin alone, at every shape it meets in the S8 network, forward (training
// mode, ReLU fused as the network runs it) and backward, at batch 32 and 128:
//   bench_norms --benchmark_filter='Norm.*/gn/'
// Counters: images/s (SetItemsProcessed) and GB/s of the tensors a pass must touch at least
// (forward: read x, write y; backward: read x and dy, write dx), in the network's layout.
#include "bench_support.hpp"

#include <s8net/core/layout.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/norm_layer.hpp>

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

namespace {

using namespace s8net::bench;

// The (channels, side) of the norm layers of docs/network.md's network: C1-C2, C3-C5, C7-C9.
struct Shape {
  int64_t channels, side;
  const char* layers;
};
constexpr Shape kShapes[] = {{16, 32, "C1-C2"}, {32, 16, "C3-C5"}, {32, 8, "C7-C9"}};

struct Buffers {
  std::vector<float> x, y, dy, dx;
  explicit Buffers(size_t size) : x(size), y(size), dy(size), dx(size) {
    std::mt19937 generator(7);
    std::normal_distribution<float> normal;
    for (float& v : x) v = normal(generator);
    for (float& v : dy) v = normal(generator);
  }
};

void norm_pass(benchmark::State& state, const std::string& norm, Shape shape, bool backward) {
  // The layout the network runs in on this CPU (the one S8Network picks, not only oneDNN's wish).
  static const s8net::ActivationLayout layout = [] {
    s8net::NetworkConfig config;
    config.norm = "bn";
    return s8net::S8Network(plugins().context, plugins().registry, config).layout();
  }();
  const int64_t batch = state.range(0);
  s8net::NormLayer layer(plugins().registry, norm, shape.channels, {}, true, shape.layers);
  const s8net_tensor_desc desc{batch, shape.channels, shape.side, shape.side, s8net::plugin_layout_of(layout)};
  const auto elements = static_cast<size_t>(batch * shape.channels * shape.side * shape.side);
  Buffers b(elements);
  layer.forward(S8NET_MODE_TRAIN, desc, b.x.data(), b.y.data());
  if (backward) layer.backward(desc, b.x.data(), b.y.data(), b.dy.data(), b.dx.data());
  for (auto _ : state) {
    if (backward)
      layer.backward(desc, b.x.data(), b.y.data(), b.dy.data(), b.dx.data());
    else
      layer.forward(S8NET_MODE_TRAIN, desc, b.x.data(), b.y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  const double tensors = backward ? 3 : 2;
  state.counters["GB/s"] = benchmark::Counter(
      tensors * static_cast<double>(elements * sizeof(float)) * 1e-9 * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
  state.SetLabel(std::string(shape.layers) + ", " + std::string(s8net::name_of(layout)));
}

int register_all() {
  for (const char* norm : {"bn", "gn", "ln", "in"})
    for (const Shape& shape : kShapes)
      for (const bool backward : {false, true}) {
        const std::string name = std::string(backward ? "NormBackward/" : "NormForward/") + norm + "/" +
                                 std::to_string(shape.channels) + "x" + std::to_string(shape.side) + "x" +
                                 std::to_string(shape.side);
        benchmark::RegisterBenchmark(name.c_str(), norm_pass, norm, shape, backward)
            ->Arg(32)
            ->Arg(128)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
  return 0;
}
const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
