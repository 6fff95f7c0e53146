// The installed package as its users meet it: `cmake --install` to a temporary prefix, then, outside
// the s8net tree, the documentation's CMake project linking s8net::s8net, its plugin project built
// with the installed s8net_add_norm_plugin(), a project drawing with s8net::report, and programs
// built with pkg-config flags alone. The two documented CMake projects' CMakeLists.txt are taken
// from docs/library.md and docs/plugins.md themselves, so what a reader copies is what is tested;
// their sources are tests/install/consumer/consumer.cpp and plugin/rms_norm.cpp. The report project
// is tests/install/report_consumer/.
#include "support/app_runner.hpp"
#include "support/documentation.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/data/cifar_binary.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace {

namespace fs = std::filesystem;
using s8net::test::AppRun;
using s8net::test::run_program;
using s8net::test::TempDir;

// For the shell that run_program hands the command to.
std::string quoted(const fs::path& path) { return std::string("'").append(path.string()).append("'"); }

// A CMake project as a reader makes it from the documentation: the fenced cmake block after
// `heading` of `document` as its CMakeLists.txt, beside a copy of `source`. Returns the
// CMakeLists.txt's text.
std::string make_documented_project(const fs::path& project, const std::string& document, const std::string& heading,
                                    const fs::path& source) {
  const std::string lists = s8net::test::documentation_block_after(document, heading, "cmake");
  fs::create_directories(project);
  std::ofstream(project / "CMakeLists.txt") << lists;
  fs::copy_file(source, project / source.filename(), fs::copy_options::overwrite_existing);
  return lists;
}

fs::path install_source(const std::string& file) { return fs::path(S8NET_SOURCE_DIR) / "tests" / "install" / file; }

// The value of `name` in a CMake build directory's cache, or nothing when the cache has no such entry.
std::optional<std::string> cache_entry(const fs::path& build, const std::string& name) {
  std::ifstream cache(build / "CMakeCache.txt");
  for (std::string line; std::getline(cache, line);) {
    if (line.rfind(name + ":", 0) != 0) continue;
    const size_t equals = line.find('=');
    return equals == std::string::npos ? std::string() : line.substr(equals + 1);
  }
  return std::nullopt;
}

// The link command CMake generated for `target` in a build directory, with either generator: the
// Makefiles' link.txt, or the target's block of build.ninja ("" when neither has it).
std::string link_command(const fs::path& build, const std::string& target) {
  const fs::path link_txt = build / "CMakeFiles" / (target + ".dir") / "link.txt";
  if (fs::exists(link_txt)) return s8net::test::text_of(link_txt);
  const std::string ninja = s8net::test::text_of(build / "build.ninja");
  const size_t at = ninja.find("\nbuild " + target + ":");
  if (at == std::string::npos) return {};
  return ninja.substr(at, ninja.find("\n\n", at + 1) - at);
}

// How often `part` occurs in `text`.
size_t count_of(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++count;
  return count;
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
  for (const char* file : {"lib/libs8net.a",
                           "include/s8net/s8net.hpp",
                           "include/s8net/norm/plugin_api.h",
                           "include/s8net/norm/plugin_sdk.hpp",
                           "lib/cmake/s8net/s8netConfig.cmake",
                           "lib/cmake/s8net/s8netConfigVersion.cmake",
                           "lib/cmake/s8net/s8netNormPlugin.cmake",
                           "lib/pkgconfig/s8net.pc",
                           "lib/libs8net_report.a",
                           "lib/pkgconfig/s8net-report.pc",
                           "lib/libs8net_image_import.a",
                           "lib/pkgconfig/s8net-image-import.pc",
                           "lib/cmake/s8net/s8netImageImportTargets.cmake",
                           "include/s8net/image_import.hpp",
                           "include/s8net/data/image_codec.hpp",
                           "include/s8net/data/any_data_source.hpp",
                           "lib/cmake/s8net/s8netReportTargets.cmake",
                           "include/s8net/report/figures.hpp",
                           "include/s8net/study/aggregate.hpp",
                           "include/s8net/study/grid.hpp",
                           "include/s8net/norm/plugin_search.hpp",
                           "bin/s8net",
                           "lib/s8net/plugins/s8net_norm_batchnorm.so",
                           "lib/s8net/plugins/s8net_norm_groupnorm.so",
                           "lib/s8net/plugins/s8net_norm_layernorm.so",
                           "lib/s8net/plugins/s8net_norm_instancenorm.so"})
    EXPECT_TRUE(fs::is_regular_file(prefix() / file)) << file;
  if (fs::exists(fs::path(S8NET_BUILD_DIR) / "bin" / "bench_train")) {  // built unless S8NET_BUILD_BENCH=OFF
    for (const char* file : {"bin/bench_train", "bin/bench_norms", "bin/bench_report"})
      EXPECT_TRUE(fs::is_regular_file(prefix() / file)) << file;
  }
}

// What a project including s8net's headers sees: no Boost.DLL (how the library loads plugins is its
// own business), and neither the library's private headers nor the conformance checker's, which
// live in libraries of their own.
TEST_F(Installed, HeadersIncludeNoBoostDllAndLeaveThePrivateOnesOut) {
  const fs::path include = prefix() / "include" / "s8net";
  size_t headers = 0;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(include)) {
    if (!entry.is_regular_file()) continue;
    ++headers;
    EXPECT_EQ(s8net::test::text_of(entry.path()).find("boost/dll"), std::string::npos) << entry.path();
  }
  EXPECT_GT(headers, 20u) << "the headers were not installed where this test looks";
  EXPECT_TRUE(fs::is_regular_file(include / "norm" / "plugin_instance.hpp"));
  for (const char* file : {"norm/loaded_plugin.hpp", "norm/conformance.hpp", "plugin_check"})
    EXPECT_FALSE(fs::exists(include / file)) << file;
}

// No environment variable, no flag: the plugins are found relative to the installed executable,
// and S8NET_PLUGIN_PATH still adds to them. The build tree this was installed from has bn, gn, in
// and ln too, beside its own app: the installed app finds each once, the installed copy (a second
// one would be a duplicate-name failure and exit code 1).
TEST_F(Installed, AppFindsItsPluginsWithoutHelp) {
  const AppRun r = run_program("env -u S8NET_PLUGIN_PATH " + app(), "plugins");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  for (const char* name : {"\nbn ", "\ngn ", "\nin ", "\nln "}) EXPECT_EQ(count_of(r.out, name), 1u) << name << r.out;
  EXPECT_EQ(count_of(r.out, (prefix() / "lib" / "s8net" / "plugins").string()), 4u) << r.out;
  EXPECT_EQ(r.out.find(fs::canonical(S8NET_PLUGIN_DIR).string()), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");

  const AppRun extra = run_program(app(), "plugins", "S8NET_PLUGIN_PATH=" + quoted(S8NET_TEST_PLUGIN_DIR "/affine"));
  ASSERT_EQ(extra.exit_code, 0) << extra.all();
  EXPECT_CONTAINS(extra.out, "\naffine ");
}

// The documentation's project sets no C++ standard: s8net::s8net brings C++20 with it. Configured without
// a build type, as a first try usually is.
TEST_F(Installed, ReadmeCMakeProjectBuildsWithoutAStandardOfItsOwnAndRuns) {
  const fs::path project = *dir_ / "consumer";
  const std::string lists = make_documented_project(project, "docs/library.md", "## A project that links the library",
                                                    install_source("consumer/consumer.cpp"));
  ASSERT_NE(lists.find("target_link_libraries(consumer PRIVATE s8net::s8net)"), std::string::npos) << lists;
  EXPECT_EQ(lists.find("CMAKE_CXX_STANDARD"), std::string::npos) << lists;
  const AppRun configured = run_program("cmake", "-S " + quoted(project) + " -B " + quoted(project / "build") +
                                                     " -DCMAKE_PREFIX_PATH=" + quoted(prefix()));
  ASSERT_EQ(configured.exit_code, 0) << configured.all();
  const AppRun built = run_program("cmake", "--build " + quoted(project / "build") + " --parallel 2");
  ASSERT_EQ(built.exit_code, 0) << built.all();
  // The whole package looks for the library's dependencies (what the SDK component spares a plugin).
  EXPECT_TRUE(cache_entry(project / "build", "Boost_DIR"));
  // A program that only trains links no cairo (figures and pages are s8net::report's) and no image
  // decoder or archive reader (s8net::image_import's).
  const std::string link = link_command(project / "build", "consumer");
  EXPECT_CONTAINS(link, "libs8net.a");
  for (const char* library : {"cairo", "s8net_report", "s8net_image_import", "png", "jpeg", "archive"})
    EXPECT_EQ(link.find(library), std::string::npos) << library << " in " << link;

  for (const std::string norm : {"gn", "in"}) {
    const AppRun r = run_program(quoted(project / "build" / "consumer"), norm + " " + quoted(*dir_ / (norm + ".ckpt")));
    EXPECT_EQ(r.exit_code, 0) << r.all();
    EXPECT_CONTAINS(r.out, std::string("norm ").append(norm).append(": 48178 parameters"));
    EXPECT_CONTAINS(r.out, "reloaded as " + norm + ": ");  // save_network stored the network's config
    // Only the installed plugins: not also those of the tree libs8net.a was built in.
    EXPECT_EQ(r.err, "");
  }
}

// Built with pkg-config's flags alone; the plugins come from the directory the documentation's
// `pkg-config --variable=plugindir s8net` names, through S8NET_PLUGIN_PATH.
TEST_F(Installed, PkgConfigConsumerCompilesLinksAndFindsThePlugins) {
  const std::string pkg_config = "PKG_CONFIG_PATH=" + quoted(prefix() / "lib" / "pkgconfig") + " pkg-config";
  const std::string flags = "$(" + pkg_config + " --cflags --libs s8net)";
  const fs::path binary = *dir_ / "consumer-pc";
  const AppRun built = run_program("c++", "-std=c++20 -O1 " + quoted(install_source("consumer/consumer.cpp")) + " -o " +
                                              quoted(binary) + " " + flags);
  ASSERT_EQ(built.exit_code, 0) << built.all();
  EXPECT_CONTAINS(s8net::test::documentation_text("docs/library.md"),
                  "S8NET_PLUGIN_PATH=$(pkg-config --variable=plugindir s8net) ./app");
  const AppRun r = run_program(quoted(binary), "ln " + quoted(*dir_ / "pc.ckpt"),
                               "S8NET_PLUGIN_PATH=$(" + pkg_config + " --variable=plugindir s8net)");
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "norm ln: 48178 parameters");
  EXPECT_CONTAINS(r.out, "reloaded as ln: ");
  EXPECT_EQ(r.err, "");
}

// A project linking s8net::report alone gets the core and cairo with it, and draws.
TEST_F(Installed, ReportCMakeProjectLinksTheCoreAndCairoAndDraws) {
  const fs::path project = *dir_ / "report_consumer";
  fs::create_directories(project);
  for (const char* file : {"CMakeLists.txt", "report_consumer.cpp"})
    fs::copy_file(install_source(std::string("report_consumer/") + file), project / file,
                  fs::copy_options::overwrite_existing);
  const AppRun configured = run_program("cmake", "-S " + quoted(project) + " -B " + quoted(project / "build") +
                                                     " -DCMAKE_PREFIX_PATH=" + quoted(prefix()));
  ASSERT_EQ(configured.exit_code, 0) << configured.all();
  const AppRun built = run_program("cmake", "--build " + quoted(project / "build") + " --parallel 2");
  ASSERT_EQ(built.exit_code, 0) << built.all();
  const std::string link = link_command(project / "build", "report_consumer");
  for (const char* library : {"libs8net_report.a", "libs8net_image_import.a", "libs8net.a", "cairo", "png"})
    EXPECT_CONTAINS(link, library);

  const AppRun r = run_program(quoted(project / "build" / "report_consumer"), quoted(*dir_ / "cmake-figure.png"));
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "figure 640x360");
}

// Three pkg-config modules: s8net (no cairo, no decoder, no libarchive), s8net-image-import (the
// decoders and libarchive) and s8net-report (cairo); each library before those it needs, so that a
// static link resolves.
TEST_F(Installed, PkgConfigReportModuleBuildsAndTheCoreModuleNamesNoCairoNorDecoders) {
  const std::string pkg_config = "PKG_CONFIG_PATH=" + quoted(prefix() / "lib" / "pkgconfig") + " pkg-config";
  const AppRun core = run_program(pkg_config, "--libs s8net");
  ASSERT_EQ(core.exit_code, 0) << core.all();
  EXPECT_CONTAINS(core.out, "-ls8net ");
  for (const char* library : {"cairo", "s8net_report", "s8net_image_import", "png", "jpeg", "archive"})
    EXPECT_EQ(core.out.find(library), std::string::npos) << library << " in " << core.out;

  const AppRun import = run_program(pkg_config, "--libs s8net-image-import");
  ASSERT_EQ(import.exit_code, 0) << import.all();
  for (const char* library : {"-lpng", "-lturbojpeg", "-larchive"}) EXPECT_CONTAINS(import.out, library);
  EXPECT_EQ(import.out.find("cairo"), std::string::npos) << import.out;
  EXPECT_LT(import.out.find("-ls8net_image_import"), import.out.find("-ls8net ")) << import.out;

  const AppRun report = run_program(pkg_config, "--libs s8net-report");
  ASSERT_EQ(report.exit_code, 0) << report.all();
  EXPECT_CONTAINS(report.out, "cairo");
  EXPECT_LT(report.out.find("-ls8net_report"), report.out.find("-ls8net_image_import")) << report.out;
  EXPECT_LT(report.out.find("-ls8net_image_import"), report.out.find("-ls8net ")) << report.out;

  const fs::path binary = *dir_ / "report-consumer-pc";
  const AppRun built =
      run_program("c++", "-std=c++20 -O1 " + quoted(install_source("report_consumer/report_consumer.cpp")) + " -o " +
                             quoted(binary) + " $(" + pkg_config + " --cflags --libs s8net-report)");
  ASSERT_EQ(built.exit_code, 0) << built.all();
  const AppRun r = run_program(quoted(binary), quoted(*dir_ / "pc-figure.png"));
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "figure 640x360");
}

// The installed libraries carry no path of the tree they were built in: a program finds plugins
// relative to itself (norm/plugin_search.hpp), not in a directory compiled in. Debug information,
// which names where each file was compiled, is stripped from a copy first.
TEST_F(Installed, LibrariesNameNoPathOfTheTreeTheyWereBuiltIn) {
#ifndef NDEBUG
  GTEST_SKIP() << "assert() names its source files in a build with assertions";
#endif
  for (const char* library : {"libs8net.a", "libs8net_image_import.a", "libs8net_report.a"}) {
    const fs::path copy = *dir_ / (std::string("stripped-") + library);
    fs::copy_file(prefix() / "lib" / library, copy, fs::copy_options::overwrite_existing);
    const AppRun stripped = run_program("strip", "--strip-debug " + quoted(copy));
    ASSERT_EQ(stripped.exit_code, 0) << stripped.all();
    const std::string bytes = s8net::test::text_of(copy);
    ASSERT_GT(bytes.size(), 1000u) << library;
    EXPECT_EQ(bytes.find(S8NET_BUILD_DIR), std::string::npos) << library << " names " << S8NET_BUILD_DIR;
    EXPECT_EQ(bytes.find(S8NET_SOURCE_DIR), std::string::npos) << library << " names " << S8NET_SOURCE_DIR;
  }
}

// The documentation's plugin project built with the documentation's commands, exactly as written but for the
// prefix: no build type. Built once for the tests that look at it; compile_commands.json comes from
// the environment variable CMake reads, so the command line stays the documentation's.
struct DocumentedPluginBuild {
  fs::path build;
  std::string lists;
  AppRun result;
};

const DocumentedPluginBuild& documented_plugin_build(const fs::path& dir, const fs::path& prefix) {
  static const DocumentedPluginBuild made = [&] {
    DocumentedPluginBuild b;
    const fs::path project = dir / "rms";
    b.build = project / "build";
    b.lists = make_documented_project(project, "docs/plugins.md", "## Write a normalization plugin",
                                      install_source("plugin/rms_norm.cpp"));
    std::string command = s8net::test::documentation_line_starting("docs/plugins.md", "cmake -S rms -B rms/build ");
    const std::string documented_prefix = "/opt/s8net";
    if (const size_t at = command.find(documented_prefix); at != std::string::npos)
      command.replace(at, documented_prefix.size(), quoted(prefix));
    if (command.empty()) {
      b.result.err = "docs/plugins.md has no line starting with 'cmake -S rms -B rms/build '";
      return b;
    }
    // Both commands of the line in one group, so that the stderr of each is kept.
    b.result = run_program("cd " + quoted(dir) + " && export CMAKE_EXPORT_COMPILE_COMMANDS=ON && {", command + "; }");
    return b;
  }();
  return made;
}

// find_package(s8net COMPONENTS library) looks for neither cairo nor the image decoders nor
// libarchive, and a program that trains links without them.
TEST_F(Installed, LibraryComponentLooksForNoDecoderAndLinksWithoutThem) {
  const fs::path project = *dir_ / "library_component";
  fs::create_directories(project);
  std::ofstream(project / "CMakeLists.txt") << "cmake_minimum_required(VERSION 3.25)\n"
                                               "project(trainer LANGUAGES CXX)\n"
                                               "find_package(s8net 0.1 REQUIRED COMPONENTS library)\n"
                                               "if(TARGET s8net::image_import OR TARGET s8net::report)\n"
                                               "  message(FATAL_ERROR \"more than the library was loaded\")\n"
                                               "endif()\n"
                                               "add_executable(trainer consumer.cpp)\n"
                                               "target_link_libraries(trainer PRIVATE s8net::s8net)\n";
  fs::copy_file(install_source("consumer/consumer.cpp"), project / "consumer.cpp",
                fs::copy_options::overwrite_existing);
  const AppRun configured = run_program("cmake", "-S " + quoted(project) + " -B " + quoted(project / "build") +
                                                     " -DCMAKE_PREFIX_PATH=" + quoted(prefix()));
  ASSERT_EQ(configured.exit_code, 0) << configured.all();
  for (const char* entry : {"libjpeg-turbo_DIR", "PNG_LIBRARY_RELEASE", "LibArchive_LIBRARY", "PKG_CONFIG_EXECUTABLE"})
    EXPECT_FALSE(cache_entry(project / "build", entry)) << entry << " in the library project's cache";
  EXPECT_TRUE(cache_entry(project / "build", "dnnl_DIR"));
  const AppRun built = run_program("cmake", "--build " + quoted(project / "build") + " --parallel 2");
  ASSERT_EQ(built.exit_code, 0) << built.all();
  const std::string link = link_command(project / "build", "trainer");
  EXPECT_CONTAINS(link, "libs8net.a");
  for (const char* library : {"cairo", "png", "jpeg", "archive"})
    EXPECT_EQ(link.find(library), std::string::npos) << library << " in " << link;
  const AppRun r =
      run_program(quoted(project / "build" / "trainer"), "bn " + quoted(*dir_ / "library-component.ckpt") + " " +
                                                             quoted(prefix() / "lib" / "s8net" / "plugins"));
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "norm bn: ");
}

// find_package(s8net COMPONENTS plugin_sdk) looks for none of the library's dependencies.
TEST_F(Installed, ReadmePluginProjectLooksForNoLibraryDependency) {
  const DocumentedPluginBuild& plugin = documented_plugin_build(dir_->path(), prefix());
  ASSERT_EQ(plugin.result.exit_code, 0) << plugin.result.all();
  ASSERT_NE(plugin.lists.find("find_package(s8net 0.1 REQUIRED COMPONENTS plugin_sdk)"), std::string::npos)
      << plugin.lists;
  for (const char* entry : {"dnnl_DIR", "OpenCL_LIBRARY", "Boost_DIR", "TBB_DIR", "libjpeg-turbo_DIR",
                            "PNG_LIBRARY_RELEASE", "LibArchive_LIBRARY", "PKG_CONFIG_EXECUTABLE"})
    EXPECT_FALSE(cache_entry(plugin.build, entry)) << entry << " in the plugin project's cache";
}

// Without a build type CMake compiles without optimization; s8net_add_norm_plugin adds the Release
// flags then, so the documentation's plugin is as fast as a Release build of it.
TEST_F(Installed, DocumentedPluginBuildWithoutABuildTypeIsOptimized) {
  const DocumentedPluginBuild& plugin = documented_plugin_build(dir_->path(), prefix());
  ASSERT_EQ(plugin.result.exit_code, 0) << plugin.result.all();
  EXPECT_EQ(cache_entry(plugin.build, "CMAKE_BUILD_TYPE").value_or("(none)"), "");
  const nlohmann::json commands =
      nlohmann::json::parse(s8net::test::text_of(plugin.build / "compile_commands.json"), nullptr, false);
  ASSERT_TRUE(commands.is_array()) << "no compile_commands.json in " << plugin.build;
  int compiled = 0;
  for (const nlohmann::json& entry : commands) {
    if (entry.value("file", "").find("rms_norm.cpp") == std::string::npos) continue;
    ++compiled;
    const std::string command = entry.value("command", "");
    EXPECT_CONTAINS(command, " -O3 ");
    EXPECT_EQ(command.find(" -O0"), std::string::npos) << command;
  }
  EXPECT_EQ(compiled, 1);
}

// The plugin built outside the tree: the installed app lists it with its description, its
// conformance check passes, and it trains the network.
TEST_F(Installed, OutOfTreePluginLoadsPassesTheCheckAndTrains) {
  const DocumentedPluginBuild& plugin = documented_plugin_build(dir_->path(), prefix());
  ASSERT_EQ(plugin.result.exit_code, 0) << plugin.result.all();
  const fs::path build = plugin.build;
  const fs::path file = build / "s8net_norm_rmsnorm.so";
  ASSERT_TRUE(fs::is_regular_file(file)) << plugin.result.all();

  const AppRun listed = run_program(app(), "plugins --plugin-dir " + quoted(build));
  EXPECT_EQ(listed.exit_code, 0) << listed.all();
  EXPECT_CONTAINS(listed.out, "\nrms ");
  EXPECT_CONTAINS(listed.out, "RMSNorm: scale by the root mean square");

  const AppRun checked = run_program(app(), "plugin check " + quoted(file));
  EXPECT_EQ(checked.exit_code, 0) << checked.all();
  EXPECT_CONTAINS(checked.out, " 0 failed");

  s8net::write_cifar_binary(s8net::test::random_cifar(32, 16, 4), *dir_ / "data");
  const AppRun trained =
      run_program(app(), "train --norm rms --plugin-dir " + quoted(build) + " --data " + quoted(*dir_ / "data") +
                             " --out " + quoted(*dir_ / "run") + " --epochs 1 --batch 16");
  EXPECT_EQ(trained.exit_code, 0) << trained.all();
  EXPECT_TRUE(fs::is_regular_file(*dir_ / "run" / "last.s8ckpt")) << trained.all();
}

// cpack's Debian packages: one per component, with the dependencies apt needs to install them on
// a fresh machine; the app and plugins, unpacked, run as installed under /usr would.
TEST_F(Installed, DebianPackagesCarryTheirDependenciesAndRun) {
  const fs::path packages = *dir_ / "packages";
  const AppRun made = run_program(
      "cpack", "--config " + quoted(fs::path(S8NET_BUILD_DIR) / "CPackConfig.cmake") + " -B " + quoted(packages));
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
  for (const char* dev : {"libdnnl-dev", "libtbb-dev", "libboost-filesystem-dev", "libpng-dev", "libarchive-dev"})
    EXPECT_CONTAINS(field("s8net-dev", "Depends"), dev);
  const std::string dev_files = run_program("dpkg-deb", "-c " + quoted(deb("s8net-dev"))).out;
  for (const char* file :
       {"/usr/lib/libs8net.a", "/usr/lib/libs8net_image_import.a", "/usr/lib/libs8net_report.a",
        "/usr/lib/pkgconfig/s8net-image-import.pc", "/usr/lib/cmake/s8net/s8netImageImportTargets.cmake"})
    EXPECT_CONTAINS(dev_files, file);

  const fs::path root = *dir_ / "root";
  for (const char* package : {"s8net", "s8net-plugins"})
    ASSERT_EQ(run_program("dpkg-deb", "-x " + quoted(deb(package)) + " " + quoted(root)).exit_code, 0) << package;
  const AppRun r = run_program("env -u S8NET_PLUGIN_PATH " + quoted(root / "usr" / "bin" / "s8net"), "plugins");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  for (const char* name : {"\nbn ", "\ngn ", "\nin ", "\nln "}) EXPECT_CONTAINS(r.out, name);
  EXPECT_CONTAINS(r.out, (root / "usr" / "lib" / "s8net" / "plugins").string());
}

}  // namespace
