// `s8net plugin check`, the conformance checker plugin authors run: the shipped plugins and the
// test plugin pass it in every layout they declare, deliberately wrong plugins fail the check that
// catches them (and only that one), files that are no plugin fail "load", bad command lines are
// usage errors. The library's check_plugin is tested directly for streaming and skipping.
#include "support/app_runner.hpp"
#include "support/error_of.hpp"
#include "support/test_plugins.hpp"

#include <s8net/core/context.hpp>
#include <s8net/norm/plugin_descriptor.hpp>
#include <s8net/plugin_check/conformance.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace s8net {
namespace {

namespace fs = std::filesystem;
using test::AppRun;
using Outcome = CheckResult::Outcome;

const fs::path kPlugins = S8NET_PLUGIN_DIR;
const fs::path kTestPlugins = S8NET_TEST_PLUGIN_DIR;

using test::only_file_in;

AppRun check(const fs::path& file) { return test::run_app("plugin check " + file.string()); }

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> lines;
  std::stringstream stream(text);
  for (std::string line; std::getline(stream, line);)
    if (line.starts_with(prefix)) lines.push_back(line);
  return lines;
}

std::string shape_text(const ConformanceShape& s) {
  return std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

// ---- The app on good plugins ----------------------------------------------------------------------

class ShippedPluginCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(ShippedPluginCheck, PassesEveryCheckInEveryLayoutWithAndWithoutTheFusedRelu) {
  const fs::path file = kPlugins / ("s8net_norm_" + GetParam() + ".so");
  const AppRun r = check(file);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(lines_starting(r.out, "FAIL").empty()) << r.out;
  EXPECT_TRUE(lines_starting(r.out, "SKIP").empty()) << r.out;
  EXPECT_EQ(lines_starting(r.out, "PASS  load: ").size(), 1u) << r.out;
  // Only BatchNorm evaluates as a per-channel affine map, so only it offers eval_affine; the others
  // offer the map from the moments.
  const bool folds = GetParam() == "batchnorm";
  const bool from_moments = !folds;
  for (const std::string layout : {"nchw", "nChw8c", "nChw16c"})
    for (const ConformanceShape& shape : ConformanceOptions{}.shapes)
      for (const std::string relu : {"", " relu"}) {
        const std::string label = layout + " " + shape_text(shape) + relu + "\n";
        EXPECT_CONTAINS(r.out, "\nPASS  gradients " + label);
        if (folds) {
          EXPECT_CONTAINS(r.out, "\nPASS  eval affine " + label);
        }
        if (from_moments) {
          EXPECT_CONTAINS(r.out, "\nPASS  eval affine from moments " + label);
        }
      }
  EXPECT_EQ(lines_starting(r.out, "PASS  eval affine n").size(), folds ? 18u : 0u) << r.out;
  EXPECT_EQ(lines_starting(r.out, "PASS  eval affine from moments ").size(), from_moments ? 18u : 0u) << r.out;
  EXPECT_EQ(r.out.find("evaluates as an affine map (folds into a conv)") != std::string::npos, folds) << r.out;
  EXPECT_EQ(r.out.find("evaluates as an affine map of the moments") != std::string::npos, from_moments) << r.out;
  EXPECT_CONTAINS(r.out, "plugin check " + file.string() + ": ");
  EXPECT_CONTAINS(r.out, " passed, 0 failed, 0 skipped\n");
}

std::string plugin_case_name(const ::testing::TestParamInfo<std::string>& param) { return param.param; }

INSTANTIATE_TEST_SUITE_P(PluginCheck, ShippedPluginCheck,
                         ::testing::Values("batchnorm", "groupnorm", "layernorm", "instancenorm"), plugin_case_name);

TEST(PluginCheck, TheAffineTestPluginPasses) {
  const AppRun r = check(only_file_in("affine"));
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_TRUE(lines_starting(r.out, "FAIL").empty()) << r.out;
  EXPECT_CONTAINS(r.out, "PASS  gradients nChw16c 2x12x3x3\n");
  EXPECT_CONTAINS(r.out, "PASS  bounds nchw 2x4x3x5\n");
  // It cannot fuse the ReLU, so there is nothing to check with it.
  EXPECT_EQ(r.out.find(" relu\n"), std::string::npos) << r.out;
}

// ---- The app on wrong plugins ---------------------------------------------------------------------

struct OneDefect {
  AppRun run;
  std::vector<std::string> failures;  // the FAIL lines
};

// Checks a test plugin with one defect: exit 1, and at least one FAIL line, every one of them of
// the check named.
OneDefect check_one_defect(const std::string& test_case, const std::string& check_name) {
  OneDefect d{check(only_file_in(test_case)), {}};
  EXPECT_EQ(d.run.exit_code, 1) << d.run.all();
  d.failures = lines_starting(d.run.out, "FAIL");
  EXPECT_FALSE(d.failures.empty()) << d.run.out;
  for (const std::string& line : d.failures) EXPECT_TRUE(line.starts_with("FAIL  " + check_name + " ")) << line;
  return d;
}

TEST(PluginCheck, AnEvaluationThatDependsOnTheBatchFailsEvalPerSampleAndNothingElse) {
  const OneDefect d = check_one_defect("batch_eval", "eval per sample");
  EXPECT_EQ(d.failures.size(), 9u) << d.run.out;  // 3 layouts x 3 shapes
  EXPECT_CONTAINS(d.run.out, "FAIL  eval per sample nchw 2x4x3x5: forward (eval) of the last sample alone wrote y[0] ");
}

TEST(PluginCheck, AnEvalAffineThatDisagreesWithTheEvaluationFailsEvalAffineAndNothingElse) {
  const AppRun good = check(only_file_in("folds"));
  EXPECT_EQ(good.exit_code, 0) << good.all();
  EXPECT_CONTAINS(good.out, "PASS  eval affine nChw8c 3x16x4x4\n");

  const OneDefect d = check_one_defect("wrong_fold", "eval affine");
  EXPECT_EQ(d.failures.size(), 9u) << d.run.out;  // 3 layouts x 3 shapes, no fused ReLU
  for (const std::string& line : d.failures) EXPECT_CONTAINS(line, "but eval_affine's map gives");
  EXPECT_CONTAINS(d.run.out, "PASS  gradients nchw 2x4x3x5\n");
}

TEST(PluginCheck, AMapFromTheMomentsThatDisagreesWithTheEvaluationFailsThatCheckAndNothingElse) {
  const OneDefect d = check_one_defect("wrong_moments_map", "eval affine from moments");
  EXPECT_EQ(d.failures.size(), 18u) << d.run.out;  // 3 layouts x 3 shapes, with and without the ReLU
  for (const std::string& line : d.failures) EXPECT_CONTAINS(line, "but eval_affine_from_moments's map gives");
  EXPECT_CONTAINS(d.run.out, "PASS  gradients nchw 2x4x3x5\n");
  EXPECT_CONTAINS(d.run.out, "evaluates as an affine map of the moments");
}

TEST(PluginCheck, AMapFromTheMomentsWritingPastItsArraysFailsThatCheckAndNothingElse) {
  const OneDefect d = check_one_defect("moments_map_past_the_end", "eval affine from moments");
  EXPECT_EQ(d.failures.size(), 18u) << d.run.out;
  for (const std::string& line : d.failures)
    EXPECT_CONTAINS(line, "eval_affine_from_moments wrote past the end of scale (up to 4 bytes after it)");
}

TEST(PluginCheck, AWrongGradientFailsGradientsAndNothingElse) {
  const OneDefect d = check_one_defect("bad_gradient", "gradients");
  for (const std::string& line : d.failures) EXPECT_CONTAINS(line, "finite differences");
  EXPECT_CONTAINS(d.run.out, "FAIL  gradients nchw 2x4x3x5: dx[");
  EXPECT_CONTAINS(d.run.out, "PASS  forward nchw 2x4x3x5\n");
  EXPECT_CONTAINS(d.run.out, " failed, 0 skipped\n");
}

// The bad_gradient plugin is off by 25% everywhere: no kink rule may excuse that.
TEST(PluginCheck, AWrongGradientIsNotExcusedAsKinks) {
  const AppRun r = check(only_file_in("bad_gradient"));
  EXPECT_EQ(r.out.find("straddle a kink"), std::string::npos) << r.out;
}

// FRN's threshold max(z, tau) is a kink of the plugin's own function: central differences that
// straddle it say nothing about the gradient. A correct FRN passes whatever the seed (the entries
// at kinks differ from seed to seed), and says how many entries it did not compare.
TEST(PluginCheck, APluginWithKinksOfItsOwnPassesForEverySeed) {
  size_t excused = 0;
  for (int seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const AppRun r = test::run_app("plugin check " + only_file_in("frn").string() + " --seed " + std::to_string(seed));
    EXPECT_EQ(r.exit_code, 0) << r.all();
    EXPECT_TRUE(lines_starting(r.out, "FAIL").empty()) << r.out;
    for (const std::string& line : lines_starting(r.out, "PASS  gradients ")) {
      if (line.find(':') == std::string::npos) continue;
      ++excused;
      EXPECT_CONTAINS(line, " entries straddle a kink of the plugin's function, not compared (first: ");
    }
  }
  EXPECT_GT(excused, 0u) << "no seed put an entry at a kink: the test proves nothing";
}

TEST(PluginCheck, APluginWithKinksAndAWrongDxFailsGradientsForEverySeed) {
  for (int seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const AppRun r =
        test::run_app("plugin check " + only_file_in("frn_wrong_dx").string() + " --seed " + std::to_string(seed));
    EXPECT_EQ(r.exit_code, 1) << r.all();
    const std::vector<std::string> failures = lines_starting(r.out, "FAIL");
    EXPECT_EQ(failures.size(), 9u) << r.out;  // every case: 3 layouts x 3 shapes
    for (const std::string& line : failures) {
      EXPECT_TRUE(line.starts_with("FAIL  gradients ")) << line;
      EXPECT_CONTAINS(line, ": dx[");
    }
  }
}

TEST(PluginCheckLibrary, KinksBeyondTheAllowedFractionFail) {
  Context context;
  ConformanceOptions options;
  options.max_kink_fraction = 0;
  size_t failed = 0;
  for (uint32_t seed = 1; seed <= 8 && failed == 0; ++seed) {
    options.seed = seed;
    for (const CheckResult& result : check_plugin(only_file_in("frn"), context, options)) {
      if (result.outcome != Outcome::fail) continue;
      ++failed;
      EXPECT_TRUE(result.name.starts_with("gradients ")) << format_result(result);
      EXPECT_CONTAINS(result.detail, "straddle a kink of the plugin's function, more than the 0% the check excuses");
    }
  }
  EXPECT_GT(failed, 0u);
}

TEST(PluginCheck, AWriteOutOfBoundsFailsBoundsNamingTheBufferAndSide) {
  const OneDefect d = check_one_defect("writes_out_of_bounds", "bounds");
  EXPECT_CONTAINS(d.run.out,
                  "FAIL  bounds nchw 2x4x3x5: forward (train) wrote past the end of y (up to 4 bytes after it)");
}

// The checks run in a child process: a plugin that kills it is one FAIL line and a summary.
TEST(PluginCheck, APluginThatCrashesIsAFailLineAndASummary) {
  const AppRun r = check(only_file_in("crash_in_eval"));
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_CONTAINS(r.out, "PASS  tensors C=12\n");
  EXPECT_CONTAINS(r.out,
                  "FAIL  crash: the plugin crashed the checker with SIGABRT (Aborted), in the check after "
                  "\"tensors C=12\"; no later check ran\n");
  EXPECT_CONTAINS(r.out, ": 4 passed, 1 failed, 0 skipped\n");
}

// A plugin that never returns is stopped once no check has finished for --timeout seconds.
TEST(PluginCheck, APluginThatHangsIsStoppedAfterTheTimeoutAndFails) {
  const auto start = std::chrono::steady_clock::now();
  const AppRun r = test::run_app("plugin check --timeout 2 " + only_file_in("hang_in_eval").string());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60)) << "the checker waited for the hang";
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_CONTAINS(r.out, "PASS  tensors C=12\n");
  EXPECT_CONTAINS(r.out,
                  "FAIL  hang: no check finished within 2 s, in the check after \"tensors C=12\"; the checker was "
                  "stopped and no later check ran\n");
  EXPECT_CONTAINS(r.out, ": 4 passed, 1 failed, 0 skipped\n");
  EXPECT_EQ(r.out.find("crash"), std::string::npos) << r.out;
}

TEST(PluginCheck, ATimeoutOutsideItsRangeIsAUsageError) {
  for (const char* bad : {"0", "86401", "soon"}) {
    const AppRun r =
        test::run_app(std::string("plugin check --timeout ") + bad + " " + only_file_in("affine").string());
    EXPECT_EQ(r.exit_code, 2) << bad << r.all();
    EXPECT_CONTAINS(r.err, "--timeout");
  }
}

// Sizes are checked before any check reads through a view: a 2^40-float claim fails, it does not crash.
TEST(PluginCheck, AViewLargerThanTheAbiAllowsFailsBeforeItIsRead) {
  const AppRun r = check(only_file_in("huge_tensor"));
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_CONTAINS(r.out,
                  "FAIL  tensors C=4: tensors(parameters): view 'bias' claims 1099511627776 floats, more than "
                  "the ABI's limit of 16777216\n");
  EXPECT_EQ(r.out.find("crash"), std::string::npos) << r.out;
}

TEST(PluginCheck, ASeedOutsideItsRangeIsRefused) {
  for (const char* seed : {"-1", "4294967296", "x"}) {
    const AppRun r = test::run_app("plugin check " + only_file_in("affine").string() + " --seed " + seed);
    EXPECT_EQ(r.exit_code, 2) << seed << "\n" << r.all();
    EXPECT_CONTAINS(r.err, std::string("--seed '") + seed + "': expected a whole number from 0 to ");
  }
}

TEST(PluginCheck, FilesThatAreNoPluginFailLoadAndSkipTheRest) {
  const std::vector<std::pair<fs::path, std::string>> cases{
      {kTestPlugins / "not_elf" / "bogus.so", "invalid ELF header"}, {only_file_in("wrong_abi"), "ABI 2.0"}};
  for (const auto& [file, reason] : cases) {
    SCOPED_TRACE(file.string());
    const AppRun r = check(file);
    EXPECT_EQ(r.exit_code, 1) << r.all();
    const std::vector<std::string> failures = lines_starting(r.out, "FAIL");
    ASSERT_EQ(failures.size(), 1u) << r.out;
    EXPECT_TRUE(failures[0].starts_with("FAIL  load: " + file.string())) << failures[0];
    EXPECT_CONTAINS(failures[0], reason);
    EXPECT_TRUE(lines_starting(r.out, "PASS").empty()) << r.out;
    EXPECT_CONTAINS(r.out, "SKIP  gradients: the plugin did not load\n");
    EXPECT_CONTAINS(r.out, "SKIP  bounds: the plugin did not load\n");
    EXPECT_CONTAINS(r.out, "SKIP  eval affine: the plugin did not load\n");
    EXPECT_CONTAINS(r.out, "SKIP  eval affine from moments: the plugin did not load\n");
    EXPECT_CONTAINS(r.out, "SKIP  ranks: the plugin did not load\n");
    EXPECT_CONTAINS(r.out, ": 0 passed, 1 failed, 11 skipped\n");
  }
}

// ---- The command line -----------------------------------------------------------------------------

TEST(PluginCheck, AMissingFileIsOneErrorNamingIt) {
  const std::string missing = (kTestPlugins / "no_such_dir" / "missing.so").string();
  const AppRun r = check(missing);
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "s8net plugin: " + missing + ": no such file\n");
}

TEST(PluginCheck, BadCommandLinesAreUsageErrors) {
  for (const std::string arguments : {"plugin", "plugin frobnicate x.so", "plugin check", "plugin check a.so b.so",
                                      "plugin check --seed nine a.so"}) {
    SCOPED_TRACE(arguments);
    const AppRun r = test::run_app(arguments);
    EXPECT_EQ(r.exit_code, 2) << r.all();
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err, "");
  }
  EXPECT_CONTAINS(test::run_app("plugin").err, "usage: s8net plugin check FILE.so");
  const AppRun help = test::run_app("plugin --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_CONTAINS(help.out, "usage: s8net plugin check FILE.so");
  EXPECT_CONTAINS(test::run_app("--help").out, "plugin    check a normalization plugin file against the ABI");
}

TEST(PluginCheck, NormOptionsGoToEveryCreate) {
  const std::string gn = (kPlugins / "s8net_norm_groupnorm.so").string();
  const AppRun r = test::run_app("plugin check " + gn + " --norm-option groups=4 --norm-option eps=1e-3");
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "; created with eps=0.001 groups=4\n");
  EXPECT_CONTAINS(r.out, " passed, 0 failed, 0 skipped\n");

  // 3 groups split 12 channels but not 4 or 16: those cases are skipped with create()'s reason.
  const AppRun three = test::run_app("plugin check " + gn + " --norm-option groups=3");
  EXPECT_EQ(three.exit_code, 0) << three.all();
  EXPECT_CONTAINS(three.out, "PASS  gradients nChw8c 2x12x3x3 relu\n");
  EXPECT_CONTAINS(three.out,
                  "SKIP  gradients nchw 2x4x3x5: create(4 channels) refused: S8NET_ERROR_INVALID_ARGUMENT: ");
}

TEST(PluginCheck, ANormOptionThePluginDoesNotAcceptIsAUsageError) {
  const std::string gn = (kPlugins / "s8net_norm_groupnorm.so").string();
  const std::vector<std::pair<std::string, std::string>> cases{
      {"groups=0", "--norm-option groups=0: out of range for norm 'gn': an integer in [1, 1048576]"},
      {"groups=2.5", "--norm-option groups=2.5: out of range for norm 'gn'"},
      {"momentum=0.1", "--norm-option momentum=0.1: norm 'gn' has no option 'momentum' (it accepts: groups, eps)"},
      {"groups", "--norm-option 'groups': expected NAME=NUMBER"}};
  for (const auto& [option, message] : cases) {
    SCOPED_TRACE(option);
    const AppRun r = test::run_app("plugin check " + gn + " --norm-option " + option);
    EXPECT_EQ(r.exit_code, 2) << r.all();
    EXPECT_EQ(r.out, "");
    EXPECT_CONTAINS(r.err, message);
  }
}

// ---- The library ----------------------------------------------------------------------------------

TEST(PluginCheckLibrary, StreamsEachResultAsItFinishesAndReturnsThemAll) {
  Context context;
  ConformanceOptions options;
  options.shapes = {{2, 4, 3, 5}};
  std::vector<std::string> streamed;
  const std::vector<CheckResult> results =
      check_plugin(only_file_in("affine"), context, options,
                   [&](const CheckResult& result) { streamed.push_back(format_result(result)); });
  // load, tensors, then 8 checks in each of 3 layouts (not eval affine: the plugin does not offer it).
  ASSERT_EQ(results.size(), 26u);
  ASSERT_EQ(streamed.size(), results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(streamed[i], format_result(results[i]));
    EXPECT_EQ(results[i].outcome, Outcome::pass) << streamed[i];
  }
  EXPECT_EQ(streamed[0],
            "PASS  load: affine 1.2.3, ABI " + abi_text(S8NET_NORM_ABI_VERSION) + ", layouts nchw nChw8c nChw16c");
  EXPECT_EQ(streamed[1], "PASS  tensors C=4");
  EXPECT_EQ(streamed[2], "PASS  forward nchw 2x4x3x5");
  EXPECT_EQ(streamed[3], "PASS  gradients nchw 2x4x3x5");
}

TEST(PluginCheckLibrary, ShapesCreateRefusesAreSkippedWithItsReason) {
  Context context;
  ConformanceOptions options;
  options.shapes = {{2, 3, 2, 2}, {2, 4, 2, 2}};  // gn's 2 default groups cannot split 3 channels
  const std::vector<CheckResult> results = check_plugin(kPlugins / "s8net_norm_groupnorm.so", context, options);
  size_t skipped = 0;
  for (const CheckResult& result : results) {
    const bool three_channels = result.name.find("x3x") != std::string::npos || result.name == "tensors C=3";
    EXPECT_EQ(result.outcome, three_channels ? Outcome::skip : Outcome::pass) << format_result(result);
    if (result.outcome != Outcome::skip) continue;
    ++skipped;
    EXPECT_CONTAINS(result.detail, "S8NET_ERROR_INVALID_ARGUMENT");
    EXPECT_CONTAINS(result.detail, "3 channels");
  }
  // tensors, and every check (gn's 8, and the map from the moments) of 3 layouts with and without the ReLU
  EXPECT_EQ(skipped, 1u + 3 * 2 * 9);

  options.shapes = {{2, 3, 2, 2}};
  const std::vector<CheckResult> nothing_checked = check_plugin(kPlugins / "s8net_norm_groupnorm.so", context, options);
  ASSERT_FALSE(nothing_checked.empty());
  EXPECT_EQ(nothing_checked.back().name, "shapes");
  EXPECT_EQ(nothing_checked.back().outcome, Outcome::fail);
}

TEST(PluginCheckLibrary, AMissingFileThrowsInsteadOfReporting) {
  Context context;
  const fs::path missing = kTestPlugins / "missing.so";
  EXPECT_EQ(test::error_of([&] { check_plugin(missing, context); }), missing.string() + ": no such file");
}

// ---- Simulated ranks (plugin ABI 1.2's collective) ----------------------------------------------

TEST(PluginCheck, SynchronizedBatchNormOverSimulatedRanksComputesTheWholeBatch) {
  const AppRun r =
      test::run_app("plugin check " + (kPlugins / "s8net_norm_batchnorm.so").string() + " --norm-option sync=1");
  EXPECT_EQ(r.exit_code, 0) << r.all();
  const auto ranks = lines_starting(r.out, "PASS  ranks ");
  EXPECT_EQ(ranks.size(), 18u) << r.out;  // 3 layouts x 3 shapes, with and without the ReLU
  for (const std::string& line : ranks)
    EXPECT_TRUE(line.ends_with(": 2 simulated ranks compute what one instance does on the whole batch")) << line;
}

TEST(PluginCheck, BatchNormWithoutSyncNormalizesEachRanksShareAlone) {
  const AppRun r = check(kPlugins / "s8net_norm_batchnorm.so");
  EXPECT_EQ(r.exit_code, 0) << r.all();
  const auto ranks = lines_starting(r.out, "PASS  ranks ");
  EXPECT_EQ(ranks.size(), 18u) << r.out;
  for (const std::string& line : ranks)
    EXPECT_CONTAINS(line,
                    ": each of 2 simulated ranks normalizes its own share (no synchronization; the whole "
                    "batch differs: ");
}

TEST(PluginCheck, GroupNormNeedsNoSynchronizationToComputeTheWholeBatch) {
  const AppRun r = check(kPlugins / "s8net_norm_groupnorm.so");
  EXPECT_EQ(r.exit_code, 0) << r.all();
  for (const std::string& line : lines_starting(r.out, "PASS  ranks "))
    EXPECT_TRUE(line.ends_with(": 2 simulated ranks compute what one instance does on the whole batch")) << line;
}

TEST(PluginCheck, ACollectiveCalledOnOneRankOnlyFailsRanksInsteadOfHanging) {
  const OneDefect d = check_one_defect("one_rank_collective", "ranks");
  EXPECT_EQ(d.failures.size(), 9u) << d.run.out;  // 3 layouts x 3 shapes (no fused ReLU)
  EXPECT_CONTAINS(d.run.out, "simulated rank 0 waited in allreduce_sum_f32: a rank ended without calling it");
}

}  // namespace
}  // namespace s8net
