// The plugin handle (norm/plugin_instance.hpp) every driver of a plugin goes through: against a
// descriptor written here, whose functions answer what a test scripts and record what they were
// asked, and against real plugin files loaded by the registry.
#include "support/error_of.hpp"
#include "support/test_plugins.hpp"

#include <s8net/core/context.hpp>
#include <s8net/core/error.hpp>
#include <s8net/norm/plugin_instance.hpp>
#include <s8net/norm/registry.hpp>

#include <gtest/gtest.h>

#include <cstddef>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

// What the scripted plugin hands out: an instance is its number.
struct s8net_norm_instance {
  int id;
};

namespace s8net {
namespace {

namespace fs = std::filesystem;

// What the scripted plugin answers, and what it saw. Reset for every test.
struct Script {
  s8net_status create = S8NET_OK;
  bool hand_out_instance = true;  // also when create fails
  s8net_status forward = S8NET_OK, backward = S8NET_OK, tensors = S8NET_OK, eval_affine = S8NET_OK,
               from_moments = S8NET_OK;
  size_t views = 1;     // the count tensors() reports
  std::string message;  // written into the buffer of every call that fails
  bool fill_without_nul = false;

  int created = 0;
  std::vector<int> destroyed;  // the instances destroy() was given, in order
  int64_t channels = 0;
  int32_t fuse_relu = -1;
  std::vector<std::pair<std::string, double>> options;
  std::vector<s8net_mode> modes;
};
Script script;

float data[1] = {1.f}, grad[1] = {0.f};

s8net_status answer(s8net_status status, s8net_message* message) {
  if (status == S8NET_OK) return status;
  if (script.fill_without_nul)
    std::memset(message->text, 'x', sizeof message->text);
  else
    std::snprintf(message->text, sizeof message->text, "%s", script.message.c_str());
  return status;
}

s8net_status scripted_create(const s8net_norm_config* config, s8net_norm_instance** out, s8net_message* message) {
  script.channels = config->channels;
  script.fuse_relu = config->fuse_relu;
  for (size_t i = 0; i < config->option_count; ++i)
    script.options.emplace_back(config->options[i].name, config->options[i].value);
  if (script.hand_out_instance) *out = new s8net_norm_instance{++script.created};
  return answer(script.create, message);
}
void scripted_destroy(s8net_norm_instance* instance) {
  script.destroyed.push_back(instance->id);
  delete instance;
}
s8net_status scripted_forward(s8net_norm_instance*, s8net_mode mode, const s8net_tensor_desc*, const float*, float*,
                              s8net_message* message) {
  script.modes.push_back(mode);
  return answer(script.forward, message);
}
s8net_status scripted_backward(s8net_norm_instance*, const s8net_tensor_desc*, const float*, const float*, const float*,
                               float*, s8net_message* message) {
  return answer(script.backward, message);
}
s8net_status scripted_tensors(s8net_norm_instance*, s8net_norm_tensor_kind, s8net_norm_tensor* out, size_t capacity,
                              size_t* count, s8net_message* message) {
  *count = script.views;
  for (size_t i = 0; i < capacity && i < script.views; ++i) out[i] = {"weight", data, grad, 1};
  return answer(script.tensors, message);
}
s8net_status scripted_eval_affine(s8net_norm_instance*, float* scale, float* shift, s8net_message* message) {
  scale[0] = 2.f;
  shift[0] = 3.f;
  return answer(script.eval_affine, message);
}

s8net_status scripted_from_moments(s8net_norm_instance*, const s8net_tensor_desc* desc,
                                   const s8net_plane_moments* moments, float* scale, float* shift,
                                   s8net_message* message) {
  for (int64_t k = 0; k < desc->n * desc->c; ++k) {
    scale[k] = static_cast<float>(moments[k].m2);
    shift[k] = static_cast<float>(moments[k].mean);
  }
  return answer(script.from_moments, message);
}

const s8net_norm_plugin kScripted{S8NET_NORM_ABI_VERSION,
                                  sizeof(s8net_norm_plugin),
                                  "scripted",
                                  "1.0",
                                  "scripted",
                                  "",
                                  S8NET_LAYOUT_MASK_NCHW,
                                  0,
                                  nullptr,
                                  0,
                                  scripted_create,
                                  scripted_destroy,
                                  scripted_forward,
                                  scripted_backward,
                                  scripted_tensors,
                                  scripted_eval_affine,
                                  scripted_from_moments};

std::shared_ptr<const PluginInfo> scripted(const s8net_norm_plugin& descriptor = kScripted) {
  return std::make_shared<const PluginInfo>(
      PluginInfo{"scripted", "1.0", "scripted", "", S8NET_NORM_ABI_VERSION, "/plugins/scripted.so", &descriptor});
}

// The PluginCallError a call throws; a test failure (and an empty error) if it throws none.
template <class F>
PluginCallError call_error(F call) {
  try {
    call();
  } catch (const PluginCallError& e) {
    return e;
  }
  ADD_FAILURE() << "no PluginCallError";
  return PluginCallError("", "", S8NET_OK, "");
}

class PluginInstanceTest : public ::testing::Test {
 protected:
  void SetUp() override { script = Script{}; }
  const s8net_tensor_desc desc_{1, 1, 1, 1, S8NET_LAYOUT_NCHW};
  float x_ = 1, y_ = 0;
};

TEST_F(PluginInstanceTest, CreatesWhatItIsAskedAndDestroysOnceWhenItGoesOutOfScope) {
  const std::string groups = "groups";
  const s8net_option_value options[] = {{groups.c_str(), 4}};
  {
    const PluginInstance instance(scripted(), 16, true, options, "C2.norm");
    EXPECT_EQ(script.created, 1);
    EXPECT_TRUE(script.destroyed.empty());
    EXPECT_EQ(script.channels, 16);
    EXPECT_EQ(script.fuse_relu, 1);
    ASSERT_EQ(script.options.size(), 1u);
    EXPECT_EQ(script.options[0], std::make_pair(groups, 4.0));
    EXPECT_EQ(instance.channels(), 16);
    EXPECT_TRUE(instance.fuses_relu());
    EXPECT_EQ(instance.where(), "C2.norm (norm 'scripted' from /plugins/scripted.so)");
  }
  EXPECT_EQ(script.destroyed, std::vector<int>{1});
}

TEST_F(PluginInstanceTest, AFailedCreateThrowsOnceWithThePluginsMessageAndDestroysWhatItHandedOut) {
  script.create = S8NET_ERROR_INVALID_ARGUMENT;
  script.message = "groups=3 does not divide 16 channels";
  const PluginCallError e = call_error([] { PluginInstance instance(scripted(), 16, false, {}, "C2.norm"); });
  EXPECT_STREQ(
      e.what(),
      "C2.norm (norm 'scripted' from /plugins/scripted.so): create failed: groups=3 does not divide 16 channels");
  EXPECT_EQ(e.call(), "create");
  EXPECT_EQ(e.status(), S8NET_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(e.reason(), "groups=3 does not divide 16 channels");
  EXPECT_EQ(script.destroyed, std::vector<int>{1}) << "the instance a failing create() handed out";

  script.hand_out_instance = false;
  EXPECT_EQ(test::error_of([] { PluginInstance instance(scripted(), 16, false); }),
            "norm 'scripted' from /plugins/scripted.so: create failed: groups=3 does not divide 16 channels");
  EXPECT_EQ(script.destroyed, std::vector<int>{1});
}

TEST_F(PluginInstanceTest, ACreateThatSucceedsWithoutAnInstanceIsABrokenPromise) {
  script.hand_out_instance = false;
  const PluginCallError e = call_error([] { PluginInstance instance(scripted(), 4, false, {}, "L"); });
  EXPECT_STREQ(e.what(), "L (norm 'scripted' from /plugins/scripted.so): create succeeded but returned no instance");
  EXPECT_EQ(e.status(), S8NET_OK);
  EXPECT_EQ(e.reason(), "succeeded but returned no instance");
  EXPECT_TRUE(script.destroyed.empty());
}

TEST_F(PluginInstanceTest, EveryFailingCallThrowsNamingTheCallAndLeavesTheInstanceUsable) {
  script.message = "refused (test)";
  PluginInstance instance(scripted(), 1, false, {}, "C4.norm");
  const std::string where = "C4.norm (norm 'scripted' from /plugins/scripted.so): ";

  script.forward = S8NET_ERROR_UNSUPPORTED;
  PluginCallError e = call_error([&] { instance.forward(S8NET_MODE_TRAIN, desc_, &x_, &y_); });
  EXPECT_STREQ(e.what(), (where + "forward failed: refused (test)").c_str());
  EXPECT_EQ(e.call(), "forward (train)");
  EXPECT_EQ(e.status(), S8NET_ERROR_UNSUPPORTED);
  EXPECT_EQ(call_error([&] { instance.forward(S8NET_MODE_EVAL, desc_, &x_, &y_); }).call(), "forward (eval)");
  EXPECT_EQ(script.modes, (std::vector<s8net_mode>{S8NET_MODE_TRAIN, S8NET_MODE_EVAL}));

  script.backward = S8NET_ERROR_INVALID_ARGUMENT;
  e = call_error([&] { instance.backward(desc_, &x_, &y_, &x_, &y_); });
  EXPECT_STREQ(e.what(), (where + "backward failed: refused (test)").c_str());
  EXPECT_EQ(e.call(), "backward");

  script.tensors = S8NET_ERROR_INTERNAL;
  e = call_error([&] { instance.tensors(S8NET_NORM_STATE); });
  EXPECT_STREQ(e.what(), (where + "tensors failed: refused (test)").c_str());
  EXPECT_EQ(e.call(), "tensors(state)");
  EXPECT_EQ(call_error([&] { instance.tensors(S8NET_NORM_PARAMETERS); }).call(), "tensors(parameters)");

  script.eval_affine = S8NET_ERROR_OUT_OF_MEMORY;
  float scale = 0, shift = 0;
  e = call_error([&] { instance.eval_affine(&scale, &shift); });
  EXPECT_STREQ(e.what(), (where + "eval_affine failed: refused (test)").c_str());
  EXPECT_EQ(e.call(), "eval_affine");
  EXPECT_EQ(e.status(), S8NET_ERROR_OUT_OF_MEMORY);

  script.from_moments = S8NET_ERROR_UNSUPPORTED;
  const s8net_plane_moments moments{3.0, 4.0};
  e = call_error([&] { instance.eval_affine_from_moments(desc_, &moments, &scale, &shift); });
  EXPECT_STREQ(e.what(), (where + "eval_affine_from_moments failed: refused (test)").c_str());
  EXPECT_EQ(e.call(), "eval_affine_from_moments");
  EXPECT_EQ(e.status(), S8NET_ERROR_UNSUPPORTED);

  // The plugin recovers; the handle did not give up on the instance.
  script = Script{};
  script.created = 1;
  instance.forward(S8NET_MODE_EVAL, desc_, &x_, &y_);
  instance.backward(desc_, &x_, &y_, &x_, &y_);
  ASSERT_EQ(instance.tensors(S8NET_NORM_PARAMETERS).size(), 1u);
  instance.eval_affine(&scale, &shift);
  EXPECT_EQ(scale, 2.f);
  EXPECT_EQ(shift, 3.f);
  instance.eval_affine_from_moments(desc_, &moments, &scale, &shift);
  EXPECT_EQ(scale, 4.f);
  EXPECT_EQ(shift, 3.f);
  EXPECT_TRUE(script.destroyed.empty());
}

TEST_F(PluginInstanceTest, AMessageWithoutItsNulIsReadToTheEndOfTheBufferAndNoneIsSaidSo) {
  PluginInstance instance(scripted(), 1, false);
  script.forward = S8NET_ERROR_INTERNAL;
  script.fill_without_nul = true;
  EXPECT_EQ(call_error([&] { instance.forward(S8NET_MODE_TRAIN, desc_, &x_, &y_); }).reason(),
            std::string(sizeof(s8net_message::text), 'x'));
  script.fill_without_nul = false;
  script.message = "";
  const PluginCallError e = call_error([&] { instance.forward(S8NET_MODE_TRAIN, desc_, &x_, &y_); });
  EXPECT_EQ(e.reason(), "(no message)");
  EXPECT_STREQ(e.what(),
               "norm 'scripted' from /plugins/scripted.so: forward failed: S8NET_ERROR_INTERNAL (no message)");
  script.forward = static_cast<s8net_status>(7);  // no status of the ABI
  EXPECT_STREQ(call_error([&] { instance.forward(S8NET_MODE_TRAIN, desc_, &x_, &y_); }).what(),
               "norm 'scripted' from /plugins/scripted.so: forward failed: status 7 (no message)");
}

TEST_F(PluginInstanceTest, MoreViewsThanTheAbiAllowsAreRefusedBeforeAnyIsAskedFor) {
  PluginInstance instance(scripted(), 1, false, {}, "L");
  script.views = S8NET_MAX_TENSOR_VIEWS;
  EXPECT_EQ(instance.tensors(S8NET_NORM_PARAMETERS).size(), size_t{S8NET_MAX_TENSOR_VIEWS});
  script.views = S8NET_MAX_TENSOR_VIEWS + 1;
  const PluginCallError e = call_error([&] { instance.tensors(S8NET_NORM_PARAMETERS); });
  EXPECT_STREQ(e.what(),
               "L (norm 'scripted' from /plugins/scripted.so): tensors reports 65 views, more than the "
               "ABI's limit of 64");
  EXPECT_EQ(e.status(), S8NET_OK);
  EXPECT_EQ(e.call(), "tensors(parameters)");
}

TEST_F(PluginInstanceTest, MovingHandsTheInstanceOnAndItIsDestroyedOnce) {
  {
    PluginInstance first(scripted(), 1, false, {}, "first");
    PluginInstance moved(std::move(first));
    EXPECT_TRUE(script.destroyed.empty());
    moved.forward(S8NET_MODE_TRAIN, desc_, &x_, &y_);
    EXPECT_EQ(moved.label(), "first");

    PluginInstance second(scripted(), 1, false, {}, "second");
    second = std::move(moved);  // the second instance goes now, the first lives on in `second`
    EXPECT_EQ(script.destroyed, std::vector<int>{2});
    EXPECT_EQ(second.label(), "first");
    second.forward(S8NET_MODE_EVAL, desc_, &x_, &y_);
  }
  EXPECT_EQ(script.destroyed, (std::vector<int>{2, 1}));
  EXPECT_EQ(script.modes.size(), 2u);
}

TEST_F(PluginInstanceTest, HoldsThePluginUntilItsInstanceIsDestroyed) {
  std::shared_ptr<const PluginInfo> info = scripted();
  const std::weak_ptr<const PluginInfo> watch = info;
  auto instance = std::make_unique<PluginInstance>(std::move(info), 1, false);
  EXPECT_FALSE(watch.expired());
  instance.reset();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(script.destroyed, std::vector<int>{1});
}

TEST_F(PluginInstanceTest, EvalAffineOfAPluginThatOffersNoneIsAnError) {
  s8net_norm_plugin without = kScripted;
  without.eval_affine = nullptr;
  const PluginInstance instance(scripted(without), 1, false, {}, "L");
  EXPECT_FALSE(instance.offers_eval_affine());
  float scale = 0, shift = 0;
  EXPECT_EQ(test::error_of([&] { instance.eval_affine(&scale, &shift); }),
            "L (norm 'scripted' from /plugins/scripted.so): the plugin offers no eval_affine");
  EXPECT_TRUE(PluginInstance(scripted(), 1, false).offers_eval_affine());
}

TEST_F(PluginInstanceTest, TheMapFromTheMomentsOfAPluginThatOffersNoneIsAnError) {
  s8net_norm_plugin without = kScripted;
  without.eval_affine_from_moments = nullptr;
  const PluginInstance instance(scripted(without), 1, false, {}, "L");
  EXPECT_FALSE(instance.offers_eval_affine_from_moments());
  const s8net_plane_moments moments{0.0, 1.0};
  float scale = 0, shift = 0;
  EXPECT_EQ(test::error_of([&] { instance.eval_affine_from_moments(desc_, &moments, &scale, &shift); }),
            "L (norm 'scripted' from /plugins/scripted.so): the plugin offers no eval_affine_from_moments");
  // A descriptor that declares 1.2 never offers it, even with the field set; nor does one whose
  // size ends before the field.
  s8net_norm_plugin older = kScripted;
  older.abi_version = (1u << 16) | 2u;
  EXPECT_FALSE(PluginInstance(scripted(older), 1, false).offers_eval_affine_from_moments());
  s8net_norm_plugin shorter = kScripted;
  shorter.struct_size = offsetof(s8net_norm_plugin, eval_affine_from_moments);
  EXPECT_FALSE(PluginInstance(scripted(shorter), 1, false).offers_eval_affine_from_moments());
  EXPECT_TRUE(PluginInstance(scripted(), 1, false).offers_eval_affine_from_moments());
}

// ---- Real plugin files -----------------------------------------------------------------------------

TEST(PluginInstanceOfAFile, KeepsTheLibraryLoadedAfterTheRegistryIsGone) {
  std::unique_ptr<PluginInstance> instance;
  {
    Context context;
    NormRegistry registry(context);
    registry.load_file(test::only_file_in("affine"));
    instance = std::make_unique<PluginInstance>(registry.acquire("affine"), 2, false);
  }
  const s8net_tensor_desc desc{1, 2, 1, 1, S8NET_LAYOUT_NCHW};
  const float x[2] = {3, 4};
  float y[2] = {};
  instance->forward(S8NET_MODE_EVAL, desc, x, y);
  EXPECT_EQ(y[0], 3.f);
  EXPECT_EQ(y[1], 4.f);
  EXPECT_EQ(instance->plugin().name, "affine");
}

TEST(PluginInstanceOfAFile, APluginsFailureIsThrownWithItsOwnMessage) {
  Context context;
  NormRegistry registry(context);
  registry.load_file(test::only_file_in("forward_fails"));
  PluginInstance instance(registry.acquire("forwardfails"), 1, false);
  const s8net_tensor_desc desc{1, 1, 1, 1, S8NET_LAYOUT_NCHW};
  float x = 1, y = 0;
  const PluginCallError e = call_error([&] { instance.forward(S8NET_MODE_TRAIN, desc, &x, &y); });
  EXPECT_EQ(std::string(e.what()), "norm 'forwardfails' from " +
                                       fs::canonical(test::only_file_in("forward_fails")).string() +
                                       ": forward failed: affine: forward fails on purpose (test)");
  EXPECT_EQ(e.reason(), "affine: forward fails on purpose (test)");
  EXPECT_EQ(e.status(), S8NET_ERROR_INTERNAL);
}

}  // namespace
}  // namespace s8net
