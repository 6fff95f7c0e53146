// `s8net plugins` and the app's command-line handling, run as a user runs them, with stdout and
// stderr kept apart: listings go to stdout, every error is one line on stderr.
#include "support/app_runner.hpp"
#include "support/temp_dir.hpp"
#include "support/test_plugins.hpp"

#include <s8net/norm/plugin_descriptor.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string kTestPlugins = S8NET_TEST_PLUGIN_DIR;

using s8net::abi_text;
using s8net::test::AppRun;

AppRun run(const std::string& arguments, const std::string& environment = "") {
  return s8net::test::run_app(arguments, environment);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

// The one line of the listing that describes `name` ("" if none).
std::string line_of_plugin(const std::string& out, const std::string& name) {
  for (const std::string& line : lines_of(out))
    if (line.rfind(name + " ", 0) == 0) return line;
  return {};
}

// The line after `name`'s: its description ("" if none).
std::string description_of_plugin(const std::string& out, const std::string& name) {
  const std::vector<std::string> lines = lines_of(out);
  for (size_t i = 0; i + 1 < lines.size(); ++i)
    if (lines[i].rfind(name + " ", 0) == 0) return lines[i + 1];
  return {};
}

TEST(AppPlugins, ListsTheShippedPluginsWithVersionAbiOneDnnAndFile) {
  const AppRun r = run("plugins");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::string bn = line_of_plugin(r.out, "bn");
  EXPECT_CONTAINS(bn, " 0.1.0 ");
  EXPECT_CONTAINS(bn, std::string(" ").append(abi_text(S8NET_NORM_ABI_VERSION)).append(" "));
  EXPECT_CONTAINS(bn, " 2.6.3 ");
  EXPECT_CONTAINS(bn, (fs::canonical(S8NET_PLUGIN_DIR) / "s8net_norm_batchnorm.so").string());
  EXPECT_CONTAINS(line_of_plugin(r.out, "gn"), "s8net_norm_groupnorm.so");
  EXPECT_CONTAINS(line_of_plugin(r.out, "ln"), "s8net_norm_layernorm.so");
}

TEST(AppPlugins, ShowsEachPluginsDescriptionIndentedUnderIt) {
  const AppRun r = run(std::string("plugins --plugin-dir ") + kTestPlugins + "/affine");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(description_of_plugin(r.out, "bn"),
            "       BatchNorm: statistics per channel over (N, H, W); running stats in eval");
  EXPECT_EQ(description_of_plugin(r.out, "affine"), "       per-channel scale and shift, no statistics (test plugin)");
}

TEST(AppPlugins, ReportsEachBrokenFileOnStderrAndStillListsTheRest) {
  std::string arguments = "plugins";
  for (const char* test_case : {"no_entry", "wrong_abi", "not_elf", "affine"})
    arguments += " --plugin-dir " + kTestPlugins + "/" + test_case;
  const AppRun r = run(arguments);
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the good ones listed, the bad ones an error
  const std::vector<std::string> errors = lines_of(r.err);
  ASSERT_EQ(errors.size(), 3u) << r.err;
  EXPECT_CONTAINS(errors[0], "error: ");
  EXPECT_CONTAINS(errors[0], "s8net_norm_no_entry.so: no entry point s8net_norm_plugin_init");
  EXPECT_CONTAINS(errors[1], "s8net_norm_test_plugin_wrong_abi.so: plugin ABI 2.0 but s8net expects ABI 1.x");
  EXPECT_CONTAINS(errors[2], "bogus.so: cannot load");
  EXPECT_CONTAINS(line_of_plugin(r.out, "affine"), "1.2.3");
  for (const char* name : {"bn", "gn", "ln"}) EXPECT_NE(line_of_plugin(r.out, name), "") << name << "\n" << r.out;
}

TEST(AppPlugins, HonoursThePluginPathVariable) {
  const AppRun r = run("plugins", "S8NET_PLUGIN_PATH=" + kTestPlugins + "/affine:" + kTestPlugins + "/duplicate");
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the duplicate
  EXPECT_NE(line_of_plugin(r.out, "affine"), "") << r.out;
  // The variable's "bn" comes before the build tree's: the build tree's copy is the duplicate.
  EXPECT_CONTAINS(line_of_plugin(r.out, "bn"), "s8net_norm_test_plugin_duplicate.so");
  EXPECT_CONTAINS(r.err, "duplicate norm \"bn\"");
}

TEST(AppPlugins, HelpOnTheAppAndTheSubcommand) {
  for (const char* arguments : {"--help", "-h", "plugins --help", "plugins -h"}) {
    SCOPED_TRACE(arguments);
    const AppRun r = run(arguments);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_CONTAINS(r.out, "plugins");
  }
  EXPECT_CONTAINS(run("plugins --help").out, "--plugin-dir");
}

TEST(AppPlugins, ACommandLineMistakeIsOneLineNamingItAndExitCodeTwo) {
  const struct {
    const char* arguments;
    const char* named;
  } cases[] = {
      {"trian", "'trian'"},
      {"plugins --colour", "colour"},
      {"plugins --plugin-dir", "plugin-dir"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arguments);
    const AppRun r = run(c.arguments);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    ASSERT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_CONTAINS(r.err, c.named);
  }
}

// A plugin is code that runs as the user: a plugin file or directory anyone may write to is named.
TEST(AppPlugins, WarnsAboutAPluginThatEveryUserCanChange) {
  const s8net::test::TempDir dir("writable-plugin");
  fs::copy_file(s8net::test::only_file_in("affine"), dir / "affine.so");
  const auto quiet = s8net::test::run_app("plugins --plugin-dir " + dir.path().string());
  EXPECT_EQ(quiet.err.find("writable by every user"), std::string::npos) << quiet.err;
  fs::permissions(dir.path(), fs::perms::others_write, fs::perm_options::add);
  fs::permissions(dir / "affine.so", fs::perms::others_write, fs::perm_options::add);
  const auto warned = s8net::test::run_app("plugins --plugin-dir " + dir.path().string());
  EXPECT_EQ(warned.exit_code, 0) << warned.all();
  for (const fs::path& path : {dir / "affine.so", dir.path()})
    EXPECT_CONTAINS(warned.err, "warning: " + path.string() +
                                    " is writable by every user, so anyone can change the "
                                    "plugin code s8net runs (plugin 'affine'); remove that permission: chmod o-w " +
                                    path.string());
}

}  // namespace
