// A study's aggregate: the statistics over seeds against hand-computed values, and the report of
// a study directory made up here (2 norms x 2 batch sizes x 2 seeds, one point failed).
#include "support/error_of.hpp"
#include "support/pictures.hpp"
#include "support/temp_dir.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/report/study_figures.hpp>
#include <s8net/study/aggregate.hpp>
#include <s8net/train/train_config.hpp>
#include <s8net/train/trainer.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using namespace s8net::study;
using test::error_of;
using test::expect_picture;
using test::read_text;
using test::TempDir;

// Student's t quantiles t(0.975, dof) from the published tables.
constexpr double kT1 = 12.706204736174707, kT2 = 4.302652729911275;

TEST(Summarize, OneValueHasNoSpread) {
  const Summary s = summarize({71.5});
  EXPECT_EQ(s.count, 1);
  EXPECT_DOUBLE_EQ(s.mean, 71.5);
  EXPECT_DOUBLE_EQ(s.standard_deviation, 0);
  EXPECT_DOUBLE_EQ(s.interval_low, 71.5);
  EXPECT_DOUBLE_EQ(s.interval_high, 71.5);
  EXPECT_EQ(summarize({}).count, 0);
}

TEST(Summarize, TwoValues) {
  // {70, 74}: mean 72; squares about the mean 4 + 4 = 8 over n - 1 = 1: sd = sqrt(8) = 2.8284...;
  // standard error sd / sqrt(2) = 2; half-width t(0.975, 1) * 2 = 25.4124...
  const Summary s = summarize({70, 74});
  EXPECT_EQ(s.count, 2);
  EXPECT_DOUBLE_EQ(s.mean, 72);
  EXPECT_NEAR(s.standard_deviation, std::sqrt(8.0), 1e-12);
  EXPECT_NEAR(s.interval_low, 72 - kT1 * 2, 1e-9);
  EXPECT_NEAR(s.interval_high, 72 + kT1 * 2, 1e-9);
}

TEST(Summarize, ThreeValues) {
  // {70, 72, 74}: mean 72; squares 4 + 0 + 4 = 8 over n - 1 = 2: sd = 2; standard error
  // 2 / sqrt(3) = 1.1547...; half-width t(0.975, 2) * 1.1547... = 4.9683: [67.0317, 76.9683].
  const Summary s = summarize({70, 72, 74});
  EXPECT_EQ(s.count, 3);
  EXPECT_DOUBLE_EQ(s.mean, 72);
  EXPECT_NEAR(s.standard_deviation, 2, 1e-12);
  EXPECT_NEAR(s.interval_high - s.mean, kT2 * 2 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(s.interval_low, 67.0317245763125, 1e-9);
  EXPECT_NEAR(s.interval_high, 76.9682754236875, 1e-9);
}

}  // namespace
