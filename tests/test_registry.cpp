// The plugin registry and NormLayer against real files: the four shipped plugins, a test-only
// plugin added with the CMake function alone, and deliberately broken ones.
#include <s8net/core/error.hpp>
#include <s8net/norm/norm_layer.hpp>
#include <s8net/norm/plugin_descriptor.hpp>
#include <s8net/norm/plugin_search.hpp>
#include <s8net/norm/registry.hpp>

#include "support/app_runner.hpp"
#include "support/error_of.hpp"
#include "support/test_plugins.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace s8net {
namespace {

namespace fs = std::filesystem;

const fs::path kPlugins = S8NET_PLUGIN_DIR;
const fs::path kTestPlugins = S8NET_TEST_PLUGIN_DIR;

using test::only_file_in;

// The error message of loading one file (fails the test if it loads).
std::string load_error(NormRegistry& registry, const fs::path& file) {
  try {
    registry.load_file(file);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << file << " loaded, but should have been refused";
  return {};
}

using s8net::test::error_of;

using TempDir = s8net::test::TempDir;

// Sets an environment variable for one scope and restores what was there before.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class RegistryTest : public ::testing::Test {
 protected:
  Context context_;
  NormRegistry registry_{context_};
};

TEST_F(RegistryTest, LoadsTheShippedPlugins) {
  EXPECT_TRUE(registry_.load_path(kPlugins).empty());
  const auto plugins = registry_.plugins();
  ASSERT_EQ(plugins.size(), 4u);
  EXPECT_EQ(plugins[0].name, "bn");
  EXPECT_EQ(plugins[1].name, "gn");
  EXPECT_EQ(plugins[2].name, "in");
  EXPECT_EQ(plugins[3].name, "ln");
  for (const PluginInfo& p : plugins) {
    EXPECT_EQ(p.abi_version, S8NET_NORM_ABI_VERSION);
    EXPECT_EQ(p.file.parent_path(), fs::canonical(kPlugins));
    EXPECT_FALSE(p.version.empty());
    EXPECT_FALSE(p.description.empty());
  }
  EXPECT_EQ(plugins[0].file.filename(), "s8net_norm_batchnorm.so");
  EXPECT_EQ(plugins[0].dnnl_version, "2.6.3");  // bn is built on oneDNN
  EXPECT_EQ(registry_.find("gn").descriptor->option_count, 2u);
}

TEST_F(RegistryTest, LoadingTheSameFileTwiceIsANoOp) {
  const fs::path file = kPlugins / "s8net_norm_groupnorm.so";
  const PluginInfo& first = registry_.load_file(file);
  const PluginInfo& second = registry_.load_file(kPlugins / "." / "s8net_norm_groupnorm.so");
  EXPECT_EQ(&first, &second);
  EXPECT_TRUE(registry_.load_path(kPlugins / "s8net_norm_groupnorm.so").empty());
  EXPECT_EQ(registry_.plugins().size(), 1u);
}

TEST_F(RegistryTest, ASymlinkIsTheFileItPointsTo) {
  TempDir dir;
  const fs::path real = only_file_in("affine");
  fs::create_symlink(real, dir.path() / "s8net_norm_link.so");
  EXPECT_TRUE(registry_.load_path(dir.path()).empty());
  EXPECT_EQ(registry_.load_file(real).file, fs::canonical(real));
  EXPECT_EQ(registry_.plugins().size(), 1u);
}

TEST_F(RegistryTest, ANewPluginNeedsNoCoreChange) {
  const PluginInfo& info = registry_.load_file(only_file_in("affine"));
  EXPECT_EQ(info.name, "affine");
  EXPECT_EQ(info.version, "1.2.3");
  EXPECT_EQ(info.dnnl_version, "");
  EXPECT_EQ(info.file, fs::canonical(only_file_in("affine")));
}

// ABI minors only append: a 1.0 plugin loads, and the host never reads the fields it lacks
// (this one's descriptor ends before eval_affine, and the memory after it holds a function).
TEST_F(RegistryTest, APluginOfAnEarlierMinorAbiLoadsWithoutTheLaterEntries) {
  const PluginInfo& old = registry_.load_file(only_file_in("abi_1_0"));
  EXPECT_EQ(abi_text(old.abi_version), "1.0");
  EXPECT_EQ(eval_affine_entry(*old.descriptor), nullptr);
  const PluginInfo& folds = registry_.load_file(only_file_in("folds"));
  EXPECT_EQ(abi_text(folds.abi_version), abi_text(S8NET_NORM_ABI_VERSION));
  EXPECT_NE(eval_affine_entry(*folds.descriptor), nullptr);
  EXPECT_EQ(eval_affine_entry(*registry_.load_file(only_file_in("affine")).descriptor), nullptr);

  const PluginInfo& before_moments = registry_.load_file(only_file_in("abi_1_2"));
  EXPECT_EQ(abi_text(before_moments.abi_version), "1.2");
  EXPECT_EQ(eval_affine_from_moments_entry(*before_moments.descriptor), nullptr);
  EXPECT_EQ(eval_affine_from_moments_entry(*old.descriptor), nullptr);
  EXPECT_EQ(eval_affine_from_moments_entry(*folds.descriptor), nullptr);  // the SDK leaves out what a class lacks
  const PluginInfo& from_moments = registry_.load_file(only_file_in("wrong_moments_map"));
  EXPECT_NE(eval_affine_from_moments_entry(*from_moments.descriptor), nullptr);
}

TEST_F(RegistryTest, RefusesEachBrokenFileWithItsReason) {
  const struct {
    const char* test_case;
    const char* reason;
  } cases[] = {
      {"no_entry", "no entry point s8net_norm_plugin_init (not an s8net normalization plugin?)"},
      {"wrong_abi", "plugin ABI 2.0 but s8net expects ABI 1.x"},
      {"factory_fails", "s8net_norm_plugin_init failed (S8NET_ERROR_INTERNAL): cannot initialise: no licence"},
      {"null_forward", "descriptor of 'broken' has a null forward function"},
      {"bad_name", "invalid norm name 'Group Norm!'"},
      {"not_elf", "cannot load: invalid ELF header"},  // the loader's own (dlerror) words
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.test_case);
    const fs::path file = only_file_in(c.test_case);
    const std::string message = load_error(registry_, file);
    EXPECT_EQ(message.rfind(fs::canonical(file).string() + ": ", 0), 0u) << "starts with the file: " << message;
    EXPECT_CONTAINS(message, c.reason);
  }
  EXPECT_TRUE(registry_.plugins().empty()) << "nothing half-registered";
}

// dlopen of a file shorter than its headers say faults on the missing pages (SIGBUS): the check
// comes first, so this test process survives each cut.
TEST_F(RegistryTest, RefusesATruncatedCopyBeforeLoadingIt) {
  TempDir dir;
  const fs::path whole = kPlugins / "s8net_norm_groupnorm.so";
  const auto size = static_cast<std::streamsize>(fs::file_size(whole));
  std::string bytes(static_cast<size_t>(size), '\0');
  std::ifstream(whole, std::ios::binary).read(bytes.data(), size);
  for (const std::streamsize kept : {std::streamsize{100}, std::streamsize{3000}, size / 2, size - 1}) {
    SCOPED_TRACE(kept);
    const fs::path cut = dir.path() / ("s8net_norm_cut" + std::to_string(kept) + ".so");
    std::ofstream(cut, std::ios::binary).write(bytes.data(), kept);
    EXPECT_CONTAINS(load_error(registry_, cut), cut.string() + ": truncated: its ELF headers describe at least ");
    EXPECT_CONTAINS(load_error(registry_, cut), "the file has " + std::to_string(kept) + " (");
  }
  const fs::path copy = dir.path() / "s8net_norm_copy.so";
  std::ofstream(copy, std::ios::binary).write(bytes.data(), size);
  EXPECT_EQ(registry_.load_file(copy).name, "gn") << "the whole copy loads";
}

TEST_F(RegistryTest, RefusesAMissingPathAndADirectory) {
  EXPECT_CONTAINS(load_error(registry_, kTestPlugins / "nowhere.so"), "nowhere.so: no such file");
  EXPECT_CONTAINS(load_error(registry_, kTestPlugins / "affine"), "affine: not a regular file");
  const auto failures = registry_.load_path(kTestPlugins / "missing-dir");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].file, kTestPlugins / "missing-dir");
  EXPECT_CONTAINS(failures[0].reason, "missing-dir: no such file or directory");
}

TEST_F(RegistryTest, RefusesAnUnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  TempDir dir;
  const fs::path file = dir.path() / "s8net_norm_secret.so";
  fs::copy_file(only_file_in("affine"), file);
  fs::permissions(file, fs::perms::none);
  EXPECT_CONTAINS(load_error(registry_, file), "s8net_norm_secret.so: not readable");
}

TEST_F(RegistryTest, RefusesADuplicateNameNamingBothFilesAndKeepsTheFirst) {
  registry_.load_path(kPlugins);
  const fs::path second = only_file_in("duplicate");
  const std::string message = load_error(registry_, second);
  const fs::path first = fs::canonical(kPlugins) / "s8net_norm_batchnorm.so";
  EXPECT_CONTAINS(message, "duplicate norm \"bn\" from " + first.string() + " and " + fs::canonical(second).string());
  EXPECT_EQ(registry_.find("bn").file.filename(), "s8net_norm_batchnorm.so");
  EXPECT_EQ(registry_.plugins().size(), 4u);
}

TEST_F(RegistryTest, ScanOfAMixedDirectoryKeepsTheGoodFileAndReportsEachBadOne) {
  TempDir dir;
  for (const char* test_case : {"affine", "no_entry", "wrong_abi", "not_elf"})
    fs::copy_file(only_file_in(test_case), dir.path() / only_file_in(test_case).filename());
  std::ofstream(dir.path() / "README.txt") << "not a .so: never opened\n";
  fs::create_directory(dir.path() / "nested.so");  // a directory, whatever its name

  const auto failures = registry_.load_path(dir.path());
  ASSERT_EQ(failures.size(), 3u);
  // Sorted by file name: bogus.so, s8net_norm_no_entry.so, s8net_norm_test_plugin_wrong_abi.so.
  EXPECT_EQ(failures[0].file.filename(), "bogus.so");
  EXPECT_CONTAINS(failures[0].reason, "bogus.so: cannot load");
  EXPECT_CONTAINS(failures[1].reason, "s8net_norm_no_entry.so: no entry point");
  EXPECT_CONTAINS(failures[2].reason, "s8net_norm_test_plugin_wrong_abi.so: plugin ABI 2.0");
  ASSERT_EQ(registry_.plugins().size(), 1u);
  EXPECT_EQ(registry_.plugins()[0].name, "affine");
}

TEST_F(RegistryTest, UnknownNormListsTheKnownOnesAndTheirFiles) {
  registry_.load_path(kPlugins);
  const fs::path real = fs::canonical(kPlugins);
  EXPECT_EQ(error_of([&] { registry_.find("xn"); }),
            "unknown norm 'xn' (known: bn from " + (real / "s8net_norm_batchnorm.so").string() + ", gn from " +
                (real / "s8net_norm_groupnorm.so").string() + ", in from " +
                (real / "s8net_norm_instancenorm.so").string() + ", ln from " +
                (real / "s8net_norm_layernorm.so").string() +
                "); add a plugin directory with --plugin-dir or S8NET_PLUGIN_PATH");
  EXPECT_CONTAINS(error_of([&] { registry_.acquire("xn"); }), "unknown norm 'xn' (known: bn from ");
}

TEST_F(RegistryTest, UnknownNormWithNothingLoadedSaysWhereItLooked) {
  EXPECT_EQ(error_of([&] { registry_.find("bn"); }),
            "unknown norm 'bn' (no plugins loaded; nothing was searched); add a plugin directory with --plugin-dir "
            "or S8NET_PLUGIN_PATH");
  registry_.load_path("/nonexistent-a");
  registry_.load_path(kTestPlugins / "wrong_abi");
  EXPECT_EQ(error_of([&] { registry_.find("bn"); }),
            "unknown norm 'bn' (no plugins loaded; searched: /nonexistent-a, " + (kTestPlugins / "wrong_abi").string() +
                "); add a plugin directory with --plugin-dir or S8NET_PLUGIN_PATH");
}

// The registry looks nowhere by itself: not in S8NET_PLUGIN_PATH, not beside the executable (where
// this build's bn, gn, in and ln are), only in what it is given.
TEST_F(RegistryTest, LoadsOnlyWhatItIsGiven) {
  ASSERT_TRUE(fs::is_directory(installed_plugin_directory()));
  const ScopedEnv env("S8NET_PLUGIN_PATH", (kTestPlugins / "affine").string());
  EXPECT_EQ(error_of([&] { registry_.find("bn"); }),
            "unknown norm 'bn' (no plugins loaded; nothing was searched); add a plugin directory with --plugin-dir "
            "or S8NET_PLUGIN_PATH");
  EXPECT_TRUE(registry_.load_path(kTestPlugins / "frn").empty());
  ASSERT_EQ(registry_.plugins().size(), 1u);
  EXPECT_EQ(registry_.plugins()[0].name, "frn");
  EXPECT_CONTAINS(error_of([&] { registry_.find("affine"); }), "unknown norm 'affine' (known: frn from ");
}

TEST_F(RegistryTest, LoadPathIfPresentSkipsAMissingPathButNamesIt) {
  EXPECT_TRUE(registry_.load_path_if_present("/nonexistent-default").empty());
  EXPECT_EQ(error_of([&] { registry_.find("bn"); }),
            "unknown norm 'bn' (no plugins loaded; searched: /nonexistent-default); add a plugin directory with "
            "--plugin-dir or S8NET_PLUGIN_PATH");
  const auto failures = registry_.load_path_if_present(kTestPlugins / "wrong_abi");  // present: loaded, and refused
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_CONTAINS(failures[0].reason, "ABI 2.0");
  EXPECT_TRUE(registry_.load_path_if_present(kTestPlugins / "affine").empty());
  EXPECT_EQ(registry_.find("affine").name, "affine");
}

// The build tree has the install's layout: beside a test binary (build/tests/..) is the build's
// plugin directory, as <prefix>/lib/s8net/plugins is beside <prefix>/bin/s8net.
TEST(PluginSearch, TheInstallDirectoryIsBesideTheExecutableAsInTheBuildTree) {
  const fs::path here = installed_plugin_directory();
  ASSERT_FALSE(here.empty());
  EXPECT_TRUE(fs::equivalent(here, kPlugins)) << here << " vs " << kPlugins;
  const fs::path layout = kPlugins.lexically_relative(S8NET_BUILD_DIR);  // lib/s8net/plugins, as installed
  EXPECT_EQ(layout.filename(), "plugins");
  EXPECT_EQ(installed_plugin_directory("/opt/s8net/bin/s8net"), fs::path("/opt/s8net") / layout);
  EXPECT_EQ(installed_plugin_directory("/usr/bin/../bin/tool"), fs::path("/usr") / layout);
}

TEST(PluginSearch, ThePathVariableIsColonSeparatedAndSkipsEmptyEntries) {
  {
    const ScopedEnv env("S8NET_PLUGIN_PATH", ":/a/one::/b/two.so:");
    EXPECT_EQ(plugin_path_variable(), (std::vector<fs::path>{"/a/one", "/b/two.so"}));
  }
  ::unsetenv("S8NET_PLUGIN_PATH");
  EXPECT_TRUE(plugin_path_variable().empty());
}

TEST_F(RegistryTest, SearchPathTakesExplicitPathsThenTheVariableThenTheInstallDirectory) {
  const ScopedEnv env("S8NET_PLUGIN_PATH", "/nonexistent-dir::" + (kTestPlugins / "affine").string() + ":");
  const auto failures = load_plugin_search_path(registry_, {kTestPlugins / "wrong_abi"});
  EXPECT_NO_THROW(registry_.find("affine"));
  // The install directory beside this binary (the build's plugins) is searched even though
  // explicit paths and S8NET_PLUGIN_PATH gave plugins too.
  EXPECT_EQ(registry_.find("bn").file.parent_path(), fs::canonical(kPlugins));
  EXPECT_NO_THROW(registry_.find("ln"));
  ASSERT_EQ(failures.size(), 2u);  // in search order: the explicit broken file, the missing directory
  EXPECT_CONTAINS(failures[0].reason, "ABI 2.0");
  EXPECT_CONTAINS(failures[1].reason, "/nonexistent-dir: no such file or directory");
}

// Which of two files named "bn" wins shows the order: the first loaded is kept, the later one is
// the duplicate-name failure.
TEST_F(RegistryTest, SearchPathOrderDecidesWhichDuplicateWins) {
  const fs::path other_bn = only_file_in("duplicate");
  {
    NormRegistry registry(context_);
    const ScopedEnv env("S8NET_PLUGIN_PATH", "");
    const auto failures = load_plugin_search_path(registry, {kTestPlugins / "duplicate"});
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_CONTAINS(failures[0].reason, (fs::canonical(kPlugins) / "s8net_norm_batchnorm.so").string());
    EXPECT_EQ(registry.find("bn").file, fs::canonical(other_bn));  // explicit before the install directory
  }
  {
    NormRegistry registry(context_);
    const ScopedEnv env("S8NET_PLUGIN_PATH", (kTestPlugins / "duplicate").string());
    const auto failures = load_plugin_search_path(registry, {kPlugins / "s8net_norm_batchnorm.so"});
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_CONTAINS(failures[0].reason, fs::canonical(other_bn).string());
    EXPECT_EQ(registry.find("bn").file.parent_path(), fs::canonical(kPlugins));  // explicit before the variable
  }
}

TEST_F(RegistryTest, SearchPathFindsTheSameFileOnceAndADuplicateNameAsAFailure) {
  const ScopedEnv env("S8NET_PLUGIN_PATH", kPlugins.string() + ":" + (kTestPlugins / "duplicate").string());
  const auto failures = load_plugin_search_path(registry_, {kPlugins});  // and the install directory again, last
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_CONTAINS(failures[0].reason, "duplicate norm \"bn\"");
  EXPECT_EQ(registry_.plugins().size(), 4u);
}

TEST_F(RegistryTest, NormLayerWrapsThePluginsMemory) {
  registry_.load_file(only_file_in("affine"));
  NormLayer layer(registry_, "affine", 3, {{"scale", 2.0}}, true, "C1.norm");
  EXPECT_FALSE(layer.fuses_relu()) << "affine cannot fuse ReLU, so the caller must apply it";
  EXPECT_EQ(layer.origin(), "affine 1.2.3 from " + fs::canonical(only_file_in("affine")).string());
  EXPECT_EQ(layer.norm_name(), "affine");
  ASSERT_EQ(layer.parameters().size(), 2u);
  EXPECT_TRUE(layer.state().empty());
  const Parameter& weight = layer.parameters()[0];
  const Parameter& bias = layer.parameters()[1];
  EXPECT_EQ(weight.name, "C1.norm.weight");
  EXPECT_EQ(bias.name, "C1.norm.bias");
  EXPECT_EQ(weight.count(), 3);
  EXPECT_EQ(weight.value.data()[0], 2.f);
  bias.value.data()[2] = 5.f;  // bias of channel 2, written through the view

  const s8net_tensor_desc desc{1, 3, 1, 2, S8NET_LAYOUT_NCHW};
  const std::vector<float> x{1, 2, 3, 4, 5, 6};
  std::vector<float> y(6);
  layer.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{2, 4, 6, 8, 15, 17}));

  // backward writes the gradients into the arrays the grad views show.
  const std::vector<float> dy{1, 1, 0, 1, 2, 0};
  std::vector<float> dx(6);
  layer.backward(desc, x.data(), y.data(), dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{2, 2, 0, 2, 4, 0}));
  EXPECT_EQ((std::vector<float>(weight.grad.data(), weight.grad.data() + 3)), (std::vector<float>{3, 4, 10}));
  EXPECT_EQ((std::vector<float>(bias.grad.data(), bias.grad.data() + 3)), (std::vector<float>{2, 1, 2}));
}

TEST_F(RegistryTest, NormLayerFromARealPluginWithOptionsAndState) {
  registry_.load_path(kPlugins);
  NormLayer gn(registry_, "gn", 16, {{"groups", 4}}, true, "C2.norm");
  EXPECT_TRUE(gn.fuses_relu());
  ASSERT_EQ(gn.parameters().size(), 2u);
  EXPECT_EQ(gn.parameters()[0].name, "C2.norm.weight");
  EXPECT_EQ(gn.parameters()[0].count(), 16);
  EXPECT_FALSE(gn.parameters()[0].grad.empty());

  NormLayer bn(registry_, "bn", 8, {}, false, "C3.norm");
  EXPECT_FALSE(bn.fuses_relu()) << "not asked for";
  EXPECT_FALSE(bn.state().empty()) << "running statistics";
  for (const Parameter& s : bn.state()) {
    EXPECT_EQ(s.name.rfind("C3.norm.", 0), 0u) << s.name;
    EXPECT_TRUE(s.grad.empty()) << s.name;
  }
}

TEST_F(RegistryTest, OptionsAtTheirDeclaredDefaultCompareAsNotGiven) {
  const PluginInfo& gn = registry_.load_file(kPlugins / "s8net_norm_groupnorm.so");
  using Options = std::map<std::string, double>;
  EXPECT_EQ(without_defaults(gn, Options{{"groups", 2}, {"eps", 1e-5}}), Options{});
  EXPECT_EQ(without_defaults(gn, Options{{"groups", 4}, {"eps", 1e-5}}), (Options{{"groups", 4}}));
  EXPECT_EQ(without_defaults(gn, Options{{"colour", 2}}), (Options{{"colour", 2}})) << "an unknown one stays";
}

TEST_F(RegistryTest, NormLayerRefusesABadOptionNamingIt) {
  registry_.load_path(kPlugins);
  const std::string message = error_of([&] { NormLayer layer(registry_, "gn", 16, {{"grups", 4}}, true, "C2.norm"); });
  EXPECT_CONTAINS(message, "C2.norm (norm 'gn' from ");
  EXPECT_CONTAINS(message, "create failed: ");
  EXPECT_CONTAINS(message, "unknown option 'grups'");
  EXPECT_CONTAINS(message, "groups, eps");
  EXPECT_CONTAINS(error_of([&] {
                    NormLayer layer(registry_, "gn", 16, {{"groups", 3}}, true, "C2.norm");
                  }),
                  "16 channels");
  EXPECT_CONTAINS(error_of([&] {
                    NormLayer layer(registry_, "gn", 16, {{"groups", 2.5}}, true, "C2.norm");
                  }),
                  "option 'groups'");
  EXPECT_NO_THROW(NormLayer(registry_, "gn", 16, {{"groups", 4}}, true, "C2.norm"));
  EXPECT_CONTAINS(error_of([&] { NormLayer layer(registry_, "xn", 16, {}, true, "C2.norm"); }), "unknown norm 'xn'");
}

TEST_F(RegistryTest, PluginErrorsNameTheLayerAndThePlugin) {
  registry_.load_file(only_file_in("create_fails"));
  registry_.load_file(only_file_in("forward_fails"));
  EXPECT_EQ(error_of([&] { NormLayer layer(registry_, "createfails", 4, {}, false, "C3.norm"); }),
            "C3.norm (norm 'createfails' from " + fs::canonical(only_file_in("create_fails")).string() +
                "): create failed: affine: refusing to create (test)");

  NormLayer layer(registry_, "forwardfails", 1, {}, false, "C4.norm");
  const s8net_tensor_desc desc{1, 1, 1, 1, S8NET_LAYOUT_NCHW};
  float x = 1, y = 0;
  EXPECT_EQ(error_of([&] { layer.forward(S8NET_MODE_TRAIN, desc, &x, &y); }),
            "C4.norm (norm 'forwardfails' from " + fs::canonical(only_file_in("forward_fails")).string() +
                "): forward failed: affine: forward fails on purpose (test)");
  // A shape the plugin refuses is reported the same way.
  const s8net_tensor_desc wrong{1, 2, 1, 1, S8NET_LAYOUT_NCHW};
  EXPECT_CONTAINS(error_of([&] { layer.forward(S8NET_MODE_TRAIN, wrong, &x, &y); }), "C4.norm (norm 'forwardfails'");
}

TEST(RegistryLifetime, ALayerKeepsItsLibraryLoaded) {
  Context context;
  std::unique_ptr<NormLayer> layer;
  {
    NormRegistry registry(context);
    registry.load_file(kTestPlugins / "affine" / "s8net_norm_test_plugin_affine.so");
    layer = std::make_unique<NormLayer>(registry, "affine", 2, NormOptions{}, false, "L");
  }  // the registry is gone; the layer's code and data must still be there
  const s8net_tensor_desc desc{1, 2, 1, 1, S8NET_LAYOUT_NCHW};
  const float x[2] = {3, 4};
  float y[2] = {};
  layer->forward(S8NET_MODE_EVAL, desc, x, y);
  EXPECT_EQ(y[0], 3.f);
  EXPECT_EQ(y[1], 4.f);
  EXPECT_EQ(layer->origin().rfind("affine 1.2.3 from ", 0), 0u);
}

// bn keeps the host's engine and stream (plugin_api.h allows it): they must outlive the registry
// and the Context that lent them, for as long as the library is loaded.
TEST(RegistryLifetime, APluginMayKeepTheHostTableAfterTheRegistryAndContextAreGone) {
  std::unique_ptr<NormLayer> layer;
  {
    Context context;
    NormRegistry registry(context);
    registry.load_file(kPlugins / "s8net_norm_batchnorm.so");
    layer = std::make_unique<NormLayer>(registry, "bn", 2, NormOptions{}, false, "L");
  }
  const s8net_tensor_desc desc{2, 2, 1, 1, S8NET_LAYOUT_NCHW};
  const float x[4] = {1, 10, 3, 30};  // n-major: sample 0 = {1, 10}, sample 1 = {3, 30}
  float y[4] = {};
  layer->forward(S8NET_MODE_TRAIN, desc, x, y);
  EXPECT_NEAR(y[0], -1.f, 1e-3f);
  EXPECT_NEAR(y[2], 1.f, 1e-3f);
}

}  // namespace
}  // namespace s8net
