// The GroupNorm/LayerNorm kernels are compiled once per instruction set and the plugins run the
// widest the CPU has (test_norm_plugins checks that one against a naive reference). Here every
// copy this CPU can run is fed the same tensors, padded lanes holding garbage, and must agree
// with the x86-64 baseline copy: forward output and moments, and dx, dweight, dbias. The forward's
// two ways of sharing the work between threads must agree bit for bit.
#include "../plugins/common/group_norm_kernels.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace s8net::plugins;

struct Outputs {
  std::vector<float> y, dx, dweight, dbias;
  GroupMoments moments;
};

// One compiled copy of the kernels.
struct Copy {
  std::string name;
  void (*forward)(const GroupNormShape&, const float*, const float*, const float*, double, bool, GroupMoments&,
                  GroupNormScratch&, float*);
  void (*backward)(const GroupNormShape&, const float*, const float*, const float*, const float*, const GroupMoments&,
                   bool, GroupNormScratch&, float*, float*, float*);
};

// The baseline first, then every wider copy this CPU runs.
std::vector<Copy> copies_this_cpu_runs() {
  std::vector<Copy> copies{{"baseline", isa_baseline::forward, isa_baseline::backward}};
#ifdef S8NET_GROUP_NORM_X86
  if (machine_isa() != Isa::baseline) copies.push_back({"avx2", isa_avx2::forward, isa_avx2::backward});
  if (machine_isa() == Isa::avx512) copies.push_back({"avx512", isa_avx512::forward, isa_avx512::backward});
#endif
  return copies;
}

// Random x, dy, weight and bias for `samples` samples of 5x7 planes.
struct Inputs {
  GroupNormShape shape;
  size_t size;
  std::vector<float> x, dy, weight, bias;
  Inputs(int64_t samples, int block, int channels, int groups, unsigned seed)
      : shape(s8net_tensor_desc{samples, channels, 5, 7, static_cast<s8net_layout>(block)}, groups),
        size(static_cast<size_t>(shape.n * shape.padded_channels() * shape.hw)),
        x(size),
        dy(size),
        weight(static_cast<size_t>(channels)),
        bias(weight.size()) {
    std::mt19937 generator(seed);
    std::normal_distribution<float> normal(0.5f, 2.f);
    for (auto* v : {&x, &dy, &weight, &bias})
      for (float& value : *v) value = normal(generator);
  }
};

Outputs run(const Copy& copy, const Inputs& in, bool relu) {
  Outputs out;
  GroupNormScratch scratch;
  out.y.assign(in.size, -1.f);
  out.dx.assign(in.size, -1.f);
  out.dweight.assign(in.weight.size(), 0.f);
  out.dbias.assign(in.weight.size(), 0.f);
  copy.forward(in.shape, in.x.data(), in.weight.data(), in.bias.data(), 1e-5, relu, out.moments, scratch, out.y.data());
  copy.backward(in.shape, in.x.data(), out.y.data(), in.dy.data(), in.weight.data(), out.moments, relu, scratch,
                out.dx.data(), out.dweight.data(), out.dbias.data());
  return out;
}

::testing::AssertionResult close(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << what << ": sizes differ";
  for (size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > 1e-5f * (1.f + std::abs(b[i])))
      return ::testing::AssertionFailure() << what << "[" << i << "]: " << a[i] << " vs baseline " << b[i];
  return ::testing::AssertionSuccess();
}

// (layout block, channels, groups, relu)
class GroupNormIsaTest : public ::testing::TestWithParam<std::tuple<int, int, int, bool>> {};

TEST_P(GroupNormIsaTest, EveryCopyAgreesWithTheBaseline) {
  const auto [block, channels, groups, relu] = GetParam();
  const Inputs in(3, block, channels, groups, 11);
  const std::vector<Copy> copies = copies_this_cpu_runs();
  const Outputs baseline = run(copies.front(), in, relu);
  std::vector<std::pair<std::string, Outputs>> others;
  for (size_t i = 1; i < copies.size(); ++i) others.emplace_back(copies[i].name, run(copies[i], in, relu));
  if (others.empty()) GTEST_SKIP() << "this CPU runs the baseline copy only";
  for (const auto& [name, out] : others) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(close(out.y, baseline.y, "y"));
    EXPECT_TRUE(close(out.dx, baseline.dx, "dx"));
    EXPECT_TRUE(close(out.dweight, baseline.dweight, "dweight"));
    EXPECT_TRUE(close(out.dbias, baseline.dbias, "dbias"));
    // The sums run in float over short runs of rows, where a copy with FMA rounds once per
    // multiply-add and the baseline twice: the moments agree to float rounding, not to double's.
    for (size_t i = 0; i < baseline.moments.mean.size(); ++i) {
      EXPECT_NEAR(out.moments.mean[i], baseline.moments.mean[i], 1e-6 * (1 + std::abs(baseline.moments.mean[i]))) << i;
      EXPECT_NEAR(out.moments.rstd[i], baseline.moments.rstd[i], 1e-6 * baseline.moments.rstd[i]) << i;
    }
  }
}

// Sets OpenMP's thread count for a scope and restores it, also when a test fails or throws.
class ThreadCount {
 public:
  explicit ThreadCount(int count) : saved_(omp_get_max_threads()) { omp_set_num_threads(count); }
  ~ThreadCount() { omp_set_num_threads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

// The forward gives each thread whole samples where the threads divide the samples (4 samples on
// 2 threads) and splits every pass over the units otherwise (4 on 3). Both must give the same
// bits, in every copy this CPU runs.
TEST_P(GroupNormIsaTest, WholeSamplesPerThreadGiveTheBitsOfTheSplitPasses) {
  const auto [block, channels, groups, relu] = GetParam();
  const Inputs in(4, block, channels, groups, 12);
  for (const Copy& copy : copies_this_cpu_runs()) {
    SCOPED_TRACE(copy.name);
    const auto forward_on = [&](int thread_count, GroupMoments& moments) {
      const ThreadCount scope(thread_count);
      GroupNormScratch scratch;
      std::vector<float> y(in.size, -1.f);
      copy.forward(in.shape, in.x.data(), in.weight.data(), in.bias.data(), 1e-5, relu, moments, scratch, y.data());
      return y;
    };
    GroupMoments whole, split;
    const std::vector<float> y_whole = forward_on(2, whole);
    const std::vector<float> y_split = forward_on(3, split);
    EXPECT_EQ(y_whole, y_split);
    EXPECT_EQ(whole.mean, split.mean);
    EXPECT_EQ(whole.rstd, split.rstd);
  }
}

std::string case_name(const ::testing::TestParamInfo<GroupNormIsaTest::ParamType>& param) {
  const auto& [block, channels, groups, relu] = param.param;
  return "block" + std::to_string(block) + "_c" + std::to_string(channels) + "_g" + std::to_string(groups) +
         (relu ? "_relu" : "");
}

INSTANTIATE_TEST_SUITE_P(Layouts, GroupNormIsaTest,
                         ::testing::Combine(::testing::Values(1, 8, 16), ::testing::Values(8, 12, 32),
                                            ::testing::Values(1, 2), ::testing::Bool()),
                         case_name);

}  // namespace
