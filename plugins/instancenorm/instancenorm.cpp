// InstanceNorm ("in"): GroupNorm with one group per channel, i.e. statistics per sample and per
// channel over (H, W), the same in training and evaluation; per-channel scale and shift.
//
// The example plugin of README "Write a normalization plugin": it includes nothing of s8net but
// the installed SDK header, so it builds in or out of the s8net tree (s8net_add_norm_plugin).
// Every layout of plugin_api.h is served through sdk::Layout's index arithmetic; samples run in
// parallel under OpenMP, the pool the host's oneDNN already uses.
#include <s8net/norm/plugin_sdk.hpp>

#include <array>
#include <cmath>
#include <span>
#include <string>
#include <vector>

namespace {

using s8net::sdk::Layout;

class InstanceNorm {
 public:
  static constexpr const char* kName = "in";
  static constexpr const char* kVersion = "0.1.0";
  static constexpr const char* kDescription = "InstanceNorm: statistics per sample and channel over (H, W)";
  static constexpr const char* kDnnlVersion = "";
  static constexpr uint32_t kLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C;
  static constexpr uint32_t kFlags = S8NET_NORM_FLAG_FUSES_RELU;
  static constexpr std::array<s8net_norm_option, 1> kOptions{
      {{"eps", "added to the variance inside the square root", 1e-5, 1e-12, 1.0, 0}}};

  InstanceNorm(const s8net::sdk::Host&, const s8net::sdk::Config& config)
      : channels_(config.channels()),
        eps_(config.get("eps")),
        relu_(config.fuse_relu()),
        weight_(static_cast<size_t>(channels_), 1.f),
        bias_(static_cast<size_t>(channels_), 0.f),
        weight_grad_(static_cast<size_t>(channels_), 0.f),
        bias_grad_(static_cast<size_t>(channels_), 0.f),
        tensors_{{{"weight", weight_.data(), weight_grad_.data(), channels_},
                  {"bias", bias_.data(), bias_grad_.data(), channels_}}} {}

  int64_t channels() const { return channels_; }

  // Training and evaluation compute the same thing; only a training forward is remembered, since
  // backward must see it even if an evaluation ran in between.
  void forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
    const Layout at(desc);
    std::vector<float> mean(static_cast<size_t>(at.n * at.c)), inv_std(mean.size());
#pragma omp parallel for
    for (int64_t n = 0; n < at.n; ++n)
      for (int64_t c = 0; c < at.c; ++c) {
        // Two passes in double: the variance of values far from zero keeps its precision.
        double sum = 0, squares = 0;
        for (int64_t s = 0; s < at.hw; ++s) sum += x[at.offset(n, c, s)];
        const double m = sum / static_cast<double>(at.hw);
        for (int64_t s = 0; s < at.hw; ++s) squares += (x[at.offset(n, c, s)] - m) * (x[at.offset(n, c, s)] - m);
        const double r = 1.0 / std::sqrt(squares / static_cast<double>(at.hw) + eps_);
        const auto i = static_cast<size_t>(n * at.c + c);
        mean[i] = static_cast<float>(m);
        inv_std[i] = static_cast<float>(r);
        const float scale = weight_[static_cast<size_t>(c)] * inv_std[i];
        const float shift = bias_[static_cast<size_t>(c)] - mean[i] * scale;
        for (int64_t s = 0; s < at.hw; ++s) {
          const float v = x[at.offset(n, c, s)] * scale + shift;
          y[at.offset(n, c, s)] = relu_ && v < 0.f ? 0.f : v;
        }
      }
    s8net::sdk::zero_padding(at, y);
    if (mode == S8NET_MODE_TRAIN) {
      saved_desc_ = desc;
      saved_mean_ = std::move(mean);
      saved_inv_std_ = std::move(inv_std);
    }
  }

  // With x^ = (x - mean) * inv_std and g = dL/d(output before the ReLU), per (n, c):
  //   dx = weight * inv_std * (g - mean(g) - x^ * mean(g * x^)),  dweight = sum(g * x^),  dbias = sum(g).
  void backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx) {
    if (desc.n != saved_desc_.n || desc.h != saved_desc_.h || desc.w != saved_desc_.w || desc.layout != saved_desc_.layout)
      throw s8net::sdk::Error(S8NET_ERROR_INVALID_ARGUMENT, "in: backward without a training forward of the same shape");
    const Layout at(desc);
    // Per-sample partial sums of the parameter gradients, added in sample order afterwards so
    // that the result does not depend on how OpenMP splits the samples.
    std::vector<double> dweight(static_cast<size_t>(at.n * at.c)), dbias(dweight.size());
#pragma omp parallel for
    for (int64_t n = 0; n < at.n; ++n)
      for (int64_t c = 0; c < at.c; ++c) {
        const auto i = static_cast<size_t>(n * at.c + c);
        const double mean = saved_mean_[i], inv_std = saved_inv_std_[i];
        // The ReLU passes a gradient only where it let the value through (y > 0).
        const auto grad_of = [&](int64_t s) {
          const int64_t o = at.offset(n, c, s);
          return relu_ && y[o] <= 0.f ? 0.0 : static_cast<double>(dy[o]);
        };
        double sum_g = 0, sum_g_xhat = 0;
        for (int64_t s = 0; s < at.hw; ++s) {
          const double g = grad_of(s), xhat = (x[at.offset(n, c, s)] - mean) * inv_std;
          sum_g += g;
          sum_g_xhat += g * xhat;
        }
        dweight[i] = sum_g_xhat;
        dbias[i] = sum_g;
        const double w = weight_[static_cast<size_t>(c)], count = static_cast<double>(at.hw);
        for (int64_t s = 0; s < at.hw; ++s) {
          const double xhat = (x[at.offset(n, c, s)] - mean) * inv_std;
          dx[at.offset(n, c, s)] =
              static_cast<float>(w * inv_std * (grad_of(s) - sum_g / count - xhat * sum_g_xhat / count));
        }
      }
    s8net::sdk::zero_padding(at, dx);
    for (int64_t c = 0; c < at.c; ++c) {
      double total_weight = 0, total_bias = 0;
      for (int64_t n = 0; n < at.n; ++n) {
        total_weight += dweight[static_cast<size_t>(n * at.c + c)];
        total_bias += dbias[static_cast<size_t>(n * at.c + c)];
      }
      weight_grad_[static_cast<size_t>(c)] = static_cast<float>(total_weight);
      bias_grad_[static_cast<size_t>(c)] = static_cast<float>(total_bias);
    }
  }

  std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind) const {
    if (kind == S8NET_NORM_PARAMETERS) return tensors_;
    return {};
  }

 private:
  int64_t channels_;
  double eps_;
  bool relu_;
  std::vector<float> weight_, bias_, weight_grad_, bias_grad_;
  std::array<s8net_norm_tensor, 2> tensors_;
  s8net_tensor_desc saved_desc_{};  // shape of the latest training forward (n = 0: none yet)
  std::vector<float> saved_mean_, saved_inv_std_;
};

}  // namespace

S8NET_NORM_PLUGIN(InstanceNorm)
