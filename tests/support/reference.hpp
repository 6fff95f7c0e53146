// Test support: seeded random data, tensors filled through s8net's plain <-> blocked copies,
// naive double-precision references of the ops (logical NCHW, row-major) and central finite
// differences. Everything here is deliberately simple: it is the yardstick, not the thing measured.
#pragma once

#include <s8net/norm/plugin_api.h>
#include <s8net/core/layout.hpp>
#include <s8net/core/tensor.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <span>
#include <vector>

namespace s8net {

// Names layouts in GoogleTest messages (found by argument-dependent lookup) instead of raw bytes.
inline void PrintTo(ActivationLayout layout, std::ostream* os) { *os << name_of(layout); }

}  // namespace s8net

namespace s8net::test {

// Float op vs double reference, and analytic gradient vs central differences.
inline constexpr double kForwardTolerance = 1e-5;
inline constexpr double kGradientTolerance = 1e-3;

// ---- Data -------------------------------------------------------------------------------------

inline std::vector<float> random_normal(int64_t count, uint32_t seed, float scale = 1.f) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) v = scale * normal(generator);
  return values;
}

// Pairwise distinct values (a shuffled ramp), so a maximum is never a tie.
inline std::vector<float> distinct_values(int64_t count, uint32_t seed) {
  std::vector<float> values(static_cast<size_t>(count));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = 0.01f * static_cast<float>(static_cast<int64_t>(i) - count / 2);
  std::shuffle(values.begin(), values.end(), std::mt19937(seed));
  return values;
}

inline std::vector<double> to_double(std::span<const float> values) { return {values.begin(), values.end()}; }

// ---- Tensors ----------------------------------------------------------------------------------

inline dnnl::memory::desc activation_desc(const Dims& dims, ActivationLayout layout) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, format_tag_of(layout));
}

// A tensor of `desc` holding the logical (plain, row-major) `values`.
inline Tensor make_tensor(Context& context, const dnnl::memory::desc& desc, std::span<const float> values) {
  Tensor tensor(desc, context.engine());
  from_plain(context, values, tensor);
  return tensor;
}

// Row-major offset of (n, c, h, w) in a plain N x C x H x W buffer.
inline size_t nchw_index(const Dims& dims, int64_t n, int64_t c, int64_t h, int64_t w) {
  return static_cast<size_t>(((n * dims[1] + c) * dims[2] + h) * dims[3] + w);
}

// ---- Comparison -------------------------------------------------------------------------------

// Passes when every |actual - expected| <= tolerance * max |expected|: relative to the scale of the
// whole tensor, so entries that cancel to near zero need no separate absolute slack. Reports the
// worst entry.
template <class Actual, class Expected>
::testing::AssertionResult all_close(const Actual& actual, const Expected& expected, double tolerance) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "sizes differ: " << actual.size() << " vs " << expected.size();
  double scale = 0;
  for (const auto& e : expected) scale = std::max(scale, std::abs(static_cast<double>(e)));
  scale = std::max(scale, std::numeric_limits<double>::min());
  double worst = -1;
  size_t worst_at = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(static_cast<double>(actual[i]) - static_cast<double>(expected[i]));
    if (std::isnan(error))
      return ::testing::AssertionFailure() << "entry " << i << ": actual " << actual[i] << ", expected " << expected[i];
    if (error > worst) worst = error, worst_at = i;
  }
  if (worst <= tolerance * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "entry " << worst_at << " of " << actual.size() << ": actual "
                                       << actual[worst_at] << ", expected " << expected[worst_at] << "; relative error "
                                       << worst / scale << " > " << tolerance;
}

// ---- Finite differences -----------------------------------------------------------------------

// d loss / d values by central differences, perturbing each entry of `values` in place (restored
// afterwards); `loss` reads `values`.
inline std::vector<double> central_differences(const std::function<double()>& loss, std::vector<double>& values,
                                               double step) {
  std::vector<double> gradient(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double original = values[i];
    values[i] = original + step;
    const double plus = loss();
    values[i] = original - step;
    const double minus = loss();
    values[i] = original;
    gradient[i] = (plus - minus) / (2 * step);
  }
  return gradient;
}

inline double dot(std::span<const double> a, std::span<const double> b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

// ---- Naive references (double, logical NCHW) --------------------------------------------------

// Convolution, stride 1, "same" zero padding (kernel odd); weight is O x C x K x K, x is N x C x H x W.
inline std::vector<double> conv2d_reference(std::span<const double> x, const Dims& x_dims,
                                            std::span<const double> weight, std::span<const double> bias,
                                            int64_t out_channels, int64_t kernel) {
  const int64_t N = x_dims[0], C = x_dims[1], H = x_dims[2], W = x_dims[3], P = (kernel - 1) / 2;
  const Dims y_dims{N, out_channels, H, W};
  std::vector<double> y(static_cast<size_t>(element_count(y_dims)));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out_channels; ++o)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          double sum = bias[static_cast<size_t>(o)];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t kh = 0; kh < kernel; ++kh)
              for (int64_t kw = 0; kw < kernel; ++kw) {
                const int64_t ih = h + kh - P, iw = w + kw - P;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                sum += weight[static_cast<size_t>(((o * C + c) * kernel + kh) * kernel + kw)] *
                       x[nchw_index(x_dims, n, c, ih, iw)];
              }
          y[nchw_index(y_dims, n, o, h, w)] = sum;
        }
  return y;
}

// Each plane's moments as a fused pass took them (float sums around one of the plane's values,
// merged in double) against the mean and m2 of the plane's values summed naively in double.
inline void expect_plane_moments(std::span<const float> values, int64_t plane,
                                 std::span<const s8net_plane_moments> got) {
  ASSERT_EQ(values.size(), got.size() * static_cast<size_t>(plane));
  for (size_t k = 0; k < got.size(); ++k) {
    const std::span<const float> of = values.subspan(k * static_cast<size_t>(plane), static_cast<size_t>(plane));
    double mean = 0, m2 = 0;
    for (const float v : of) mean += v;
    mean /= static_cast<double>(plane);
    for (const float v : of) m2 += (v - mean) * (v - mean);
    EXPECT_NEAR(got[k].mean, mean, 1e-6 * std::abs(mean)) << "plane " << k;
    EXPECT_NEAR(got[k].m2, m2, 1e-4 * m2 + 1e-9) << "plane " << k;
  }
}

inline std::vector<double> relu_reference(std::span<const double> x) {
  std::vector<double> y(x.size());
  std::transform(x.begin(), x.end(), y.begin(), [](double v) { return std::max(v, 0.0); });
  return y;
}

struct MaxPoolResult {
  std::vector<double> values;
  std::vector<size_t> argmax;  // per output: the input entry it came from
};

// 2x2 max-pool, stride 2, no padding (odd trailing rows/columns dropped).
inline MaxPoolResult max_pool_2x2_reference(std::span<const double> x, const Dims& x_dims) {
  const Dims y_dims{x_dims[0], x_dims[1], x_dims[2] / 2, x_dims[3] / 2};
  MaxPoolResult result{std::vector<double>(static_cast<size_t>(element_count(y_dims))),
                       std::vector<size_t>(static_cast<size_t>(element_count(y_dims)))};
  for (int64_t n = 0; n < y_dims[0]; ++n)
    for (int64_t c = 0; c < y_dims[1]; ++c)
      for (int64_t h = 0; h < y_dims[2]; ++h)
        for (int64_t w = 0; w < y_dims[3]; ++w) {
          size_t best = nchw_index(x_dims, n, c, 2 * h, 2 * w);
          for (int64_t dh = 0; dh < 2; ++dh)
            for (int64_t dw = 0; dw < 2; ++dw) {
              const size_t at = nchw_index(x_dims, n, c, 2 * h + dh, 2 * w + dw);
              if (x[at] > x[best]) best = at;
            }
          const size_t out = nchw_index(y_dims, n, c, h, w);
          result.values[out] = x[best];
          result.argmax[out] = best;
        }
  return result;
}

// Mean over H x W: N x C x H x W -> N x C (x 1 x 1).
inline std::vector<double> global_avg_pool_reference(std::span<const double> x, const Dims& x_dims) {
  const int64_t planes = x_dims[0] * x_dims[1], area = x_dims[2] * x_dims[3];
  std::vector<double> y(static_cast<size_t>(planes));
  for (int64_t p = 0; p < planes; ++p) {
    const auto first = x.begin() + p * area;
    y[static_cast<size_t>(p)] = std::accumulate(first, first + area, 0.0) / static_cast<double>(area);
  }
  return y;
}

// Row-wise log-softmax of a batch x classes matrix, shifted by the row maximum (no overflow).
inline std::vector<double> log_softmax_reference(std::span<const double> logits, int64_t batch, int64_t classes) {
  std::vector<double> log_p(logits.size());
  for (int64_t i = 0; i < batch; ++i) {
    const auto row = logits.subspan(static_cast<size_t>(i * classes), static_cast<size_t>(classes));
    const double max = *std::max_element(row.begin(), row.end());
    double sum = 0;
    for (double z : row) sum += std::exp(z - max);
    const double log_sum = max + std::log(sum);
    for (int64_t j = 0; j < classes; ++j)
      log_p[static_cast<size_t>(i * classes + j)] = row[static_cast<size_t>(j)] - log_sum;
  }
  return log_p;
}

// Mean negative log-likelihood of the labels under row-wise log-probabilities.
inline double nll_reference(std::span<const double> log_p, std::span<const int32_t> labels, int64_t classes) {
  double total = 0;
  for (size_t i = 0; i < labels.size(); ++i)
    total -= log_p[i * static_cast<size_t>(classes) + static_cast<size_t>(labels[i])];
  return total / static_cast<double>(labels.size());
}

// Mean cross-entropy against smoothed targets: each row's target distribution is written out (the
// label's one-hot scaled by 1 - smoothing, plus smoothing / classes on every class) and the loss
// is -sum(target * log p), as PyTorch's CrossEntropyLoss(label_smoothing) defines it.
inline double smoothed_cross_entropy_reference(std::span<const double> log_p, std::span<const int32_t> labels,
                                               int64_t classes, double smoothing) {
  double total = 0;
  const auto k = static_cast<size_t>(classes);
  for (size_t i = 0; i < labels.size(); ++i) {
    std::vector<double> target(k, smoothing / static_cast<double>(classes));
    target[static_cast<size_t>(labels[i])] += 1.0 - smoothing;
    for (size_t j = 0; j < k; ++j) total -= target[j] * log_p[i * k + j];
  }
  return total / static_cast<double>(labels.size());
}

}  // namespace s8net::test
