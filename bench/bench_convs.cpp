// The network's 3x3 convolutions alone on nChw8c activations (the AVX2 layout), forward with bias
// and ReLU, and the weight gradient, as oneDNN's direct convolution and as s8net's own Winograd
// F(4x4, 3x3):
//   ONEDNN_MAX_CPU_ISA=AVX2 bench_convs --benchmark_filter='/C4/'
// and what inference fuses into the forward around GroupNorm and LayerNorm costs (Conv3x3FusionCost);
// the 1x1 convs with the max-pool after them (c3 -> P1, c6 -> P2) as inference runs them, in one
// pass (PooledConv1x1), against oneDNN's conv and pool (Conv1x1MaxPool); and training's 2x2
// max-pool, forward and backward, on s8net's kernel against oneDNN's (MaxPool2x2Training).
// Counters: images/s and useful GFLOP/s (2 x multiply-adds of the direct convolution).
#include "alternation.hpp"

#include <s8net/core/context.hpp>
#include <s8net/core/tensor.hpp>
#include <s8net/ops/blocked_max_pool.hpp>
#include <s8net/ops/pooled_conv1x1.hpp>
#include <s8net/ops/primitive_runner.hpp>
#include <s8net/ops/winograd_conv.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace {

using dnnl::memory;

struct Layer {
  const char* name;
  int64_t in, out, side;
};
// docs/network.md: the 3x3 convs with whole nChw8c blocks in and out.
constexpr Layer kLayers[] = {
    {"C2", 16, 16, 32}, {"C3", 8, 32, 16}, {"C4", 32, 32, 16}, {"C7", 16, 32, 8}, {"C8", 32, 32, 8}};

s8net::Context& context() {
  static s8net::Context instance;
  return instance;
}

s8net::AlignedFloats random_values(size_t count, unsigned seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal;
  s8net::AlignedFloats values(count);
  for (float& v : values) v = normal(generator);
  return values;
}

// Normal values in a tensor's buffer (its layout does not matter to a timing).
void fill(const s8net::Tensor& tensor, unsigned seed) {
  const auto values = random_values(static_cast<size_t>(tensor.size()), seed);
  std::copy(values.begin(), values.end(), tensor.data());
}

memory::desc activations(int64_t batch, int64_t channels, int64_t side) {
  return {{batch, channels, side, side}, memory::data_type::f32, memory::format_tag::nChw8c};
}

void set_counters(benchmark::State& state, const Layer& layer, int64_t batch) {
  const auto flops = static_cast<double>(2 * layer.in * layer.out * 9 * layer.side * layer.side * batch);
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Direct convolution of the layer at this batch, oneDNN choosing the weights' layout.
dnnl::convolution_forward::desc direct_desc(dnnl::prop_kind prop, const Layer& layer, int64_t batch) {
  return {prop,
          dnnl::algorithm::convolution_direct,
          activations(batch, layer.in, layer.side),
          memory::desc({layer.out, layer.in, 3, 3}, memory::data_type::f32, memory::format_tag::any),
          memory::desc({layer.out}, memory::data_type::f32, memory::format_tag::x),
          activations(batch, layer.out, layer.side),
          {1, 1},
          {1, 1},
          {1, 1}};
}

void time_primitive(benchmark::State& state, const Layer& layer, const s8net::BoundPrimitive& bound,
                    const char* implementation) {
  state.SetLabel(implementation);
  for (auto _ : state) s8net::execute(context(), bound);
  set_counters(state, layer, state.range(0));
}

void onednn_direct(benchmark::State& state, Layer layer) {
  const dnnl::engine& engine = context().engine();
  dnnl::post_ops relu;
  relu.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(relu);
  const dnnl::convolution_forward::primitive_desc pd(
      direct_desc(dnnl::prop_kind::forward_inference, layer, state.range(0)), attr, engine);
  const s8net::Tensor x(pd.src_desc(), engine), w(pd.weights_desc(), engine), b(pd.bias_desc(), engine),
      y(pd.dst_desc(), engine);
  fill(x, 1);
  fill(w, 2);
  fill(b, 3);
  time_primitive(state, layer,
                 {dnnl::convolution_forward(pd),
                  {{DNNL_ARG_SRC, x.memory()},
                   {DNNL_ARG_WEIGHTS, w.memory()},
                   {DNNL_ARG_BIAS, b.memory()},
                   {DNNL_ARG_DST, y.memory()}}},
                 pd.impl_info_str());
}

void onednn_direct_weight_gradient(benchmark::State& state, Layer layer) {
  const dnnl::engine& engine = context().engine();
  const dnnl::convolution_forward::primitive_desc hint(
      direct_desc(dnnl::prop_kind::forward_training, layer, state.range(0)), engine);
  const dnnl::convolution_backward_weights::primitive_desc pd({dnnl::algorithm::convolution_direct,
                                                               hint.src_desc(),
                                                               hint.weights_desc(),
                                                               hint.bias_desc(),
                                                               hint.dst_desc(),
                                                               {1, 1},
                                                               {1, 1},
                                                               {1, 1}},
                                                              engine, hint);
  const s8net::Tensor x(pd.src_desc(), engine), dy(pd.diff_dst_desc(), engine), dw(pd.diff_weights_desc(), engine),
      db(pd.diff_bias_desc(), engine);
  fill(x, 1);
  fill(dy, 2);
  time_primitive(state, layer,
                 {dnnl::convolution_backward_weights(pd),
                  {{DNNL_ARG_SRC, x.memory()},
                   {DNNL_ARG_DIFF_DST, dy.memory()},
                   {DNNL_ARG_DIFF_WEIGHTS, dw.memory()},
                   {DNNL_ARG_DIFF_BIAS, db.memory()}}},
                 pd.impl_info_str());
}

void s8net_winograd_weight_gradient(benchmark::State& state, Layer layer) {
  if (!s8net::WinogradConv::available()) return state.SkipWithError("no AVX2 with FMA on this CPU");
  const int64_t batch = state.range(0);
  s8net::WinogradConv conv({batch, layer.in, layer.out, layer.side, layer.side}, false);
  const auto x = random_values(static_cast<size_t>(batch * layer.in * layer.side * layer.side), 1);
  const auto dy = random_values(static_cast<size_t>(batch * layer.out * layer.side * layer.side), 2);
  s8net::AlignedFloats dw(static_cast<size_t>(layer.out * layer.in * 9)), db(static_cast<size_t>(layer.out));
  state.SetLabel(s8net::WinogradConv::implementation());
  for (auto _ : state) {
    conv.backward_weights(x.data(), dy.data(), dw.data(), db.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, layer, batch);
}

void s8net_winograd(benchmark::State& state, Layer layer) {
  if (!s8net::WinogradConv::available()) return state.SkipWithError("no AVX2 with FMA on this CPU");
  const int64_t batch = state.range(0);
  s8net::WinogradConv conv({batch, layer.in, layer.out, layer.side, layer.side}, true);
  conv.load(random_values(static_cast<size_t>(layer.out * layer.in * 9), 2),
            random_values(static_cast<size_t>(layer.out), 3));
  const auto x = random_values(static_cast<size_t>(batch * layer.in * layer.side * layer.side), 1);
  s8net::AlignedFloats y(static_cast<size_t>(batch * layer.out * layer.side * layer.side));
  state.SetLabel(s8net::WinogradConv::implementation());
  for (auto _ : state) {
    conv.forward(x.data(), y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, layer, batch);
}

// The median and quartiles of the ratio of `a`'s time to `b`'s, 10 runs of each timed in turns per
// iteration.
template <class A, class B>
void time_in_turns(benchmark::State& state, A&& a, B&& b, const char* counter) {
  const auto seconds = [](auto&& run) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i) run();
    benchmark::ClobberMemory();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  seconds(a), seconds(b);
  std::vector<double> ratios;
  for (auto _ : state) {
    const double b_time = seconds(b);
    ratios.push_back(seconds(a) / b_time);
  }
  s8net::bench::set_ratio_counters(state, ratios, counter, "q25", "q75");
}

// What inference fuses into the forward around a norm taken as a map of its moments
// (WinogradFusion) costs: fusion 1 takes the output's moments, 2 reads the input through a map, 3
// both. Each iteration times 10 plain forwards and 10 fused ones in turn; the counters are the
// median and quartiles of the per-iteration ratio of the fused time to the plain one.
void s8net_winograd_fusion_cost(benchmark::State& state, Layer layer) {
  if (!s8net::WinogradConv::available()) return state.SkipWithError("no AVX2 with FMA on this CPU");
  const int64_t batch = state.range(0), fusion = state.range(1);
  s8net::WinogradConv conv({batch, layer.in, layer.out, layer.side, layer.side}, false);
  conv.load(random_values(static_cast<size_t>(layer.out * layer.in * 9), 2),
            random_values(static_cast<size_t>(layer.out), 3));
  const auto x = random_values(static_cast<size_t>(batch * layer.in * layer.side * layer.side), 1);
  const auto scale = random_values(static_cast<size_t>(batch * layer.in), 4);
  const auto shift = random_values(static_cast<size_t>(batch * layer.in), 5);
  std::vector<s8net_plane_moments> moments(static_cast<size_t>(batch * layer.out));
  s8net::AlignedFloats y(static_cast<size_t>(batch * layer.out * layer.side * layer.side));
  s8net::WinogradFusion fused;
  if ((fusion & 1) != 0) fused.output_moments = moments.data();
  if ((fusion & 2) != 0) fused.input_scale = scale.data(), fused.input_shift = shift.data();
  time_in_turns(
      state, [&] { conv.forward(x.data(), y.data(), fused); }, [&] { conv.forward(x.data(), y.data(), {}); },
      "fused/plain");
  state.SetLabel(s8net::WinogradConv::implementation());
}

struct Layer1x1 {
  const char* name;
  int64_t in, out, side;
};
// docs/network.md: the 1x1 convs, each before a 2x2 max-pool.
constexpr Layer1x1 kPooledLayers[] = {{"c3", 16, 8, 32}, {"c6", 32, 16, 16}};

// One pass (s8net's PooledConv1x1) against oneDNN's 1x1 conv and then its max-pool, in turns:
// the counter is the ratio of the pass's time to the two primitives'.
void pooled_conv1x1(benchmark::State& state, Layer1x1 layer) {
  if (!s8net::PooledConv1x1::available()) return state.SkipWithError("no AVX2 with FMA on this CPU");
  const dnnl::engine& engine = context().engine();
  const int64_t batch = state.range(0);
  const memory::desc x_desc = activations(batch, layer.in, layer.side);
  const memory::desc conv_desc = activations(batch, layer.out, layer.side);
  const memory::desc pooled_desc = activations(batch, layer.out, layer.side / 2);
  const dnnl::convolution_forward::primitive_desc conv_pd(
      {dnnl::prop_kind::forward_inference,
       dnnl::algorithm::convolution_direct,
       x_desc,
       memory::desc({layer.out, layer.in, 1, 1}, memory::data_type::f32, memory::format_tag::any),
       memory::desc({layer.out}, memory::data_type::f32, memory::format_tag::x),
       conv_desc,
       {1, 1},
       {0, 0},
       {0, 0}},
      engine);
  const dnnl::pooling_forward::primitive_desc pool_pd({dnnl::prop_kind::forward_inference,
                                                       dnnl::algorithm::pooling_max,
                                                       conv_desc,
                                                       pooled_desc,
                                                       {2, 2},
                                                       {2, 2},
                                                       {0, 0},
                                                       {0, 0}},
                                                      engine);
  const s8net::Tensor x(x_desc, engine), w(conv_pd.weights_desc(), engine), b(conv_pd.bias_desc(), engine),
      conv_out(conv_desc, engine), pooled(pooled_desc, engine), fused_out(pooled_desc, engine);
  fill(x, 1);
  fill(w, 2);
  fill(b, 3);
  const s8net::BoundPrimitive conv{dnnl::convolution_forward(conv_pd),
                                   {{DNNL_ARG_SRC, x.memory()},
                                    {DNNL_ARG_WEIGHTS, w.memory()},
                                    {DNNL_ARG_BIAS, b.memory()},
                                    {DNNL_ARG_DST, conv_out.memory()}}};
  const s8net::BoundPrimitive pool{dnnl::pooling_forward(pool_pd),
                                   {{DNNL_ARG_SRC, conv_out.memory()}, {DNNL_ARG_DST, pooled.memory()}}};
  s8net::PooledConv1x1 fused({batch, layer.in, layer.out, layer.side, layer.side});
  const auto weight = random_values(static_cast<size_t>(layer.in * layer.out), 2);
  fused.load(std::vector<float>(weight.begin(), weight.end()),
             std::vector<float>(static_cast<size_t>(layer.out), 0.5f));
  time_in_turns(
      state, [&] { fused.forward({x.data()}, fused_out.data()); },
      [&] {
        s8net::execute(context(), conv);
        s8net::execute(context(), pool);
      },
      "fused/onednn");
  state.SetLabel(s8net::PooledConv1x1::implementation() + " vs " + conv_pd.impl_info_str() + " + " +
                 pool_pd.impl_info_str());
}

// Training's max-pool after c3 and c6 at batch 128 (P1, P2), forward then backward: s8net's own
// kernel against oneDNN's max-pool with its arg-max workspace, in turns.
void max_pool_training(benchmark::State& state, Layer1x1 layer) {
  if (!s8net::blocked_max_pool::available()) return state.SkipWithError("no AVX2 on this CPU");
  const dnnl::engine& engine = context().engine();
  const int64_t batch = state.range(0), side = layer.side;
  const memory::desc src = activations(batch, layer.out, side), dst = activations(batch, layer.out, side / 2);
  const dnnl::pooling_forward::primitive_desc forward_pd(
      {dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max, src, dst, {2, 2}, {2, 2}, {0, 0}, {0, 0}},
      engine);
  const dnnl::pooling_backward::primitive_desc backward_pd(
      {dnnl::algorithm::pooling_max, src, dst, {2, 2}, {2, 2}, {0, 0}, {0, 0}}, engine, forward_pd);
  const s8net::Tensor x(src, engine), y(dst, engine), dy(dst, engine), dx(src, engine);
  const dnnl::memory workspace(forward_pd.workspace_desc(), engine);
  fill(x, 1);
  fill(dy, 2);
  const s8net::BoundPrimitive forward{
      dnnl::pooling_forward(forward_pd),
      {{DNNL_ARG_SRC, x.memory()}, {DNNL_ARG_DST, y.memory()}, {DNNL_ARG_WORKSPACE, workspace}}};
  const s8net::BoundPrimitive backward{
      dnnl::pooling_backward(backward_pd),
      {{DNNL_ARG_DIFF_DST, dy.memory()}, {DNNL_ARG_DIFF_SRC, dx.memory()}, {DNNL_ARG_WORKSPACE, workspace}}};
  const s8net::blocked_max_pool::Shape shape{batch, layer.out / 8, 8, side, side};
  std::vector<float> argmax(static_cast<size_t>(y.size()));
  time_in_turns(
      state,
      [&] {
        s8net::blocked_max_pool::forward(shape, x.data(), y.data(), argmax.data());
        s8net::blocked_max_pool::backward(shape, dy.data(), argmax.data(), dx.data());
      },
      [&] {
        s8net::execute(context(), forward);
        s8net::execute(context(), backward);
      },
      "own/onednn");
  state.SetLabel("s8net_max_pool_2x2:avx2 vs " + std::string(forward_pd.impl_info_str()) + " + " +
                 backward_pd.impl_info_str());
}

const bool registered = [] {
  for (const Layer1x1& layer : kPooledLayers)
    benchmark::RegisterBenchmark((std::string("MaxPool2x2Training/") + (layer.out == 8 ? "P1" : "P2")).c_str(),
                                 max_pool_training, layer)
        ->Arg(128)
        ->Iterations(50)
        ->UseRealTime();
  for (const Layer1x1& layer : kPooledLayers)
    benchmark::RegisterBenchmark((std::string("Conv1x1MaxPool/") + layer.name).c_str(), pooled_conv1x1, layer)
        ->Arg(16)
        ->Iterations(50)
        ->UseRealTime();
  for (const Layer& layer : kLayers) {
    const std::string suffix = std::string("/") + layer.name;
    benchmark::RegisterBenchmark(("Conv3x3/onednn_direct" + suffix).c_str(), onednn_direct, layer)
        ->Arg(32)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Conv3x3/s8net_winograd" + suffix).c_str(), s8net_winograd, layer)
        ->Arg(32)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Conv3x3FusionCost/s8net_winograd" + suffix).c_str(), s8net_winograd_fusion_cost,
                                 layer)
        ->ArgsProduct({{16}, {1, 2, 3}})
        ->ArgNames({"batch", "fusion"})
        ->Iterations(50)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Conv3x3WeightGradient/onednn_direct" + suffix).c_str(),
                                 onednn_direct_weight_gradient, layer)
        ->Arg(32)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Conv3x3WeightGradient/s8net_winograd" + suffix).c_str(),
                                 s8net_winograd_weight_gradient, layer)
        ->Arg(32)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
