// The fused 1x1 conv and 2x2 max-pool of inference (c3 -> P1, c6 -> P2) against a naive double
// reference: plain and through a norm's map with its ReLU, at the network's shapes and at one whose
// pooled row has an odd length; loading a trained conv's weights; its refusals.
#include <s8net/core/error.hpp>
#include <s8net/ops/pooled_conv1x1.hpp>

#include "support/reference.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <ostream>
#include <vector>

namespace s8net {

void PrintTo(const PooledConv1x1Shape& s, std::ostream* os) {
  *os << s.batch << "x" << s.in_channels << "x" << s.height << "x" << s.width << " -> " << s.out_channels;
}

}  // namespace s8net

namespace s8net::test {
namespace {

constexpr const char* kNoKernel = "this CPU has no AVX2 with FMA (or ONEDNN_MAX_CPU_ISA caps it)";

Dims input_dims(const PooledConv1x1Shape& s) { return {s.batch, s.in_channels, s.height, s.width}; }
Dims output_dims(const PooledConv1x1Shape& s) { return {s.batch, s.out_channels, s.height / 2, s.width / 2}; }

// maxpool2x2(conv1x1(relu(scale * x + shift) or x) + bias) in double, nchw.
std::vector<double> naive(const PooledConv1x1Shape& s, const std::vector<float>& x, const std::vector<float>& weight,
                          const std::vector<float>& bias, const std::vector<float>* scale,
                          const std::vector<float>* shift) {
  const int64_t h = s.height, w = s.width, in = s.in_channels, out = s.out_channels;
  std::vector<double> input(x.begin(), x.end());
  if (scale != nullptr)
    for (size_t i = 0; i < input.size(); ++i) {
      const size_t plane = i / static_cast<size_t>(h * w);
      input[i] = std::max(0.0, static_cast<double>((*scale)[plane]) * x[i] + (*shift)[plane]);
    }
  std::vector<double> y(static_cast<size_t>(element_count(output_dims(s))));
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t oh = 0; oh < h / 2; ++oh)
        for (int64_t ow = 0; ow < w / 2; ++ow) {
          double best = -std::numeric_limits<double>::infinity();
          for (int64_t dy = 0; dy < 2; ++dy)
            for (int64_t dx = 0; dx < 2; ++dx) {
              double sum = bias[static_cast<size_t>(o)];
              for (int64_t i = 0; i < in; ++i)
                sum += static_cast<double>(weight[static_cast<size_t>(o * in + i)]) *
                       input[static_cast<size_t>(((n * in + i) * h + 2 * oh + dy) * w + 2 * ow + dx)];
              best = std::max(best, sum);
            }
          y[static_cast<size_t>(((n * out + o) * (h / 2) + oh) * (w / 2) + ow)] = best;
        }
  return y;
}

class PooledConv1x1Test : public ::testing::TestWithParam<PooledConv1x1Shape> {
 protected:
  void SetUp() override {
    if (!PooledConv1x1::available()) GTEST_SKIP() << kNoKernel;
  }
  Context context_;
};

TEST_P(PooledConv1x1Test, MatchesTheConvThenThePoolPlainAndThroughAMap) {
  const PooledConv1x1Shape s = GetParam();
  const int64_t planes = s.batch * s.in_channels;
  const std::vector<float> x = random_normal(element_count(input_dims(s)), 1);
  const std::vector<float> weight = random_normal(s.in_channels * s.out_channels, 2, 0.3f);
  const std::vector<float> bias = random_normal(s.out_channels, 3);
  const std::vector<float> scale = random_normal(planes, 4), shift = random_normal(planes, 5);
  const Tensor src = make_tensor(context_, activation_desc(input_dims(s), ActivationLayout::nChw8c), x);
  const Tensor dst(activation_desc(output_dims(s), ActivationLayout::nChw8c), context_.engine());
  PooledConv1x1 conv(s);
  conv.load(weight, bias);

  conv.forward({src.data()}, dst.data());
  EXPECT_TRUE(all_close(to_plain(context_, dst), naive(s, x, weight, bias, nullptr, nullptr), kForwardTolerance))
      << "plain input";
  conv.forward({src.data(), scale.data(), shift.data()}, dst.data());
  EXPECT_TRUE(all_close(to_plain(context_, dst), naive(s, x, weight, bias, &scale, &shift), kForwardTolerance))
      << "input through its map and ReLU";
}

const PooledConv1x1Shape kShapes[] = {
    {4, 16, 8, 32, 32},   // c3 -> P1
    {3, 32, 16, 16, 16},  // c6 -> P2
    {2, 24, 16, 6, 10},   // two output blocks at a time, pooled rows of 5
    {2, 16, 24, 6, 10},   // three output blocks: one at a time, a single output after the pairs
    {1, 8, 8, 2, 2},      // one pooled value per plane
};

INSTANTIATE_TEST_SUITE_P(Shapes, PooledConv1x1Test, ::testing::ValuesIn(kShapes));

TEST(PooledConv1x1, LoadsATrainedConvsWeightsFromOneDnnsLayout) {
  if (!PooledConv1x1::available()) GTEST_SKIP() << kNoKernel;
  Context context;
  const PooledConv1x1Shape s{2, 16, 8, 8, 8};
  const ConvSpec spec{.name = "c3", .in_channels = 16, .out_channels = 8, .kernel = 1, .height = 8, .width = 8};
  const auto src = activation_desc(input_dims(s), ActivationLayout::nChw8c);
  const auto dst = activation_desc({s.batch, s.out_channels, s.height, s.width}, ActivationLayout::nChw8c);
  ConvWeights trained(context, spec, ConvWeights::preferred_desc(context.engine(), spec, src, dst));
  const std::vector<float> weight = random_normal(16 * 8, 6), bias = random_normal(8, 7);
  from_plain(context, weight, trained.weight.value);
  from_plain(context, bias, trained.bias.value);
  PooledConv1x1 conv(s);
  conv.load(context, trained);
  const std::vector<float> x = random_normal(element_count(input_dims(s)), 8);
  const Tensor input = make_tensor(context, src, x);
  const Tensor output(activation_desc(output_dims(s), ActivationLayout::nChw8c), context.engine());
  conv.forward({input.data()}, output.data());
  EXPECT_TRUE(all_close(to_plain(context, output), naive(s, x, weight, bias, nullptr, nullptr), kForwardTolerance));

  const ConvSpec wider{.name = "c6", .in_channels = 32, .out_channels = 16, .kernel = 1, .height = 8, .width = 8};
  ConvWeights other(
      context, wider,
      ConvWeights::preferred_desc(context.engine(), wider, activation_desc({2, 32, 8, 8}, ActivationLayout::nChw8c),
                                  activation_desc({2, 16, 8, 8}, ActivationLayout::nChw8c)));
  EXPECT_THROW(conv.load(context, other), Error) << "weights of another shape";
}

TEST(PooledConv1x1, RefusesShapesItCannotPoolAndAMapWithoutItsShift) {
  if (!PooledConv1x1::available()) GTEST_SKIP() << kNoKernel;
  EXPECT_THROW(PooledConv1x1({2, 16, 8, 7, 8}), Error) << "odd height";
  EXPECT_THROW(PooledConv1x1({2, 16, 8, 8, 5}), Error) << "odd width";
  EXPECT_THROW(PooledConv1x1({2, 12, 8, 8, 8}), Error) << "input channels that do not fill blocks";
  EXPECT_THROW(PooledConv1x1({2, 16, 4, 8, 8}), Error) << "output channels that do not fill blocks";
  EXPECT_THROW(PooledConv1x1({0, 16, 8, 8, 8}), Error) << "no images";
  PooledConv1x1 conv({1, 8, 8, 2, 2});
  EXPECT_THROW(conv.load(std::vector<float>(63), std::vector<float>(8)), Error);
  std::vector<float> x(32, 1.f), y(8);
  EXPECT_THROW(conv.forward({x.data(), x.data(), nullptr}, y.data()), Error);
  EXPECT_THROW(conv.forward({nullptr}, y.data()), Error);
}

}  // namespace
}  // namespace s8net::test
