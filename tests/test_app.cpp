// The s8net app as a user runs it: output, exit codes and error messages.
#include "support/app_runner.hpp"

#include <s8net/norm/plugin_descriptor.hpp>

#include <string>

namespace {

using s8net::abi_text;
using s8net::test::AppRun;

AppRun run(const std::string& arguments) { return s8net::test::run_app(arguments); }

TEST(App, SummaryPrintsTheTableAndTheTotal) {
  const AppRun r = run("summary --norm bn");
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.all(), "C5     conv3x3+bn+relu+skip         32 x 16 x 16        9,312");
  EXPECT_CONTAINS(r.all(), "Total params: 48,178");
  const AppRun gn = run("summary --norm gn --norm-option groups=4 --implementations");
  EXPECT_EQ(gn.exit_code, 0) << gn.all();
  EXPECT_CONTAINS(gn.all(), "Total params: 48,178");
  EXPECT_CONTAINS(gn.all(), "C2.conv: fwd ");
}

TEST(App, PluginsListsTheShippedOnesAndReportsBrokenFiles) {
  const AppRun r = run("plugins");
  EXPECT_EQ(r.exit_code, 0) << r.all();
  // The shipped plugins are built against the ABI of this tree's plugin_api.h.
  const std::string bn = "bn     0.1.0    " + abi_text(S8NET_NORM_ABI_VERSION) + "   2.6.3";
  for (const std::string& line : {bn, std::string("gn     0.2.0"), std::string("ln     0.2.0")})
    EXPECT_CONTAINS(r.all(), line);
  const AppRun broken = run(std::string("plugins --plugin-dir ") + S8NET_TEST_PLUGIN_DIR + "/wrong_abi --plugin-dir " +
                            S8NET_TEST_PLUGIN_DIR + "/affine");
  EXPECT_EQ(broken.exit_code, 1) << broken.all();  // still listed, but a broken file is an error
  EXPECT_CONTAINS(broken.all(), "error: ");
  EXPECT_CONTAINS(broken.all(), "s8net_norm_test_plugin_wrong_abi.so: plugin ABI 2.0");
  EXPECT_CONTAINS(broken.all(), "affine 1.2.3");
  EXPECT_CONTAINS(broken.all(), "bn     0.1.0");
}

TEST(App, HelpEverywhere) {
  EXPECT_EQ(run("--help").exit_code, 0);
  for (const char* command : {"summary", "plugins"}) {
    const AppRun r = run(std::string(command) + " --help");
    EXPECT_EQ(r.exit_code, 0) << r.all();
    EXPECT_CONTAINS(r.all(), "--plugin-dir");
  }
}

TEST(App, BadInputGetsOneClearErrorAndANonZeroExit) {
  // Exit 2: the command line itself is wrong; exit 1: a well-formed request that cannot be met.
  const struct {
    const char* arguments;
    int exit_code;
    const char* message;
  } cases[] = {
      {"summary --norm xn", 2, "unknown norm 'xn' (known: bn from "},
      {"trian", 2, "unknown command 'trian'"},
      {"summary --norm bn --colour", 2, "colour"},
      {"summary", 2, "norm"},
      {"summary --norm gn --norm-option groups", 2, "--norm-option 'groups': expected NAME=NUMBER"},
      {"summary --norm gn --norm-option groups=3", 2, "16 channels cannot be split into 3 equal groups"},
      {"summary --norm bn --layout nhwc", 2, "unknown layout 'nhwc'"},
      {"report runs/a runs/b", 2, "unexpected argument 'runs/b' (this command takes 1 argument without a flag)"},
      {"plugin check a.so b.so", 2, "unexpected argument 'b.so'"},
      {"plugin check a.so --seed -1", 2, "--seed '-1': expected a whole number from 0 to 4294967295"},
      {"summary --norm gn --norm-option groups=4 --norm-option groups=8", 2,
       "--norm-option 'groups=8': groups is given twice"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arguments);
    const AppRun r = run(c.arguments);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.all();
    EXPECT_CONTAINS(r.all(), c.message);
  }
}

}  // namespace
