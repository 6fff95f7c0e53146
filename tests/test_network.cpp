// The whole S8 network with each real plugin: shape and parameter count of docs/network.md, gradients of
// every parameter against finite differences, agreement across activation layouts, learning, and
// a network saved to a file and loaded back in one call each.
#include "support/temp_dir.hpp"
#include "support/test_plugins.hpp"

#include <s8net/core/error.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/ops/winograd_conv.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/network_file.hpp>
#include <s8net/train/sgd.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace s8net {
namespace {

constexpr int64_t kImageValues = 3 * 32 * 32;

class NetworkTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<NormRegistry>(context_);
    const auto failures = registry_->load_path(S8NET_PLUGIN_DIR);
    for (const auto& failure : failures) ADD_FAILURE() << failure.reason;
  }

  std::unique_ptr<S8Network> make_network(std::optional<ActivationLayout> layout = {}, float dropout = 0.f) {
    NetworkConfig config;
    config.norm = GetParam();
    config.layout = layout;
    config.dropout = dropout;
    config.seed = 7;
    return std::make_unique<S8Network>(context_, *registry_, config);
  }

  static void random_batch(int64_t batch, uint32_t seed, std::vector<float>& images, std::vector<int32_t>& labels) {
    std::mt19937 generator(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::uniform_int_distribution<int32_t> label(0, 9);
    images.resize(static_cast<size_t>(batch * kImageValues));
    labels.resize(static_cast<size_t>(batch));
    for (float& v : images) v = normal(generator);
    for (int32_t& l : labels) l = label(generator);
  }

  Context context_;
  std::unique_ptr<NormRegistry> registry_;
};

TEST_P(NetworkTest, SummaryMatchesSpec) {
  const auto network = make_network();
  EXPECT_EQ(network->parameter_count(), 48178);
  const auto rows = network->summary();
  ASSERT_EQ(rows.size(), 14u);
  // (name, C, H, W, params) from docs/network.md's table; every norm has 2*C parameters.
  const struct {
    const char* name;
    int64_t c, h, w, params;
  } expected[] = {{"C1", 16, 32, 32, 480},  {"C2", 16, 32, 32, 2352}, {"c3", 8, 32, 32, 136},   {"P1", 8, 16, 16, 0},
                  {"C3", 32, 16, 16, 2400}, {"C4", 32, 16, 16, 9312}, {"C5", 32, 16, 16, 9312}, {"c6", 16, 16, 16, 528},
                  {"P2", 16, 8, 8, 0},      {"C7", 32, 8, 8, 4704},   {"C8", 32, 8, 8, 9312},   {"C9", 32, 8, 8, 9312},
                  {"GAP", 32, 1, 1, 0},     {"c10", 10, 1, 1, 330}};
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(rows[i].name);
    EXPECT_EQ(rows[i].name, expected[i].name);
    EXPECT_EQ(rows[i].output, (Dims{expected[i].c, expected[i].h, expected[i].w}));
    EXPECT_EQ(rows[i].params, expected[i].params);
  }
  int64_t counted = 0;
  for (Parameter* p : network->parameters()) counted += p->count();
  EXPECT_EQ(counted, 48178);
}

// Left to choose, a network runs in a layout its norm plugin takes: a plugin without nChw8c trains
// and evaluates on an AVX2 CPU, where nChw8c is the preferred layout, in another one (CTest runs
// this file capped to AVX2 too).
TEST(NetworkLayout, IsOneTheNormPluginTakes) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  registry.load_file(test::only_file_in("no_nchw8c"));
  NetworkConfig config;
  config.norm = "affinenonchw8c";
  S8Network network(context, registry, config);
  EXPECT_NE(network.layout(), ActivationLayout::nChw8c);
  std::vector<float> images(4 * S8Network::kImageValues);
  std::mt19937 generator(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (float& v : images) v = normal(generator);
  const std::vector<int32_t> labels = {1, 2, 3, 4};
  EXPECT_TRUE(std::isfinite(network.forward_backward(images, labels).loss));
  EXPECT_TRUE(std::isfinite(network.evaluate(images, labels).loss));
}

TEST(NetworkFlops, ConvolutionWorkPerImageIsSpecsLayers) {
  // 2 x Cin x taps x Cout x H x W of each conv of docs/network.md's table, for a 32x32 image:
  // C1 884,736; C2 4,718,592; c3 262,144; C3 1,179,648; C4 and C5 4,718,592 each; c6 262,144;
  // C7 589,824; C8 and C9 1,179,648 each; c10 640.
  EXPECT_EQ(S8Network::conv_flops_per_image(Mode::eval), 19'694'208.0);
  // Training: forward, backward-weights, and backward-data of every conv but the first.
  EXPECT_EQ(S8Network::conv_flops_per_image(Mode::train), 3 * 19'694'208.0 - 884'736.0);
}

TEST_P(NetworkTest, LogProbabilitiesAreNormalised) {
  const auto network = make_network();
  std::vector<float> images;
  std::vector<int32_t> labels;
  random_batch(5, 1, images, labels);
  const BatchResult result = network->evaluate(images, labels);
  const auto log_p = network->log_probabilities();
  ASSERT_EQ(log_p.size(), 50u);
  double expected_loss = 0;
  for (size_t i = 0; i < 5; ++i) {
    double total = 0;
    for (size_t j = 0; j < 10; ++j) total += std::exp(static_cast<double>(log_p[i * 10 + j]));
    EXPECT_NEAR(total, 1.0, 1e-5);
    expected_loss -= log_p[i * 10 + static_cast<size_t>(labels[i])];
  }
  EXPECT_NEAR(result.loss, expected_loss / 5, 1e-5);
}

// Saves every parameter's gradient in logical (plain) order.
std::vector<std::vector<float>> plain_gradients(Context& context, S8Network& network) {
  std::vector<std::vector<float>> grads;
  for (Parameter* p : network.parameters()) grads.push_back(to_plain(context, p->grad));
  return grads;
}

// Every parameter tensor: the gradient at its largest-gradient elements and at a random element
// against central differences of the loss, and one directional derivative along a random
// direction over all parameters at once (so every element takes part).
// The network runs in float and is full of kinks (ReLU, max-pool), so a difference quotient of its
// loss scatters around the analytic value (measured: a few percent typically, up to ~35% for a
// few tensors, for steps of 1e-5..1e-4). So each check must be within 50% (a missing, negated or
// doubled gradient path is not) and the median within 5%; the exact checks, in double precision,
// are the per-op and per-plugin tests.
// kAbsolute: one float ULP of the loss (~2.4e-7) over the 2e-4 step is ~1.2e-3; rounding through the
// network makes the noise floor several times that.
constexpr double kEachRelative = 0.5, kMedianRelative = 0.05, kAbsolute = 1e-2;

double relative_error(double analytic, double numeric) {
  return std::abs(analytic - numeric) / (std::abs(numeric) + kAbsolute);
}

double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + static_cast<long>(values.size() / 2), values.end());
  return values[values.size() / 2];
}

TEST_P(NetworkTest, GradientsMatchFiniteDifferences) {
  const auto network = make_network(std::nullopt, 0.f);  // dropout off: the loss is deterministic
  std::vector<float> images;
  std::vector<int32_t> labels;
  random_batch(3, 2, images, labels);
  network->forward_backward(images, labels);
  const auto grads = plain_gradients(context_, *network);
  const auto loss_at = [&] { return network->forward_backward(images, labels).loss; };
  const auto params = network->parameters();
  std::mt19937 generator(3);
  std::vector<double> errors;

  for (size_t k = 0; k < params.size(); ++k) {
    Parameter& p = *params[k];
    SCOPED_TRACE(p.name);
    std::vector<float> values = to_plain(context_, p.value);
    std::vector<size_t> order(values.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::partial_sort(order.begin(), order.begin() + 2, order.end(),
                      [&](size_t a, size_t b) { return std::abs(grads[k][a]) > std::abs(grads[k][b]); });
    const size_t picks[] = {order[0], order[1], std::uniform_int_distribution<size_t>(0, values.size() - 1)(generator)};
    for (size_t index : picks) {
      const float original = values[index];
      // Small steps: ReLUs and max-pools make the loss kinked at the scale of 1e-2 (measured:
      // the difference quotient converges to the analytic value only below ~1e-3).
      const float h = 1e-4f * std::max(1.f, std::abs(original));
      values[index] = original + h;
      from_plain(context_, values, p.value);
      const double plus = loss_at();
      values[index] = original - h;
      from_plain(context_, values, p.value);
      const double minus = loss_at();
      values[index] = original;
      from_plain(context_, values, p.value);
      const double numeric = (plus - minus) / (2.0 * static_cast<double>(h));
      const double analytic = grads[k][index];
      EXPECT_LT(relative_error(analytic, numeric), kEachRelative)
          << "element " << index << ": " << analytic << " vs " << numeric;
      errors.push_back(relative_error(analytic, numeric));
    }
  }

  // Each tensor along a random direction v: d/dt L(p + t v) = g . v, so every element takes part.
  // (One direction over all tensors at once crosses too many kinks for a usable quotient.)
  std::normal_distribution<float> normal(0.f, 1.f);
  for (size_t k = 0; k < params.size(); ++k) {
    SCOPED_TRACE(params[k]->name);
    const std::vector<float> base = to_plain(context_, params[k]->value);
    std::vector<float> direction(base.size());
    double expected = 0;
    for (size_t i = 0; i < base.size(); ++i) {
      direction[i] = normal(generator);
      expected += static_cast<double>(direction[i]) * grads[k][i];
    }
    const auto loss_along = [&](float t) {
      std::vector<float> moved = base;
      for (size_t i = 0; i < moved.size(); ++i) moved[i] += t * direction[i];
      from_plain(context_, moved, params[k]->value);
      return loss_at();
    };
    const float t = 1e-4f;
    const double numeric = (loss_along(t) - loss_along(-t)) / (2.0 * t);
    from_plain(context_, base, params[k]->value);
    EXPECT_LT(relative_error(expected, numeric), kEachRelative) << expected << " vs " << numeric;
    errors.push_back(relative_error(expected, numeric));
  }
  EXPECT_LT(median(errors), kMedianRelative);
}

// The activation layout is an implementation detail: nchw, nChw8c and nChw16c give one answer.
TEST_P(NetworkTest, LayoutsAgree) {
  std::vector<float> images;
  std::vector<int32_t> labels;
  // A batch whose ReLU and max-pool inputs are nowhere within rounding of a tie: at a tie the
  // gradient jumps by a whole term, and conv algorithms (direct, Winograd) round differently.
  random_batch(4, 5, images, labels);
  std::vector<double> losses;
  std::vector<std::vector<std::vector<float>>> grads;
  for (ActivationLayout layout : {ActivationLayout::nchw, ActivationLayout::nChw8c, ActivationLayout::nChw16c}) {
    SCOPED_TRACE(std::string(name_of(layout)));
    const auto network = make_network(layout, 0.01f);
    EXPECT_EQ(network->layout(), layout);
    losses.push_back(network->forward_backward(images, labels).loss);
    grads.push_back(plain_gradients(context_, *network));
  }
  for (size_t l = 1; l < losses.size(); ++l) {
    EXPECT_NEAR(losses[l], losses[0], 1e-4);
    for (size_t k = 0; k < grads[0].size(); ++k)
      for (size_t i = 0; i < grads[0][k].size(); ++i)
        ASSERT_NEAR(grads[l][k][i], grads[0][k][i], 1e-4 + 1e-3 * std::abs(grads[0][k][i]))
            << "layout " << l << " parameter " << k << " element " << i;
  }
}

// Forward, backward and the update agree: 64 images with random labels are memorised.
TEST_P(NetworkTest, LearnsFixedBatchWithRandomLabels) {
  const auto network = make_network(std::nullopt, 0.01f);
  std::vector<float> images;
  std::vector<int32_t> labels;
  random_batch(64, 5, images, labels);
  // Coarse patterns (8x8 noise blown up to 32x32): i.i.d. pixel noise averages out in the global
  // pool, and per-sample norms then see 64 nearly identical images.
  // Backwards, so every source pixel (y/4, x/4) is read before it is overwritten.
  for (size_t plane = 0; plane < images.size() / 1024; ++plane)
    for (size_t y = 32; y-- > 0;)
      for (size_t x = 32; x-- > 0;) images[plane * 1024 + y * 32 + x] = images[plane * 1024 + (y / 4) * 32 + x / 4];
  SgdOptions options;
  options.learning_rate = 0.02f;
  options.momentum = 0.9f;
  Sgd sgd(network->parameters(), options);
  double accuracy = 0, first_loss = 0, loss = 0;
  // At this rate the loss is not monotone, and when it first crosses moves with the kernels'
  // rounding: the bound leaves room for that.
  for (int step = 0; step < 600 && accuracy < 0.95; ++step) {
    const BatchResult result = network->forward_backward(images, labels);
    if (step == 0) first_loss = result.loss;
    loss = result.loss;
    accuracy = static_cast<double>(result.correct) / 64.0;
    sgd.step();
  }
  EXPECT_GE(accuracy, 0.95) << "loss went from " << first_loss << " to " << loss;
  EXPECT_LT(loss, first_loss);
}

TEST_P(NetworkTest, BatchSizesShareWeights) {
  const auto network = make_network();
  std::vector<float> images;
  std::vector<int32_t> labels;
  random_batch(4, 6, images, labels);
  const auto log_p_of = [&](int64_t batch) {
    network->evaluate(std::span(images).first(static_cast<size_t>(batch * kImageValues)),
                      std::span(labels).first(static_cast<size_t>(batch)));
    const auto log_p = network->log_probabilities();
    return std::vector<float>(log_p.begin(), log_p.begin() + 20);
  };
  // Evaluation is per sample for every norm (BN uses its running statistics).
  const std::vector<float> from4 = log_p_of(4), from2 = log_p_of(2);
  for (size_t i = 0; i < from2.size(); ++i) EXPECT_NEAR(from4[i], from2[i], 1e-5);
}

TEST_P(NetworkTest, RejectsMismatchedBatch) {
  const auto network = make_network();
  std::vector<float> images(kImageValues * 2);
  std::vector<int32_t> labels(3, 0);
  EXPECT_THROW(network->forward_backward(images, labels), Error);
  labels.assign(2, 10);
  EXPECT_THROW(network->evaluate(images, labels), Error);
}

// Labels are checked before the forward runs: a rejected batch leaves the norms' running
// statistics, the gradients and the step count as they were.
TEST_P(NetworkTest, RejectedLabelsLeaveTheNetworkUntouched) {
  const auto network = make_network(std::nullopt, 0.1f);
  std::vector<float> images;
  std::vector<int32_t> labels;
  random_batch(2, 8, images, labels);
  network->forward_backward(images, labels);
  const auto snapshot = [&] {
    std::vector<float> values;
    for (Parameter* p : network->state()) values.insert(values.end(), p->value.span().begin(), p->value.span().end());
    for (Parameter* p : network->parameters())
      values.insert(values.end(), p->grad.span().begin(), p->grad.span().end());
    return values;
  };
  const std::vector<float> before = snapshot();
  labels[1] = 10;
  EXPECT_THROW(network->forward_backward(images, labels), Error);
  EXPECT_EQ(network->training_steps(), 1u);
  EXPECT_EQ(snapshot(), before);
}

// One line per op of the training plan, in the table's order (ReLU lines, for the norms that do
// not fuse it, aside), then the inference plan's lines.
TEST_P(NetworkTest, ImplementationListingFollowsTheLayerTable) {
  const auto network = make_network(std::nullopt, 0.1f);
  std::vector<std::string> training, inference;
  for (const std::string& line : network->implementation_names(4)) {
    const std::string op = line.substr(0, line.find(':'));
    if (line.starts_with("eval ")) {
      inference.push_back(op);
      continue;
    }
    EXPECT_TRUE(inference.empty()) << line << " after the inference plan's lines";
    if (!op.ends_with(".relu")) training.push_back(op);
  }
  const std::vector<std::string> expected{"C1.conv",     "C2.conv",     "c3.conv",  "P1.maxpool",      "P1.dropout",
                                          "C3.conv",     "C4.conv",     "C5.conv",  "C5.skip_add",     "c6.conv",
                                          "P2.maxpool",  "P2.dropout",  "C7.conv",  "C8.conv",         "C9.conv",
                                          "C9.skip_add", "GAP.avgpool", "c10.conv", "loss.log_softmax"};
  EXPECT_EQ(training, expected);
  EXPECT_EQ(std::count(inference.begin(), inference.end(), "eval c10.conv"), 1);
  EXPECT_EQ(std::count(inference.begin(), inference.end(), "eval GAP.pool"), 1);
}

// In nChw8c on a CPU that runs it, every 3x3 conv with whole 8-channel blocks (all but C1) runs
// s8net's own Winograd in all three training passes and in inference; C1 and the 1x1 convs do not.
TEST_P(NetworkTest, OwnWinogradRunsEveryThreeByThreeConvWithWholeChannelBlocksInNChw8c) {
  if (!WinogradConv::available()) GTEST_SKIP() << "this CPU has no AVX2 with FMA (or ONEDNN_MAX_CPU_ISA caps it)";
  const auto network = make_network(ActivationLayout::nChw8c);
  const std::string own = WinogradConv::implementation();
  const std::vector<std::string> names = network->implementation_names(4);
  const auto line_of = [&](const std::string& op) {
    const auto found =
        std::find_if(names.begin(), names.end(), [&](const std::string& l) { return l.starts_with(op); });
    return found == names.end() ? std::string("(missing)") : *found;
  };
  for (const char* layer : {"C2", "C3", "C4", "C5", "C7", "C8", "C9"}) {
    EXPECT_EQ(line_of(std::string(layer) + ".conv: "),
              std::string(layer) + ".conv: fwd " + own + ", bwd-data " + own + ", bwd-weights " + own);
    EXPECT_TRUE(line_of(std::string("eval ") + layer + ".conv: ")
                    .starts_with(std::string("eval ") + layer + ".conv: fwd " + own))
        << line_of(std::string("eval ") + layer + ".conv: ");
  }
  for (const char* op : {"C1.conv: ", "c3.conv: ", "c6.conv: ", "eval C1.conv: ", "eval c6.conv: "})
    EXPECT_EQ(line_of(op).find(own), std::string::npos) << line_of(op);
}

INSTANTIATE_TEST_SUITE_P(Norms, NetworkTest, ::testing::Values("bn", "gn", "ln"),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

TEST(NetworkErrors, UnknownNormListsKnownOnes) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  NetworkConfig config;
  config.norm = "xn";
  try {
    S8Network network(context, registry, config);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'xn'"), std::string::npos) << message;
    for (const char* known : {"bn from", "gn from", "ln from"})
      EXPECT_NE(message.find(known), std::string::npos) << message;
  }
}

// What a consumer once had to copy into Checkpoint::config by hand (norm and its options) now
// travels with the network: the loaded one is the same network, not a bn one missing its state.
TEST(NetworkFile, SavesTheConfigurationWithTheWeightsAndLoadsTheSameNetwork) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  NetworkConfig config;
  config.norm = "gn";
  config.norm_options = {{"groups", 4}};
  config.seed = 9;
  config.dropout = 0.05f;
  S8Network network(context, registry, config);
  Sgd sgd(network.parameters(), {.learning_rate = 0.05f, .momentum = 0.9f});

  std::mt19937 generator(3);
  std::normal_distribution<float> normal;
  std::vector<float> images(static_cast<size_t>(4 * kImageValues));
  for (float& v : images) v = normal(generator);
  const std::vector<int32_t> labels{1, 2, 3, 4};
  network.forward_backward(images, labels);
  sgd.step();
  const BatchResult before = network.evaluate(images, labels);
  const std::vector<float> log_p(network.log_probabilities().begin(), network.log_probabilities().end());

  const test::TempDir dir("network-file");
  save_network(dir / "gn.s8ckpt", context, network);
  EXPECT_EQ(load_checkpoint(dir / "gn.s8ckpt").config.norm_options, config.norm_options);
  const std::unique_ptr<S8Network> loaded = load_network(dir / "gn.s8ckpt", context, registry);
  EXPECT_EQ(loaded->config().norm, "gn");
  EXPECT_EQ(loaded->config().norm_options, config.norm_options);
  EXPECT_EQ(loaded->config().seed, 9u);
  EXPECT_EQ(loaded->config().dropout, 0.05f);
  EXPECT_EQ(loaded->training_steps(), network.training_steps());
  EXPECT_EQ(loaded->evaluate(images, labels).loss, before.loss);
  EXPECT_TRUE(std::equal(log_p.begin(), log_p.end(), loaded->log_probabilities().begin()));
}

TEST(NetworkFile, NamesTheFileWhenItIsNotACheckpoint) {
  Context context;
  NormRegistry registry(context);
  const test::TempDir dir("network-file");
  std::ofstream(dir / "notes.txt") << "not a network";
  try {
    load_network(dir / "notes.txt", context, registry);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "notes.txt").string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace s8net
