// RMSNorm ("rms") as a plugin: y = x / sqrt(mean(x^2) + eps) * weight + bias, the mean over each
// sample's (C, H, W). The complete example of docs/plugins.md, "Write a normalization plugin".
#include <s8net/norm/plugin_sdk.hpp>

#include <array>
#include <cmath>
#include <span>
#include <vector>

class RmsNorm {
 public:
  static constexpr const char* kName = "rms";  // what --norm selects
  static constexpr const char* kVersion = "1.0.0";
  static constexpr const char* kDescription = "RMSNorm: scale by the root mean square over (C, H, W)";
  static constexpr const char* kDnnlVersion = "";  // plain C++, no oneDNN
  static constexpr uint32_t kLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C;
  static constexpr uint32_t kFlags = 0;  // no fused ReLU: the host applies it
  static constexpr std::array<s8net_norm_option, 1> kOptions{{{"eps", "added to the mean square", 1e-5, 1e-12, 1, 0}}};

  RmsNorm(const s8net::sdk::Host&, const s8net::sdk::Config& config)
      : c_(config.channels()),
        eps_(config.get("eps")),
        w_(c_, 1.f),
        b_(c_, 0.f),
        dw_(c_),
        db_(c_),
        views_{{{"weight", w_.data(), dw_.data(), c_}, {"bias", b_.data(), db_.data(), c_}}} {}

  int64_t channels() const { return c_; }

  void forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
    const s8net::sdk::Layout at(desc);  // where element (n, c, pixel) lives in any layout
    std::vector<double> r(desc.n);
    for (int64_t n = 0; n < at.n; ++n) {
      double squares = 0;
      for (int64_t c = 0; c < at.c; ++c)
        for (int64_t s = 0; s < at.hw; ++s) squares += double(x[at.offset(n, c, s)]) * x[at.offset(n, c, s)];
      r[n] = 1 / std::sqrt(squares / double(at.c * at.hw) + eps_);
      for (int64_t c = 0; c < at.c; ++c)
        for (int64_t s = 0; s < at.hw; ++s) y[at.offset(n, c, s)] = float(x[at.offset(n, c, s)] * r[n] * w_[c] + b_[c]);
    }
    s8net::sdk::zero_padding(at, y);       // the ABI wants zeros in a padded last channel block
    if (mode == S8NET_MODE_TRAIN) r_ = r;  // backward differentiates the latest training forward
  }

  // dx = r w dy - r^3 / M * x * sum(w dy x);  dw = sum(dy x r);  db = sum(dy)   (M = C*H*W)
  void backward(const s8net_tensor_desc& desc, const float* x, const float*, const float* dy, float* dx) {
    const s8net::sdk::Layout at(desc);
    if (r_.size() != size_t(at.n)) throw s8net::sdk::Error(S8NET_ERROR_INVALID_ARGUMENT, "rms: no training forward");
    std::vector<double> dw(c_), db(c_);
    for (int64_t n = 0; n < at.n; ++n) {
      double sum = 0;
      for (int64_t c = 0; c < at.c; ++c)
        for (int64_t s = 0; s < at.hw; ++s) {
          const int64_t i = at.offset(n, c, s);
          sum += double(w_[c]) * dy[i] * x[i];
          dw[c] += double(dy[i]) * x[i] * r_[n];
          db[c] += dy[i];
        }
      const double k = r_[n] * r_[n] * r_[n] / double(at.c * at.hw) * sum;
      for (int64_t c = 0; c < at.c; ++c)
        for (int64_t s = 0; s < at.hw; ++s) {
          const int64_t i = at.offset(n, c, s);
          dx[i] = float(r_[n] * w_[c] * dy[i] - k * x[i]);
        }
    }
    s8net::sdk::zero_padding(at, dx);
    for (int64_t c = 0; c < c_; ++c) dw_[c] = float(dw[c]), db_[c] = float(db[c]);  // overwrite, not add
  }

  std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind) const {
    return kind == S8NET_NORM_PARAMETERS ? std::span<const s8net_norm_tensor>(views_)
                                         : std::span<const s8net_norm_tensor>();
  }

 private:
  int64_t c_;
  double eps_;
  std::vector<float> w_, b_, dw_, db_;  // parameters and their gradients, one per channel
  std::array<s8net_norm_tensor, 2> views_;
  std::vector<double> r_;  // 1 / rms per sample of the latest training forward
};

S8NET_NORM_PLUGIN(RmsNorm)
