// The original PyTorch model's state_dict both ways: the names and shapes an export writes (checked
// against files PyTorch wrote), the round trip, each refusal of import, and parity of s8net's
// evaluation with PyTorch's log-probabilities on the committed fixtures
// (tests/data/safetensors/make_fixtures.py).
#include "support/error_of.hpp"

#include <s8net/core/error.hpp>
#include <s8net/interop/state_dict.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/train/network_state.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>

namespace {

using namespace s8net;
using test::error_of;

const std::filesystem::path kFixtures = std::filesystem::path(S8NET_SOURCE_DIR) / "tests/data/safetensors";

SafeTensor& tensor(SafeTensorsFile& file, const std::string& name) {
  for (SafeTensor& t : file.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name + " in the test file");
}

void erase(SafeTensorsFile& file, const std::string& name) {
  std::erase_if(file.tensors, [&](const SafeTensor& t) { return t.name == name; });
}

std::vector<float> floats_of(const SafeTensor& t) {
  std::vector<float> values(t.bytes.size() / 4);
  std::memcpy(values.data(), t.bytes.data(), t.bytes.size());
  return values;
}

int64_t int64_of(const SafeTensor& t) {
  int64_t value = 0;
  std::memcpy(&value, t.bytes.data(), sizeof value);
  return value;
}

class StateDictTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<NormRegistry>(context_);
    for (const auto& failure : registry_->load_path(S8NET_PLUGIN_DIR)) ADD_FAILURE() << failure.reason;
  }

  TrainConfig config(const std::string& norm) const {
    TrainConfig c = seed_recipe();
    c.norm = norm;
    c.seed = 5;
    return c;
  }

  // A network whose every parameter is random (no zero biases, no unit scales to hide a swap),
  // after two training steps, so BatchNorm's running statistics moved too.
  std::unique_ptr<S8Network> trained_network(const std::string& norm) {
    auto network = std::make_unique<S8Network>(context_, *registry_, network_config_of(config(norm)));
    std::mt19937 generator(11);
    std::normal_distribution<float> normal(0.f, 0.3f);
    for (Parameter* p : network->parameters()) {
      std::vector<float> values(static_cast<size_t>(p->count()));
      for (float& v : values) v = normal(generator);
      from_plain(context_, values, p->value);
    }
    const auto [images, labels] = batch(4, 3);
    network->forward_backward(images, labels);
    network->forward_backward(images, labels);
    return network;
  }

  static std::pair<std::vector<float>, std::vector<int32_t>> batch(int64_t size, uint32_t seed) {
    std::mt19937 generator(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> images(static_cast<size_t>(size * S8Network::kImageValues));
    for (float& v : images) v = normal(generator);
    std::vector<int32_t> labels(static_cast<size_t>(size));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i % 10);
    return {images, labels};
  }

  std::string import_error(const SafeTensorsFile& file, const std::string& norm) {
    return error_of([&] { import_state_dict(context_, *registry_, file, config(norm), "m.safetensors"); });
  }

  Context context_;
  std::unique_ptr<NormRegistry> registry_;
};

// The original model's state_dict (docs/network.md), written out rather than derived.
std::vector<std::pair<std::string, std::vector<int64_t>>> original_names(const std::string& norm) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> names;
  auto conv = [&](const std::string& name, int64_t out, int64_t in, int64_t k) {
    names.push_back({name + ".weight", {out, in, k, k}});
    names.push_back({name + ".bias", {out}});
  };
  auto n = [&](const std::string& name, int64_t c) {
    names.push_back({name + ".weight", {c}});
    names.push_back({name + ".bias", {c}});
    if (norm != "bn") return;
    names.push_back({name + ".running_mean", {c}});
    names.push_back({name + ".running_var", {c}});
    names.push_back({name + ".num_batches_tracked", {}});
  };
  conv("block1.conv1", 16, 3, 3), n("block1.n1", 16), conv("block1.conv2", 16, 16, 3), n("block1.n2", 16);
  conv("block1.conv3", 16, 16, 3), n("block1.n3", 16), conv("block1.filter1x", 8, 16, 1);
  conv("block2.conv1", 32, 8, 3), n("block2.n1", 32), conv("block2.conv2", 32, 32, 3), n("block2.n2", 32);
  conv("block2.conv3", 32, 32, 3), n("block2.n3", 32), conv("block2.filter1x", 16, 32, 1);
  conv("block3.conv1", 32, 16, 3), n("block3.n1", 32), conv("block3.conv2", 32, 32, 3), n("block3.n2", 32);
  conv("block3.conv3", 32, 32, 3), n("block3.n3", 32);
  conv("flat", 10, 32, 1);
  return names;
}

TEST_P(StateDictTest, ExportHasExactlyTheOriginalNamesShapesAndDtypes) {
  const std::string norm = GetParam();
  const SafeTensorsFile file = export_state_dict(context_, *trained_network(norm));
  const auto expected = original_names(norm);
  ASSERT_EQ(file.tensors.size(), expected.size());
  int64_t trainable = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const SafeTensor& t = file.tensors[i];
    EXPECT_EQ(t.name, expected[i].first);
    EXPECT_EQ(t.shape, expected[i].second) << t.name;
    const bool steps = t.name.ends_with("num_batches_tracked");
    EXPECT_EQ(t.dtype, steps ? "I64" : "F32") << t.name;
    if (!steps && t.name.find("running_") == std::string::npos) trainable += static_cast<int64_t>(t.bytes.size() / 4);
  }
  EXPECT_EQ(trainable, 50'530) << "48,178 of s8net's plus block1's unused conv3 and n3";
}

TEST_P(StateDictTest, ExportMatchesTheStateDictPyTorchWrote) {
  const std::string norm = GetParam();
  const SafeTensorsFile ours = export_state_dict(context_, *trained_network(norm));
  const SafeTensorsFile theirs = load_safetensors(kFixtures / (norm + ".safetensors"));
  std::set<std::string> pytorch_names;
  for (const SafeTensor& t : theirs.tensors) {
    pytorch_names.insert(t.name);
    const SafeTensor* mine = ours.find(t.name);
    ASSERT_NE(mine, nullptr) << "PyTorch's " << t.name << " is missing from the export";
    EXPECT_EQ(mine->dtype, t.dtype) << t.name;
    EXPECT_EQ(mine->shape, t.shape) << t.name;
  }
  EXPECT_EQ(pytorch_names.size(), ours.tensors.size());
}

TEST_P(StateDictTest, UnusedBlock1LayersAreNeutralAndMetadataDescribesTheNetwork) {
  const std::string norm = GetParam();
  const auto network = trained_network(norm);
  SafeTensorsFile file = export_state_dict(context_, *network);
  for (float v : floats_of(tensor(file, "block1.conv3.weight"))) ASSERT_EQ(v, 0.f);
  for (float v : floats_of(tensor(file, "block1.conv3.bias"))) ASSERT_EQ(v, 0.f);
  for (float v : floats_of(tensor(file, "block1.n3.weight"))) ASSERT_EQ(v, 1.f);
  for (float v : floats_of(tensor(file, "block1.n3.bias"))) ASSERT_EQ(v, 0.f);
  if (norm == "bn") {
    for (float v : floats_of(tensor(file, "block1.n3.running_mean"))) ASSERT_EQ(v, 0.f);
    for (float v : floats_of(tensor(file, "block1.n3.running_var"))) ASSERT_EQ(v, 1.f);
    EXPECT_EQ(int64_of(tensor(file, "block1.n3.num_batches_tracked")), 0);
    EXPECT_EQ(int64_of(tensor(file, "block3.n2.num_batches_tracked")), 2);
  }
  EXPECT_EQ(file.metadata.at("s8net.norm"), norm);
  EXPECT_EQ(file.metadata.at("s8net.format_version"), "1");
  EXPECT_EQ(file.metadata.at("s8net.training_steps"), "2");
  EXPECT_EQ(file.metadata.at("s8net.norm_options"), "{}");
}

TEST_P(StateDictTest, RoundTripIsBitIdenticalAndEvaluatesTheSame) {
  const std::string norm = GetParam();
  const auto network = trained_network(norm);
  const auto bytes = serialize_safetensors(export_state_dict(context_, *network));
  const Checkpoint checkpoint =
      import_state_dict(context_, *registry_, parse_safetensors(bytes, "m.safetensors"), config(norm), "m.safetensors");
  EXPECT_EQ(checkpoint.epochs_done, 0);
  EXPECT_EQ(checkpoint.training_steps, 2u);
  const auto imported = network_from_checkpoint(context_, *registry_, checkpoint, "imported");

  const auto before = capture_tensors(context_, *network, nullptr);
  const auto after = capture_tensors(context_, *imported, nullptr);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].name, after[i].name);
    ASSERT_EQ(before[i].values.size(), after[i].values.size());
    EXPECT_EQ(std::memcmp(before[i].values.data(), after[i].values.data(), before[i].values.size() * 4), 0)
        << before[i].name;
  }
  for (const NamedValues& t : checkpoint.tensors) {
    if (!t.name.starts_with("momentum/")) continue;
    for (float v : t.values) ASSERT_EQ(v, 0.f) << t.name;
  }

  const auto [images, labels] = batch(6, 9);
  const BatchResult a = network->evaluate(images, labels);
  const std::vector<float> expected(network->log_probabilities().begin(), network->log_probabilities().end());
  const BatchResult b = imported->evaluate(images, labels);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.correct, b.correct);
  const auto got = imported->log_probabilities();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << i;
}

TEST_P(StateDictTest, EvaluationMatchesPyTorch) {
  const std::string norm = GetParam();
  const SafeTensorsFile weights = load_safetensors(kFixtures / (norm + ".safetensors"));
  const SafeTensorsFile expected = load_safetensors(kFixtures / "expected.safetensors");
  const Checkpoint checkpoint = import_state_dict(context_, *registry_, weights, config(norm), norm + ".safetensors");
  EXPECT_EQ(checkpoint.training_steps, norm == "bn" ? 7u : 0u) << "num_batches_tracked of the fixture";
  const auto network = network_from_checkpoint(context_, *registry_, checkpoint, norm);
  const std::vector<float> images = floats_of(*expected.find("images"));
  const std::vector<float> reference = floats_of(*expected.find(norm));
  const std::vector<int32_t> labels(4, 0);
  network->evaluate(images, labels);
  const auto got = network->log_probabilities();
  ASSERT_EQ(got.size(), reference.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], reference[i], 2e-5) << "image " << i / 10 << " class " << i % 10;
}

TEST_P(StateDictTest, ImportIgnoresTheValuesOfTheUnusedLayers) {
  const std::string norm = GetParam();
  SafeTensorsFile file = export_state_dict(context_, *trained_network(norm));
  const Checkpoint plain = import_state_dict(context_, *registry_, file, config(norm), "m");
  for (uint8_t& b : tensor(file, "block1.conv3.weight").bytes) b = 0x3f;
  for (uint8_t& b : tensor(file, "block1.n3.bias").bytes) b = 0x40;
  const Checkpoint changed = import_state_dict(context_, *registry_, file, config(norm), "m");
  ASSERT_EQ(plain.tensors.size(), changed.tensors.size());
  for (size_t i = 0; i < plain.tensors.size(); ++i) EXPECT_EQ(plain.tensors[i].values, changed.tensors[i].values);
}

TEST_P(StateDictTest, ImportRefusesAMissingTensorNamingIt) {
  SafeTensorsFile file = export_state_dict(context_, *trained_network(GetParam()));
  erase(file, "block2.n3.bias");
  EXPECT_EQ(import_error(file, GetParam()), "m.safetensors: no block2.n3.bias (the original Net(norm='" + GetParam() +
                                                "') has it; a file of another norm?)");
}

TEST_P(StateDictTest, ImportRefusesAMissingUnusedTensor) {
  SafeTensorsFile file = export_state_dict(context_, *trained_network(GetParam()));
  erase(file, "block1.conv3.bias");
  EXPECT_NE(import_error(file, GetParam()).find("no block1.conv3.bias"), std::string::npos);
}

TEST_P(StateDictTest, ImportRefusesAnExtraTensorNamingIt) {
  SafeTensorsFile file = export_state_dict(context_, *trained_network(GetParam()));
  file.tensors.push_back({"block4.conv1.weight", "F32", {1}, std::vector<uint8_t>(4)});
  EXPECT_EQ(import_error(file, GetParam()), "m.safetensors: block4.conv1.weight is not in the original Net(norm='" +
                                                GetParam() + "')'s state_dict (a file of another model or norm?)");
}

TEST_P(StateDictTest, ImportRefusesAMisshapedTensorNamingBothShapes) {
  SafeTensorsFile file = export_state_dict(context_, *trained_network(GetParam()));
  SafeTensor& t = tensor(file, "block1.conv1.weight");
  t.shape = {16, 3, 9, 1};
  EXPECT_EQ(import_error(file, GetParam()),
            "m.safetensors: block1.conv1.weight is F32 [16, 3, 9, 1]; in the original Net(norm='" + GetParam() +
                "') it is F32 [16, 3, 3, 3]");
}

TEST_P(StateDictTest, ImportRefusesAMisshapedUnusedTensor) {
  SafeTensorsFile file = export_state_dict(context_, *trained_network(GetParam()));
  SafeTensor& t = tensor(file, "block1.n3.weight");
  t.shape = {8};
  t.bytes.resize(32);
  EXPECT_NE(import_error(file, GetParam()).find("block1.n3.weight is F32 [8]; in the original"), std::string::npos);
}

TEST_P(StateDictTest, ImportRefusesAnotherDtype) {
  SafeTensorsFile file = export_state_dict(context_, *trained_network(GetParam()));
  SafeTensor& t = tensor(file, "flat.bias");
  t.dtype = "F64";
  t.bytes.resize(80);
  EXPECT_NE(import_error(file, GetParam())
                .find("flat.bias is F64 [10]; in the original Net(norm='" + GetParam() + "') it is F32 [10]"),
            std::string::npos);
}

TEST_P(StateDictTest, ImportRefusesANaNOrAnInfinityNamingTheTensorAndIndex) {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
    SafeTensorsFile file = export_state_dict(context_, *trained_network(GetParam()));
    SafeTensor& t = tensor(file, "block2.conv2.weight");
    std::memcpy(t.bytes.data() + 5 * sizeof(float), &bad, sizeof bad);
    EXPECT_EQ(import_error(file, GetParam()), std::string("m.safetensors: block2.conv2.weight holds ") +
                                                  (std::isnan(bad) ? "NaN" : "an infinity") + " at index 5");
  }
}

INSTANTIATE_TEST_SUITE_P(Norms, StateDictTest, ::testing::Values("bn", "gn", "ln"));

class StateDictBn : public StateDictTest {};

TEST_F(StateDictBn, AGroupNormFileIsNotABatchNormOne) {
  const SafeTensorsFile gn = load_safetensors(kFixtures / "gn.safetensors");
  EXPECT_EQ(import_error(gn, "bn"),
            "m.safetensors: no block1.n1.running_mean, block1.n1.running_var, block1.n1.num_batches_tracked, "
            "block1.n2.running_mean, block1.n2.running_var, block1.n2.num_batches_tracked and 21 more (the original "
            "Net(norm='bn') has them; a file of another norm?)");
  const SafeTensorsFile bn = load_safetensors(kFixtures / "bn.safetensors");
  EXPECT_NE(import_error(bn, "gn").find(
                "block1.n1.running_mean, block1.n1.running_var, block1.n1.num_batches_tracked, block1.n2.running_mean"),
            std::string::npos);
}

TEST_F(StateDictBn, RefusesANegativeOrMisshapedStepCount) {
  SafeTensorsFile file = load_safetensors(kFixtures / "bn.safetensors");
  SafeTensor& steps = tensor(file, "block1.n1.num_batches_tracked");
  const int64_t negative = -3;
  std::memcpy(steps.bytes.data(), &negative, sizeof negative);
  EXPECT_EQ(import_error(file, "bn"), "m.safetensors: block1.n1.num_batches_tracked is -3, a negative step count");
  steps.shape = {1};
  EXPECT_NE(import_error(file, "bn")
                .find("block1.n1.num_batches_tracked is I64 [1]; in the original Net(norm='bn') it is I64 []"),
            std::string::npos);
}

TEST_F(StateDictBn, RefusesANormTheOriginalDoesNotHave) {
  const SafeTensorsFile file = load_safetensors(kFixtures / "gn.safetensors");
  EXPECT_EQ(import_error(file, "in"), "norm 'in': the original PyTorch model has only bn, gn and ln");
}

TEST(StateDictOriginal, NamesTheOptionsWhereTheNetworkComputesOtherwise) {
  EXPECT_TRUE(differences_from_original("gn", {{"groups", 2}, {"eps", 1e-5}}).empty());
  EXPECT_TRUE(differences_from_original("bn", {{"momentum", 0.1}}).empty());
  EXPECT_EQ(differences_from_original("gn", {{"groups", 4}}),
            std::vector<std::string>{"groups=4 (the original has 2)"});
  EXPECT_EQ(differences_from_original("bn", {{"eps", 0.001}, {"momentum", 0.1}}),
            std::vector<std::string>{"eps=0.001 (the original has 1e-05)"});
  EXPECT_EQ(differences_from_original("ln", {{"groups", 2}}),
            std::vector<std::string>{"groups=2 (the original has no such option)"});
}

TEST(StateDictMetadata, ReadsWhatExportWritesAndRefusesANewerVersion) {
  SafeTensorsFile file;
  file.metadata = {{"s8net.format_version", "1"},
                   {"s8net.norm", "gn"},
                   {"s8net.norm_options", R"({"groups":4})"},
                   {"s8net.training_steps", "12"}};
  const StateDictMetadata m = read_state_dict_metadata(file, "m");
  EXPECT_EQ(m.norm, "gn");
  EXPECT_EQ(m.norm_options, (NormOptions{{"groups", 4.0}}));
  EXPECT_EQ(m.training_steps, 12u);
  EXPECT_FALSE(read_state_dict_metadata(SafeTensorsFile{}, "m").norm);

  file.metadata["s8net.format_version"] = "2";
  EXPECT_EQ(error_of([&] { read_state_dict_metadata(file, "m"); }),
            "m: written by a newer s8net (format version 2; this one reads up to 1)");
  file.metadata["s8net.format_version"] = "1";
  file.metadata["s8net.training_steps"] = "-1";
  EXPECT_EQ(error_of([&] { read_state_dict_metadata(file, "m"); }),
            "m: metadata s8net.training_steps is \"-1\", not a whole number");
  file.metadata["s8net.training_steps"] = "1";
  file.metadata["s8net.norm_options"] = R"({"groups":"two"})";
  EXPECT_EQ(error_of([&] { read_state_dict_metadata(file, "m"); }),
            "m: metadata s8net.norm_options: groups is \"two\", not a number");
}

}  // namespace
