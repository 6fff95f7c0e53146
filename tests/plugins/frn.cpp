// A test-only plugin with kinks of its own, written as an outside author would (the SDK header
// alone, plain index arithmetic): Filter Response Normalization with its thresholded linear unit,
//   nu2 = mean(x^2) over (H, W),  z = weight[c] * x / sqrt(nu2 + eps) + bias[c],  y = max(z, tau[c]).
// The TLU is not differentiable where z = tau, and every x of a (sample, channel) moves every z of
// it, so finite differences of a correct backward straddle kinks now and then: plugin check must
// pass it whatever the seed. FRN_WRONG_DX scales dx by 1.1, which the check must still catch.
#include <s8net/norm/plugin_sdk.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <string>
#include <utility>
#include <vector>

#ifndef FRN_NAME
#define FRN_NAME "frn"
#endif

namespace {

using s8net::sdk::Layout;

class FilterResponseNorm {
 public:
  static constexpr const char* kName = FRN_NAME;
  static constexpr const char* kVersion = "0.1.0";
  static constexpr const char* kDescription = "Filter Response Normalization with a learned threshold (test plugin)";
  static constexpr const char* kDnnlVersion = "";
  static constexpr uint32_t kLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C;
  static constexpr uint32_t kFlags = 0;
  static constexpr std::array<s8net_norm_option, 1> kOptions{
      {{"eps", "added to the mean square inside the square root", 1e-6, 1e-12, 1.0, 0}}};

  FilterResponseNorm(const s8net::sdk::Host&, const s8net::sdk::Config& config)
      : eps_(config.get("eps")),
        weight_(static_cast<size_t>(config.channels()), 1.f),
        bias_(weight_.size(), 0.f),
        tau_(weight_.size(), 0.f),
        weight_grad_(weight_.size()),
        bias_grad_(weight_.size()),
        tau_grad_(weight_.size()) {
    const auto c = static_cast<int64_t>(weight_.size());
    tensors_ = {{{"weight", weight_.data(), weight_grad_.data(), c},
                 {"bias", bias_.data(), bias_grad_.data(), c},
                 {"tau", tau_.data(), tau_grad_.data(), c}}};
  }
  int64_t channels() const { return static_cast<int64_t>(weight_.size()); }

  void forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
    const Layout l(desc);
    std::vector<float> inv_rms(static_cast<size_t>(l.n * l.c));
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c) {
        const float r = inverse_rms(l, x, n, c);
        inv_rms[static_cast<size_t>(n * l.c + c)] = r;
        for (int64_t s = 0; s < l.hw; ++s) {
          const int64_t i = l.offset(n, c, s);
          y[i] = std::max(pre_threshold(c, x[i] * r), tau_[static_cast<size_t>(c)]);
        }
      }
    s8net::sdk::zero_padding(l, y);
    if (mode == S8NET_MODE_TRAIN) inv_rms_ = std::move(inv_rms);
  }

  // With xhat = x * r and g = dy where z > tau: dx = r * (weight * g - xhat * mean(weight * g * xhat)),
  // dweight = sum g * xhat, dbias = sum g, dtau = sum of dy where z <= tau.
  void backward(const s8net_tensor_desc& desc, const float* x, const float*, const float* dy, float* dx) {
    const Layout l(desc);
    if (inv_rms_.size() != static_cast<size_t>(l.n * l.c))
      throw s8net::sdk::Error(S8NET_ERROR_INVALID_ARGUMENT,
                              std::string(kName) + ": backward without a training forward");
    std::vector<double> dweight(weight_.size()), dbias(weight_.size()), dtau(weight_.size());
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c) {
        const double r = inv_rms_[static_cast<size_t>(n * l.c + c)], w = weight_[static_cast<size_t>(c)];
        const auto passes = [&](int64_t i) {
          return pre_threshold(c, x[i] * static_cast<float>(r)) > tau_[static_cast<size_t>(c)];
        };
        double sum_g_xhat = 0;
        for (int64_t s = 0; s < l.hw; ++s) {
          const int64_t i = l.offset(n, c, s);
          const double xhat = x[i] * r;
          if (passes(i)) {
            sum_g_xhat += dy[i] * xhat;
            dbias[static_cast<size_t>(c)] += dy[i];
          } else {
            dtau[static_cast<size_t>(c)] += dy[i];
          }
        }
        dweight[static_cast<size_t>(c)] += sum_g_xhat;
        const double mean_term = w * sum_g_xhat / static_cast<double>(l.hw);
        for (int64_t s = 0; s < l.hw; ++s) {
          const int64_t i = l.offset(n, c, s);
          const double g = passes(i) ? static_cast<double>(dy[i]) : 0.0;
          dx[i] = static_cast<float>(r * (w * g - x[i] * r * mean_term));
#ifdef FRN_WRONG_DX
          dx[i] *= 1.1f;  // a gradient that is wrong everywhere, for the checker
#endif
        }
      }
    s8net::sdk::zero_padding(l, dx);
    for (size_t c = 0; c < weight_.size(); ++c) {
      weight_grad_[c] = static_cast<float>(dweight[c]);
      bias_grad_[c] = static_cast<float>(dbias[c]);
      tau_grad_[c] = static_cast<float>(dtau[c]);
    }
  }

  std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind) const {
    if (kind == S8NET_NORM_PARAMETERS) return tensors_;
    return {};
  }

 private:
  float inverse_rms(const Layout& l, const float* x, int64_t n, int64_t c) const {
    double squares = 0;
    for (int64_t s = 0; s < l.hw; ++s) squares += static_cast<double>(x[l.offset(n, c, s)]) * x[l.offset(n, c, s)];
    return static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(l.hw) + eps_));
  }
  // z of a normalized value; forward and backward compute it alike, so they agree on which side
  // of the threshold each value lies.
  float pre_threshold(int64_t c, float xhat) const {
    return weight_[static_cast<size_t>(c)] * xhat + bias_[static_cast<size_t>(c)];
  }

  double eps_;
  std::vector<float> weight_, bias_, tau_, weight_grad_, bias_grad_, tau_grad_;
  std::vector<float> inv_rms_;  // per (n, c) of the latest training forward
  std::array<s8net_norm_tensor, 3> tensors_{};
};

}  // namespace

S8NET_NORM_PLUGIN(FilterResponseNorm)
