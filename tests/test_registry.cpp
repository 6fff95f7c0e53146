// The plugin registry and NormLayer against real files: the three shipped plugins, a test-only
// plugin added with the CMake function alone, and deliberately broken ones.
#include <s8net/core/error.hpp>
#include <s8net/norm/norm_layer.hpp>
#include <s8net/norm/registry.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace s8net {
namespace {

namespace fs = std::filesystem;

const fs::path kPlugins = S8NET_PLUGIN_DIR;
const fs::path kTestPlugins = S8NET_TEST_PLUGIN_DIR;

fs::path only_file_in(const std::string& test_case) {
  for (const auto& entry : fs::directory_iterator(kTestPlugins / test_case)) return entry.path();
  return {};
}

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

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

class RegistryTest : public ::testing::Test {
 protected:
  Context context_;
  NormRegistry registry_{context_};
};

TEST_F(RegistryTest, LoadsTheShippedPlugins) {
  EXPECT_TRUE(registry_.load_path(kPlugins).empty());
  const auto plugins = registry_.plugins();
  ASSERT_EQ(plugins.size(), 3u);
  EXPECT_EQ(plugins[0].name, "bn");
  EXPECT_EQ(plugins[1].name, "gn");
  EXPECT_EQ(plugins[2].name, "ln");
  for (const PluginInfo& p : plugins) {
    EXPECT_EQ(p.abi_version, S8NET_NORM_ABI_VERSION);
    EXPECT_EQ(p.file.parent_path(), fs::canonical(kPlugins));
    EXPECT_FALSE(p.description.empty());
  }
  EXPECT_EQ(plugins[0].dnnl_version, "2.6.3");  // bn is built on oneDNN
  EXPECT_EQ(registry_.find("gn").descriptor->option_count, 2u);
}

TEST_F(RegistryTest, LoadingTheSameFileTwiceIsANoOp) {
  const fs::path file = kPlugins / "s8net_norm_groupnorm.so";
  const PluginInfo& first = registry_.load_file(file);
  const PluginInfo& second = registry_.load_file(kPlugins / "." / "s8net_norm_groupnorm.so");
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(registry_.plugins().size(), 1u);
}

TEST_F(RegistryTest, ANewPluginNeedsNoCoreChange) {
  const PluginInfo& info = registry_.load_file(only_file_in("affine"));
  EXPECT_EQ(info.name, "affine");
  EXPECT_EQ(info.version, "1.2.3");
}

TEST_F(RegistryTest, RefusesEachBrokenFileWithItsReason) {
  const struct {
    const char* test_case;
    const char* reason;
  } cases[] = {
      {"no_entry", "no entry point s8net_norm_plugin_init"},
      {"wrong_abi", "plugin ABI 2.0 but s8net expects ABI 1.x"},
      {"factory_fails", "no licence for this norm"},
      {"null_forward", "null function pointer"},
      {"not_elf", "cannot load"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.test_case);
    const fs::path file = only_file_in(c.test_case);
    const std::string message = load_error(registry_, file);
    EXPECT_CONTAINS(message, file.filename().string());
    EXPECT_CONTAINS(message, c.reason);
  }
  EXPECT_CONTAINS(load_error(registry_, only_file_in("factory_fails")), "S8NET_ERROR_INTERNAL");
  EXPECT_TRUE(registry_.plugins().empty()) << "nothing half-registered";
}

TEST_F(RegistryTest, RefusesAMissingPathAndADirectory) {
  EXPECT_CONTAINS(load_error(registry_, kTestPlugins / "nowhere.so"), "no such file");
  EXPECT_CONTAINS(load_error(registry_, kTestPlugins / "affine"), "not a regular file");
  const auto failures = registry_.load_path(kTestPlugins / "missing-dir");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_CONTAINS(failures[0].reason, "missing-dir");
}

TEST_F(RegistryTest, RefusesADuplicateNameNamingBothFiles) {
  registry_.load_path(kPlugins);
  const fs::path second = only_file_in("duplicate");
  const std::string message = load_error(registry_, second);
  EXPECT_CONTAINS(message, "duplicate norm \"bn\"");
  EXPECT_CONTAINS(message, "s8net_norm_batchnorm.so");
  EXPECT_CONTAINS(message, second.filename().string());
  EXPECT_EQ(registry_.find("bn").file.filename(), "s8net_norm_batchnorm.so");
}

TEST_F(RegistryTest, ScanReportsEveryBadFileAndKeepsTheGoodOnes) {
  std::vector<PluginLoadFailure> failures;
  for (const char* test_case : {"affine", "no_entry", "wrong_abi", "not_elf"}) {
    auto more = registry_.load_path(kTestPlugins / test_case);
    failures.insert(failures.end(), more.begin(), more.end());
  }
  EXPECT_EQ(failures.size(), 3u);
  ASSERT_EQ(registry_.plugins().size(), 1u);
  EXPECT_EQ(registry_.plugins()[0].name, "affine");
}

TEST_F(RegistryTest, UnknownNormListsTheKnownOnesAndTheirFiles) {
  registry_.load_path(kPlugins);
  try {
    registry_.find("xn");
    FAIL();
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "unknown norm 'xn'");
    EXPECT_CONTAINS(e.what(), "bn from " + (fs::canonical(kPlugins) / "s8net_norm_batchnorm.so").string());
    EXPECT_CONTAINS(e.what(), "ln from ");
  }
}

TEST_F(RegistryTest, HonoursThePluginPathVariable) {
  const std::string list = "/nonexistent-dir:" + (kTestPlugins / "affine").string();
  ASSERT_EQ(setenv("S8NET_PLUGIN_PATH", list.c_str(), 1), 0);
  const auto failures = registry_.load_search_path({kTestPlugins / "wrong_abi"});
  unsetenv("S8NET_PLUGIN_PATH");
  EXPECT_NO_THROW(registry_.find("affine"));
  EXPECT_NO_THROW(registry_.find("bn"));  // the build tree's plugins come last
  ASSERT_EQ(failures.size(), 2u);          // the explicit broken file, and the missing directory
  EXPECT_CONTAINS(failures[0].reason, "ABI 2.0");
  EXPECT_CONTAINS(failures[1].reason, "/nonexistent-dir");
}

TEST_F(RegistryTest, NormLayerWrapsThePluginsMemory) {
  registry_.load_file(only_file_in("affine"));
  NormLayer layer(registry_, "affine", 3, {{"scale", 2.0}}, true, "C1.norm");
  EXPECT_FALSE(layer.fuses_relu()) << "affine cannot fuse ReLU, so the caller must apply it";
  ASSERT_EQ(layer.parameters().size(), 2u);
  EXPECT_EQ(layer.parameters()[0].name, "C1.norm.weight");
  EXPECT_EQ(layer.parameters()[0].value.data()[0], 2.f);
  layer.parameters()[1].value.data()[2] = 5.f;  // bias of channel 2, written through the view
  const s8net_tensor_desc desc{1, 3, 1, 2, S8NET_LAYOUT_NCHW};
  const std::vector<float> x{1, 2, 3, 4, 5, 6};
  std::vector<float> y(6);
  layer.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{2, 4, 6, 8, 15, 17}));
}

TEST_F(RegistryTest, NormLayerRefusesABadOptionNamingIt) {
  registry_.load_path(kPlugins);
  try {
    NormLayer layer(registry_, "gn", 16, {{"grups", 4}}, true, "C2.norm");
    FAIL();
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "C2.norm");
    EXPECT_CONTAINS(e.what(), "unknown option 'grups'");
    EXPECT_CONTAINS(e.what(), "groups, eps");
  }
  EXPECT_THROW(NormLayer(registry_, "gn", 16, {{"groups", 3}}, true, "C2.norm"), Error);  // 16 % 3 != 0
  EXPECT_NO_THROW(NormLayer(registry_, "gn", 16, {{"groups", 4}}, true, "C2.norm"));
}

TEST_F(RegistryTest, PluginErrorsNameTheLayerAndThePlugin) {
  registry_.load_file(only_file_in("create_fails"));
  registry_.load_file(only_file_in("forward_fails"));
  try {
    NormLayer layer(registry_, "createfails", 4, {}, false, "C3.norm");
    FAIL();
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "C3.norm (norm 'createfails' from ");
    EXPECT_CONTAINS(e.what(), "create failed");
    EXPECT_CONTAINS(e.what(), "refusing to create");
  }
  NormLayer layer(registry_, "forwardfails", 1, {}, false, "C4.norm");
  const s8net_tensor_desc desc{1, 1, 1, 1, S8NET_LAYOUT_NCHW};
  float x = 1, y = 0;
  try {
    layer.forward(S8NET_MODE_TRAIN, desc, &x, &y);
    FAIL();
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "C4.norm (norm 'forwardfails'");
    EXPECT_CONTAINS(e.what(), "forward failed");
    EXPECT_CONTAINS(e.what(), "fails on purpose");
  }
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
}

}  // namespace
}  // namespace s8net
