// The network's evaluation forward (its own plan: BatchNorm folded into the convs, a layout and
// algorithm per layer) against a naive double-precision forward of docs/network.md's network written out
// here, in every activation layout, with norms that fold and norms that do not; and the folded
// weights following every change of the weights and the norms' state.
#include "support/reference.hpp"
#include "support/test_plugins.hpp"

#include <s8net/model/s8_network.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/ops/plane_map.hpp>
#include <s8net/ops/winograd_conv.hpp>
#include <s8net/train/sgd.hpp>

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace s8net {
namespace {

using test::conv2d_reference;
using test::to_double;

constexpr double kEps = 1e-5;  // every shipped norm's default

// Labels (i * step) % 10 for `batch` images: every class, not in order.
std::vector<int32_t> stepped_labels(int64_t batch, int step) {
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i * static_cast<size_t>(step) % 10);
  return labels;
}

// The norm after a conv, in evaluation, on logical N x C x H x W values.
std::vector<double> norm_reference(const std::string& norm, std::vector<double> y, const Dims& dims,
                                   std::span<const double> weight, std::span<const double> bias,
                                   std::span<const double> mean, std::span<const double> var) {
  const int64_t N = dims[0], C = dims[1], plane = dims[2] * dims[3];
  if (norm == "bn") {
    for (size_t i = 0; i < y.size(); ++i) {
      const size_t c = i / static_cast<size_t>(plane) % static_cast<size_t>(C);
      y[i] = (y[i] - mean[c]) / std::sqrt(var[c] + kEps) * weight[c] + bias[c];
    }
  } else if (norm == "gn" || norm == "ln" || norm == "in") {
    const int64_t groups = norm == "gn" ? 2 : norm == "ln" ? 1 : C, span = C / groups * plane;
    for (int64_t g = 0; g < N * groups; ++g) {
      const auto first = y.begin() + g * span, last = first + span;
      const double m = std::accumulate(first, last, 0.0) / static_cast<double>(span);
      double v = 0;
      for (auto it = first; it != last; ++it) v += (*it - m) * (*it - m);
      v /= static_cast<double>(span);
      for (int64_t k = 0; k < span; ++k) {
        const size_t i = static_cast<size_t>(g * span + k), c = i / static_cast<size_t>(plane) % static_cast<size_t>(C);
        y[i] = (y[i] - m) / std::sqrt(v + kEps) * weight[c] + bias[c];
      }
    }
  } else {  // the test plugins "affine" and "affinefolds": y = weight * x + bias
    for (size_t i = 0; i < y.size(); ++i) {
      const size_t c = i / static_cast<size_t>(plane) % static_cast<size_t>(C);
      y[i] = weight[c] * y[i] + bias[c];
    }
  }
  return y;
}

// docs/network.md's network in evaluation, from the network's parameters and state in plain order.
class ReferenceNetwork {
 public:
  ReferenceNetwork(Context& context, S8Network& network, std::string norm) : norm_(std::move(norm)) {
    for (Parameter* p : network.parameters()) parameters_.push_back(to_double(to_plain(context, p->value)));
    for (Parameter* p : network.state()) state_.push_back(to_double(to_plain(context, p->value)));
  }

  // Log-probabilities, batch x 10.
  std::vector<double> log_probabilities(std::span<const float> images, int64_t batch) {
    next_parameter_ = next_state_ = 0;
    Dims dims{batch, 3, 32, 32};
    std::vector<double> x = to_double(images);
    x = conv_norm_relu(x, dims, 16);  // C1
    x = conv_norm_relu(x, dims, 16);  // C2
    x = conv(x, dims, 8, 1);          // c3
    x = pool(x, dims);                // P1
    for (int block = 0; block < 2; ++block) {
      const std::vector<double> skip = conv_norm_relu(x, dims, 32);  // C3, C7
      x = conv_norm_relu(conv_norm_relu(skip, dims, 32), dims, 32);  // C4 C5, C8 C9
      for (size_t i = 0; i < x.size(); ++i) x[i] += skip[i];
      if (block == 0) x = pool(conv(x, dims, 16, 1), dims);  // c6, P2
    }
    x = test::global_avg_pool_reference(x, dims);
    dims = {batch, 32, 1, 1};
    x = conv(x, dims, 10, 1);  // c10
    return test::log_softmax_reference(x, batch, 10);
  }

 private:
  std::span<const double> parameter() { return parameters_.at(next_parameter_++); }
  std::span<const double> state() { return state_.at(next_state_++); }

  std::vector<double> conv(const std::vector<double>& x, Dims& dims, int64_t out_channels, int64_t kernel) {
    const auto weight = parameter(), bias = parameter();
    std::vector<double> y = conv2d_reference(x, dims, weight, bias, out_channels, kernel);
    dims[1] = out_channels;
    return y;
  }
  std::vector<double> conv_norm_relu(const std::vector<double>& x, Dims& dims, int64_t out_channels) {
    std::vector<double> y = conv(x, dims, out_channels, 3);
    const auto weight = parameter(), bias = parameter();
    std::span<const double> mean, var;
    if (norm_ == "bn") mean = state(), var = state();
    return test::relu_reference(norm_reference(norm_, std::move(y), dims, weight, bias, mean, var));
  }
  static std::vector<double> pool(const std::vector<double>& x, Dims& dims) {
    std::vector<double> y = test::max_pool_2x2_reference(x, dims).values;
    dims = {dims[0], dims[1], dims[2] / 2, dims[3] / 2};
    return y;
  }

  std::string norm_;
  std::vector<std::vector<double>> parameters_, state_;
  size_t next_parameter_ = 0, next_state_ = 0;
};

// Writes `values(index in tensor, element)` into a parameter or state tensor, through its plain layout.
template <class F>
void overwrite(Context& context, const Parameter& p, F values) {
  std::vector<float> plain = to_plain(context, p.value);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = values(i, plain[i]);
  from_plain(context, plain, p.value);
}

using Case = std::tuple<std::string, ActivationLayout>;

class InferenceTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    for (const auto& failure : registry_.load_path(S8NET_PLUGIN_DIR)) ADD_FAILURE() << failure.reason;
    for (const char* test_case : {"affine", "folds"}) registry_.load_file(test::only_file_in(test_case));
    NetworkConfig config;
    config.norm = norm();
    config.layout = std::get<1>(GetParam());
    config.seed = 11;
    network_ = std::make_unique<S8Network>(context_, registry_, config);
    // Norm parameters and BatchNorm's running statistics away from their start values (1, 0, 0, 1),
    // where folding them would be a no-op.
    std::mt19937 generator(3);
    std::uniform_real_distribution<float> around_one(0.5f, 1.5f), around_zero(-0.5f, 0.5f);
    for (Parameter* p : network_->parameters())
      if (p->name.find(".norm.") != std::string::npos)
        overwrite(context_, *p, [&](size_t, float) {
          return p->name.ends_with("weight") ? around_one(generator) : around_zero(generator);
        });
    for (Parameter* p : network_->state())
      overwrite(context_, *p, [&](size_t, float) {
        return p->name.ends_with("var") ? around_one(generator) : around_zero(generator);
      });
    images_ = test::random_normal(kBatch * 3 * 32 * 32, 5);
    labels_ = {3, 7};
  }

  std::string norm() const { return std::get<0>(GetParam()); }

  // The evaluation against the reference of the network's current weights and state.
  void expect_reference_evaluation() {
    const BatchResult result = network_->evaluate(images_, labels_);
    const std::vector<double> expected =
        ReferenceNetwork(context_, *network_, norm()).log_probabilities(images_, kBatch);
    const auto got = network_->log_probabilities();
    ASSERT_EQ(got.size(), expected.size());
    // Float convs (Winograd among them) through 14 layers: about 1e-5 of the logits' scale.
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-3) << "log-probability " << i;
    EXPECT_NEAR(result.loss, test::nll_reference(expected, labels_, 10), 1e-3);
  }

  static constexpr int64_t kBatch = 2;
  Context context_;
  NormRegistry registry_{context_};
  std::unique_ptr<S8Network> network_;
  std::vector<float> images_;
  std::vector<int32_t> labels_;
};

TEST_P(InferenceTest, MatchesANaiveForwardOfTheNetwork) { expect_reference_evaluation(); }

// Folded weights are derived data: a change of the norm's state, of a norm parameter or of a conv
// weight after an evaluation must reach the next one.
TEST_P(InferenceTest, FollowsEveryChangeOfTheWeightsAndTheNormState) {
  expect_reference_evaluation();
  for (Parameter* p : network_->state()) {
    const bool variance = p->name.ends_with("var");
    overwrite(context_, *p,
              [&](size_t i, float v) { return variance ? v * 2.f : v + 0.1f * static_cast<float>(i % 3); });
  }
  expect_reference_evaluation();
  const auto parameters = network_->parameters();
  const auto find = [&](const std::string& name) {
    return *std::find_if(parameters.begin(), parameters.end(), [&](Parameter* p) { return p->name == name; });
  };
  overwrite(context_, *find("C4.norm.bias"), [](size_t, float v) { return v - 0.3f; });
  expect_reference_evaluation();
  overwrite(context_, *find("C2.conv.weight"), [](size_t i, float v) { return i % 5 == 0 ? -v : v; });
  expect_reference_evaluation();
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::get<0>(info.param) + "_" + std::string(name_of(std::get<1>(info.param)));
}

// bn folds (ReLU fused); gn, ln and in are taken as maps of their moments where the evaluation
// runs in nChw8c with s8net's kernels, else run by their plugins; affinefolds folds a norm whose
// plugin cannot fuse the ReLU; affine neither folds nor fuses (the ReLU runs as its own primitive).
INSTANTIATE_TEST_SUITE_P(Norms, InferenceTest,
                         ::testing::Combine(::testing::Values("bn", "gn", "ln", "in", "affine", "affinefolds"),
                                            ::testing::Values(ActivationLayout::nchw, ActivationLayout::nChw8c,
                                                              ActivationLayout::nChw16c)),
                         case_name);

// A batch larger than the inference chunk runs as several; the caller sees one batch. For a norm
// that folds (bn) and one taken as a map of its per-image moments (gn).
TEST(InferencePlan, ABatchOfSeveralChunksGivesWhatItsImagesGiveOneByOne) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  for (const char* norm : {"bn", "gn"}) {
    SCOPED_TRACE(norm);
    NetworkConfig config;
    config.norm = norm;
    config.inference_chunk = 16;  // not the default, which grows with the threads: the test's length stays fixed
    S8Network network(context, registry, config);
    const int64_t batch = 2 * network.inference_chunk() + 5;
    const std::vector<float> images = test::random_normal(batch * S8Network::kImageValues, 9);
    const std::vector<int32_t> labels = stepped_labels(batch, 7);

    const BatchResult whole = network.evaluate(images, labels);
    const std::vector<float> log_p(network.log_probabilities().begin(), network.log_probabilities().end());
    ASSERT_EQ(log_p.size(), static_cast<size_t>(batch * 10));
    double loss = 0;
    int64_t correct = 0;
    for (int64_t i = 0; i < batch; ++i) {
      const BatchResult one = network.evaluate(
          std::span(images).subspan(static_cast<size_t>(i * S8Network::kImageValues), S8Network::kImageValues),
          std::span(labels).subspan(static_cast<size_t>(i), 1));
      loss += one.loss;
      correct += one.correct;
      for (size_t k = 0; k < 10; ++k)
        ASSERT_NEAR(network.log_probabilities()[k], log_p[static_cast<size_t>(i) * 10 + k], 1e-5) << "image " << i;
    }
    EXPECT_NEAR(whole.loss, loss / static_cast<double>(batch), 1e-6);
    EXPECT_EQ(whole.correct, correct);
  }
}

// By default a chunk is kInferenceImagesPerThread images per OpenMP thread; the config may name
// another size, which changes where the batch is cut and nothing else. A negative one is refused.
TEST(InferencePlan, TheConfigsChunkSizeSplitsTheBatchWithoutChangingAResult) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  NetworkConfig by4_config;
  by4_config.inference_chunk = 4;
  S8Network by4(context, registry, by4_config), by_default(context, registry, NetworkConfig{});
  EXPECT_EQ(by4.inference_chunk(), 4);
  EXPECT_EQ(by_default.inference_chunk(), S8Network::kInferenceImagesPerThread * omp_get_max_threads());

  const int64_t batch = 11;  // two chunks of 4 and the rest
  const std::vector<float> images = test::random_normal(batch * S8Network::kImageValues, 10);
  const std::vector<int32_t> labels = stepped_labels(batch, 3);
  const BatchResult in_fours = by4.evaluate(images, labels);
  const std::vector<float> log_p(by4.log_probabilities().begin(), by4.log_probabilities().end());
  const BatchResult whole = by_default.evaluate(images, labels);
  ASSERT_EQ(by_default.log_probabilities().size(), log_p.size());
  for (size_t i = 0; i < log_p.size(); ++i) ASSERT_NEAR(log_p[i], by_default.log_probabilities()[i], 1e-5) << i;
  EXPECT_NEAR(in_fours.loss, whole.loss, 1e-6);
  EXPECT_EQ(in_fours.correct, whole.correct);

  NetworkConfig negative;
  negative.inference_chunk = -1;
  try {
    S8Network refused(context, registry, negative);
    FAIL() << "a negative chunk size was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("inference_chunk"), std::string::npos) << e.what();
  }
}

TEST(InferencePlan, FoldsEveryNormThatOffersItsEvaluationAsAnAffineMap) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  registry.load_file(test::only_file_in("affine"));
  const auto lines_with = [&](const std::string& norm, const std::string& text) {
    NetworkConfig config;
    config.norm = norm;
    S8Network network(context, registry, config);
    const std::vector<std::string> names = network.implementation_names(4);
    return std::count_if(names.begin(), names.end(), [&](const std::string& line) {
      return line.starts_with("eval ") && line.find(text) != std::string::npos;
    });
  };
  EXPECT_EQ(lines_with("bn", "(bn folded in)"), 8);  // every 3x3 conv
  EXPECT_EQ(lines_with("bn", ".norm: "), 0);
  EXPECT_EQ(lines_with("gn", "folded"), 0);
  EXPECT_EQ(lines_with("gn", ".norm: gn"), 8);
  EXPECT_EQ(lines_with("affine", ".relu: fwd "), 8);  // a norm that cannot fuse its ReLU
  for (const char* norm : {"bn", "gn", "affine"})
    EXPECT_EQ(lines_with(norm, "bwd"), 0) << norm << ": evaluation builds no backward pass";
}

// A norm that offers its evaluation as a map of its input's moments (gn, ln, in) has no pass of its own
// where the evaluation runs in nChw8c with s8net's kernels: s8net's Winograd takes the moments of
// its output (after oneDNN's C1, one pass takes them), the next Winograd or pooled 1x1 conv
// applies the map to what it reads, and one pass applies it, with the skip add, before c6 and the
// global pool. c3 and c6 run with the max-pool after them as one pass, whatever the norm.
TEST(InferencePlan, TakesANormThatOffersAMapOfTheMomentsIntoTheOpsAroundIt) {
  if (!plane_map_available()) GTEST_SKIP() << "no AVX2 with FMA: s8net's own kernels do not run here";
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  const auto lines_with = [&](const std::string& norm, const std::string& text) {
    NetworkConfig config;
    config.norm = norm;
    config.layout = ActivationLayout::nChw8c;
    S8Network network(context, registry, config);
    const std::vector<std::string> names = network.implementation_names(4);
    return std::count_if(names.begin(), names.end(), [&](const std::string& line) {
      return line.starts_with("eval ") && line.find(text) != std::string::npos;
    });
  };
  for (const char* norm : {"gn", "ln", "in"}) {
    EXPECT_EQ(lines_with(norm, "(plugin, as a map of the moments)"), 8) << norm;
    EXPECT_EQ(lines_with(norm, "(taking the moments of its output)"), 7) << norm;  // C2 to C9
    EXPECT_EQ(lines_with(norm, ".norm moments: "), 1) << norm;                     // after C1
    EXPECT_EQ(lines_with(norm, "norm and ReLU in)"), 6) << norm;                   // C2, c3, C4, C5, C8, C9
    EXPECT_EQ(lines_with(norm, ".norm map: "), 2) << norm;                         // before c6 and the pool
    EXPECT_EQ(lines_with(norm, "skip add of the source's map"), 2) << norm;
    EXPECT_EQ(lines_with(norm, ".skip_add: "), 0) << norm;
  }
  for (const char* norm : {"bn", "gn"}) {
    EXPECT_EQ(lines_with(norm, "max-pool taken in"), 2) << norm;  // c3 and c6
    EXPECT_EQ(lines_with(norm, ".pool: "), 1) << norm;            // the global pool
  }
  // The test plugin "affine" offers no such map: its plugin runs after each conv.
  registry.load_file(test::only_file_in("affine"));
  EXPECT_EQ(lines_with("affine", "as a map of the moments"), 0);
  EXPECT_EQ(lines_with("affine", ".norm: affine (plugin"), 8);
}

std::unique_ptr<S8Network> network_of(Context& context, const NormRegistry& registry, const std::string& norm,
                                      std::optional<ActivationLayout> layout) {
  NetworkConfig config;
  config.norm = norm;
  config.layout = layout;
  return std::make_unique<S8Network>(context, registry, config);
}

// Left to choose, a network evaluates in nChw8c, where s8net's own Winograd runs, even when
// training runs in nChw16c (oneDNN's choice with AVX-512), whether its norms fold (bn) or run as
// plugins that take nChw8c (gn, ln). A plugin that does not take nChw8c keeps the training layout,
// and so does a layout the config names. (Under ONEDNN_MAX_CPU_ISA=AVX2, as CTest also runs this
// file, training is nChw8c already.)
TEST(InferencePlan, EvaluatesInNChw8cWhereTheOwnWinogradRuns) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  registry.load_file(test::only_file_in("no_nchw8c"));
  const auto eval_c4 = [](S8Network& network) {
    for (const std::string& line : network.implementation_names(4))
      if (line.starts_with("eval C4.conv: ")) return line;
    return std::string("(missing)");
  };
  const std::string own = WinogradConv::implementation();
  for (const char* norm : {"bn", "gn", "ln"}) {
    const auto network = network_of(context, registry, norm, std::nullopt);
    if (network->layout() == ActivationLayout::nChw16c && WinogradConv::available()) {
      EXPECT_EQ(network->inference_layout(), ActivationLayout::nChw8c) << norm;
      EXPECT_NE(eval_c4(*network).find(own), std::string::npos) << eval_c4(*network);
    } else {
      EXPECT_EQ(network->inference_layout(), network->layout()) << norm;
    }
  }
  const auto no_nchw8c = network_of(context, registry, "affinenonchw8c", std::nullopt);
  EXPECT_EQ(no_nchw8c->inference_layout(), no_nchw8c->layout());
  const auto named = network_of(context, registry, "bn", ActivationLayout::nChw16c);
  EXPECT_EQ(named->inference_layout(), ActivationLayout::nChw16c);
  EXPECT_EQ(eval_c4(*named).find(own), std::string::npos) << eval_c4(*named);
}

// The layout evaluation picks changes no result: a network trained a few steps evaluates as one
// made to evaluate in its training layout, trained the same way.
class EvaluationLayoutTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EvaluationLayoutTest, ChangesNoResult) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  const auto chosen = network_of(context, registry, GetParam(), std::nullopt);
  if (chosen->inference_layout() == chosen->layout())
    GTEST_SKIP() << "evaluation runs in the training layout on this CPU: nothing to compare";
  const auto named = network_of(context, registry, GetParam(), chosen->layout());
  const int64_t batch = 40;
  const std::vector<float> images = test::random_normal(batch * S8Network::kImageValues, 21);
  const std::vector<int32_t> labels = stepped_labels(batch, 3);
  for (S8Network* network : {chosen.get(), named.get()}) {
    Sgd sgd(network->parameters(), SgdOptions{});
    for (int step = 0; step < 3; ++step) {  // running statistics away from their start
      network->forward_backward(images, labels);
      sgd.step();
    }
  }
  const BatchResult a = chosen->evaluate(images, labels);
  const std::vector<float> log_p(chosen->log_probabilities().begin(), chosen->log_probabilities().end());
  const BatchResult b = named->evaluate(images, labels);
  ASSERT_EQ(log_p.size(), named->log_probabilities().size());
  for (size_t i = 0; i < log_p.size(); ++i)
    EXPECT_NEAR(log_p[i], named->log_probabilities()[i], 1e-4) << "log-probability " << i;
  EXPECT_NEAR(a.loss, b.loss, 1e-4);  // a mean of the log-probabilities above
}

INSTANTIATE_TEST_SUITE_P(Norms, EvaluationLayoutTest, ::testing::Values("bn", "gn", "ln"),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace s8net
