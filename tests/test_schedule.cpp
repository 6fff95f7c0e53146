// Learning-rate schedules at chosen epochs and steps against docs/recipe.md's values and PyTorch's
// formulas, and one SGD step against a hand-computed update.
#include "support/error_of.hpp"

#include <s8net/core/context.hpp>
#include <s8net/train/lr_schedule.hpp>
#include <s8net/train/sgd.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace {

using namespace s8net;

double lr_at(const ScheduleConfig& c, int64_t epoch, int64_t step = 0, int64_t epochs = 20, int64_t steps = 100) {
  return schedule_at(c, epochs, steps, epoch, step).learning_rate;
}

TEST(SeedSchedule, MatchesSpecsInterpolationAtEveryEpoch) {
  const ScheduleConfig seed;
  // np.interp(e, [0, 2, 8, 12, 20], [0.001, 0.01, 0.0002, 0.0001, 0]) for the epoch index e.
  const std::pair<int64_t, double> expected[] = {{0, 0.001},    {1, 0.0055},    {2, 0.01},     {3, 0.0083666667},
                                                 {5, 0.0051},   {8, 0.0002},    {10, 0.00015}, {12, 0.0001},
                                                 {16, 0.00005}, {19, 0.0000125}};
  for (const auto& [epoch, lr] : expected) EXPECT_NEAR(lr_at(seed, epoch), lr, 1e-10) << "epoch " << epoch;
  // Constant within an epoch.
  EXPECT_EQ(lr_at(seed, 1, 0), lr_at(seed, 1, 99));
  EXPECT_FALSE(schedule_at(seed, 20, 100, 1, 0).momentum.has_value());
}

TEST(OneCycle, FollowsPyTorchsTwoPhaseCosine) {
  ScheduleConfig c;
  c.kind = ScheduleKind::onecycle;
  c.learning_rate = 0.1;
  // 10 epochs x 100 steps: phase 1 ends at step 0.3 * 1000 - 1 = 299, phase 2 at 999.
  auto at = [&](int64_t step) { return schedule_at(c, 10, 100, step / 100, step % 100); };
  EXPECT_NEAR(at(0).learning_rate, 0.1 / 25, 1e-12);
  EXPECT_NEAR(*at(0).momentum, 0.95, 1e-12);
  EXPECT_NEAR(at(299).learning_rate, 0.1, 1e-12);
  EXPECT_NEAR(*at(299).momentum, 0.85, 1e-12);
  EXPECT_NEAR(at(999).learning_rate, 0.1 / 25 / 1e4, 1e-15);
  EXPECT_NEAR(*at(999).momentum, 0.95, 1e-12);
  // Mid phase 1 (step 149.5 would be the midpoint): step 100 is pct 100/299 of the way.
  const double pct1 = 100.0 / 299.0;
  EXPECT_NEAR(at(100).learning_rate, 0.1 + (0.004 - 0.1) / 2 * (std::cos(std::numbers::pi * pct1) + 1), 1e-12);
  // Phase 2 starts from phase 1's end step (PyTorch's start_step), so step 649 is its midpoint.
  EXPECT_NEAR(at(649).learning_rate, 0.1 / 25 / 1e4 + (0.1 - 0.1 / 25 / 1e4) / 2, 1e-12);
  EXPECT_NEAR(*at(649).momentum, 0.9, 1e-12);
  EXPECT_TRUE(changes_every_step(ScheduleKind::onecycle));
}

TEST(CosineAndStep, MatchPyTorchsPerEpochFormulas) {
  ScheduleConfig cosine;
  cosine.kind = ScheduleKind::cosine;
  cosine.learning_rate = 0.02;
  cosine.min_learning_rate = 0.002;
  EXPECT_NEAR(lr_at(cosine, 0), 0.02, 1e-12);
  EXPECT_NEAR(lr_at(cosine, 10), 0.011, 1e-12);
  EXPECT_NEAR(lr_at(cosine, 5), 0.002 + 0.018 * (1 + std::cos(std::numbers::pi / 4)) / 2, 1e-12);
  ScheduleConfig step;
  step.kind = ScheduleKind::step;
  step.learning_rate = 0.1;
  step.step_size = 3;
  step.gamma = 0.5;
  EXPECT_NEAR(lr_at(step, 2), 0.1, 1e-12);
  EXPECT_NEAR(lr_at(step, 3), 0.05, 1e-12);
  EXPECT_NEAR(lr_at(step, 7), 0.025, 1e-12);
}

TEST(Schedules, RefuseInvalidSettingsAndParsePoints) {
  ScheduleConfig c;
  c.points = {{0, 0.1}, {0, 0.2}};
  EXPECT_EQ(test::error_of([&] { validate(c); }), "schedule seed: epochs of the points must increase");
  c.kind = ScheduleKind::onecycle;
  c.pct_start = 1.5;
  EXPECT_EQ(test::error_of([&] { validate(c); }), "schedule onecycle: pct_start must be in (0, 1)");
  EXPECT_EQ(test::error_of([&] { parse_schedule_kind("linear"); }),
            "unknown schedule 'linear' (known: seed, onecycle, cosine, step, constant)");
  const auto points = parse_schedule_points("0:0.001,2:0.01,20:0");
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[1], (std::pair<double, double>{2, 0.01}));
  EXPECT_EQ(format_schedule_points(points), "0:0.001,2:0.01,20:0");
  // Rates a study scales (0.01 * 2 / 32) come back exactly, not to six digits, and in fixed notation.
  const std::vector<std::pair<double, double>> scaled = {{0, 0.01 * 2 / 32}, {8, 0.0002}, {20, 1.0 / 3}};
  EXPECT_EQ(format_schedule_points(scaled), "0:0.000625,8:0.0002,20:0.3333333333333333");
  EXPECT_EQ(parse_schedule_points(format_schedule_points(scaled)), scaled);
  EXPECT_EQ(test::error_of([&] { parse_schedule_points("0:0.001,2"); }),
            "schedule point '2': expected EPOCH:LR, e.g. 0:0.001,2:0.01");
}

// One parameter of three plain values.
struct Scalar3 {
  Context context;
  Parameter p;
  Scalar3() {
    const auto desc = dnnl::memory::desc({3}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
    p = {"p", Tensor(desc, context.engine()), Tensor(desc, context.engine())};
  }
};

TEST(Sgd, TwoStepsEqualTheHandComputedUpdate) {
  for (const bool nesterov : {false, true}) {
    Scalar3 s;
    const float x0[3] = {1.f, -2.f, 0.5f}, g1[3] = {0.1f, 0.2f, -0.3f}, g2[3] = {-0.4f, 0.0f, 0.25f};
    std::copy(x0, x0 + 3, s.p.value.data());
    const float lr = 0.1f, mu = 0.9f, wd = 0.01f;
    Sgd sgd({&s.p}, {lr, mu, wd, nesterov});
    double x[3], buf[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) x[i] = x0[i];
    for (const float* g : {g1, g2}) {
      std::copy(g, g + 3, s.p.grad.data());
      sgd.step();
      for (int i = 0; i < 3; ++i) {
        const double d = g[i] + wd * x[i];
        buf[i] = mu * buf[i] + d;
        x[i] -= lr * (nesterov ? d + mu * buf[i] : buf[i]);
      }
    }
    for (int i = 0; i < 3; ++i)
      EXPECT_NEAR(s.p.value.data()[i], x[i], 1e-6) << "nesterov " << nesterov << " element " << i;
    // Written out for the first element without Nesterov: step 1 d = 0.1 + 0.01 = 0.11, x = 0.989;
    // step 2 d = -0.4 + 0.00989 = -0.39011, buf = 0.099 - 0.39011 = -0.29111, x = 0.989 + 0.029111.
    if (!nesterov) {
      EXPECT_NEAR(s.p.value.data()[0], 1.018111, 1e-6);
    }
  }
}

// With decay on conv weights only, a conv's weight decays and its bias and a norm's scale do not:
// their one step is the plain momentum step.
TEST(Sgd, DecaysOnlyConvWeightsWhenAsked) {
  Context context;
  const auto desc = dnnl::memory::desc({2}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
  const auto make = [&](const std::string& name) {
    Parameter p{name, Tensor(desc, context.engine()), Tensor(desc, context.engine())};
    p.value.data()[0] = 2.f, p.value.data()[1] = -1.f;
    p.grad.data()[0] = 0.5f, p.grad.data()[1] = 0.25f;
    return p;
  };
  Parameter weight = make("C1.conv.weight"), bias = make("C1.conv.bias"), scale = make("C1.norm.weight");
  SgdOptions options{0.1f, 0.9f, 0.01f, false};
  options.decay_conv_weights_only = true;
  EXPECT_TRUE(is_weight_decayed(weight, options));
  EXPECT_FALSE(is_weight_decayed(bias, options));
  EXPECT_FALSE(is_weight_decayed(scale, options));
  Sgd sgd({&weight, &bias, &scale}, options);
  sgd.step();
  // Decayed: 2 - 0.1 * (0.5 + 0.01 * 2) = 1.948 and -1 - 0.1 * (0.25 - 0.01) = -1.024.
  EXPECT_NEAR(weight.value.data()[0], 1.948, 1e-6);
  EXPECT_NEAR(weight.value.data()[1], -1.024, 1e-6);
  // Not decayed: 2 - 0.1 * 0.5 = 1.95 and -1 - 0.1 * 0.25 = -1.025.
  for (const Parameter* p : {&bias, &scale}) {
    EXPECT_NEAR(p->value.data()[0], 1.95, 1e-6) << p->name;
    EXPECT_NEAR(p->value.data()[1], -1.025, 1e-6) << p->name;
  }
  // Without the option every parameter decays, as torch.optim.SGD does.
  options.decay_conv_weights_only = false;
  EXPECT_TRUE(is_weight_decayed(bias, options));
  EXPECT_TRUE(is_weight_decayed(scale, options));
}

}  // namespace
