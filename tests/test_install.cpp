// The installed package as its users meet it: `cmake --install` to a temporary prefix, then, outside
// the s8net tree, a CMake project linking s8net::s8net, a plugin built with the installed
// s8net_add_norm_plugin(), and a program built with pkg-config flags alone.
#include "support/app_runner.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/data/cifar_binary.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;
using s8net::test::AppRun;
using s8net::test::run_program;
using s8net::test::TempDir;

// For the shell that run_program hands the command to.
std::string quoted(const fs::path& path) { return std::string("'").append(path.string()).append("'"); }

// Configures and builds the CMake project in source (under tests/install) against the prefix.
AppRun build_project(const std::string& source, const fs::path& build, const fs::path& prefix) {
  const fs::path project = fs::path(S8NET_SOURCE_DIR) / "tests" / "install" / source;
  const AppRun configured =
      run_program("cmake", "-S " + quoted(project) + " -B " + quoted(build) +
                               " -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" + quoted(prefix));
  if (configured.exit_code != 0) return configured;
  return run_program("cmake", "--build " + quoted(build) + " --parallel 2");
}

class Installed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("install");
    installed_ = run_program("cmake", "--install " + quoted(S8NET_BUILD_DIR) + " --prefix " + quoted(prefix()));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
#ifdef __SANITIZE_ADDRESS__
    GTEST_SKIP() << "a sanitized libs8net.a links only into sanitized programs; the ci preset runs these";
#endif
    ASSERT_EQ(installed_.exit_code, 0) << installed_.all();
  }

  static fs::path prefix() { return *dir_ / "prefix"; }
  static std::string app() { return quoted(prefix() / "bin" / "s8net"); }

  static inline TempDir* dir_ = nullptr;
  static inline AppRun installed_;
};

TEST_F(Installed, PutsEachPieceInItsPlace) {
  for (const char* file : {"lib/libs8net.a", "include/s8net/s8net.hpp", "include/s8net/norm/plugin_api.h",
                           "include/s8net/norm/plugin_sdk.hpp", "lib/cmake/s8net/s8netConfig.cmake",
                           "lib/cmake/s8net/s8netConfigVersion.cmake", "lib/cmake/s8net/s8netNormPlugin.cmake",
                           "lib/pkgconfig/s8net.pc", "bin/s8net", "lib/s8net/plugins/s8net_norm_batchnorm.so",
                           "lib/s8net/plugins/s8net_norm_groupnorm.so", "lib/s8net/plugins/s8net_norm_layernorm.so",
                           "lib/s8net/plugins/s8net_norm_instancenorm.so"})
    EXPECT_TRUE(fs::is_regular_file(prefix() / file)) << file;
  if (fs::exists(fs::path(S8NET_BUILD_DIR) / "bin" / "bench_train")) {  // built unless S8NET_BUILD_BENCH=OFF
    for (const char* file : {"bin/bench_train", "bin/bench_norms", "bin/bench_report"})
      EXPECT_TRUE(fs::is_regular_file(prefix() / file)) << file;
  }
}

// No environment variable, no flag: the plugins are found relative to the installed executable,
// and S8NET_PLUGIN_PATH still adds to them.
TEST_F(Installed, AppFindsItsPluginsWithoutHelp) {
  const AppRun r = run_program("env -u S8NET_PLUGIN_PATH " + app(), "plugins");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  for (const char* name : {"\nbn ", "\ngn ", "\nin ", "\nln "}) EXPECT_CONTAINS(r.out, name);
  EXPECT_CONTAINS(r.out, (prefix() / "lib" / "s8net" / "plugins").string());

  const AppRun extra = run_program(app(), "plugins", "S8NET_PLUGIN_PATH=" + quoted(S8NET_TEST_PLUGIN_DIR "/affine"));
  ASSERT_EQ(extra.exit_code, 0) << extra.all();
  EXPECT_CONTAINS(extra.out, "\naffine ");
}

TEST_F(Installed, CMakeConsumerTrainsEvaluatesAndReloads) {
  const AppRun built = build_project("consumer", *dir_ / "consumer", prefix());
  ASSERT_EQ(built.exit_code, 0) << built.all();
  for (const std::string norm : {"gn", "in"}) {
    const AppRun r =
        run_program(quoted(*dir_ / "consumer" / "consumer"), norm + " " + quoted(*dir_ / (norm + ".ckpt")));
    EXPECT_EQ(r.exit_code, 0) << r.all();
    EXPECT_CONTAINS(r.out, std::string("norm ").append(norm).append(": 48178 parameters"));
    EXPECT_CONTAINS(r.out, "reloaded as " + norm + ": ");  // save_network stored the network's config
    // Only the installed plugins: not also those of the tree libs8net.a was built in.
    EXPECT_EQ(r.err, "");
  }
}

TEST_F(Installed, PkgConfigConsumerCompilesAndLinks) {
  const std::string flags =
      "$(PKG_CONFIG_PATH=" + quoted(prefix() / "lib" / "pkgconfig") + " pkg-config --cflags --libs s8net)";
  const fs::path source = fs::path(S8NET_SOURCE_DIR) / "tests" / "install" / "consumer" / "consumer.cpp";
  const fs::path binary = *dir_ / "consumer-pc";
  const AppRun built = run_program("c++", "-std=c++20 -O1 " + quoted(source) + " -o " + quoted(binary) + " " + flags);
  ASSERT_EQ(built.exit_code, 0) << built.all();
  const AppRun r = run_program(quoted(binary), "ln " + quoted(*dir_ / "pc.ckpt") + " " +
                                                   quoted(prefix() / "lib" / "s8net" / "plugins"));
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "norm ln: 48178 parameters");
  EXPECT_CONTAINS(r.out, "reloaded as ln: ");
  EXPECT_EQ(r.err, "");
}

// A plugin built outside the tree with the installed s8net_add_norm_plugin(): the installed app
// lists it, its conformance check passes, and it trains the network.
TEST_F(Installed, OutOfTreePluginLoadsPassesTheCheckAndTrains) {
  const fs::path build = *dir_ / "plugin";
  const AppRun built = build_project("plugin", build, prefix());
  ASSERT_EQ(built.exit_code, 0) << built.all();
  const fs::path plugin = build / "s8net_norm_rmsnorm.so";
  ASSERT_TRUE(fs::is_regular_file(plugin)) << built.all();

  const AppRun listed = run_program(app(), "plugins --plugin-dir " + quoted(build));
  EXPECT_EQ(listed.exit_code, 0) << listed.all();
  EXPECT_CONTAINS(listed.out, "\nrms ");

  const AppRun checked = run_program(app(), "plugin check " + quoted(plugin));
  EXPECT_EQ(checked.exit_code, 0) << checked.all();
  EXPECT_CONTAINS(checked.out, " 0 failed");

  s8net::write_cifar_binary(s8net::test::random_cifar(32, 16, 4), *dir_ / "data");
  const AppRun trained = run_program(app(), "train --norm rms --plugin-dir " + quoted(build) + " --data " +
                                                quoted(*dir_ / "data") + " --out " + quoted(*dir_ / "run") +
                                                " --epochs 1 --batch 16");
  EXPECT_EQ(trained.exit_code, 0) << trained.all();
  EXPECT_TRUE(fs::is_regular_file(*dir_ / "run" / "last.s8ckpt")) << trained.all();
}

// cpack's Debian packages: one per component, with the dependencies apt needs to install them on
// a fresh machine; the app and plugins, unpacked, run as installed under /usr would.
TEST_F(Installed, DebianPackagesCarryTheirDependenciesAndRun) {
  const fs::path packages = *dir_ / "packages";
  const AppRun made = run_program("cpack", "--config " + quoted(fs::path(S8NET_BUILD_DIR) / "CPackConfig.cmake") +
                                               " -B " + quoted(packages));
  ASSERT_EQ(made.exit_code, 0) << made.all();
  const auto deb = [&](const std::string& package) { return packages / (package + "_" S8NET_VERSION "_amd64.deb"); };
  const auto field = [&](const std::string& package, const std::string& name) {
    return run_program("dpkg-deb", "-f " + quoted(deb(package)) + " " + name).out;
  };
  for (const char* package : {"s8net", "s8net-plugins", "s8net-dev"})
    ASSERT_TRUE(fs::exists(deb(package))) << made.all();
  EXPECT_CONTAINS(field("s8net", "Depends"), "s8net-plugins (= " S8NET_VERSION ")");
  for (const char* library : {"libdnnl2", "libtbb12", "libboost-filesystem1.74.0", "libcairo2", "libturbojpeg0"})
    EXPECT_CONTAINS(field("s8net", "Depends"), library);
  EXPECT_CONTAINS(field("s8net-plugins", "Depends"), "libdnnl2");
  for (const char* dev : {"libdnnl-dev", "libtbb-dev", "libboost-filesystem-dev"})
    EXPECT_CONTAINS(field("s8net-dev", "Depends"), dev);

  const fs::path root = *dir_ / "root";
  for (const char* package : {"s8net", "s8net-plugins"})
    ASSERT_EQ(run_program("dpkg-deb", "-x " + quoted(deb(package)) + " " + quoted(root)).exit_code, 0) << package;
  const AppRun r = run_program("env -u S8NET_PLUGIN_PATH " + quoted(root / "usr" / "bin" / "s8net"), "plugins");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  for (const char* name : {"\nbn ", "\ngn ", "\nin ", "\nln "}) EXPECT_CONTAINS(r.out, name);
  EXPECT_CONTAINS(r.out, (root / "usr" / "lib" / "s8net" / "plugins").string());
}

}  // namespace
