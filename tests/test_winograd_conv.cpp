// s8net's own Winograd F(4x4, 3x3) convolution (AVX2, nChw8c) against the naive convolution, and
// its turned-weights form against the finite differences of the convolution it runs backwards.
#include <s8net/core/error.hpp>
#include <s8net/ops/winograd_conv.hpp>

#include "support/reference.hpp"

#include <gtest/gtest.h>

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

// Runs the conv on plain values through nChw8c tensors, as the network holds them.
std::vector<float> run(Context& context, WinogradConv& conv, const std::vector<float>& x) {
  const WinogradShape& s = conv.shape();
  const Tensor src = make_tensor(context, activation_desc(src_dims(s), ActivationLayout::nChw8c), x);
  const Tensor dst(activation_desc(dst_dims(s), ActivationLayout::nChw8c), context.engine());
  conv.forward(src.data(), dst.data());
  return to_plain(context, dst);
}

class WinogradConvTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (!WinogradConv::available()) GTEST_SKIP() << "this CPU has no AVX2 with FMA (or ONEDNN_MAX_CPU_ISA caps it)";
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

// With the forward conv's weights turned, the conv maps the output's gradient to the input's: the
// gradient of L(x) = sum(dy * conv(x)), checked by central differences of the naive convolution.
TEST(WinogradConv, TurnedWeightsGiveTheInputGradient) {
  if (!WinogradConv::available()) GTEST_SKIP() << "this CPU has no AVX2 with FMA (or ONEDNN_MAX_CPU_ISA caps it)";
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

TEST(WinogradConv, RefusesChannelsThatDoNotFillBlocksAndWeightsOfAnotherSize) {
  if (!WinogradConv::available()) GTEST_SKIP() << "this CPU has no AVX2 with FMA";
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
