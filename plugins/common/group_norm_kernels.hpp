// GroupNorm forward and backward on any s8net layout (nchw, nChw8c, nChw16c): moments per (sample,
// group) from one sweep of shifted sums, then one pass applying a per-channel scale and shift (ReLU
// fused), given enough samples each sample while it is in the cache of the thread that summed it;
// a backward built from per-(sample, channel) sums of dy and dy*x.
// LayerNorm is the case of one group. Threads: OpenMP, the pool oneDNN runs on.
//
// The kernels (group_norm_kernels.inc) are compiled three times, for AVX-512, AVX2+FMA and the
// x86-64 baseline, and the entry points pick by the CPU at run time: a plugin .so built without
// -march flags still runs at the vector width of the machine it is loaded on.
//
// Every loop runs over a "unit": one channel block of one sample, hw rows of B contiguous lanes
// (for nchw one channel plane). Inner loops are fixed-width loops over the lanes, so they
// vectorise; sums go to accumulators per lane (a few chains of floats over a run of rows, then a
// double per lane; nchw: chains of doubles), so vectorising needs no reassociation.
// Lanes of channels the caller does not want (another group, or the padding of the last block)
// are computed and then ignored, never read into a result.
#pragma once

#include <s8net/norm/plugin_cpu.hpp>
#include <s8net/norm/plugin_sdk.hpp>

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace s8net::plugins {

struct GroupNormShape {
  int64_t n, c, hw, block, blocks, groups, channels_per_group;
  GroupNormShape(const s8net_tensor_desc& desc, int64_t groups_)
      : n(desc.n),
        c(desc.c),
        hw(desc.h * desc.w),
        block(static_cast<int64_t>(desc.layout)),
        blocks((desc.c + block - 1) / block),
        groups(groups_),
        channels_per_group(desc.c / groups_) {}
  int64_t units() const { return n * blocks; }
  int64_t padded_channels() const { return blocks * block; }
  // Elements of one (sample, group): the M of the formulas.
  int64_t group_size() const { return channels_per_group * hw; }
  // Lanes of unit u that hold real channels (fewer than B only in the padded last block).
  int64_t valid_lanes(int64_t unit) const { return std::min(block, c - (unit % blocks) * block); }
};

// Statistics of one forward, per (n, g): mean and 1 / sqrt(biased variance + eps).
struct GroupMoments {
  std::vector<double> mean, rstd;
};

// Per-channel arrays of a call, indexed [n * padded_channels + c] = [unit * B + lane]; kept in the
// instance so a training step allocates nothing.
struct GroupNormScratch {
  std::vector<float> a, b, c;            // forward: y = x*a + b; backward: dx = a*dy + b*x + c
  std::vector<double> sum_dy, sum_dy_x;  // backward: per (n, c); forward: sum_dy holds moment sums
  std::vector<double> lane_shift;        // forward: the value each lane's sums are shifted by
  void resize(const GroupNormShape& shape) {
    const auto size = static_cast<size_t>(shape.n * shape.padded_channels());
    for (auto* v : {&a, &b, &c}) v->assign(size, 0.f);
    for (auto* v : {&sum_dy, &sum_dy_x}) v->assign(size, 0.0);
    lane_shift.resize(size);
  }
};

// One copy of the kernels per instruction set. The target pragma applies to every function
// defined in between, including the OpenMP regions outlined from them.
// (GCC's pragmas; other compilers build the baseline copy only.)
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define S8NET_GROUP_NORM_X86 1
namespace isa_avx512 {
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#include "group_norm_kernels.inc"
#pragma GCC pop_options
}  // namespace isa_avx512
namespace isa_avx2 {
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "group_norm_kernels.inc"
#pragma GCC pop_options
}  // namespace isa_avx2
#endif
namespace isa_baseline {
#include "group_norm_kernels.inc"
}  // namespace isa_baseline

// The widest of the copies this CPU runs, capped by ONEDNN_MAX_CPU_ISA as oneDNN is.
enum class Isa { avx512, avx2, baseline };
inline Isa machine_isa() {
#ifdef S8NET_GROUP_NORM_X86
  switch (sdk::cpu_isa()) {
    case sdk::CpuIsa::avx512:
      return Isa::avx512;
    case sdk::CpuIsa::avx2:
      return Isa::avx2;
    case sdk::CpuIsa::baseline:
      return Isa::baseline;
  }
#endif
  return Isa::baseline;
}

// y = relu?((x - mean) * rstd * weight[c] + bias[c]) with statistics per (n, g), saved in `moments`.
inline void group_norm_forward(const GroupNormShape& shape, const float* x, const float* weight, const float* bias,
                               double eps, bool relu, GroupMoments& moments, GroupNormScratch& scratch, float* y) {
  switch (machine_isa()) {
#ifdef S8NET_GROUP_NORM_X86
    case Isa::avx512:
      return isa_avx512::forward(shape, x, weight, bias, eps, relu, moments, scratch, y);
    case Isa::avx2:
      return isa_avx2::forward(shape, x, weight, bias, eps, relu, moments, scratch, y);
#endif
    default:
      return isa_baseline::forward(shape, x, weight, bias, eps, relu, moments, scratch, y);
  }
}

// dx, dweight, dbias of the forward that produced y and `moments`. With relu, dy flows where y > 0.
inline void group_norm_backward(const GroupNormShape& shape, const float* x, const float* y, const float* dy,
                                const float* weight, const GroupMoments& moments, bool relu, GroupNormScratch& scratch,
                                float* dx, float* dweight, float* dbias) {
  switch (machine_isa()) {
#ifdef S8NET_GROUP_NORM_X86
    case Isa::avx512:
      return isa_avx512::backward(shape, x, y, dy, weight, moments, relu, scratch, dx, dweight, dbias);
    case Isa::avx2:
      return isa_avx2::backward(shape, x, y, dy, weight, moments, relu, scratch, dx, dweight, dbias);
#endif
    default:
      return isa_baseline::backward(shape, x, y, dy, weight, moments, relu, scratch, dx, dweight, dbias);
  }
}

}  // namespace s8net::plugins
