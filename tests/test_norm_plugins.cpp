// bn, gn, ln and in driven through the C ABI by the host's plugin handle (norm/plugin_instance.hpp;
// the registry has its own tests), and their entry point called directly: forward against a naive double-precision
// reference in training and evaluation, backward against central finite differences of that
// reference, in every layout, with and without the fused ReLU, with channel counts that do and do
// not fill the last block; BN's running statistics; descriptors, refusals and the ABI handshake.
#include "support/reference.hpp"

#include <s8net/norm/plugin_api.h>
#include <s8net/core/context.hpp>
#include <s8net/core/error.hpp>
#include <s8net/norm/plugin_instance.hpp>
#include <s8net/norm/plugin_sdk.hpp>  // only sdk::Layout and sdk::layout_name, the index arithmetic
#include <s8net/norm/registry.hpp>

#include <gtest/gtest.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------
// Loading plugins

std::string file_of(const std::string& norm) {
  static const std::map<std::string, std::string> files{
      {"bn", "batchnorm"}, {"gn", "groupnorm"}, {"ln", "layernorm"}, {"in", "instancenorm"}};
  return std::string(S8NET_PLUGIN_DIR) + "/s8net_norm_" + files.at(norm) + ".so";
}

// The host's registry of the shipped plugins, for the whole test program: the plugins keep its
// host table and engine, so it lives as long as the libraries.
s8net::NormRegistry& registry() {
  static s8net::Context context;
  static s8net::NormRegistry shipped(context);
  return shipped;
}

// The plugin after a successful handshake (a test failure and nullptr otherwise).
std::shared_ptr<const s8net::PluginInfo> plugin(const std::string& norm) {
  try {
    registry().load_file(file_of(norm));
    return registry().acquire(norm);
  } catch (const s8net::Error& e) {
    ADD_FAILURE() << e.what();
    return nullptr;
  }
}

// One plugin instance through the host's handle (norm/plugin_instance.hpp). Calls return the
// plugin's status, S8NET_OK or that of the PluginCallError the handle threw; message() is the
// plugin's message of the latest failure, for test output.
class Layer {
 public:
  Layer(const std::string& norm, int64_t channels, bool relu, std::vector<s8net_option_value> options = {}) {
    std::shared_ptr<const s8net::PluginInfo> info = plugin(norm);
    if (info == nullptr) return;
    create_status_ = status_of([&] { instance_.emplace(std::move(info), channels, relu, options); });
  }

  bool ok() const { return instance_.has_value(); }
  s8net_status create_status() const { return create_status_; }
  std::string message() const { return message_; }

  s8net_status forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
    return status_of([&] { instance_->forward(mode, desc, x, y); });
  }
  s8net_status backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx) {
    return status_of([&] { instance_->backward(desc, x, y, dy, dx); });
  }
  std::vector<s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind) {
    std::vector<s8net_norm_tensor> out;
    EXPECT_EQ(status_of([&] { out = instance_->tensors(kind); }), S8NET_OK) << message_;
    return out;
  }
  // The view named `name` ("weight", "running_var" ...); a test failure and an empty view if none.
  s8net_norm_tensor tensor(const std::string& name) {
    for (const auto kind : {S8NET_NORM_PARAMETERS, S8NET_NORM_STATE})
      for (const s8net_norm_tensor& t : tensors(kind))
        if (name == t.name) return t;
    ADD_FAILURE() << "no tensor " << name;
    return {};
  }

 private:
  // A broken promise (S8NET_OK in the error) is no success: it counts as an internal error here.
  template <class F>
  s8net_status status_of(F call) {
    try {
      call();
      return S8NET_OK;
    } catch (const s8net::PluginCallError& e) {
      message_ = e.reason();
      return e.status() == S8NET_OK ? S8NET_ERROR_INTERNAL : e.status();
    }
  }

  std::optional<s8net::PluginInstance> instance_;
  s8net_status create_status_ = S8NET_ERROR_INTERNAL;
  std::string message_;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// The reference, on logical N x C x H x W arrays of doubles

using Values = std::vector<double>;
constexpr double kEps = 1e-5;

struct Case {
  std::string norm;
  int64_t groups;  // gn's option; the reference treats ln as one group and bn as per channel
  s8net_layout layout;
  bool relu;
  int64_t n, c, h, w;
};

std::string describe(const Case& k) {
  return k.norm + (k.norm == "gn" ? "_g" + std::to_string(k.groups) : "") + "_" + s8net::sdk::layout_name(k.layout) +
         (k.relu ? "_relu" : "") + "_n" + std::to_string(k.n) + "c" + std::to_string(k.c) + "h" + std::to_string(k.h) +
         "w" + std::to_string(k.w);
}
void PrintTo(const Case& k, std::ostream* out) { *out << describe(k); }

// The elements whose statistics normalise element (n, c, .): for BN channel c over (N, H, W), for
// GN the group of c in sample n over (C/G, H, W), for IN channel c of sample n, for LN all of n.
template <class F>
void for_each_peer(const Case& k, const Values& x, int64_t n, int64_t c, F f) {
  const int64_t hw = k.h * k.w;
  const auto at = [&](int64_t in, int64_t ic, int64_t s) { return x[static_cast<size_t>((in * k.c + ic) * hw + s)]; };
  if (k.norm == "bn") {
    for (int64_t in = 0; in < k.n; ++in)
      for (int64_t s = 0; s < hw; ++s) f(at(in, c, s));
    return;
  }
  const int64_t per_group = k.norm == "gn" ? k.c / k.groups : k.norm == "in" ? 1 : k.c;
  for (int64_t ic = c / per_group * per_group; ic < (c / per_group + 1) * per_group; ++ic)
    for (int64_t s = 0; s < hw; ++s) f(at(n, ic, s));
}

struct Reference {
  Values y, pre;  // output, and the value before the ReLU
};

// y = relu?((x - mean) / sqrt(var + eps) * weight[c] + bias[c]), with the batch statistics
// (biased variance) or, given running statistics, those.
Reference reference(const Case& k, const Values& x, const Values& weight, const Values& bias,
                    const Values* running_mean = nullptr, const Values* running_var = nullptr) {
  const int64_t hw = k.h * k.w;
  Reference out{Values(x.size()), Values(x.size())};
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t c = 0; c < k.c; ++c) {
      const auto ic = static_cast<size_t>(c);
      double mean = 0, var = 0;
      if (running_mean != nullptr) {
        mean = (*running_mean)[ic];
        var = (*running_var)[ic];
      } else {
        double count = 0;
        for_each_peer(k, x, n, c, [&](double v) {
          mean += v;
          count += 1;
        });
        mean /= count;
        for_each_peer(k, x, n, c, [&](double v) { var += (v - mean) * (v - mean) / count; });
      }
      for (int64_t s = 0; s < hw; ++s) {
        const auto i = static_cast<size_t>((n * k.c + c) * hw + s);
        out.pre[i] = (x[i] - mean) / std::sqrt(var + kEps) * weight[ic] + bias[ic];
        out.y[i] = k.relu ? std::max(out.pre[i], 0.0) : out.pre[i];
      }
    }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Between logical arrays and a plugin's layout

const float kNaN = std::nanf("");

// Padded lanes are NaN, so a plugin that reads meaning into them shows it.
std::vector<float> to_layout(const s8net_tensor_desc& desc, const Values& logical) {
  const s8net::sdk::Layout layout(desc);
  std::vector<float> out(static_cast<size_t>(layout.padded_size()), kNaN);
  for (int64_t n = 0; n < layout.n; ++n)
    for (int64_t c = 0; c < layout.c; ++c)
      for (int64_t s = 0; s < layout.hw; ++s)
        out[static_cast<size_t>(layout.offset(n, c, s))] =
            static_cast<float>(logical[static_cast<size_t>((n * layout.c + c) * layout.hw + s)]);
  return out;
}

Values from_layout(const s8net_tensor_desc& desc, const std::vector<float>& data) {
  const s8net::sdk::Layout layout(desc);
  Values out(static_cast<size_t>(layout.n * layout.c * layout.hw));
  for (int64_t n = 0; n < layout.n; ++n)
    for (int64_t c = 0; c < layout.c; ++c)
      for (int64_t s = 0; s < layout.hw; ++s)
        out[static_cast<size_t>((n * layout.c + c) * layout.hw + s)] =
            data[static_cast<size_t>(layout.offset(n, c, s))];
  return out;
}

// How many padded lanes are not zero (the ABI wants zeros in every output's padding).
int64_t nonzero_padding(const s8net_tensor_desc& desc, const std::vector<float>& data) {
  const s8net::sdk::Layout layout(desc);
  int64_t bad = 0;
  for (int64_t n = 0; n < layout.n; ++n)
    for (int64_t c = layout.c; c < layout.blocks * layout.block; ++c)
      for (int64_t s = 0; s < layout.hw; ++s) bad += data[static_cast<size_t>(layout.offset(n, c, s))] != 0.f;
  return bad;
}

// Values that floats hold exactly, so the plugin and the reference see the same numbers.
Values random_values(std::mt19937& generator, size_t count, double mean, double spread) {
  std::normal_distribution<float> normal;
  Values out(count);
  for (double& v : out) v = static_cast<float>(mean + spread * normal(generator));
  return out;
}

void expect_near_all(const Values& actual, const Values& expected, double relative, const char* what) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_NEAR(actual[i], expected[i], relative * (1 + std::abs(expected[i]))) << what << " [" << i << "]";
}

// ---------------------------------------------------------------------------------------------
// Forward and backward of every norm x layout x ReLU

class NormPluginTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& k = GetParam();
    std::vector<s8net_option_value> options;
    if (k.norm == "gn") options.push_back({"groups", static_cast<double>(k.groups)});
    layer_ = std::make_unique<Layer>(k.norm, k.c, k.relu, options);
    ASSERT_TRUE(layer_->ok()) << layer_->message();
    desc_ = {k.n, k.c, k.h, k.w, k.layout};
    // Data whose pre-activations all keep clear of the ReLU's kink, so a finite-difference step
    // (which moves every value of a statistics set a little) never crosses it.
    std::mt19937 generator(7);
    bool clear = false;
    for (int attempt = 0; attempt < 100 && !clear; ++attempt) {
      x_ = random_values(generator, static_cast<size_t>(k.n * k.c * k.h * k.w), 0.7, 1.5);
      weight_ = random_values(generator, static_cast<size_t>(k.c), 1.0, 0.4);
      bias_ = random_values(generator, static_cast<size_t>(k.c), 0.2, 0.4);
      const Values pre = reference(k, x_, weight_, bias_).pre;
      clear = std::all_of(pre.begin(), pre.end(), [](double v) { return std::abs(v) > 1e-3; });
    }
    ASSERT_TRUE(clear) << "no data clear of the ReLU kink";
    // Non-trivial parameters, written through the plugin's own views.
    const s8net_norm_tensor weight = layer_->tensor("weight"), bias = layer_->tensor("bias");
    ASSERT_EQ(weight.size, k.c);
    ASSERT_EQ(bias.size, k.c);
    for (size_t c = 0; c < weight_.size(); ++c) {
      weight.data[c] = static_cast<float>(weight_[c]);
      bias.data[c] = static_cast<float>(bias_[c]);
    }
  }

  // Runs forward; returns the output in logical order and checks its padding is zero.
  Values forward(s8net_mode mode, const std::vector<float>& x, std::vector<float>& y) {
    y.assign(x.size(), kNaN);
    EXPECT_EQ(layer_->forward(mode, desc_, x.data(), y.data()), S8NET_OK) << layer_->message();
    EXPECT_EQ(nonzero_padding(desc_, y), 0) << "padded lanes of y";
    return from_layout(desc_, y);
  }

  std::unique_ptr<Layer> layer_;
  s8net_tensor_desc desc_{};
  Values x_, weight_, bias_;
};

TEST_P(NormPluginTest, ForwardMatchesReferenceInTrainingAndEvaluation) {
  const Case& k = GetParam();
  const std::vector<float> x = to_layout(desc_, x_);
  std::vector<float> y;
  expect_near_all(forward(S8NET_MODE_TRAIN, x, y), reference(k, x_, weight_, bias_).y, 2e-5, "train");

  // Evaluation: BN normalises with its running statistics (moved once by the training forward
  // above); GN and LN compute what they compute in training.
  Values running_mean, running_var;
  if (k.norm == "bn") {
    const s8net_norm_tensor mean = layer_->tensor("running_mean"), var = layer_->tensor("running_var");
    running_mean.assign(mean.data, mean.data + mean.size);
    running_var.assign(var.data, var.data + var.size);
  }
  const Reference expected =
      k.norm == "bn" ? reference(k, x_, weight_, bias_, &running_mean, &running_var) : reference(k, x_, weight_, bias_);
  expect_near_all(forward(S8NET_MODE_EVAL, x, y), expected.y, 2e-5, "eval");
}

// Gradients of loss = sum(r * y) against central differences of the reference.
TEST_P(NormPluginTest, BackwardMatchesFiniteDifferences) {
  const Case& k = GetParam();
  std::mt19937 generator(8);
  const Values r = random_values(generator, x_.size(), 0.0, 1.0);
  const std::vector<float> x = to_layout(desc_, x_), dy = to_layout(desc_, r);
  std::vector<float> y, other_y, dx(x.size(), kNaN);
  forward(S8NET_MODE_TRAIN, x, y);
  // Backward is of the latest training forward, even with an evaluation in between.
  forward(S8NET_MODE_EVAL, to_layout(desc_, random_values(generator, x_.size(), -3.0, 0.5)), other_y);
  ASSERT_EQ(layer_->backward(desc_, x.data(), y.data(), dy.data(), dx.data()), S8NET_OK) << layer_->message();
  EXPECT_EQ(nonzero_padding(desc_, dx), 0) << "padded lanes of dx";
  const s8net_norm_tensor weight = layer_->tensor("weight"), bias = layer_->tensor("bias");
  const Values dweight(weight.grad, weight.grad + weight.size), dbias(bias.grad, bias.grad + bias.size);

  Values at_x = x_, at_weight = weight_, at_bias = bias_;
  const auto loss = [&] {
    const Values out = reference(k, at_x, at_weight, at_bias).y;
    double total = 0;
    for (size_t i = 0; i < out.size(); ++i) total += r[i] * out[i];
    return total;
  };
  const double h = 1e-6;
  const Values numeric_dx = s8net::test::central_differences(loss, at_x, h);
  const Values numeric_dweight = s8net::test::central_differences(loss, at_weight, h);
  const Values numeric_dbias = s8net::test::central_differences(loss, at_bias, h);
  expect_near_all(from_layout(desc_, dx), numeric_dx, 1e-4, "dx");
  expect_near_all(dweight, numeric_dweight, 1e-4, "dweight");
  expect_near_all(dbias, numeric_dbias, 1e-4, "dbias");

  // The gradients are overwritten, not accumulated.
  ASSERT_EQ(layer_->backward(desc_, x.data(), y.data(), dy.data(), dx.data()), S8NET_OK) << layer_->message();
  EXPECT_EQ(Values(weight.grad, weight.grad + weight.size), dweight);
  EXPECT_EQ(Values(bias.grad, bias.grad + bias.size), dbias);
}

// GN and LN take their moments in one sweep of sums shifted by a value of each lane. Data whose
// mean dwarfs its spread, with channels of one group far apart, is where a one-sweep variance
// goes wrong; each layout must still give the reference's output, on planes shorter than one run
// of the float sums and on 32x32 planes of several runs.
TEST(GroupNormMoments, StayExactWhenTheMeanDwarfsTheSpreadAndChannelsOfAGroupDiffer) {
  std::mt19937 generator(3);
  const auto check = [&generator](const Case& k) {
    std::vector<s8net_option_value> options;
    if (k.norm == "gn") options.push_back({"groups", 2.0});
    Layer layer(k.norm, k.c, false, options);
    ASSERT_TRUE(layer.ok()) << layer.message();
    Values x(static_cast<size_t>(k.n * k.c * k.h * k.w));
    std::normal_distribution<float> normal;
    for (size_t i = 0; i < x.size(); ++i) {
      const auto c = static_cast<int64_t>(i / static_cast<size_t>(k.h * k.w)) % k.c;
      x[i] = static_cast<float>(10000.0 + 3.0 * static_cast<double>(c) + 0.05 * normal(generator));
    }
    const s8net_tensor_desc desc{k.n, k.c, k.h, k.w, k.layout};
    const std::vector<float> in = to_layout(desc, x);
    std::vector<float> y(in.size(), kNaN);
    ASSERT_EQ(layer.forward(S8NET_MODE_TRAIN, desc, in.data(), y.data()), S8NET_OK) << layer.message();
    const Values ones(static_cast<size_t>(k.c), 1.0), zeros(static_cast<size_t>(k.c), 0.0);
    // The output is y = x * a + b with |b| near 10^4 / std in float: a few 1e-4 of rounding.
    expect_near_all(from_layout(desc, y), reference(k, x, ones, zeros).y, 2e-3, describe(k).c_str());
  };
  for (const int64_t side : {5, 32})
    for (const s8net_layout layout : {S8NET_LAYOUT_NCHW, S8NET_LAYOUT_NCHW8C, S8NET_LAYOUT_NCHW16C})
      for (const char* norm : {"gn", "ln"}) check({norm, 2, layout, false, 2, 12, side, side});
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const s8net_layout layout : {S8NET_LAYOUT_NCHW, S8NET_LAYOUT_NCHW8C, S8NET_LAYOUT_NCHW16C})
    for (const bool relu : {false, true}) {
      cases.push_back({"bn", 0, layout, relu, 3, 12, 3, 5});
      cases.push_back({"bn", 0, layout, relu, 4, 8, 2, 3});
      cases.push_back({"bn", 0, layout, relu, 2, 16, 4, 4});
      cases.push_back({"gn", 2, layout, relu, 3, 12, 3, 5});
      cases.push_back({"gn", 3, layout, relu, 3, 12, 3, 5});
      cases.push_back({"gn", 2, layout, relu, 2, 8, 4, 4});
      cases.push_back({"gn", 4, layout, relu, 2, 16, 3, 3});
      cases.push_back({"ln", 0, layout, relu, 3, 12, 3, 5});
      cases.push_back({"ln", 0, layout, relu, 2, 8, 4, 4});
      cases.push_back({"ln", 0, layout, relu, 2, 16, 3, 3});
      // One sample: on two or more threads GN/LN split each pass instead of giving out samples.
      cases.push_back({"gn", 2, layout, relu, 1, 12, 3, 5});
      cases.push_back({"ln", 0, layout, relu, 1, 8, 4, 4});
      cases.push_back({"in", 0, layout, relu, 3, 12, 3, 5});
      cases.push_back({"in", 0, layout, relu, 2, 16, 4, 4});
    }
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<Case>& param) { return describe(param.param); }

INSTANTIATE_TEST_SUITE_P(Plugins, NormPluginTest, ::testing::ValuesIn(all_cases()), case_name);

// ---------------------------------------------------------------------------------------------
// BN's running statistics

// After k training steps: running = (1 - m) running + m batch, with the unbiased batch variance;
// evaluation then normalises with them and leaves them alone.
class BatchNormRunningStats : public ::testing::TestWithParam<s8net_layout> {};

TEST_P(BatchNormRunningStats, FollowTheClosedFormUpdateAndServeEvaluation) {
  for (const double momentum : {0.1, 0.25}) {
    SCOPED_TRACE("momentum " + std::to_string(momentum));
    const Case k{"bn", 0, GetParam(), true, 4, 12, 2, 3};
    const s8net_tensor_desc desc{k.n, k.c, k.h, k.w, k.layout};
    std::vector<s8net_option_value> options;
    if (momentum != 0.1) options.push_back({"momentum", momentum});  // 0.1 is the default
    Layer layer("bn", k.c, k.relu, options);
    ASSERT_TRUE(layer.ok()) << layer.message();
    const s8net_norm_tensor running_mean = layer.tensor("running_mean"), running_var = layer.tensor("running_var");

    const auto channels = static_cast<size_t>(k.c);
    Values mean(channels, 0.0), var(channels, 1.0);
    std::mt19937 generator(9);
    for (int step = 0; step < 3; ++step) {
      const Values x = random_values(generator, static_cast<size_t>(k.n * k.c * k.h * k.w), step - 1.0, 1.0 + step);
      const std::vector<float> xb = to_layout(desc, x);
      std::vector<float> y(xb.size());
      ASSERT_EQ(layer.forward(S8NET_MODE_TRAIN, desc, xb.data(), y.data()), S8NET_OK) << layer.message();
      for (int64_t c = 0; c < k.c; ++c) {
        double sum = 0, squares = 0, count = 0;
        for_each_peer(k, x, 0, c, [&](double v) {
          sum += v;
          count += 1;
        });
        for_each_peer(k, x, 0, c, [&](double v) { squares += (v - sum / count) * (v - sum / count); });
        const auto ic = static_cast<size_t>(c);
        mean[ic] = (1 - momentum) * mean[ic] + momentum * sum / count;
        var[ic] = (1 - momentum) * var[ic] + momentum * squares / (count - 1);
      }
    }
    for (size_t c = 0; c < channels; ++c) {
      EXPECT_NEAR(running_mean.data[c], mean[c], 1e-5) << "running_mean " << c;
      EXPECT_NEAR(running_var.data[c], var[c], 1e-5 * var[c]) << "running_var " << c;
    }

    const Values x = random_values(generator, static_cast<size_t>(k.n * k.c * k.h * k.w), 0.5, 2.0);
    const std::vector<float> xb = to_layout(desc, x);
    std::vector<float> y(xb.size(), kNaN);
    ASSERT_EQ(layer.forward(S8NET_MODE_EVAL, desc, xb.data(), y.data()), S8NET_OK) << layer.message();
    const Values ones(channels, 1.0), zeros(channels, 0.0);
    expect_near_all(from_layout(desc, y), reference(k, x, ones, zeros, &mean, &var).y, 2e-5, "eval");
    EXPECT_EQ(nonzero_padding(desc, y), 0);
    for (size_t c = 0; c < channels; ++c) EXPECT_NEAR(running_mean.data[c], mean[c], 1e-5) << "moved by eval";
  }
}

std::string layout_case_name(const ::testing::TestParamInfo<s8net_layout>& param) {
  return s8net::sdk::layout_name(param.param);
}

INSTANTIATE_TEST_SUITE_P(Layouts, BatchNormRunningStats,
                         ::testing::Values(S8NET_LAYOUT_NCHW, S8NET_LAYOUT_NCHW8C, S8NET_LAYOUT_NCHW16C),
                         layout_case_name);

// ---------------------------------------------------------------------------------------------
// Descriptors, tensors, refusals and the handshake

struct ExpectedOption {
  std::string name;
  double default_value, min_value, max_value;
  bool is_integer;
};

TEST(NormPluginAbi, DescriptorsSayWhatEachNormIs) {
  const std::string dnnl_version = std::to_string(DNNL_VERSION_MAJOR) + "." + std::to_string(DNNL_VERSION_MINOR) + "." +
                                   std::to_string(DNNL_VERSION_PATCH);
  const std::map<std::string, std::vector<ExpectedOption>> options{
      {"bn", {{"eps", 1e-5, 1e-12, 1, false}, {"momentum", 0.1, 0, 1, false}, {"sync", 0, 0, 1, true}}},
      {"gn", {{"groups", 2, 1, 1 << 20, true}, {"eps", 1e-5, 1e-12, 1, false}}},
      {"ln", {{"eps", 1e-5, 1e-12, 1, false}}},
      {"in", {{"eps", 1e-5, 1e-12, 1, false}}}};
  for (const auto& [name, expected_options] : options) {
    SCOPED_TRACE(name);
    const std::shared_ptr<const s8net::PluginInfo> info = plugin(name);
    ASSERT_NE(info, nullptr);
    const s8net_norm_plugin* d = info->descriptor;
    EXPECT_EQ(d->abi_version, S8NET_NORM_ABI_VERSION);
    EXPECT_EQ(d->struct_size, sizeof(s8net_norm_plugin));
    EXPECT_EQ(std::string(d->name), name);
    EXPECT_STRNE(d->version, "");
    EXPECT_STRNE(d->description, "");
    EXPECT_EQ(std::string(d->dnnl_version), name == "bn" ? dnnl_version : "");
    EXPECT_EQ(d->layouts, S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C);
    EXPECT_EQ(d->flags, S8NET_NORM_FLAG_FUSES_RELU);
    ASSERT_EQ(d->option_count, expected_options.size());
    for (size_t i = 0; i < d->option_count; ++i) {
      const s8net_norm_option& o = d->options[i];
      EXPECT_EQ(std::string(o.name), expected_options[i].name);
      EXPECT_STRNE(o.description, "");
      EXPECT_EQ(o.default_value, expected_options[i].default_value) << o.name;
      EXPECT_EQ(o.min_value, expected_options[i].min_value) << o.name;
      EXPECT_EQ(o.max_value, expected_options[i].max_value) << o.name;
      EXPECT_EQ(o.is_integer != 0, expected_options[i].is_integer) << o.name;
    }
    EXPECT_TRUE(d->create && d->destroy && d->forward && d->backward && d->tensors);
  }
}

TEST(NormPluginAbi, TensorsStartAtPyTorchsInitialValues) {
  for (const std::string name : {"bn", "gn", "ln", "in"}) {
    SCOPED_TRACE(name);
    Layer layer(name, 6, false);
    ASSERT_TRUE(layer.ok()) << layer.message();
    const std::vector<s8net_norm_tensor> parameters = layer.tensors(S8NET_NORM_PARAMETERS);
    ASSERT_EQ(parameters.size(), 2u);
    const std::vector<s8net_norm_tensor> state = layer.tensors(S8NET_NORM_STATE);
    ASSERT_EQ(state.size(), name == "bn" ? 2u : 0u);
    const std::map<std::string, float> initial{
        {"weight", 1.f}, {"bias", 0.f}, {"running_mean", 0.f}, {"running_var", 1.f}};
    for (const auto& t : parameters) EXPECT_NE(t.grad, nullptr) << t.name;
    for (const auto& t : state) EXPECT_EQ(t.grad, nullptr) << t.name;
    for (const auto* list : {&parameters, &state})
      for (const s8net_norm_tensor& t : *list) {
        ASSERT_EQ(initial.count(t.name), 1u) << t.name;
        ASSERT_EQ(t.size, 6) << t.name;
        for (int64_t i = 0; i < t.size; ++i) EXPECT_EQ(t.data[i], initial.at(t.name)) << t.name;
      }
    EXPECT_EQ(std::string(parameters[0].name), "weight");
    EXPECT_EQ(std::string(parameters[1].name), "bias");
  }
}

TEST(NormPluginAbi, CreateRefusesBadConfigurationsWithAReason) {
  {
    Layer layer("gn", 12, false, {{"groups", 5}});
    EXPECT_EQ(layer.create_status(), S8NET_ERROR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(layer.message(), "12") && contains(layer.message(), "5")) << layer.message();
  }
  for (const std::string name : {"bn", "gn", "ln", "in"}) {
    Layer layer(name, 4, false, {{"sharpness", 3}});
    EXPECT_EQ(layer.create_status(), S8NET_ERROR_INVALID_ARGUMENT) << name;
    EXPECT_TRUE(contains(layer.message(), "sharpness")) << layer.message();
  }
  const std::vector<std::pair<std::string, s8net_option_value>> out_of_range{{"gn", {"groups", 0}},
                                                                             {"gn", {"groups", 1.5}},
                                                                             {"gn", {"eps", 0}},
                                                                             {"ln", {"eps", 2}},
                                                                             {"bn", {"momentum", 1.5}}};
  for (const auto& [name, option] : out_of_range) {
    Layer layer(name, 4, false, {option});
    EXPECT_EQ(layer.create_status(), S8NET_ERROR_INVALID_ARGUMENT) << name << " " << option.name << "=" << option.value;
    EXPECT_TRUE(contains(layer.message(), option.name)) << layer.message();
  }
  Layer unnamed("ln", 4, false, {{nullptr, 1}});
  EXPECT_EQ(unnamed.create_status(), S8NET_ERROR_INVALID_ARGUMENT);
  Layer no_channels("ln", 0, false);
  EXPECT_EQ(no_channels.create_status(), S8NET_ERROR_INVALID_ARGUMENT);
  Layer one_group_per_channel("gn", 12, true, {{"groups", 12}});
  EXPECT_TRUE(one_group_per_channel.ok()) << one_group_per_channel.message();
}

TEST(NormPluginAbi, CallsRefuseShapesTheyCannotTake) {
  for (const std::string name : {"bn", "gn", "ln", "in"}) {
    SCOPED_TRACE(name);
    Layer layer(name, 4, false);
    ASSERT_TRUE(layer.ok()) << layer.message();
    std::vector<float> x(64, 1.f), y(64), dy(64, 1.f), dx(64);
    const s8net_tensor_desc good{2, 4, 2, 2, S8NET_LAYOUT_NCHW};
    // Backward before any training forward.
    EXPECT_EQ(layer.backward(good, x.data(), y.data(), dy.data(), dx.data()), S8NET_ERROR_INVALID_ARGUMENT);
    // A layout value the ABI does not define.
    const s8net_tensor_desc bogus{2, 4, 2, 2, static_cast<s8net_layout>(3)};
    EXPECT_EQ(layer.forward(S8NET_MODE_TRAIN, bogus, x.data(), y.data()), S8NET_ERROR_UNSUPPORTED);
    EXPECT_TRUE(contains(layer.message(), "layout")) << layer.message();
    // A tensor of another channel count than the layer's.
    const s8net_tensor_desc wrong{2, 5, 2, 2, S8NET_LAYOUT_NCHW};
    EXPECT_EQ(layer.forward(S8NET_MODE_TRAIN, wrong, x.data(), y.data()), S8NET_ERROR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(layer.message(), "5") && contains(layer.message(), "4")) << layer.message();
    ASSERT_EQ(layer.forward(S8NET_MODE_TRAIN, good, x.data(), y.data()), S8NET_OK) << layer.message();
    EXPECT_EQ(layer.backward(wrong, x.data(), y.data(), dy.data(), dx.data()), S8NET_ERROR_INVALID_ARGUMENT);
    // Backward of another batch size than the training forward's.
    const s8net_tensor_desc other_batch{1, 4, 2, 2, S8NET_LAYOUT_NCHW};
    EXPECT_EQ(layer.backward(other_batch, x.data(), y.data(), dy.data(), dx.data()), S8NET_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(layer.forward(S8NET_MODE_TRAIN, good, nullptr, y.data()), S8NET_ERROR_INVALID_ARGUMENT);
  }
  // As PyTorch: BN cannot train on one value per channel.
  Layer bn("bn", 4, false);
  std::vector<float> x(4, 1.f), y(4);
  const s8net_tensor_desc single{1, 4, 1, 1, S8NET_LAYOUT_NCHW};
  EXPECT_EQ(bn.forward(S8NET_MODE_TRAIN, single, x.data(), y.data()), S8NET_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(bn.forward(S8NET_MODE_EVAL, single, x.data(), y.data()), S8NET_OK) << bn.message();
}

// The entry point itself, which the host calls once per library: its own dlopen of the file shares
// the registry's copy of the library, and it is handed the registry's host table so that what a
// plugin keeps of it stays valid.
TEST(NormPluginAbi, HandshakeRefusesAnotherMajorVersionAndAcceptsANewerMinor) {
  for (const std::string name : {"bn", "gn", "ln", "in"}) {
    SCOPED_TRACE(name);
    ASSERT_NE(plugin(name), nullptr);
    void* library = dlopen(file_of(name).c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(library, nullptr) << dlerror();
    const auto init = reinterpret_cast<s8net_norm_plugin_init_fn>(dlsym(library, S8NET_NORM_PLUGIN_ENTRY_NAME));
    ASSERT_NE(init, nullptr);
    const s8net_host_api& host = registry().host_api();
    const s8net_norm_plugin* out = nullptr;
    s8net_message message{};
    EXPECT_EQ(init(&host, 2u << 16, &out, &message), S8NET_ERROR_ABI_MISMATCH);
    EXPECT_TRUE(contains(message.text, "ABI 2") && contains(message.text, "ABI 1")) << message.text;
    EXPECT_EQ(out, nullptr);

    EXPECT_EQ(init(&host, (S8NET_NORM_ABI_MAJOR << 16) | 7u, &out, &message), S8NET_OK) << message.text;
    EXPECT_NE(out, nullptr);

    s8net_host_api truncated = host;
    truncated.struct_size = 8;
    EXPECT_EQ(init(&truncated, S8NET_NORM_ABI_VERSION, &out, &message), S8NET_ERROR_INVALID_ARGUMENT);
    dlclose(library);
  }
}

}  // namespace
