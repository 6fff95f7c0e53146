// A complete test-only plugin, y = weight[c] * x + bias[c], written against the SDK alone and
// built with s8net_add_norm_plugin: it proves a new norm needs no change in libs8net. Compile-time
// switches turn it into the broken variants the registry tests need.
#include <s8net/norm/plugin_sdk.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <thread>
#include <vector>

#ifndef AFFINE_NAME
#define AFFINE_NAME "affine"
#endif

namespace {

class Affine {
 public:
  static constexpr const char* kName = AFFINE_NAME;
  static constexpr const char* kVersion = "1.2.3";
  static constexpr const char* kDescription = "per-channel scale and shift, no statistics (test plugin)";
  static constexpr const char* kDnnlVersion = "";
#ifdef AFFINE_NO_NCHW8C
  static constexpr uint32_t kLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW16C;
#else
  static constexpr uint32_t kLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C;
#endif
  static constexpr uint32_t kFlags = 0;
  static constexpr std::array<s8net_norm_option, 1> kOptions{{{"scale", "initial weight", 1.0, -10.0, 10.0, 0}}};

  Affine(const s8net::sdk::Host&, const s8net::sdk::Config& config)
      : weight_(static_cast<size_t>(config.channels()), static_cast<float>(config.get("scale"))),
        bias_(weight_.size(), 0.f),
        weight_grad_(weight_.size()),
        bias_grad_(weight_.size()),
        ranks_(config.collective()) {
#ifdef AFFINE_FAIL_CREATE
    throw s8net::sdk::Error(S8NET_ERROR_INTERNAL, "affine: refusing to create (test)");
#endif
    const auto c = static_cast<int64_t>(weight_.size());
    tensors_ = {{{"weight", weight_.data(), weight_grad_.data(), c}, {"bias", bias_.data(), bias_grad_.data(), c}}};
#ifdef AFFINE_HUGE_TENSOR
    tensors_[1].size = int64_t{1} << 40;  // claims far more than it holds, for the host's size checks
#endif
  }
  int64_t channels() const { return static_cast<int64_t>(weight_.size()); }

  void forward([[maybe_unused]] s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
#ifdef AFFINE_NAN_AFTER_STEPS
    // Diverges on purpose: every training forward after the first AFFINE_NAN_AFTER_STEPS is +inf
    // (a NaN would not get through: the ReLU after it makes it 0), which the next conv turns to NaN.
    if (mode == S8NET_MODE_TRAIN && ++training_forwards_ > AFFINE_NAN_AFTER_STEPS) {
      std::fill_n(y, s8net::sdk::Layout(desc).padded_size(), std::numeric_limits<float>::infinity());
      return;
    }
#endif
#ifdef AFFINE_CRASH_IN_EVAL
    if (mode == S8NET_MODE_EVAL) std::abort();  // dies as a segfaulting plugin would, for plugin check
#endif
#ifdef AFFINE_HANG_IN_EVAL
    // Never returns, as a plugin stuck in a loop or in a collective would, for plugin check.
    if (mode == S8NET_MODE_EVAL)
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
#endif
#ifdef AFFINE_FAIL_FORWARD
    throw s8net::sdk::Error(S8NET_ERROR_INTERNAL, "affine: forward fails on purpose (test)");
#endif
#ifdef AFFINE_COLLECTIVE_ON_RANK_0
    // Breaks ABI 1.2's rule that every rank calls the collective alike: rank 0 alone does.
    if (mode == S8NET_MODE_TRAIN && ranks_ != nullptr && ranks_->rank == 0) {
      float one = 1.f;
      s8net::sdk::allreduce_sum(ranks_, &one, 1);
    }
#endif
    const s8net::sdk::Layout l(desc);
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c)
        for (int64_t s = 0; s < l.hw; ++s) y[l.offset(n, c, s)] = weight_[c] * x[l.offset(n, c, s)] + bias_[c];
#ifdef AFFINE_EVAL_USES_THE_BATCH
    // An evaluation that depends on the batch size, for the checker's per-sample check.
    if (mode == S8NET_MODE_EVAL)
      for (int64_t i = 0; i < l.padded_size(); ++i) y[i] += 0.01f * static_cast<float>(l.n);
#endif
    s8net::sdk::zero_padding(l, y);
#ifdef AFFINE_OUT_OF_BOUNDS
    y[l.padded_size()] = 0.f;  // one float past the end of y, for the checker's bounds check
#endif
  }
  void backward(const s8net_tensor_desc& desc, const float* x, const float*, const float* dy, float* dx) {
    const s8net::sdk::Layout l(desc);
    std::fill(weight_grad_.begin(), weight_grad_.end(), 0.f);
    std::fill(bias_grad_.begin(), bias_grad_.end(), 0.f);
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c)
        for (int64_t s = 0; s < l.hw; ++s) {
          const int64_t i = l.offset(n, c, s);
          dx[i] = weight_[c] * dy[i];
          weight_grad_[c] += dy[i] * x[i];
          bias_grad_[c] += dy[i];
        }
    s8net::sdk::zero_padding(l, dx);
#ifdef AFFINE_BAD_GRADIENT
    for (int64_t i = 0; i < l.padded_size(); ++i) dx[i] *= 1.25f;  // a wrong dx for the checker's gradients check
#endif
  }
#if defined(AFFINE_EVAL_AFFINE) || defined(AFFINE_WRONG_EVAL_AFFINE)
  // The whole norm is the map, so it can be folded into the conv before it.
  void eval_affine(float* scale, float* shift) const {
    std::copy(weight_.begin(), weight_.end(), scale);
    std::copy(bias_.begin(), bias_.end(), shift);
#ifdef AFFINE_WRONG_EVAL_AFFINE
    for (size_t c = 0; c < bias_.size(); ++c) shift[c] += 0.5f;  // disagrees with forward, for the checker
#endif
  }
#endif
  std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind) const {
    if (kind == S8NET_NORM_PARAMETERS) return tensors_;
    return {};
  }

 private:
  int64_t training_forwards_ = 0;
  std::vector<float> weight_, bias_, weight_grad_, bias_grad_;
  const s8net_collective* ranks_;  // ABI 1.2; nullptr from an older host
  std::array<s8net_norm_tensor, 2> tensors_{};
};

}  // namespace

S8NET_NORM_PLUGIN(Affine)
