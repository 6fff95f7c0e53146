// s8net's own Winograd F(4x4, 3x3) convolution (AVX2, nChw8c) against the naive convolution; its
// turned-weights form and its weight gradient against the finite differences of the naive
// convolution, and the weight gradient also against its naive sum.
#include <s8net/core/error.hpp>
#include <s8net/ops/winograd_conv.hpp>

#include "support/reference.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>

namespace s8net {

void PrintTo(const WinogradShape& s, std::ostream* os) {
  *os << s.batch << "x" << s.in_channels << "x" << s.height << "x" << s.width << " -> " << s.out_channels;
}

}  // namespace s8net

namespace s8net::test {
namespace {

// F(4x4, 3x3) multiplies rounding errors by its transforms' coefficients (up to 8 in A, 5 in B):
// its float result is further from exact than a direct sum, well below what training notices.
constexpr double kWinogradTolerance = 1e-4;

constexpr const char* kNoKernel = "this CPU has no AVX2 with FMA (or ONEDNN_MAX_CPU_ISA caps it)";

struct Case {
  WinogradShape shape;
  bool relu;
};

void PrintTo(const Case& c, std::ostream* os) {
  PrintTo(c.shape, os);
  *os << (c.relu ? " +relu" : "");
}

Dims src_dims(const WinogradShape& s) { return {s.batch, s.in_channels, s.height, s.width}; }
Dims dst_dims(const WinogradShape& s) { return {s.batch, s.out_channels, s.height, s.width}; }

Tensor blocked(Context& context, const Dims& dims, const std::vector<float>& values) {
  return make_tensor(context, activation_desc(dims, ActivationLayout::nChw8c), values);
}

// dL/dw[o][i][kh][kw] = sum over n, h, w of dy[n][o][h][w] x[n][i][h + kh - 1][w + kw - 1], summed
// naively in double.
std::vector<double> weight_gradient_reference(const WinogradShape& s, const std::vector<float>& x,
                                              const std::vector<float>& dy) {
  std::vector<double> gradient(static_cast<size_t>(s.out_channels * s.in_channels * 9));
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t o = 0; o < s.out_channels; ++o)
      for (int64_t i = 0; i < s.in_channels; ++i)
        for (int64_t kh = 0; kh < 3; ++kh)
          for (int64_t kw = 0; kw < 3; ++kw) {
            double sum = 0;
            for (int64_t h = 0; h < s.height; ++h)
              for (int64_t w = 0; w < s.width; ++w) {
                const int64_t ih = h + kh - 1, iw = w + kw - 1;
                if (ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) continue;
                sum += static_cast<double>(dy[nchw_index(dst_dims(s), n, o, h, w)]) *
                       x[nchw_index(src_dims(s), n, i, ih, iw)];
              }
            gradient[static_cast<size_t>(((o * s.in_channels + i) * 3 + kh) * 3 + kw)] += sum;
          }
  return gradient;
}

struct WeightGradient {
  std::vector<float> weight, bias;
};

WeightGradient own_weight_gradient(Context& context, const WinogradShape& s, const std::vector<float>& x,
                                   const std::vector<float>& dy) {
  WinogradConv conv(s, false);
  const Tensor src = blocked(context, src_dims(s), x), diff_dst = blocked(context, dst_dims(s), dy);
  WeightGradient g{std::vector<float>(static_cast<size_t>(s.out_channels * s.in_channels * 9), -1.f),
                   std::vector<float>(static_cast<size_t>(s.out_channels), -1.f)};
  conv.backward_weights(src.data(), diff_dst.data(), g.weight.data(), g.bias.data());
  return g;
}

// Runs the conv on plain values through nChw8c tensors, as the network holds them.
std::vector<float> run(Context& context, WinogradConv& conv, const std::vector<float>& x) {
  const WinogradShape& s = conv.shape();
  const Tensor src = blocked(context, src_dims(s), x);
  const Tensor dst(activation_desc(dst_dims(s), ActivationLayout::nChw8c), context.engine());
  conv.forward(src.data(), dst.data());
  return to_plain(context, dst);
}

class WinogradConvTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (!WinogradConv::available()) GTEST_SKIP() << kNoKernel;
  }
  Context context_;
};

TEST_P(WinogradConvTest, MatchesTheNaiveConvolution) {
  const auto& [s, relu] = GetParam();
  const std::vector<float> x = random_normal(element_count(src_dims(s)), 1);
  const std::vector<float> weight = random_normal(s.out_channels * s.in_channels * 9, 2, 0.3f);
  const std::vector<float> bias = random_normal(s.out_channels, 3);
  WinogradConv conv(s, relu);
  conv.load(weight, bias);

  std::vector<double> expected =
      conv2d_reference(to_double(x), src_dims(s), to_double(weight), to_double(bias), s.out_channels, 3);
  if (relu) expected = relu_reference(expected);
  EXPECT_TRUE(all_close(run(context_, conv, x), expected, kWinogradTolerance));

  // Run again after new weights: nothing of the first load is left.
  const std::vector<float> weight2 = random_normal(s.out_channels * s.in_channels * 9, 4, 0.3f);
  conv.load(weight2, bias);
  expected = conv2d_reference(to_double(x), src_dims(s), to_double(weight2), to_double(bias), s.out_channels, 3);
  if (relu) expected = relu_reference(expected);
  EXPECT_TRUE(all_close(run(context_, conv, x), expected, kWinogradTolerance)) << "after a second load";
}

const Case kCases[] = {
    {{3, 32, 32, 16, 16}, true},  // C4, C5 (folded BN with its ReLU)
    {{2, 32, 32, 8, 8}, false},   // C8, C9
    {{2, 16, 32, 8, 8}, true},    // C7
    {{2, 8, 32, 16, 16}, false},  // C3
    {{1, 32, 8, 9, 6}, false},    // partial tiles, fewer outputs than a pair of vectors
    {{2, 8, 24, 5, 7}, true},     // partial tiles, 3 output blocks
    {{1, 8, 8, 1, 1}, false},     // one pixel: the whole tile is padding but one value
    {{5, 16, 16, 4, 4}, false},   // 5 tiles: a block shorter than the register tile
};

INSTANTIATE_TEST_SUITE_P(Shapes, WinogradConvTest, ::testing::ValuesIn(kCases));

// The forward that a norm between two convs fuses into: the input read through a per-(image,
// channel) map with its ReLU, the output's plane moments taken on the way. Against the naive conv
// of the mapped input, and the moments against those of what the conv wrote, summed naively. The
// output sits far from zero (a bias of 300) so moments taken without a shift would lose the spread.
TEST_P(WinogradConvTest, FusedForwardMapsItsInputAndTakesTheMomentsOfItsOutput) {
  const auto& [s, relu] = GetParam();
  const std::vector<float> x = random_normal(element_count(src_dims(s)), 11);
  const std::vector<float> weight = random_normal(s.out_channels * s.in_channels * 9, 12, 0.3f);
  std::vector<float> bias = random_normal(s.out_channels, 13);
  for (float& b : bias) b += 300.f;
  const std::vector<float> scale = random_normal(s.batch * s.in_channels, 14),
                           shift = random_normal(s.batch * s.in_channels, 15);
  WinogradConv conv(s, relu);
  conv.load(weight, bias);

  const int64_t plane = s.height * s.width;
  std::vector<double> mapped = to_double(x);
  for (size_t k = 0; k < mapped.size(); ++k) {
    const size_t image_channel = k / static_cast<size_t>(plane);
    mapped[k] = std::max(0.0, static_cast<double>(scale[image_channel]) * mapped[k] + shift[image_channel]);
  }
  std::vector<double> expected =
      conv2d_reference(mapped, src_dims(s), to_double(weight), to_double(bias), s.out_channels, 3);
  if (relu) expected = relu_reference(expected);

  const Tensor src = blocked(context_, src_dims(s), x);
  const Tensor dst(activation_desc(dst_dims(s), ActivationLayout::nChw8c), context_.engine());
  std::vector<s8net_plane_moments> moments(static_cast<size_t>(s.batch * s.out_channels), {-1.0, -1.0});
  conv.forward(src.data(), dst.data(), {scale.data(), shift.data(), moments.data()});
  const std::vector<float> got = to_plain(context_, dst);
  EXPECT_TRUE(all_close(got, expected, kWinogradTolerance));

  expect_plane_moments(got, plane, moments);
}

TEST(WinogradConv, TakingTheMomentsChangesNoOutputAndAMapWithoutItsShiftIsRefused) {
  if (!WinogradConv::available()) GTEST_SKIP() << kNoKernel;
  Context context;
  const WinogradShape s{2, 16, 16, 8, 8};
  const std::vector<float> x = random_normal(element_count(src_dims(s)), 21);
  WinogradConv conv(s, false);
  conv.load(random_normal(16 * 16 * 9, 22, 0.3f), random_normal(16, 23));
  const std::vector<float> plain = run(context, conv, x);
  const Tensor src = blocked(context, src_dims(s), x);
  const Tensor dst(activation_desc(dst_dims(s), ActivationLayout::nChw8c), context.engine());
  std::vector<s8net_plane_moments> moments(2 * 16);
  conv.forward(src.data(), dst.data(), {nullptr, nullptr, moments.data()});
  EXPECT_EQ(to_plain(context, dst), plain) << "taking the moments changed the output";
  const std::vector<float> scale(2 * 16, 1.f);
  EXPECT_THROW(conv.forward(src.data(), dst.data(), {scale.data(), nullptr, nullptr}), Error);
}

// With the forward conv's weights turned, the conv maps the output's gradient to the input's: the
// gradient of L(x) = sum(dy * conv(x)), checked by central differences of the naive convolution.
TEST(WinogradConv, TurnedWeightsGiveTheInputGradient) {
  if (!WinogradConv::available()) GTEST_SKIP() << kNoKernel;
  Context context;
  for (const auto& [forward_shape, relu] : kCases) {
    WinogradShape s = forward_shape;
    s.batch = 1;
    s.height = std::min<int64_t>(s.height, 6);
    s.width = std::min<int64_t>(s.width, 7);
    const std::vector<float> weight = random_normal(s.out_channels * s.in_channels * 9, 5, 0.3f);
    const std::vector<double> no_bias(static_cast<size_t>(s.out_channels), 0.0);
    const std::vector<float> dy = random_normal(element_count(dst_dims(s)), 6);
    std::vector<double> x = to_double(random_normal(element_count(src_dims(s)), 7));
    const auto loss = [&] {
      return dot(to_double(dy), conv2d_reference(x, src_dims(s), to_double(weight), no_bias, s.out_channels, 3));
    };
    const std::vector<double> expected = central_differences(loss, x, 1e-2);

    WinogradConv gradient({s.batch, s.out_channels, s.in_channels, s.height, s.width}, false);
    gradient.load_turned(weight);
    EXPECT_TRUE(all_close(run(context, gradient, dy), expected, kWinogradTolerance)) << ::testing::PrintToString(s);
  }
}

TEST_P(WinogradConvTest, WeightGradientMatchesItsNaiveSum) {
  const WinogradShape& s = GetParam().shape;
  const std::vector<float> x = random_normal(element_count(src_dims(s)), 8);
  const std::vector<float> dy = random_normal(element_count(dst_dims(s)), 9);
  const WeightGradient g = own_weight_gradient(context_, s, x, dy);
  EXPECT_TRUE(all_close(g.weight, weight_gradient_reference(s, x, dy), kWinogradTolerance));
  std::vector<double> bias(static_cast<size_t>(s.out_channels));
  for (size_t k = 0; k < dy.size(); ++k)
    bias[static_cast<size_t>(k / static_cast<size_t>(s.height * s.width)) % bias.size()] += dy[k];
  EXPECT_TRUE(all_close(g.bias, bias, kWinogradTolerance));
}

// The weight gradient sums over tiles on every thread: its order is fixed, so that training
// repeats bit for bit (checked across the app's resume tests, run capped at AVX2 too).
TEST_P(WinogradConvTest, WeightGradientIsTheSameBitsEveryTime) {
  const WinogradShape& s = GetParam().shape;
  const std::vector<float> x = random_normal(element_count(src_dims(s)), 13);
  const std::vector<float> dy = random_normal(element_count(dst_dims(s)), 14);
  const WeightGradient first = own_weight_gradient(context_, s, x, dy);
  for (int run = 0; run < 5; ++run) {
    const WeightGradient again = own_weight_gradient(context_, s, x, dy);
    ASSERT_EQ(again.weight, first.weight) << "run " << run;
    ASSERT_EQ(again.bias, first.bias) << "run " << run;
  }
}

// The same gradients as the derivatives of L(w, b) = sum(dy * conv(x; w, b)) by central differences.
TEST(WinogradConv, WeightGradientMatchesFiniteDifferences) {
  if (!WinogradConv::available()) GTEST_SKIP() << kNoKernel;
  Context context;
  for (const WinogradShape s :
       {WinogradShape{2, 8, 8, 5, 7}, WinogradShape{1, 16, 8, 6, 6}, WinogradShape{1, 8, 16, 4, 9}}) {
    const std::vector<float> x = random_normal(element_count(src_dims(s)), 10);
    const std::vector<float> dy = random_normal(element_count(dst_dims(s)), 11);
    std::vector<double> weight = to_double(random_normal(s.out_channels * s.in_channels * 9, 12, 0.3f));
    std::vector<double> bias(static_cast<size_t>(s.out_channels), 0.5);
    const auto loss = [&] {
      return dot(to_double(dy), conv2d_reference(to_double(x), src_dims(s), weight, bias, s.out_channels, 3));
    };
    // The loss is linear in w and b: a large step costs no truncation error.
    const std::vector<double> expected_weight = central_differences(loss, weight, 0.5);
    const std::vector<double> expected_bias = central_differences(loss, bias, 0.5);
    const WeightGradient g = own_weight_gradient(context, s, x, dy);
    EXPECT_TRUE(all_close(g.weight, expected_weight, kWinogradTolerance)) << ::testing::PrintToString(s);
    EXPECT_TRUE(all_close(g.bias, expected_bias, kWinogradTolerance)) << ::testing::PrintToString(s);
  }
}

TEST(WinogradConv, RefusesChannelsThatDoNotFillBlocksAndWeightsOfAnotherSize) {
  if (!WinogradConv::available()) GTEST_SKIP() << kNoKernel;
  EXPECT_THROW(WinogradConv({1, 12, 16, 8, 8}, false), Error);
  EXPECT_THROW(WinogradConv({1, 16, 0, 8, 8}, false), Error);
  EXPECT_THROW(WinogradConv({0, 16, 16, 8, 8}, false), Error);
  WinogradConv conv({1, 16, 8, 4, 4}, false);
  EXPECT_THROW(conv.load(std::vector<float>(16 * 8 * 9 - 1), std::vector<float>(8)), Error);
  EXPECT_THROW(conv.load(std::vector<float>(16 * 8 * 9), std::vector<float>(16)), Error);
  EXPECT_THROW(conv.load_turned(std::vector<float>(16 * 8 * 9 + 9)), Error);
}

}  // namespace
}  // namespace s8net::test
