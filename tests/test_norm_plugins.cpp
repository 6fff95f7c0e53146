// bn, gn and ln against a naive double-precision reference: forward in training and evaluation,
// backward against central finite differences of that reference, in every layout, with and
// without the fused ReLU, with channel counts that do and do not fill the last block.
#include <s8net/core/error.hpp>
#include <s8net/norm/norm_layer.hpp>
#include <s8net/norm/plugin_sdk.hpp>
#include <s8net/norm/registry.hpp>

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cmath>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace s8net {
namespace {

// Logical NCHW in double.
using Values = std::vector<double>;

struct Case {
  std::string norm;
  int64_t groups;  // statistics groups of the reference: 0 = per channel over the batch (BN)
  s8net_layout layout;
  bool relu;
  int64_t n, c, h, w;
};

std::string describe(const Case& c) {
  return c.norm + "_g" + std::to_string(c.groups) + "_" + sdk::layout_name(c.layout) + (c.relu ? "_relu" : "") + "_c" +
         std::to_string(c.c);
}
std::string case_name(const ::testing::TestParamInfo<Case>& info) { return describe(info.param); }
// How GoogleTest prints a case in its logs (instead of a byte dump).
void PrintTo(const Case& c, std::ostream* out) { *out << describe(c); }

// The reference: y = [relu]((x - mean) / sqrt(var + eps) * w + b), statistics per channel over
// (N, H, W) for BN (or its running ones in eval), per sample and group otherwise.
Values reference(const Case& k, const Values& x, const Values& w, const Values& b, const Values* running_mean,
                 const Values* running_var, double eps = 1e-5) {
  const int64_t hw = k.h * k.w;
  Values y(x.size());
  const auto at = [&](int64_t n, int64_t c, int64_t s) { return static_cast<size_t>((n * k.c + c) * hw + s); };
  // Each statistics set is a list of (n, c) planes.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> sets;
  if (k.groups == 0) {
    for (int64_t c = 0; c < k.c; ++c) {
      sets.emplace_back();
      for (int64_t n = 0; n < k.n; ++n) sets.back().push_back({n, c});
    }
  } else {
    for (int64_t n = 0; n < k.n; ++n)
      for (int64_t g = 0; g < k.groups; ++g) {
        sets.emplace_back();
        for (int64_t c = g * (k.c / k.groups); c < (g + 1) * (k.c / k.groups); ++c) sets.back().push_back({n, c});
      }
  }
  for (const auto& set : sets) {
    double mean = 0, var = 0;
    if (running_mean != nullptr) {
      mean = (*running_mean)[static_cast<size_t>(set[0].second)];
      var = (*running_var)[static_cast<size_t>(set[0].second)];
    } else {
      const double count = static_cast<double>(set.size() * static_cast<size_t>(hw));
      for (auto [n, c] : set)
        for (int64_t s = 0; s < hw; ++s) mean += x[at(n, c, s)] / count;
      for (auto [n, c] : set)
        for (int64_t s = 0; s < hw; ++s) var += (x[at(n, c, s)] - mean) * (x[at(n, c, s)] - mean) / count;
    }
    for (auto [n, c] : set)
      for (int64_t s = 0; s < hw; ++s) {
        const double v = (x[at(n, c, s)] - mean) / std::sqrt(var + eps) * w[static_cast<size_t>(c)] + b[static_cast<size_t>(c)];
        y[at(n, c, s)] = k.relu ? std::max(v, 0.0) : v;
      }
  }
  return y;
}

class NormPluginTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const auto failures = registry_.load_path(S8NET_PLUGIN_DIR);
    ASSERT_TRUE(failures.empty());
    const Case& k = GetParam();
    NormOptions options;
    if (k.norm == "gn") options["groups"] = static_cast<double>(k.groups);
    layer_ = std::make_unique<NormLayer>(registry_, k.norm, k.c, options, k.relu, "N");
    ASSERT_EQ(layer_->fuses_relu(), k.relu);
    desc_ = {k.n, k.c, k.h, k.w, k.layout};
    layout_ = std::make_unique<sdk::Layout>(desc_);
    std::mt19937 generator(11);
    std::normal_distribution<double> normal;
    x_.resize(static_cast<size_t>(k.n * k.c * k.h * k.w));
    for (double& v : x_) v = 0.7 + 1.5 * normal(generator);
    for (Parameter& p : layer_->parameters())
      for (int64_t i = 0; i < p.value.size(); ++i)
        p.value.data()[i] = static_cast<float>((p.name == "N.weight" ? 1.0 : 0.2) + 0.4 * normal(generator));
    for (const char* name : {"N.weight", "N.bias"}) values_.push_back(plain_parameter(name));
  }

  Values plain_parameter(const std::string& name, bool gradient = false) {
    for (Parameter& p : layer_->parameters())
      if (p.name == name) {
        const Tensor& t = gradient ? p.grad : p.value;
        return Values(t.data(), t.data() + t.size());
      }
    ADD_FAILURE() << "no parameter " << name;
    return {};
  }

  // Logical values into the plugin's layout (padding NaN, so reading it would show) and back.
  std::vector<float> to_layout(const Values& logical) const {
    std::vector<float> out(static_cast<size_t>(layout_->padded_size()), std::nanf(""));
    for (int64_t n = 0; n < desc_.n; ++n)
      for (int64_t c = 0; c < desc_.c; ++c)
        for (int64_t s = 0; s < layout_->hw; ++s)
          out[static_cast<size_t>(layout_->offset(n, c, s))] = static_cast<float>(logical[static_cast<size_t>((n * desc_.c + c) * layout_->hw + s)]);
    return out;
  }
  Values from_layout(const std::vector<float>& blocked) const {
    Values out(x_.size());
    for (int64_t n = 0; n < desc_.n; ++n)
      for (int64_t c = 0; c < desc_.c; ++c)
        for (int64_t s = 0; s < layout_->hw; ++s)
          out[static_cast<size_t>((n * desc_.c + c) * layout_->hw + s)] = blocked[static_cast<size_t>(layout_->offset(n, c, s))];
    return out;
  }
  void expect_padding_zero(const std::vector<float>& blocked) const {
    for (int64_t n = 0; n < desc_.n; ++n)
      for (int64_t c = desc_.c; c < layout_->blocks * layout_->block; ++c)
        for (int64_t s = 0; s < layout_->hw; ++s) ASSERT_EQ(blocked[static_cast<size_t>(layout_->offset(n, c, s))], 0.f);
  }

  Values run_forward(s8net_mode mode, const std::vector<float>& x_blocked, std::vector<float>& y_blocked) {
    y_blocked.assign(static_cast<size_t>(layout_->padded_size()), std::nanf(""));
    layer_->forward(mode, desc_, x_blocked.data(), y_blocked.data());
    expect_padding_zero(y_blocked);
    return from_layout(y_blocked);
  }

  Context context_;
  NormRegistry registry_{context_};
  std::unique_ptr<NormLayer> layer_;
  s8net_tensor_desc desc_{};
  std::unique_ptr<sdk::Layout> layout_;
  Values x_;
  std::vector<Values> values_;  // weight, bias
};

TEST_P(NormPluginTest, ForwardMatchesReferenceInTrainingAndEvaluation) {
  const Case& k = GetParam();
  const std::vector<float> xb = to_layout(x_);
  std::vector<float> yb;
  const Values expected = reference(k, x_, values_[0], values_[1], nullptr, nullptr);
  const Values y = run_forward(S8NET_MODE_TRAIN, xb, yb);
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], expected[i], 2e-5 * (1 + std::abs(expected[i]))) << i;

  // Evaluation: BN uses its running statistics (updated once by the training forward above);
  // GN and LN compute what they compute in training.
  const Values* mean = nullptr;
  const Values* var = nullptr;
  Values running_mean, running_var;
  if (k.norm == "bn") {
    for (Parameter* p : {&layer_->state()[0], &layer_->state()[1]}) ASSERT_TRUE(p->name == "N.running_mean" || p->name == "N.running_var");
    running_mean.assign(layer_->state()[0].value.data(), layer_->state()[0].value.data() + k.c);
    running_var.assign(layer_->state()[1].value.data(), layer_->state()[1].value.data() + k.c);
    mean = &running_mean;
    var = &running_var;
  }
  const Values expected_eval = reference(k, x_, values_[0], values_[1], mean, var);
  const Values y_eval = run_forward(S8NET_MODE_EVAL, xb, yb);
  for (size_t i = 0; i < y_eval.size(); ++i) ASSERT_NEAR(y_eval[i], expected_eval[i], 2e-5 * (1 + std::abs(expected_eval[i]))) << i;
}

// Gradients of loss = sum(r * y) against central differences of the double reference.
TEST_P(NormPluginTest, BackwardMatchesFiniteDifferences) {
  const Case& k = GetParam();
  std::mt19937 generator(12);
  std::normal_distribution<double> normal;
  Values r(x_.size());
  for (double& v : r) v = normal(generator);
  const auto loss = [&](const Values& x, const Values& w, const Values& b) {
    const Values y = reference(k, x, w, b, nullptr, nullptr);
    double total = 0;
    for (size_t i = 0; i < y.size(); ++i) total += r[i] * y[i];
    return total;
  };
  const std::vector<float> xb = to_layout(x_), rb = to_layout(r);
  std::vector<float> yb, dxb(static_cast<size_t>(layout_->padded_size()), std::nanf(""));
  run_forward(S8NET_MODE_TRAIN, xb, yb);
  layer_->backward(desc_, xb.data(), yb.data(), rb.data(), dxb.data());
  expect_padding_zero(dxb);
  const Values dx = from_layout(dxb);
  const Values dw = plain_parameter("N.weight", true), db = plain_parameter("N.bias", true);

  const double h = 1e-6;
  const auto numeric = [&](Values& v, size_t i) {
    const double original = v[i];
    v[i] = original + h;
    const double plus = loss(x_, values_[0], values_[1]);
    v[i] = original - h;
    const double minus = loss(x_, values_[0], values_[1]);
    v[i] = original;
    return (plus - minus) / (2 * h);
  };
  const Values pre_relu = [&] {
    Case linear = k;
    linear.relu = false;
    return reference(linear, x_, values_[0], values_[1], nullptr, nullptr);
  }();
  for (size_t i = 0; i < x_.size(); ++i) {
    if (k.relu && std::abs(pre_relu[i]) < 1e-3) continue;  // at the kink the quotient is meaningless
    ASSERT_NEAR(dx[i], numeric(x_, i), 2e-4 * (1 + std::abs(dx[i]))) << "dx " << i;
  }
  for (size_t c = 0; c < static_cast<size_t>(k.c); ++c) {
    EXPECT_NEAR(dw[c], numeric(values_[0], c), 2e-4 * (1 + std::abs(dw[c]))) << "dweight " << c;
    EXPECT_NEAR(db[c], numeric(values_[1], c), 2e-4 * (1 + std::abs(db[c]))) << "dbias " << c;
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (s8net_layout layout : {S8NET_LAYOUT_NCHW, S8NET_LAYOUT_NCHW8C, S8NET_LAYOUT_NCHW16C})
    for (bool relu : {false, true}) {
      cases.push_back({"bn", 0, layout, relu, 3, 12, 3, 5});
      cases.push_back({"bn", 0, layout, relu, 2, 16, 4, 4});
      cases.push_back({"gn", 2, layout, relu, 3, 12, 3, 5});
      cases.push_back({"gn", 3, layout, relu, 2, 12, 4, 3});
      cases.push_back({"gn", 2, layout, relu, 2, 8, 4, 4});
      cases.push_back({"ln", 1, layout, relu, 3, 12, 3, 5});
      cases.push_back({"ln", 1, layout, relu, 2, 16, 4, 4});
    }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Plugins, NormPluginTest, ::testing::ValuesIn(all_cases()), case_name);

// BN's running statistics after k training steps equal the closed-form update:
// r_k = 0.9^k r_0 + sum_j 0.1 * 0.9^(k-1-j) s_j, with the unbiased variance for s_j.
TEST(BatchNormState, RunningStatisticsFollowTheClosedForm) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  NormLayer layer(registry, "bn", 3, {}, true, "N");
  const s8net_tensor_desc desc{4, 3, 2, 3, S8NET_LAYOUT_NCHW};
  const int64_t per_channel = 4 * 2 * 3;
  std::vector<double> mean(3, 0.0), var(3, 1.0);
  std::mt19937 generator(5);
  std::normal_distribution<float> normal;
  for (int step = 0; step < 3; ++step) {
    std::vector<float> x(72), y(72);
    for (float& v : x) v = 2.f * normal(generator) + static_cast<float>(step);
    layer.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data());
    for (int64_t c = 0; c < 3; ++c) {
      double m = 0, s = 0;
      for (int64_t n = 0; n < 4; ++n)
        for (int64_t i = 0; i < 6; ++i) m += x[static_cast<size_t>((n * 3 + c) * 6 + i)] / per_channel;
      for (int64_t n = 0; n < 4; ++n)
        for (int64_t i = 0; i < 6; ++i) s += std::pow(x[static_cast<size_t>((n * 3 + c) * 6 + i)] - m, 2) / (per_channel - 1);
      mean[static_cast<size_t>(c)] = 0.9 * mean[static_cast<size_t>(c)] + 0.1 * m;
      var[static_cast<size_t>(c)] = 0.9 * var[static_cast<size_t>(c)] + 0.1 * s;
    }
  }
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(layer.state()[0].value.data()[c], mean[c], 1e-5);
    EXPECT_NEAR(layer.state()[1].value.data()[c], var[c], 1e-4);
  }
  // Evaluation does not move them.
  std::vector<float> x(72, 1.f), y(72);
  layer.forward(S8NET_MODE_EVAL, desc, x.data(), y.data());
  EXPECT_NEAR(layer.state()[0].value.data()[0], mean[0], 1e-5);
}

// The C ABI itself: descriptors, the version handshake, refusals.
TEST(NormPluginAbi, DescriptorsAndRefusals) {
  Context context;
  NormRegistry registry(context);
  registry.load_path(S8NET_PLUGIN_DIR);
  for (const char* name : {"bn", "gn", "ln"}) {
    const s8net_norm_plugin& d = *registry.find(name).descriptor;
    EXPECT_EQ(d.abi_version, S8NET_NORM_ABI_VERSION);
    EXPECT_EQ(d.struct_size, sizeof(s8net_norm_plugin));
    EXPECT_EQ(d.layouts, S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C);
    EXPECT_TRUE(d.flags & S8NET_NORM_FLAG_FUSES_RELU);
  }
  // A layout value the ABI does not define.
  NormLayer layer(registry, "gn", 4, {}, false, "N");
  const s8net_tensor_desc bogus{1, 4, 2, 2, static_cast<s8net_layout>(3)};
  std::vector<float> x(16, 1.f), y(16);
  try {
    layer.forward(S8NET_MODE_TRAIN, bogus, x.data(), y.data());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("S8NET_ERROR_UNSUPPORTED"), std::string::npos) << e.what();
  }
  // A tensor of the wrong channel count.
  const s8net_tensor_desc wrong{1, 5, 2, 2, S8NET_LAYOUT_NCHW};
  EXPECT_THROW(layer.forward(S8NET_MODE_TRAIN, wrong, x.data(), y.data()), Error);
  // Backward before any training forward.
  NormLayer fresh(registry, "ln", 4, {}, false, "N");
  const s8net_tensor_desc ok{1, 4, 2, 2, S8NET_LAYOUT_NCHW};
  std::vector<float> dy(16, 1.f), dx(16);
  EXPECT_THROW(fresh.backward(ok, x.data(), y.data(), dy.data(), dx.data()), Error);
  // The handshake: a host of ABI 2 is refused with both numbers.
  const s8net_norm_plugin* out = nullptr;
  s8net_message message{};
  const auto init = reinterpret_cast<s8net_norm_plugin_init_fn>(
      dlsym(dlopen(registry.find("gn").file.c_str(), RTLD_NOW | RTLD_NOLOAD), S8NET_NORM_PLUGIN_ENTRY_NAME));
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init(&registry.host_api(), 2u << 16, &out, &message), S8NET_ERROR_ABI_MISMATCH);
  EXPECT_NE(std::string(message.text).find("host ABI 2 but plugin ABI 1"), std::string::npos) << message.text;
}

}  // namespace
}  // namespace s8net
