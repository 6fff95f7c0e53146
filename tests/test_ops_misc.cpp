// The ops around the convolutions against naive double-precision references: max-pool, ReLU,
// skip addition, global average pool and dropout for 3, 8, 12 and 16 channels in nchw, nChw8c and
// nChw16c; log-softmax + NLL forward, backward (central finite differences) and label checks.
#include <s8net/core/error.hpp>
#include <s8net/core/layout.hpp>
#include <s8net/ops/blocked_max_pool.hpp>
#include <s8net/ops/dropout.hpp>
#include <s8net/ops/log_softmax_nll.hpp>
#include <s8net/ops/pooling.hpp>
#include <s8net/ops/relu.hpp>
#include <s8net/ops/skip_add.hpp>
#include <support/reference.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

namespace s8net {
namespace {

using test::activation_desc;
using test::all_close;
using test::kForwardTolerance;
using test::kGradientTolerance;
using test::make_tensor;

// Random normal values pushed away from zero, where ReLU's derivative and "was this dropped?" are
// ambiguous.
std::vector<float> nonzero_values(int64_t count, uint32_t seed) {
  std::vector<float> values = test::random_normal(count, seed);
  for (float& v : values)
    if (std::abs(v) < 1e-2f) v = 0.5f;
  return values;
}

// ---- Activation ops: channels x layout ----------------------------------------------------------

class ActivationOpTest : public ::testing::TestWithParam<std::tuple<int64_t, ActivationLayout>> {
 protected:
  int64_t channels() const { return std::get<0>(GetParam()); }
  ActivationLayout layout() const { return std::get<1>(GetParam()); }
  dnnl::memory::desc desc(const Dims& dims) const { return activation_desc(dims, layout()); }
  Tensor tensor(const Dims& dims, const std::vector<float>& values) {
    return make_tensor(context_, desc(dims), values);
  }
  Tensor zeros(const Dims& dims) { return Tensor(desc(dims), context_.engine()); }
  std::vector<float> read(const Tensor& t) { return to_plain(context_, t); }

  Context context_;
};

TEST_P(ActivationOpTest, MaxPoolTakesTheMaximumAndRoutesTheGradientToIt) {
  const Dims in{2, channels(), 4, 6}, out{2, channels(), 2, 3};
  const std::vector<float> x = test::distinct_values(element_count(in), 11);  // no ties: one arg-max
  const std::vector<float> g = test::random_normal(element_count(out), 12);
  MaxPool2x2 pool(context_, desc(in), desc(out));
  const Tensor xt = tensor(in, x), y = zeros(out), dy = tensor(out, g), dx = zeros(in);
  pool.forward(xt, y);
  pool.backward(dy, dx);

  const test::MaxPoolResult expected = test::max_pool_2x2_reference(test::to_double(x), in);
  EXPECT_TRUE(all_close(read(y), expected.values, 0.0));  // a maximum is exact
  std::vector<double> expected_dx(x.size(), 0.0);
  for (size_t o = 0; o < g.size(); ++o) expected_dx[expected.argmax[o]] = g[o];
  EXPECT_TRUE(all_close(read(dx), expected_dx, 0.0));
  // Blocked activations run on s8net's own kernel where AVX2 runs, the rest on oneDNN's.
  const bool own = layout() != ActivationLayout::nchw && blocked_max_pool::available();
  EXPECT_EQ(pool.implementation().find("s8net_max_pool_2x2") != std::string::npos, own) << pool.implementation();
}

// A window of equal values sends its gradient to its first pixel (row by row), on every kernel.
TEST_P(ActivationOpTest, MaxPoolGivesATiesGradientToTheWindowsFirstPixel) {
  const Dims in{2, channels(), 4, 4}, out{2, channels(), 2, 2};
  std::vector<float> x(static_cast<size_t>(element_count(in)));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i / 16);  // one value per plane
  const std::vector<float> g = test::random_normal(element_count(out), 13);
  MaxPool2x2 pool(context_, desc(in), desc(out));
  const Tensor xt = tensor(in, x), y = zeros(out), dy = tensor(out, g), dx = zeros(in);
  pool.forward(xt, y);
  pool.backward(dy, dx);
  std::vector<double> expected_dx(x.size(), 0.0);
  for (size_t o = 0; o < g.size(); ++o) {
    const size_t plane = o / 4, oh = o % 4 / 2, ow = o % 2;
    expected_dx[plane * 16 + oh * 2 * 4 + ow * 2] = g[o];
  }
  EXPECT_TRUE(all_close(read(dx), expected_dx, 0.0));
}

TEST_P(ActivationOpTest, ReluForwardAndBackward) {
  const Dims dims{3, channels(), 5, 4};
  const std::vector<float> x = nonzero_values(element_count(dims), 21),
                           g = test::random_normal(element_count(dims), 22);
  Relu relu(context_, desc(dims));
  const Tensor xt = tensor(dims, x), y = zeros(dims), dy = tensor(dims, g), dx = zeros(dims);
  relu.forward(xt, y);
  relu.backward(y, dy, dx);

  std::vector<double> expected_dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) expected_dx[i] = x[i] > 0 ? g[i] : 0.0;
  EXPECT_TRUE(all_close(read(y), test::relu_reference(test::to_double(x)), 0.0));
  EXPECT_TRUE(all_close(read(dx), expected_dx, 0.0));

  // In place, both ways, as the network runs it.
  relu.forward(xt, xt);
  relu.backward(xt, dy, dy);
  EXPECT_EQ(read(xt), read(y));
  EXPECT_EQ(read(dy), read(dx));
}

TEST_P(ActivationOpTest, ReluForInferenceHasTheForwardAlone) {
  const Dims dims{2, channels(), 3, 4};
  const std::vector<float> x = nonzero_values(element_count(dims), 23);
  Relu relu(context_, desc(dims), Pass::inference);
  const Tensor xt = tensor(dims, x), y = zeros(dims);
  relu.forward(xt, y);
  EXPECT_TRUE(all_close(read(y), test::relu_reference(test::to_double(x)), 0.0));
  EXPECT_EQ(relu.implementation().find("bwd"), std::string::npos) << relu.implementation();
  EXPECT_THROW(relu.backward(y, y, y), Error);
}

TEST_P(ActivationOpTest, SkipAddOutOfPlaceAndInPlace) {
  const Dims dims{2, channels(), 4, 5};
  const std::vector<float> a = test::random_normal(element_count(dims), 31),
                           b = test::random_normal(element_count(dims), 32);
  std::vector<float> expected(a.size());
  for (size_t i = 0; i < a.size(); ++i) expected[i] = a[i] + b[i];  // one float addition: exact match
  SkipAdd add(context_, desc(dims));
  const Tensor at = tensor(dims, a), bt = tensor(dims, b), sum = zeros(dims);
  add.add(at, bt, sum);
  EXPECT_EQ(read(sum), expected);
  add.add(at, bt, at);  // dst == a
  EXPECT_EQ(read(at), expected);
  EXPECT_EQ(read(bt), b);
}

TEST_P(ActivationOpTest, GlobalAvgPoolIsThePlaneMeanAndSpreadsTheGradient) {
  const Dims in{3, channels(), 5, 6}, out{3, channels(), 1, 1};
  const std::vector<float> x = test::random_normal(element_count(in), 41),
                           g = test::random_normal(element_count(out), 42);
  GlobalAvgPool pool(context_, desc(in), desc(out));
  const Tensor xt = tensor(in, x), y = zeros(out), dy = tensor(out, g), dx = zeros(in);
  pool.forward(xt, y);
  pool.backward(dy, dx);

  EXPECT_TRUE(all_close(read(y), test::global_avg_pool_reference(test::to_double(x), in), kForwardTolerance));
  const int64_t area = in[2] * in[3];
  std::vector<double> expected_dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) expected_dx[i] = g[i / static_cast<size_t>(area)] / static_cast<double>(area);
  EXPECT_TRUE(all_close(read(dx), expected_dx, kForwardTolerance));
}

TEST_P(ActivationOpTest, DropoutDropsAboutPAndScalesTheRestExactly) {
  const Dims dims{4, channels(), 16, 16};
  const std::vector<float> x = nonzero_values(element_count(dims), 51);
  for (const float p : {0.5f, 0.2f}) {
    SCOPED_TRACE("p = " + std::to_string(p));
    const float keep = 1.f / (1.f - p);
    Dropout dropout(context_, dims, layout(), p, 7);
    const Tensor xt = tensor(dims, x);
    dropout.forward_train(xt, 1);
    const std::vector<float> y = read(xt), mask = read(dropout.mask());
    int64_t dropped = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(mask[i] == 0.f || mask[i] == keep) << "mask " << i << " = " << mask[i];
      ASSERT_EQ(y[i], mask[i] == 0.f ? 0.f : x[i] * keep) << i;
      dropped += mask[i] == 0.f;
    }
    // Binomial(n, p): the count is deterministic for a fixed seed, 4 standard deviations is slack
    // for any reasonable generator.
    const double n = static_cast<double>(x.size());
    EXPECT_NEAR(static_cast<double>(dropped), n * p, 4 * std::sqrt(n * p * (1 - p)));
  }
}

TEST_P(ActivationOpTest, DropoutMaskDependsOnSeedStepAndLogicalElementOnly) {
  const Dims dims{2, channels(), 6, 5};
  const auto mask_of = [&](ActivationLayout l, uint64_t seed, uint64_t step) {
    Dropout dropout(context_, dims, l, 0.5f, seed);
    const Tensor x = make_tensor(context_, activation_desc(dims, l),
                                 std::vector<float>(static_cast<size_t>(element_count(dims)), 1.f));
    dropout.forward_train(x, step);
    return read(dropout.mask());
  };
  const std::vector<float> mask = mask_of(layout(), 3, 10);
  EXPECT_EQ(mask_of(layout(), 3, 10), mask);
  EXPECT_EQ(mask_of(ActivationLayout::nchw, 3, 10), mask);  // layout independence
  EXPECT_NE(mask_of(layout(), 3, 11), mask);
  EXPECT_NE(mask_of(layout(), 4, 10), mask);
}

TEST_P(ActivationOpTest, DropoutBackwardMultipliesByTheSameMask) {
  const Dims dims{2, channels(), 5, 5};
  const std::vector<float> x = nonzero_values(element_count(dims), 61),
                           g = test::random_normal(element_count(dims), 62);
  Dropout dropout(context_, dims, layout(), 0.5f, 9);
  const Tensor xt = tensor(dims, x), dt = tensor(dims, g);
  dropout.forward_train(xt, 5);
  dropout.backward(dt);
  const std::vector<float> mask = read(dropout.mask());
  std::vector<float> expected(g.size());
  for (size_t i = 0; i < g.size(); ++i) expected[i] = g[i] * mask[i];
  EXPECT_EQ(read(dt), expected);
}

INSTANTIATE_TEST_SUITE_P(ChannelsAndLayouts, ActivationOpTest,
                         ::testing::Combine(::testing::Values(int64_t{3}, int64_t{8}, int64_t{12}, int64_t{16}),
                                            ::testing::Values(ActivationLayout::nchw, ActivationLayout::nChw8c,
                                                              ActivationLayout::nChw16c)),
                         [](const ::testing::TestParamInfo<ActivationOpTest::ParamType>& param) {
                           return "c" + std::to_string(std::get<0>(param.param)) + "_" +
                                  std::string(name_of(std::get<1>(param.param)));
                         });

TEST(Dropout, ZeroProbabilityKeepsEverything) {
  Context context;
  const Dims dims{2, 12, 4, 4};
  const std::vector<float> x = test::random_normal(element_count(dims), 71);
  Dropout dropout(context, dims, ActivationLayout::nChw8c, 0.f, 1);
  const Tensor xt = make_tensor(context, activation_desc(dims, ActivationLayout::nChw8c), x);
  dropout.forward_train(xt, 1);
  EXPECT_EQ(to_plain(context, xt), x);
}

TEST(Dropout, RejectsProbabilityOutsideZeroToOne) {
  Context context;
  const Dims dims{2, 8, 4, 4};
  for (const float p : {-0.1f, 1.f, 1.5f, std::numeric_limits<float>::quiet_NaN()})
    EXPECT_THROW(Dropout(context, dims, ActivationLayout::nchw, p, 1), Error) << p;
}

// ---- Log-softmax + NLL: batch x classes ---------------------------------------------------------

class LogSoftmaxNllTest : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, float>> {
 protected:
  void SetUp() override {
    std::tie(batch_, classes_, smoothing_) = GetParam();
    logits_ = test::random_normal(batch_ * classes_, 81, 3.f);
    // Rows shifted far up and down: exp would overflow / underflow in float without the max shift.
    for (int64_t j = 0; j < classes_; ++j) {
      logits_[static_cast<size_t>(j)] += 150.f;
      logits_[static_cast<size_t>(classes_ + j)] -= 150.f;
    }
    log_p_ = test::log_softmax_reference(test::to_double(logits_), batch_, classes_);
    // Even rows labelled with their arg-max, odd rows with another class, so correct() is neither 0
    // nor the batch.
    for (int64_t i = 0; i < batch_; ++i) {
      const auto row = log_p_.begin() + i * classes_;
      const auto best = static_cast<int32_t>(std::max_element(row, row + classes_) - row);
      labels_.push_back(i % 2 == 0 ? best : static_cast<int32_t>((best + 1) % classes_));
    }
  }

  double reference_loss(std::span<const double> log_p) const {
    return test::smoothed_cross_entropy_reference(log_p, labels_, classes_, smoothing_);
  }

  Context context_;
  int64_t batch_ = 0, classes_ = 0;
  float smoothing_ = 0.f;
  std::vector<float> logits_;
  std::vector<double> log_p_;
  std::vector<int32_t> labels_;
};

TEST_P(LogSoftmaxNllTest, ForwardMatchesStableReference) {
  LogSoftmaxNll loss(context_, batch_, classes_, smoothing_);
  const Tensor logits = make_tensor(context_, loss.logits_desc(), logits_);
  const double value = loss.forward(logits, labels_);
  EXPECT_TRUE(all_close(to_plain(context_, loss.log_probabilities()), log_p_, kForwardTolerance));
  const double expected = reference_loss(log_p_);
  EXPECT_NEAR(value, expected, kForwardTolerance * std::max(1.0, std::abs(expected)));
  EXPECT_EQ(loss.correct(), (batch_ + 1) / 2);
}

TEST_P(LogSoftmaxNllTest, BackwardMatchesFiniteDifferences) {
  LogSoftmaxNll loss(context_, batch_, classes_, smoothing_);
  const Tensor logits = make_tensor(context_, loss.logits_desc(), logits_), grad(loss.logits_desc(), context_.engine());
  loss.forward(logits, labels_);
  loss.backward(grad);

  std::vector<double> z = test::to_double(logits_);
  const auto loss_of_z = [&] { return reference_loss(test::log_softmax_reference(z, batch_, classes_)); };
  EXPECT_TRUE(all_close(to_plain(context_, grad), test::central_differences(loss_of_z, z, 1e-4), kGradientTolerance));
}

TEST(LogSoftmaxNll, SmoothingOfOneTenthGivesTheHandComputedLossAndGradient) {
  // Two classes, logits (0, 0): p = (1/2, 1/2), label 0, smoothing 0.1. The target is (0.95, 0.05),
  // so the loss is log 2 whatever the smoothing, and dLoss/dz = p - target = (-0.45, 0.45).
  Context context;
  LogSoftmaxNll loss(context, 1, 2, 0.1f);
  const Tensor logits = make_tensor(context, loss.logits_desc(), std::vector<float>{0.f, 0.f});
  const Tensor grad(loss.logits_desc(), context.engine());
  const std::vector<int32_t> label{0};
  EXPECT_NEAR(loss.forward(logits, label), std::log(2.0), 1e-5);
  loss.backward(grad);
  const std::vector<float> g = to_plain(context, grad);
  EXPECT_NEAR(g[0], -0.45f, 1e-6f);
  EXPECT_NEAR(g[1], 0.45f, 1e-6f);
}

// Without smoothing, a class the logits rule out (log-probability -inf) is no part of the loss:
// the loss stays the label's, not 0 * -inf.
TEST(LogSoftmaxNll, UnsmoothedLossIgnoresAClassOfProbabilityZero) {
  Context context;
  LogSoftmaxNll loss(context, 1, 3);
  const float minus_inf = -std::numeric_limits<float>::infinity();
  const Tensor logits = make_tensor(context, loss.logits_desc(), std::vector<float>{0.f, 0.f, minus_inf});
  const std::vector<int32_t> label{0};
  EXPECT_NEAR(loss.forward(logits, label), std::log(2.0), 1e-5);
}

TEST(LogSoftmaxNll, RefusesASmoothingOutsideZeroToOne) {
  Context context;
  for (const float smoothing : {-0.1f, 1.f, std::numeric_limits<float>::quiet_NaN()})
    EXPECT_THROW(LogSoftmaxNll(context, 2, 10, smoothing), Error) << smoothing;
}

TEST_P(LogSoftmaxNllTest, RejectsBadLabelsAndKeepsTheLatestForward) {
  LogSoftmaxNll loss(context_, batch_, classes_, smoothing_);
  const Tensor logits = make_tensor(context_, loss.logits_desc(), logits_), grad(loss.logits_desc(), context_.engine());
  loss.forward(logits, labels_);
  loss.backward(grad);
  const std::vector<float> log_p = to_plain(context_, loss.log_probabilities()),
                           expected_grad = to_plain(context_, grad);

  std::vector<std::vector<int32_t>> bad{std::vector<int32_t>(labels_.begin(), labels_.end() - 1), labels_, labels_,
                                        labels_};
  bad[1].push_back(0);                             // one label too many
  bad[2].front() = -1;                             // below the range
  bad[3].back() = static_cast<int32_t>(classes_);  // past the range
  for (const std::vector<int32_t>& labels : bad) {
    EXPECT_THROW(loss.forward(logits, labels), Error);
    // A rejected call changes nothing: backward still differentiates the latest good forward.
    EXPECT_EQ(loss.correct(), (batch_ + 1) / 2);
    EXPECT_EQ(to_plain(context_, loss.log_probabilities()), log_p);
    grad.zero();
    loss.backward(grad);
    EXPECT_EQ(to_plain(context_, grad), expected_grad);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LogSoftmaxNllTest,
                         ::testing::Values(std::tuple<int64_t, int64_t, float>{3, 10, 0.f},
                                           std::tuple<int64_t, int64_t, float>{2, 3, 0.f},
                                           std::tuple<int64_t, int64_t, float>{3, 10, 0.1f},
                                           std::tuple<int64_t, int64_t, float>{2, 3, 0.5f}),
                         [](const ::testing::TestParamInfo<LogSoftmaxNllTest::ParamType>& param) {
                           return std::to_string(std::get<0>(param.param)) + "x" +
                                  std::to_string(std::get<1>(param.param)) + "_smoothing" +
                                  std::to_string(static_cast<int>(std::get<2>(param.param) * 100));
                         });

}  // namespace
}  // namespace s8net
