// s8net export --format onnx as a user runs it: the file it writes passes ONNX's checker and runs in
// OpenCV's dnn with the checkpoint's own evaluation, and each refusal (a norm the graph cannot
// express, a flag of another format, a file it cannot write) is one line with its exit code,
// leaving no file behind.
#include "support/app_runner.hpp"
#include "support/onnx_runs.hpp"
#include "support/random_network.hpp"
#include "support/temp_dir.hpp"
#include "support/test_plugins.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/onnx/onnx_export.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/network_state.hpp>

#include <gtest/gtest.h>

#include <algorithm>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::run_app;
using test::TempDir;

class AppOnnx : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<NormRegistry>(context_);
    for (const auto& failure : registry_->load_path(S8NET_PLUGIN_DIR)) ADD_FAILURE() << failure.reason;
    registry_->load_file(test::only_file_in("frn"));
  }

  // A checkpoint of a randomized, briefly trained network of `norm`.
  std::string checkpoint(const std::string& norm) {
    Checkpoint c;
    c.config = seed_recipe();
    c.config.norm = norm;
    S8Network network(context_, *registry_, network_config_of(c.config));
    test::randomize_and_train(context_, network, 9);
    c.training_steps = network.training_steps();
    c.tensors = capture_tensors(context_, network, nullptr);
    const fs::path path = dir_ / (norm + ".s8ckpt");
    save_checkpoint(path, c);
    return path.string();
  }

  std::string out(const std::string& name) const { return (dir_ / name).string(); }

  Context context_;
  std::unique_ptr<NormRegistry> registry_;
  TempDir dir_{"app-onnx"};
};

TEST_F(AppOnnx, ExportRunsInOpenCvAsTheCheckpointEvaluates) {
  const std::string ckpt = checkpoint("ln");
  const auto r = run_app("export --checkpoint " + ckpt + " --format onnx --out " + out("m.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.substr(0, out("m.onnx").size() + 15), out("m.onnx") + ": ONNX opset 13") << r.out;
  EXPECT_CONTAINS(r.out, "input \"input\" float [N, 3, 32, 32], normalized, output \"log_probabilities\" [N, 10]");
  const std::vector<uint8_t> bytes = read_file_bytes(out("m.onnx"));
  const std::string model(bytes.begin(), bytes.end());
  EXPECT_NO_THROW(check_onnx_model(model));

  const auto network = network_from_checkpoint(context_, *registry_, load_checkpoint(ckpt), ckpt);
  const std::vector<float> images = test::random_images(4, 2);
  network->evaluate(images, std::vector<int32_t>(4, 0));
  EXPECT_LT(test::max_abs_difference(test::opencv_outputs(model, images), network->log_probabilities()), 1e-4f);
}

TEST_F(AppOnnx, PreprocessingFlagChangesTheInput) {
  const auto r = run_app("export --checkpoint " + checkpoint("bn") + " --format onnx --include-preprocessing --out " +
                         out("p.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "input \"images\" uint8 [N, 32, 32, 3]");
}

TEST_F(AppOnnx, ANormTheGraphCannotExpressIsOneLineNamingIt) {
  const auto in = run_app("export --checkpoint " + checkpoint("in") + " --format onnx --out " + out("in.onnx"));
  EXPECT_EQ(in.exit_code, 1);
  EXPECT_EQ(in.err, "s8net export: norm 'in': ONNX export expresses bn, gn and ln only\n");
  const auto frn = run_app("export --checkpoint " + checkpoint("frn") + " --format onnx --out " + out("frn.onnx") +
                           " --plugin-dir " + test::only_file_in("frn").string());
  EXPECT_EQ(frn.exit_code, 1);
  EXPECT_EQ(frn.err, "s8net export: norm 'frn': ONNX export expresses bn, gn and ln only\n");
  EXPECT_FALSE(fs::exists(out("in.onnx")));
  EXPECT_FALSE(fs::exists(out("frn.onnx")));
}

TEST_F(AppOnnx, PreprocessingIsRefusedForSafetensors) {
  const auto r =
      run_app("export --checkpoint " + checkpoint("bn") + " --include-preprocessing --out " + out("m.safetensors"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "s8net export: --include-preprocessing: only with --format onnx (see s8net export --help)\n");
  EXPECT_FALSE(fs::exists(out("m.safetensors")));
}

TEST_F(AppOnnx, AnUnwritableOutIsOneLineNamingIt) {
  const std::string target = out("no-such-dir/m.onnx");
  const auto r = run_app("export --checkpoint " + checkpoint("gn") + " --format onnx --out " + target);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.find("s8net export: "), 0u) << r.err;
  EXPECT_CONTAINS(r.err, target);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
