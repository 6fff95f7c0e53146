// GroupNorm forward and backward on any s8net layout (nchw, nChw8c, nChw16c), written the way
// PyTorch's CPU kernel is: two-pass moments per (sample, group), one pass applying a per-channel
// scale and shift (with the ReLU fused), and a backward built from per-(sample, channel) sums of
// dy and dy*x. LayerNorm is the case of one group. Threads: OpenMP, the pool oneDNN uses.
#pragma once

#include <s8net/norm/plugin_sdk.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

namespace s8net::plugins {

struct GroupNormShape {
  sdk::Layout layout;
  int64_t groups, channels_per_group;
  GroupNormShape(const s8net_tensor_desc& desc, int64_t groups_)
      : layout(desc), groups(groups_), channels_per_group(desc.c / groups_) {}
  // Elements of one (sample, group).
  int64_t group_size() const { return channels_per_group * layout.hw; }
  // First element of channel c of sample n; a channel's values are layout.block apart.
  int64_t channel_start(int64_t n, int64_t c) const { return layout.offset(n, c, 0); }
};

// Mean and 1/sqrt(var + eps) of every (n, g), biased variance, accumulated in double.
inline void group_moments(const GroupNormShape& shape, const float* x, double eps, std::vector<float>& mean,
                          std::vector<float>& rstd) {
  const int64_t count = shape.layout.n * shape.groups, block = shape.layout.block, hw = shape.layout.hw;
  mean.resize(static_cast<size_t>(count));
  rstd.resize(static_cast<size_t>(count));
#pragma omp parallel for schedule(static)
  for (int64_t ng = 0; ng < count; ++ng) {
    const int64_t n = ng / shape.groups, first = (ng % shape.groups) * shape.channels_per_group;
    double sum = 0;
    for (int64_t c = first; c < first + shape.channels_per_group; ++c) {
      const float* p = x + shape.channel_start(n, c);
      for (int64_t s = 0; s < hw; ++s) sum += p[s * block];
    }
    const double m = sum / static_cast<double>(shape.group_size());
    double squares = 0;
    for (int64_t c = first; c < first + shape.channels_per_group; ++c) {
      const float* p = x + shape.channel_start(n, c);
      for (int64_t s = 0; s < hw; ++s) {
        const double d = p[s * block] - m;
        squares += d * d;
      }
    }
    mean[static_cast<size_t>(ng)] = static_cast<float>(m);
    rstd[static_cast<size_t>(ng)] = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(shape.group_size()) + eps));
  }
}

// y = relu?((x - mean) * rstd * weight[c] + bias[c]), as x * a + b per (n, c).
inline void group_norm_apply(const GroupNormShape& shape, const float* x, const float* weight, const float* bias,
                             const std::vector<float>& mean, const std::vector<float>& rstd, bool relu, float* y) {
  const int64_t planes = shape.layout.n * shape.layout.c, block = shape.layout.block, hw = shape.layout.hw;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t n = plane / shape.layout.c, c = plane % shape.layout.c;
    const size_t ng = static_cast<size_t>(n * shape.groups + c / shape.channels_per_group);
    const float a = rstd[ng] * weight[c], b = bias[c] - mean[ng] * a;
    const float* in = x + shape.channel_start(n, c);
    float* out = y + shape.channel_start(n, c);
    if (relu)
      for (int64_t s = 0; s < hw; ++s) out[s * block] = std::max(in[s * block] * a + b, 0.f);
    else
      for (int64_t s = 0; s < hw; ++s) out[s * block] = in[s * block] * a + b;
  }
  sdk::zero_padding(shape.layout, y);
}

// dx, dweight, dbias of group_norm_apply. With relu, dy only flows where y > 0.
inline void group_norm_backward(const GroupNormShape& shape, const float* x, const float* y, const float* dy,
                                const float* weight, const std::vector<float>& mean, const std::vector<float>& rstd,
                                bool relu, float* dx, float* dweight, float* dbias) {
  const int64_t N = shape.layout.n, C = shape.layout.c, block = shape.layout.block, hw = shape.layout.hw;
  const auto masked = [&](int64_t i) { return relu && y[i] <= 0.f ? 0.f : dy[i]; };
  // Per (n, c): sum of dy*x and of dy.
  std::vector<double> dy_x(static_cast<size_t>(N * C)), dy_sum(static_cast<size_t>(N * C));
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < N * C; ++plane) {
    const int64_t start = shape.channel_start(plane / C, plane % C);
    double sx = 0, s1 = 0;
    for (int64_t s = 0; s < hw; ++s) {
      const int64_t i = start + s * block;
      const double g = masked(i);
      sx += g * x[i];
      s1 += g;
    }
    dy_x[static_cast<size_t>(plane)] = sx;
    dy_sum[static_cast<size_t>(plane)] = s1;
  }
  // dweight[c] = sum_n rstd * (sum dy*x - mean * sum dy); dbias[c] = sum_n sum dy.
  for (int64_t c = 0; c < C; ++c) {
    double w = 0, b = 0;
    for (int64_t n = 0; n < N; ++n) {
      const size_t ng = static_cast<size_t>(n * shape.groups + c / shape.channels_per_group), nc = static_cast<size_t>(n * C + c);
      w += rstd[ng] * (dy_x[nc] - mean[ng] * dy_sum[nc]);
      b += dy_sum[nc];
    }
    dweight[c] = static_cast<float>(w);
    dbias[c] = static_cast<float>(b);
  }
  // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * weight, over each group,
  // rewritten as dx = k1[c] * dy + k2 * x + k3 per (n, g).
  const double M = static_cast<double>(shape.group_size());
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < N * C; ++plane) {
    const int64_t n = plane / C, c = plane % C, g = c / shape.channels_per_group;
    const size_t ng = static_cast<size_t>(n * shape.groups + g);
    double sum_g = 0, sum_g_xhat = 0;
    for (int64_t k = g * shape.channels_per_group; k < (g + 1) * shape.channels_per_group; ++k) {
      const size_t nk = static_cast<size_t>(n * C + k);
      sum_g += weight[k] * dy_sum[nk];
      sum_g_xhat += weight[k] * (dy_x[nk] - mean[ng] * dy_sum[nk]) * rstd[ng];
    }
    const double r = rstd[ng];
    const float k1 = static_cast<float>(r * weight[c]);
    const float k2 = static_cast<float>(-r * r * sum_g_xhat / M);
    const float k3 = static_cast<float>(r * (r * mean[ng] * sum_g_xhat - sum_g) / M);
    const int64_t start = shape.channel_start(n, c);
    for (int64_t s = 0; s < hw; ++s) {
      const int64_t i = start + s * block;
      dx[i] = k1 * masked(i) + k2 * x[i] + k3;
    }
  }
  sdk::zero_padding(shape.layout, dx);
}

}  // namespace s8net::plugins
