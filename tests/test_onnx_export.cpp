// ONNX export (lib/onnx): the model passes ONNX's checker with strict shape inference, has the
// documented interface and the original model's tensor names, and OpenCV's dnn, a runtime that
// shares no code with s8net, computes s8net's own log-probabilities with it for bn, gn and ln, with
// and without the preprocessing; norms it cannot express are refused by name.
#include "support/error_of.hpp"
#include "support/onnx_runs.hpp"
#include "support/random_network.hpp"

#include <s8net/core/error.hpp>
#include <s8net/data/any_data_source.hpp>
#include <s8net/data/augment.hpp>
#include <s8net/data/dataset.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/onnx/onnx_export.hpp>

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <set>

namespace {

using namespace s8net;
using test::error_of;

// Agreement of two float implementations of the same network, far below what a wrong statistic,
// eps, affine or skip would change.
constexpr float kTolerance = 1e-4f;

struct Case {
  std::string norm;
  NormOptions options;
  std::string label;
};
// CTest's test names show the parameter: its label rather than its bytes.
void PrintTo(const Case& c, std::ostream* out) { *out << c.label; }

class OnnxExportTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<NormRegistry>(context_);
    for (const auto& failure : registry_->load_path(S8NET_PLUGIN_DIR)) ADD_FAILURE() << failure.reason;
  }

  std::unique_ptr<S8Network> network(const std::string& norm, const NormOptions& options = {}) {
    NetworkConfig config;
    config.norm = norm;
    config.norm_options = options;
    config.seed = 3;
    auto n = std::make_unique<S8Network>(context_, *registry_, config);
    test::randomize_and_train(context_, *n, 21);
    return n;
  }

  static onnx::ModelProto parsed(const std::string& bytes) {
    onnx::ModelProto model;
    EXPECT_TRUE(model.ParseFromString(bytes));
    return model;
  }

  Context context_;
  std::unique_ptr<NormRegistry> registry_;
};

TEST_P(OnnxExportTest, OpenCvComputesWhatS8netEvaluates) {
  auto net = network(GetParam().norm, GetParam().options);
  const std::string model = export_onnx(context_, *net).bytes;
  const std::vector<float> images = test::random_images(5, 7);
  net->evaluate(images, std::vector<int32_t>(5, 0));
  const std::vector<float> expected(net->log_probabilities().begin(), net->log_probabilities().end());
  const std::vector<float> got = test::opencv_outputs(model, images);
  ASSERT_EQ(got.size(), 50u);
  EXPECT_LT(test::max_abs_difference(got, expected), kTolerance);
  // The outputs are log-probabilities of distinct images, not a constant that would match anything.
  EXPECT_GT(test::max_abs_difference(std::span(got).first(10), std::span(got).subspan(10, 10)), 1e-3f);
}

// The acceptance run: the first 1,000 test images of the project's data set through OpenCV and
// through s8net, for bn, gn and ln: the same log-probabilities to 1e-4 and the same predicted
// class for every image.
TEST_F(OnnxExportTest, OpenCvAgreesOnAThousandRealTestImages) {
  const std::filesystem::path archive = S8NET_SHARED_DATA;
  if (!std::filesystem::exists(archive))
    GTEST_SKIP() << archive << " is not there (the project's data set lives in ../shared)";
  const Dataset test = load_any_cifar(archive).test.first(1000);
  const Augmenter augmenter;
  std::vector<float> images(static_cast<size_t>(test.size() * kImageBytes));
  for (int64_t i = 0; i < test.size(); ++i)
    augmenter.apply(test.image(i), false, 0,
                    std::span(images).subspan(static_cast<size_t>(i * kImageBytes), kImageBytes));
  const std::vector<int32_t> labels(test.labels.begin(), test.labels.end());
  for (const std::string norm : {"bn", "gn", "ln"}) {
    auto net = network(norm);
    net->evaluate(images, labels);
    const std::vector<float> expected(net->log_probabilities().begin(), net->log_probabilities().end());
    const std::vector<float> got = test::opencv_outputs(export_onnx(context_, *net).bytes, images);
    ASSERT_EQ(got.size(), expected.size()) << norm;
    EXPECT_LT(test::max_abs_difference(got, expected), kTolerance) << norm;
    int64_t same_class = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      const auto row = [&](const std::vector<float>& v) { return v.begin() + static_cast<std::ptrdiff_t>(i * 10); };
      same_class += std::max_element(row(got), row(got) + 10) - row(got) ==
                    std::max_element(row(expected), row(expected) + 10) - row(expected);
    }
    EXPECT_EQ(same_class, 1000) << norm;
  }
}

TEST_P(OnnxExportTest, PreprocessingTakesRgbBytesAsS8netNormalizesThem) {
  auto net = network(GetParam().norm, GetParam().options);
  OnnxExportOptions options;
  options.include_preprocessing = true;
  const std::string model = export_onnx(context_, *net, options).bytes;
  constexpr int64_t kBatch = 3;
  std::mt19937 generator(5);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> pixels(static_cast<size_t>(kBatch * S8Network::kImageValues));  // N, H, W, C
  for (uint8_t& p : pixels) p = static_cast<uint8_t>(byte(generator));
  std::vector<float> images(pixels.size());  // N, C, H, W normalized, as the data pipeline makes them
  for (int64_t n = 0; n < kBatch; ++n) {
    const std::span<float> image(images.data() + n * S8Network::kImageValues, S8Network::kImageValues);
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < 32 * 32; ++i) image[c * 1024 + i] = pixels[(n * 1024 + i) * 3 + c];
    normalize(image, Normalization{});
  }
  net->evaluate(images, std::vector<int32_t>(kBatch, 0));
  const std::vector<float> got = test::opencv_outputs<uint8_t>(model, {kBatch, 32, 32, 3}, pixels, CV_8U, "images");
  EXPECT_LT(test::max_abs_difference(got, net->log_probabilities()), kTolerance);
}

TEST_P(OnnxExportTest, PassesTheCheckerWithTheDocumentedInterface) {
  auto net = network(GetParam().norm, GetParam().options);
  const std::string bytes = export_onnx(context_, *net).bytes;
  EXPECT_NO_THROW(check_onnx_model(bytes));
  const onnx::ModelProto model = parsed(bytes);
  ASSERT_EQ(model.opset_import_size(), 1);
  EXPECT_EQ(model.opset_import(0).version(), kOnnxOpset);
  const onnx::GraphProto& graph = model.graph();
  ASSERT_EQ(graph.input_size(), 1);
  EXPECT_EQ(graph.input(0).name(), "input");
  const auto& in_shape = graph.input(0).type().tensor_type().shape();
  ASSERT_EQ(in_shape.dim_size(), 4);
  EXPECT_EQ(in_shape.dim(0).dim_param(), "N");
  EXPECT_EQ(in_shape.dim(1).dim_value(), 3);
  ASSERT_EQ(graph.output_size(), 1);
  EXPECT_EQ(graph.output(0).name(), "log_probabilities");
  std::set<std::string> ops, initializers;
  for (const auto& node : graph.node()) ops.insert(node.op_type());
  for (const auto& t : graph.initializer()) initializers.insert(t.name());
  EXPECT_FALSE(ops.count("Dropout"));
  EXPECT_FALSE(ops.count("GroupNormalization"));
  EXPECT_EQ(ops.count("BatchNormalization"), GetParam().norm == "bn" ? 1u : 0u);
  EXPECT_EQ(ops.count("InstanceNormalization"), GetParam().norm == "bn" ? 0u : 1u);
  for (const char* name :
       {"block1.conv1.weight", "block1.n1.weight", "block2.n3.bias", "block3.conv3.bias", "flat.weight"})
    EXPECT_TRUE(initializers.count(name)) << name;
  EXPECT_EQ(initializers.count("block3.n1.running_var"), GetParam().norm == "bn" ? 1u : 0u);
  EXPECT_FALSE(initializers.count("block1.conv3.weight")) << "the original's unused layer has no place in the graph";
  std::map<std::string, std::string> metadata;
  for (const auto& p : model.metadata_props()) metadata[p.key()] = p.value();
  EXPECT_EQ(metadata["normalization.mean"], "0.4914, 0.4822, 0.4465");
  EXPECT_EQ(metadata["normalization.std"], "0.247, 0.243, 0.261");
  EXPECT_EQ(metadata["s8net.norm"], GetParam().norm);
  EXPECT_NE(model.doc_string().find("(value / 255 - mean) / std"), std::string::npos) << model.doc_string();
}

INSTANTIATE_TEST_SUITE_P(Norms, OnnxExportTest,
                         ::testing::Values(Case{"bn", {}, "bn"}, Case{"gn", {}, "gn"}, Case{"ln", {}, "ln"},
                                           Case{"gn", {{"groups", 4}, {"eps", 1e-3}}, "gn_groups4_eps1e3"},
                                           Case{"bn", {{"eps", 1e-2}}, "bn_eps1e2"}),
                         [](const ::testing::TestParamInfo<Case>& param) { return param.param.label; });

class OnnxExportRefusals : public OnnxExportTest {};

TEST_F(OnnxExportRefusals, TheCheckerRejectsAGraphMissingAnInitializer) {
  auto net = network("gn");
  onnx::ModelProto model = parsed(export_onnx(context_, *net).bytes);
  model.mutable_graph()->mutable_initializer()->RemoveLast();
  std::string bytes;
  ASSERT_TRUE(model.SerializeToString(&bytes));
  EXPECT_NE(error_of([&] { check_onnx_model(bytes); }).find("ONNX checker: "), std::string::npos);
  EXPECT_EQ(error_of([&] { check_onnx_model("not a model"); }).substr(0, 14), "ONNX checker: ");
}

TEST_F(OnnxExportRefusals, ANormItCannotExpressIsRefusedByName) {
  auto net = network("in");
  EXPECT_EQ(error_of([&] { export_onnx(context_, *net); }), "norm 'in': ONNX export expresses bn, gn and ln only");
}

}  // namespace
