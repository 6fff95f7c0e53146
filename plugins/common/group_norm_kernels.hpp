// GroupNorm forward and backward on any s8net layout (nchw, nChw8c, nChw16c), organised as
// PyTorch's CPU kernel is: two-pass moments per (sample, group); one pass applying a per-channel
// scale and shift (ReLU fused); a backward built from per-(sample, channel) sums of dy and dy*x.
// LayerNorm is the case of one group. Threads: OpenMP, the pool oneDNN runs on.
//
// Every loop runs over a "unit": one channel block of one sample, hw rows of B contiguous lanes
// (for nchw one channel plane). Inner loops are fixed-width loops over the lanes, so they
// vectorise; sums go to one double accumulator per lane, so vectorising needs no reassociation.
// Lanes of channels the caller does not want (another group, or the padding of the last block)
// are computed and then ignored, never read into a result.
#pragma once

#include <s8net/norm/plugin_sdk.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace s8net::plugins {

struct GroupNormShape {
  int64_t n, c, hw, block, blocks, groups, channels_per_group;
  GroupNormShape(const s8net_tensor_desc& desc, int64_t groups_)
      : n(desc.n), c(desc.c), hw(desc.h * desc.w), block(static_cast<int64_t>(desc.layout)),
        blocks((desc.c + block - 1) / block), groups(groups_), channels_per_group(desc.c / groups_) {}
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
  std::vector<double> sum_dy, sum_dy_x;  // backward: per (n, c)
  void resize(const GroupNormShape& shape) {
    const auto size = static_cast<size_t>(shape.n * shape.padded_channels());
    for (auto* v : {&a, &b, &c}) v->assign(size, 0.f);
    for (auto* v : {&sum_dy, &sum_dy_x}) v->assign(size, 0.0);
  }
};

namespace detail {

// acc[l] += f(i) for i = l, l + W, l + 2W, ... below count (a multiple of W).
template <int W, class F>
inline void accumulate(int64_t count, double* acc, F f) {
  for (int64_t i = 0; i < count; i += W)
    for (int l = 0; l < W; ++l) acc[l] += f(i + l);
}

// sums[l] = sum of f(i) over rows * B indices i with i % B == l. For B = 1 the run is still summed
// in 8 independent chains (then folded), else it would be one serial dependency chain.
template <int B, class F>
inline void lane_sums(int64_t rows, double* sums, F f) {
  if constexpr (B == 1) {
    double acc[8] = {};
    const int64_t body = rows - rows % 8;
    accumulate<8>(body, acc, f);
    double total = 0;
    for (const double v : acc) total += v;
    for (int64_t i = body; i < rows; ++i) total += f(i);
    sums[0] = total;
  } else {
    double acc[B] = {};
    accumulate<B>(rows * B, acc, f);
    std::copy_n(acc, B, sums);
  }
}

// Sum of f(value) over group g of the sample starting at `sample`.
template <int B, class F>
inline double group_sum(const GroupNormShape& shape, const float* sample, int64_t g, F f) {
  const int64_t first = g * shape.channels_per_group, last = first + shape.channels_per_group;
  if constexpr (B == 1) {
    // nchw: the group's channels are one contiguous run.
    double sum = 0;
    const float* p = sample + first * shape.hw;
    lane_sums<1>(shape.group_size(), &sum, [&](int64_t i) { return f(p[i]); });
    return sum;
  } else {
    double total = 0;
    for (int64_t block = first / B; block * B < last; ++block) {
      double sums[B];
      const float* p = sample + block * shape.hw * B;
      lane_sums<B>(shape.hw, sums, [&](int64_t i) { return f(p[i]); });
      for (int64_t c = std::max(first, block * B); c < std::min(last, (block + 1) * B); ++c) total += sums[c - block * B];
    }
    return total;
  }
}

template <int B>
void moments(const GroupNormShape& shape, const float* x, double eps, GroupMoments& out) {
  const int64_t count = shape.n * shape.groups, sample_size = shape.blocks * shape.hw * B;
  const auto m = static_cast<double>(shape.group_size());
  out.mean.resize(static_cast<size_t>(count));
  out.rstd.resize(static_cast<size_t>(count));
#pragma omp parallel for schedule(static)
  for (int64_t ng = 0; ng < count; ++ng) {
    const float* sample = x + (ng / shape.groups) * sample_size;
    const int64_t g = ng % shape.groups;
    // Two passes: the variance of centred values, which one pass of sum and sum of squares loses
    // to cancellation when |mean| >> std.
    const double mean = group_sum<B>(shape, sample, g, [](float v) { return static_cast<double>(v); }) / m;
    const double squares = group_sum<B>(shape, sample, g, [mean](float v) {
      const double d = v - mean;
      return d * d;
    });
    out.mean[static_cast<size_t>(ng)] = mean;
    out.rstd[static_cast<size_t>(ng)] = 1.0 / std::sqrt(squares / m + eps);
  }
}

// Zeros the padded lanes of a unit (only the last block of a sample has any).
template <int B>
inline void zero_padded_lanes(const GroupNormShape& shape, int64_t unit, float* out) {
  for (int64_t s = 0; s < shape.hw; ++s)
    for (int64_t l = shape.valid_lanes(unit); l < B; ++l) out[s * B + l] = 0.f;
}

// y = relu?(x * a + b) with per-lane a, b; zeros in the padded lanes (x there may be anything).
// The coefficients are copied to locals so the compiler sees they cannot alias y.
template <int B, bool Relu>
void apply(const GroupNormShape& shape, const float* x, const float* a, const float* b, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t unit = 0; unit < shape.units(); ++unit) {
    float ua[B], ub[B];
    std::copy_n(a + unit * B, B, ua);
    std::copy_n(b + unit * B, B, ub);
    const float* in = x + unit * shape.hw * B;
    float* out = y + unit * shape.hw * B;
    for (int64_t s = 0; s < shape.hw; ++s)
      for (int64_t l = 0; l < B; ++l) {
        const float v = in[s * B + l] * ua[l] + ub[l];
        out[s * B + l] = Relu ? (v > 0.f ? v : 0.f) : v;
      }
    zero_padded_lanes<B>(shape, unit, out);
  }
}

// dy where the fused ReLU let the value through (y > 0). The test is done on the bit pattern, as
// an integer compare and mask: gcc turns the float select into branches, which stops the sums
// from vectorising. For every y but a NaN the two agree (+0 and -0 are not > 0).
template <bool Relu>
inline float masked(const float* y, const float* dy, int64_t i) {
  if constexpr (Relu) {
    const int32_t keep = -static_cast<int32_t>(std::bit_cast<int32_t>(y[i]) > 0);
    return std::bit_cast<float>(std::bit_cast<int32_t>(dy[i]) & keep);
  }
  return dy[i];
}

template <int B, bool Relu>
void channel_sums(const GroupNormShape& shape, const float* x, const float* y, const float* dy, GroupNormScratch& s) {
#pragma omp parallel for schedule(static)
  for (int64_t unit = 0; unit < shape.units(); ++unit) {
    const int64_t start = unit * shape.hw * B;
    const float* ux = x + start;
    const float* uy = y + start;
    const float* udy = dy + start;
    lane_sums<B>(shape.hw, s.sum_dy.data() + unit * B,
                 [&](int64_t i) { return static_cast<double>(masked<Relu>(uy, udy, i)); });
    lane_sums<B>(shape.hw, s.sum_dy_x.data() + unit * B,
                 [&](int64_t i) { return static_cast<double>(masked<Relu>(uy, udy, i)) * ux[i]; });
  }
}

// dx = a*dy' + b*x + c per lane, dy' the ReLU-masked dy; zeros in the padded lanes.
template <int B, bool Relu>
void apply_backward(const GroupNormShape& shape, const float* x, const float* y, const float* dy,
                    const GroupNormScratch& s, float* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t unit = 0; unit < shape.units(); ++unit) {
    float ua[B], ub[B], uc[B];
    std::copy_n(s.a.data() + unit * B, B, ua);
    std::copy_n(s.b.data() + unit * B, B, ub);
    std::copy_n(s.c.data() + unit * B, B, uc);
    const int64_t start = unit * shape.hw * B;
    const float* ux = x + start;
    const float* uy = y + start;
    const float* udy = dy + start;
    float* out = dx + start;
    for (int64_t r = 0; r < shape.hw; ++r)
      for (int64_t l = 0; l < B; ++l) {
        const int64_t i = r * B + l;
        out[i] = ua[l] * masked<Relu>(uy, udy, i) + ub[l] * ux[i] + uc[l];
      }
    zero_padded_lanes<B>(shape, unit, out);
  }
}

template <int B, bool Relu>
void forward(const GroupNormShape& shape, const float* x, const float* weight, const float* bias, double eps,
             GroupMoments& moments_out, GroupNormScratch& scratch, float* y) {
  moments<B>(shape, x, eps, moments_out);
  scratch.resize(shape);
  const int64_t cp = shape.padded_channels();
  for (int64_t n = 0; n < shape.n; ++n)
    for (int64_t c = 0; c < shape.c; ++c) {
      const auto ng = static_cast<size_t>(n * shape.groups + c / shape.channels_per_group);
      const double a = moments_out.rstd[ng] * weight[c];
      scratch.a[static_cast<size_t>(n * cp + c)] = static_cast<float>(a);
      scratch.b[static_cast<size_t>(n * cp + c)] = static_cast<float>(bias[c] - moments_out.mean[ng] * a);
    }
  apply<B, Relu>(shape, x, scratch.a.data(), scratch.b.data(), y);
}

// With xhat = (x - mean) * rstd and g = dy' * weight[c], over the M elements of each (n, group):
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dweight[c] = sum dy' xhat,  dbias[c] = sum dy'.
// All three come from the per-(n, c) sums of dy' and dy'*x, so dx is one more pass, as
// dx = a[c]*dy' + b*x + c with a = rstd*weight[c], b = -rstd^2 S/M, c = rstd (rstd mean S - G) / M,
// S = sum g*(x - mean) and G = sum g over the group.
template <int B, bool Relu>
void backward(const GroupNormShape& shape, const float* x, const float* y, const float* dy, const float* weight,
              const GroupMoments& saved, GroupNormScratch& scratch, float* dx, float* dweight, float* dbias) {
  scratch.resize(shape);
  channel_sums<B, Relu>(shape, x, y, dy, scratch);
  const int64_t cp = shape.padded_channels();
  const auto at = [cp](int64_t n, int64_t c) { return static_cast<size_t>(n * cp + c); };
  for (int64_t c = 0; c < shape.c; ++c) {
    double w = 0, b = 0;
    for (int64_t n = 0; n < shape.n; ++n) {
      const auto ng = static_cast<size_t>(n * shape.groups + c / shape.channels_per_group);
      w += saved.rstd[ng] * (scratch.sum_dy_x[at(n, c)] - saved.mean[ng] * scratch.sum_dy[at(n, c)]);
      b += scratch.sum_dy[at(n, c)];
    }
    dweight[c] = static_cast<float>(w);
    dbias[c] = static_cast<float>(b);
  }
  const auto m = static_cast<double>(shape.group_size());
  for (int64_t n = 0; n < shape.n; ++n)
    for (int64_t g = 0; g < shape.groups; ++g) {
      const auto ng = static_cast<size_t>(n * shape.groups + g);
      const double mean = saved.mean[ng], rstd = saved.rstd[ng];
      const int64_t first = g * shape.channels_per_group, last = first + shape.channels_per_group;
      double sum_g = 0, sum_g_centred = 0;
      for (int64_t c = first; c < last; ++c) {
        sum_g += weight[c] * scratch.sum_dy[at(n, c)];
        sum_g_centred += weight[c] * (scratch.sum_dy_x[at(n, c)] - mean * scratch.sum_dy[at(n, c)]);
      }
      const auto k2 = static_cast<float>(-rstd * rstd * rstd * sum_g_centred / m);
      const auto k3 = static_cast<float>(rstd * (rstd * rstd * mean * sum_g_centred - sum_g) / m);
      for (int64_t c = first; c < last; ++c) {
        scratch.a[at(n, c)] = static_cast<float>(rstd * weight[c]);
        scratch.b[at(n, c)] = k2;
        scratch.c[at(n, c)] = k3;
      }
    }
  apply_backward<B, Relu>(shape, x, y, dy, scratch, dx);
}

// Calls f with the compile-time block of the layout and the ReLU switch.
template <class F>
void dispatch(int64_t block, bool relu, F&& f) {
  const auto with_block = [&]<bool Relu>() {
    switch (block) {
      case 1: f.template operator()<1, Relu>(); return;
      case 8: f.template operator()<8, Relu>(); return;
      case 16: f.template operator()<16, Relu>(); return;
    }
    throw sdk::Error(S8NET_ERROR_UNSUPPORTED, "group norm: channel block " + std::to_string(block));
  };
  if (relu)
    with_block.template operator()<true>();
  else
    with_block.template operator()<false>();
}

}  // namespace detail

// y = relu?((x - mean) * rstd * weight[c] + bias[c]) with statistics per (n, g), saved in `moments`.
inline void group_norm_forward(const GroupNormShape& shape, const float* x, const float* weight, const float* bias,
                               double eps, bool relu, GroupMoments& moments, GroupNormScratch& scratch, float* y) {
  detail::dispatch(shape.block, relu, [&]<int B, bool Relu>() {
    detail::forward<B, Relu>(shape, x, weight, bias, eps, moments, scratch, y);
  });
}

// dx, dweight, dbias of the forward that produced y and `moments`. With relu, dy flows where y > 0.
inline void group_norm_backward(const GroupNormShape& shape, const float* x, const float* y, const float* dy,
                                const float* weight, const GroupMoments& moments, bool relu, GroupNormScratch& scratch,
                                float* dx, float* dweight, float* dbias) {
  detail::dispatch(shape.block, relu, [&]<int B, bool Relu>() {
    detail::backward<B, Relu>(shape, x, y, dy, weight, moments, scratch, dx, dweight, dbias);
  });
}

}  // namespace s8net::plugins
