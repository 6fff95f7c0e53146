// `s8net plugin check`, the conformance checker plugin authors run: the shipped plugins and the
// test plugin pass it in every layout they declare, deliberately wrong plugins fail the check that
// catches them (and only that one), files that are no plugin fail "load", bad command lines are
// usage errors. The library's check_plugin is tested directly for streaming and skipping.
#include "support/app_runner.hpp"
#include "support/error_of.hpp"
#include "support/test_plugins.hpp"

#include <s8net/core/context.hpp>
#include <s8net/norm/conformance.hpp>
#include <s8net/norm/loaded_plugin.hpp>

#include <gtest/gtest.h>

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
  // Only BatchNorm evaluates as a per-channel affine map, so only it offers eval_affine.
  const bool folds = GetParam() == "batchnorm";
  for (const std::string layout : {"nchw", "nChw8c", "nChw16c"})
    for (const ConformanceShape& shape : ConformanceOptions{}.shapes)
      for (const std::string relu : {"", " relu"}) {
        EXPECT_CONTAINS(r.out, "\nPASS  gradients " + layout + " " + shape_text(shape) + relu + "\n");
        if (folds) {
          EXPECT_CONTAINS(r.out, "\nPASS  eval affine " + layout + " " + shape_text(shape) + relu + "\n");
        }
      }
  EXPECT_EQ(lines_starting(r.out, "PASS  eval affine ").size(), folds ? 18u : 0u) << r.out;
  EXPECT_EQ(r.out.find("evaluates as an affine map (folds into a conv)") != std::string::npos, folds) << r.out;
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

TEST(PluginCheck, AWrongGradientFailsGradientsAndNothingElse) {
  const OneDefect d = check_one_defect("bad_gradient", "gradients");
  for (const std::string& line : d.failures) EXPECT_CONTAINS(line, "finite differences");
  EXPECT_CONTAINS(d.run.out, "FAIL  gradients nchw 2x4x3x5: dx[");
  EXPECT_CONTAINS(d.run.out, "PASS  forward nchw 2x4x3x5\n");
  EXPECT_CONTAINS(d.run.out, " failed, 0 skipped\n");
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
  EXPECT_CONTAINS(r.out, "FAIL  crash: the plugin crashed the checker with SIGABRT (Aborted), in the check after "
                         "\"tensors C=12\"; no later check ran\n");
  EXPECT_CONTAINS(r.out, ": 4 passed, 1 failed, 0 skipped\n");
}

// Sizes are checked before any check reads through a view: a 2^40-float claim fails, it does not crash.
TEST(PluginCheck, AViewLargerThanTheAbiAllowsFailsBeforeItIsRead) {
  const AppRun r = check(only_file_in("huge_tensor"));
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_CONTAINS(r.out, "FAIL  tensors C=4: tensors(parameters): view 'bias' claims 1099511627776 floats, more than "
                         "the ABI's limit of 16777216\n");
  EXPECT_EQ(r.out.find("crash"), std::string::npos) << r.out;
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
    EXPECT_CONTAINS(r.out, ": 0 passed, 1 failed, 9 skipped\n");
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

// ---- The library ----------------------------------------------------------------------------------

TEST(PluginCheckLibrary, StreamsEachResultAsItFinishesAndReturnsThemAll) {
  Context context;
  ConformanceOptions options;
  options.shapes = {{2, 4, 3, 5}};
  std::vector<std::string> streamed;
  const std::vector<CheckResult> results =
      check_plugin(only_file_in("affine"), context, options,
                   [&](const CheckResult& result) { streamed.push_back(format_result(result)); });
  // load, tensors, then 7 checks in each of 3 layouts (not eval affine: the plugin does not offer it).
  ASSERT_EQ(results.size(), 23u);
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
  EXPECT_EQ(skipped, 1u + 3 * 2 * 7);  // tensors, and every check of 3 layouts with and without the ReLU

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

}  // namespace
}  // namespace s8net
