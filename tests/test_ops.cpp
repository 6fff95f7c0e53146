// Every op of libs8net against a naive double-precision reference, forward and backward (central
// finite differences of the reference), in nchw, nChw8c and nChw16c.
#include <s8net/core/error.hpp>
#include <s8net/core/layout.hpp>
#include <s8net/ops/conv.hpp>
#include <s8net/ops/dropout.hpp>
#include <s8net/ops/pooling.hpp>
#include <s8net/ops/log_softmax_nll.hpp>
#include <s8net/ops/relu.hpp>
#include <s8net/ops/skip_add.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace s8net {
namespace {

std::vector<float> random_values(size_t count, uint32_t seed, float scale = 1.f) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(count);
  for (float& v : values) v = scale * normal(generator);
  return values;
}

dnnl::memory::desc desc_of(const Dims& dims, ActivationLayout layout) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, format_tag_of(layout));
}

class OpTest : public ::testing::TestWithParam<ActivationLayout> {
 protected:
  Tensor tensor(const Dims& dims, const std::vector<float>& values) {
    Tensor t(desc_of(dims, GetParam()), context_.engine());
    from_plain(context_, values, t);
    return t;
  }
  Context context_;
};

// Naive convolution, stride 1, "same" padding, in double.
std::vector<double> naive_conv(const ConvSpec& s, int64_t batch, const std::vector<float>& x, const std::vector<double>& w,
                               const std::vector<double>& b) {
  const int64_t H = s.height, W = s.width, K = s.kernel, P = s.padding();
  std::vector<double> y(static_cast<size_t>(batch * s.out_channels * H * W));
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t o = 0; o < s.out_channels; ++o)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          double sum = b[static_cast<size_t>(o)];
          for (int64_t c = 0; c < s.in_channels; ++c)
            for (int64_t ki = 0; ki < K; ++ki)
              for (int64_t kj = 0; kj < K; ++kj) {
                const int64_t ii = i + ki - P, jj = j + kj - P;
                if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                sum += w[static_cast<size_t>(((o * s.in_channels + c) * K + ki) * K + kj)] *
                       x[static_cast<size_t>(((n * s.in_channels + c) * H + ii) * W + jj)];
              }
          y[static_cast<size_t>(((n * s.out_channels + o) * H + i) * W + j)] = sum;
        }
  return y;
}

TEST_P(OpTest, ConvolutionForwardAndBackward) {
  for (const ConvSpec& spec : {ConvSpec{"3x3", 3, 16, 3, 5, 4}, ConvSpec{"3x3", 8, 12, 3, 4, 4}, ConvSpec{"1x1", 16, 8, 1, 3, 5}}) {
    SCOPED_TRACE(spec.name + " " + std::to_string(spec.in_channels) + "->" + std::to_string(spec.out_channels));
    const int64_t batch = 2;
    const Dims in{batch, spec.in_channels, spec.height, spec.width}, out{batch, spec.out_channels, spec.height, spec.width};
    const auto src_desc = desc_of(in, GetParam()), dst_desc = desc_of(out, GetParam());
    ConvWeights weights(context_, spec, ConvWeights::preferred_desc(context_.engine(), spec, src_desc, dst_desc));
    const std::vector<float> w = random_values(static_cast<size_t>(weights.weight.count()), 1, 0.3f);
    const std::vector<float> b = random_values(static_cast<size_t>(spec.out_channels), 2);
    from_plain(context_, w, weights.weight.value);
    from_plain(context_, b, weights.bias.value);
    Conv2d conv(context_, weights, src_desc, dst_desc, true);
    const std::vector<float> x = random_values(static_cast<size_t>(element_count(in)), 3);
    const std::vector<float> r = random_values(static_cast<size_t>(element_count(out)), 4);
    const Tensor xt = tensor(in, x), yt(dst_desc, context_.engine()), dy = tensor(out, r), dx(src_desc, context_.engine());
    conv.forward(xt, yt);
    conv.backward(xt, dy, &dx);

    std::vector<double> wd(w.begin(), w.end()), bd(b.begin(), b.end());
    const std::vector<double> expected = naive_conv(spec, batch, x, wd, bd);
    const std::vector<float> y = to_plain(context_, yt);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-4 * (1 + std::abs(expected[i])));

    // The loss sum(r * y) is linear in each of x, w and b, so its difference quotients are exact
    // up to rounding.
    std::vector<float> xs = x;
    const auto loss = [&] {
      const std::vector<double> yy = naive_conv(spec, batch, xs, wd, bd);
      double total = 0;
      for (size_t i = 0; i < yy.size(); ++i) total += r[i] * yy[i];
      return total;
    };
    const auto quotient = [&](auto& values, size_t i) {
      const auto original = values[i];
      values[i] = original + 1e-3f;
      const double plus = loss();
      values[i] = original - 1e-3f;
      const double minus = loss();
      values[i] = original;
      return (plus - minus) / (static_cast<double>(original + 1e-3f) - static_cast<double>(original - 1e-3f));
    };
    const std::vector<float> dxv = to_plain(context_, dx), dw = to_plain(context_, weights.weight.grad),
                             db = to_plain(context_, weights.bias.grad);
    for (size_t i = 0; i < xs.size(); i += 3) ASSERT_NEAR(dxv[i], quotient(xs, i), 1e-3 * (1 + std::abs(dxv[i]))) << "dx " << i;
    for (size_t i = 0; i < wd.size(); i += 5) ASSERT_NEAR(dw[i], quotient(wd, i), 1e-3 * (1 + std::abs(dw[i]))) << "dw " << i;
    for (size_t i = 0; i < bd.size(); ++i) ASSERT_NEAR(db[i], quotient(bd, i), 1e-3 * (1 + std::abs(db[i]))) << "db " << i;

    // Without an input gradient (the first conv) the weight gradient is still written.
    Conv2d first(context_, weights, src_desc, dst_desc, false);
    weights.bias.grad.zero();
    first.forward(xt, yt);
    first.backward(xt, dy, nullptr);
    const std::vector<float> db_again = to_plain(context_, weights.bias.grad);
    for (size_t i = 0; i < db.size(); ++i) EXPECT_FLOAT_EQ(db_again[i], db[i]);
  }
}

TEST_P(OpTest, MaxPoolRoutesTheGradientToTheMaximum) {
  const Dims in{2, 12, 4, 6}, out{2, 12, 2, 3};
  const std::vector<float> x = random_values(static_cast<size_t>(element_count(in)), 5);
  const std::vector<float> g = random_values(static_cast<size_t>(element_count(out)), 6);
  MaxPool2x2 pool(context_, desc_of(in, GetParam()), desc_of(out, GetParam()));
  const Tensor xt = tensor(in, x), yt(desc_of(out, GetParam()), context_.engine()), dy = tensor(out, g),
               dx(desc_of(in, GetParam()), context_.engine());
  pool.forward(xt, yt);
  pool.backward(dy, dx);
  const std::vector<float> y = to_plain(context_, yt), dxv = to_plain(context_, dx);
  std::vector<float> expected_dx(x.size(), 0.f);
  for (int64_t plane = 0; plane < 24; ++plane)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j) {
        size_t best = 0;
        float max = -INFINITY;
        for (int64_t a = 0; a < 2; ++a)
          for (int64_t b = 0; b < 2; ++b) {
            const size_t at = static_cast<size_t>(plane * 24 + (2 * i + a) * 6 + 2 * j + b);
            if (x[at] > max) max = x[at], best = at;
          }
        const size_t o = static_cast<size_t>(plane * 6 + i * 3 + j);
        EXPECT_EQ(y[o], max);
        expected_dx[best] = g[o];
      }
  EXPECT_EQ(dxv, expected_dx);
}

TEST_P(OpTest, ReluSkipAddAndGlobalAveragePool) {
  const Dims dims{2, 12, 3, 4}, pooled{2, 12, 1, 1};
  const std::vector<float> a = random_values(static_cast<size_t>(element_count(dims)), 7);
  const std::vector<float> b = random_values(static_cast<size_t>(element_count(dims)), 8);
  const auto desc = desc_of(dims, GetParam());
  // ReLU forward, and backward from its output.
  Relu relu(context_, desc);
  const Tensor at = tensor(dims, a), bt = tensor(dims, b), out(desc, context_.engine()), grad(desc, context_.engine());
  relu.forward(at, out);
  relu.backward(out, bt, grad);
  const std::vector<float> y = to_plain(context_, out), g = to_plain(context_, grad);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(y[i], std::max(a[i], 0.f));
    EXPECT_EQ(g[i], a[i] > 0 ? b[i] : 0.f);
  }
  // Skip addition, out of place and in place.
  SkipAdd add(context_, desc);
  add.add(at, bt, out);
  add.add(at, bt, at);
  const std::vector<float> sum = to_plain(context_, out), in_place = to_plain(context_, at);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_FLOAT_EQ(sum[i], a[i] + b[i]);
    EXPECT_FLOAT_EQ(in_place[i], a[i] + b[i]);
  }
  // Global average pool: the mean of each plane; backward spreads dy / (H W).
  GlobalAvgPool gap(context_, desc, desc_of(pooled, GetParam()));
  const Tensor mean(desc_of(pooled, GetParam()), context_.engine());
  const std::vector<float> d = random_values(24, 9);
  const Tensor dmean = tensor(pooled, d);
  const Tensor bt2 = tensor(dims, b);
  gap.forward(bt2, mean);
  gap.backward(dmean, grad);
  const std::vector<float> m = to_plain(context_, mean), spread = to_plain(context_, grad);
  for (size_t plane = 0; plane < 24; ++plane) {
    double expected = 0;
    for (size_t s = 0; s < 12; ++s) expected += b[plane * 12 + s] / 12.0;
    EXPECT_NEAR(m[plane], expected, 1e-6);
    for (size_t s = 0; s < 12; ++s) EXPECT_NEAR(spread[plane * 12 + s], d[plane] / 12.0, 1e-7);
  }
}

TEST_P(OpTest, DropoutMaskIsSeededScaledAndLayoutIndependent) {
  const Dims dims{4, 12, 8, 8};
  const float p = 0.5f;
  Dropout dropout(context_, dims, GetParam(), p, 42);
  const std::vector<float> ones(static_cast<size_t>(element_count(dims)), 1.f);
  const Tensor x = tensor(dims, ones);
  dropout.forward_train(x, 3);
  const std::vector<float> y = to_plain(context_, x);
  size_t zeros = 0;
  for (float v : y) {
    ASSERT_TRUE(v == 0.f || v == 2.f) << v;  // kept values scaled by 1 / (1 - p)
    zeros += v == 0.f;
  }
  const double n = static_cast<double>(y.size()), sd = std::sqrt(n * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(zeros), n * p, 4 * sd);
  // The same (seed, step) gives the same mask in any layout; another step another mask.
  Dropout plain(context_, dims, ActivationLayout::nchw, p, 42);
  const Tensor x2(desc_of(dims, ActivationLayout::nchw), context_.engine());
  from_plain(context_, ones, x2);
  plain.forward_train(x2, 3);
  EXPECT_EQ(to_plain(context_, x2), y);
  from_plain(context_, ones, x2);
  plain.forward_train(x2, 4);
  EXPECT_NE(to_plain(context_, x2), y);
  // Backward multiplies by the same mask.
  const Tensor grad = tensor(dims, ones);
  dropout.backward(grad);
  EXPECT_EQ(to_plain(context_, grad), y);
  EXPECT_THROW(Dropout(context_, dims, GetParam(), 1.f, 1), Error);
  EXPECT_THROW(Dropout(context_, dims, GetParam(), -0.1f, 1), Error);
}

INSTANTIATE_TEST_SUITE_P(Layouts, OpTest,
                         ::testing::Values(ActivationLayout::nchw, ActivationLayout::nChw8c, ActivationLayout::nChw16c),
                         [](const ::testing::TestParamInfo<ActivationLayout>& param) {
                           return std::string(name_of(param.param));
                         });

TEST(LogSoftmaxNll, MatchesReferenceAndFiniteDifferences) {
  Context context;
  const int64_t batch = 3, classes = 10;
  LogSoftmaxNll loss(context, batch, classes);
  std::vector<float> z = random_values(30, 10, 3.f);
  z[0] = 80.f;  // a large logit: a naive exp would overflow in float
  const std::vector<int32_t> labels{0, 7, 3};
  const auto reference = [&](const std::vector<float>& logits, std::vector<double>* log_p) {
    double total = 0;
    for (int64_t i = 0; i < batch; ++i) {
      double max = -INFINITY, sum = 0;
      for (int64_t j = 0; j < classes; ++j) max = std::max(max, static_cast<double>(logits[static_cast<size_t>(i * classes + j)]));
      for (int64_t j = 0; j < classes; ++j) sum += std::exp(logits[static_cast<size_t>(i * classes + j)] - max);
      for (int64_t j = 0; j < classes; ++j) {
        const double lp = logits[static_cast<size_t>(i * classes + j)] - max - std::log(sum);
        if (log_p) log_p->push_back(lp);
        if (j == labels[static_cast<size_t>(i)]) total -= lp;
      }
    }
    return total / batch;
  };
  const Tensor logits(loss.logits_desc(), context.engine()), grad(loss.logits_desc(), context.engine());
  std::copy(z.begin(), z.end(), logits.data());
  std::vector<double> expected_log_p;
  const double expected = reference(z, &expected_log_p);
  EXPECT_NEAR(loss.forward(logits, labels), expected, 1e-5);
  for (size_t i = 0; i < 30; ++i) EXPECT_NEAR(loss.log_probabilities().data()[i], expected_log_p[i], 1e-4);
  int64_t correct = 0;
  for (int64_t i = 0; i < batch; ++i) {
    const auto row = expected_log_p.begin() + i * classes;
    correct += std::max_element(row, row + classes) - row == labels[static_cast<size_t>(i)];
  }
  EXPECT_EQ(loss.correct(), correct);
  loss.backward(grad);
  for (size_t i = 0; i < 30; ++i) {
    std::vector<float> plus = z, minus = z;
    plus[i] += 1e-2f;
    minus[i] -= 1e-2f;
    const double numeric = (reference(plus, nullptr) - reference(minus, nullptr)) / (static_cast<double>(plus[i]) - minus[i]);
    EXPECT_NEAR(grad.data()[i], numeric, 1e-4) << i;
  }
  EXPECT_THROW(loss.forward(logits, std::vector<int32_t>{0, 1}), Error);
  EXPECT_THROW(loss.forward(logits, std::vector<int32_t>{0, 1, 10}), Error);
}

}  // namespace
}  // namespace s8net
