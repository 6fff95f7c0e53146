// The passes inference runs for a norm taken as a map of its input's moments (GroupNorm,
// LayerNorm): the map with its ReLU and the skip add, and the plane moments, against naive double
// references on nChw8c tensors.
#include <s8net/core/error.hpp>
#include <s8net/ops/plane_map.hpp>

#include "support/reference.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <vector>

namespace s8net {

void PrintTo(const PlaneMapShape& s, std::ostream* os) {
  *os << s.batch << "x" << s.channels << "x" << s.height << "x" << s.width;
}

}  // namespace s8net

namespace s8net::test {
namespace {

constexpr const char* kNoKernel = "this CPU has no AVX2 with FMA (or ONEDNN_MAX_CPU_ISA caps it)";

Dims dims_of(const PlaneMapShape& s) { return {s.batch, s.channels, s.height, s.width}; }

Tensor blocked(Context& context, const PlaneMapShape& s, const std::vector<float>& values) {
  return make_tensor(context, activation_desc(dims_of(s), ActivationLayout::nChw8c), values);
}

// relu(scale * x + shift) per (image, channel) plane, in double.
std::vector<double> mapped(const PlaneMapShape& s, const std::vector<float>& x, const std::vector<float>& scale,
                           const std::vector<float>& shift) {
  std::vector<double> y(x.size());
  const auto plane = static_cast<size_t>(s.height * s.width);
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = std::max(0.0, static_cast<double>(scale[i / plane]) * x[i] + shift[i / plane]);
  return y;
}

class PlaneMapTest : public ::testing::TestWithParam<PlaneMapShape> {
 protected:
  void SetUp() override {
    if (!plane_map_available()) GTEST_SKIP() << kNoKernel;
  }
  Context context_;
};

TEST_P(PlaneMapTest, AppliesTheMapAndTheReluAndAddsAPlainOrAMappedAddend) {
  const PlaneMapShape s = GetParam();
  const int64_t count = element_count(dims_of(s)), planes = s.batch * s.channels;
  const std::vector<float> x = random_normal(count, 1), other = random_normal(count, 2);
  const std::vector<float> scale = random_normal(planes, 3), shift = random_normal(planes, 4);
  const std::vector<float> other_scale = random_normal(planes, 5), other_shift = random_normal(planes, 6);
  const Tensor src = blocked(context_, s, x), addend = blocked(context_, s, other);
  const Tensor dst(activation_desc(dims_of(s), ActivationLayout::nChw8c), context_.engine());

  map_planes_relu(s, src.data(), scale.data(), shift.data(), {}, dst.data());
  const std::vector<double> alone = mapped(s, x, scale, shift);
  EXPECT_TRUE(all_close(to_plain(context_, dst), alone, kForwardTolerance)) << "the map alone";

  map_planes_relu(s, src.data(), scale.data(), shift.data(), {addend.data()}, dst.data());
  std::vector<double> expected = alone;
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += other[i];
  EXPECT_TRUE(all_close(to_plain(context_, dst), expected, kForwardTolerance)) << "with a plain addend";

  map_planes_relu(s, src.data(), scale.data(), shift.data(), {addend.data(), other_scale.data(), other_shift.data()},
                  dst.data());
  expected = alone;
  const std::vector<double> other_mapped = mapped(s, other, other_scale, other_shift);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += other_mapped[i];
  EXPECT_TRUE(all_close(to_plain(context_, dst), expected, kForwardTolerance)) << "with a mapped addend";

  // In place, over the addend (the skip add's output may be its source's buffer) and over the input.
  const Tensor addend_again = blocked(context_, s, other);
  map_planes_relu(s, src.data(), scale.data(), shift.data(), {addend_again.data()}, addend_again.data());
  expected = alone;
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += other[i];
  EXPECT_TRUE(all_close(to_plain(context_, addend_again), expected, kForwardTolerance)) << "over the addend";
  map_planes_relu(s, src.data(), scale.data(), shift.data(), {}, src.data());
  EXPECT_TRUE(all_close(to_plain(context_, src), alone, kForwardTolerance)) << "in place";
}

// Planes far from zero (a mean of 500 and a spread of 1): sums without a shift would lose the spread.
TEST_P(PlaneMapTest, TakesEachPlanesMomentsWithTheSpreadIntactFarFromZero) {
  const PlaneMapShape s = GetParam();
  const int64_t count = element_count(dims_of(s)), plane = s.height * s.width;
  std::vector<float> x = random_normal(count, 7);
  for (size_t i = 0; i < x.size(); ++i) x[i] += 500.f + static_cast<float>(i / static_cast<size_t>(plane) % 3);
  const Tensor src = blocked(context_, s, x);
  std::vector<s8net_plane_moments> moments(static_cast<size_t>(s.batch * s.channels), {-1.0, -1.0});
  plane_moments(s, src.data(), moments.data());
  expect_plane_moments(x, plane, moments);
}

const PlaneMapShape kShapes[] = {
    {16, 16, 32, 32},  // C1, C2 in chunks of 16 images
    {2, 32, 16, 16},   // C3 to C5
    {3, 32, 8, 8},     // C7 to C9
    {1, 8, 1, 1},      // one value per plane
    {2, 24, 9, 11},    // rows that fill no run of 64
};

INSTANTIATE_TEST_SUITE_P(Shapes, PlaneMapTest, ::testing::ValuesIn(kShapes));

TEST(PlaneMap, RefusesChannelsThatDoNotFillBlocksAndAnAddendMapWithoutItsShift) {
  if (!plane_map_available()) GTEST_SKIP() << kNoKernel;
  std::vector<float> values(2 * 16 * 4, 1.f);
  std::vector<s8net_plane_moments> moments(32);
  EXPECT_THROW(plane_moments({2, 12, 2, 2}, values.data(), moments.data()), Error);
  EXPECT_THROW(plane_moments({0, 16, 2, 2}, values.data(), moments.data()), Error);
  EXPECT_THROW(map_planes_relu({2, 16, 2, 2}, values.data(), values.data(), values.data(),
                               {values.data(), values.data(), nullptr}, values.data()),
               Error);
}

}  // namespace
}  // namespace s8net::test
