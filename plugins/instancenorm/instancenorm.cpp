// InstanceNorm ("in"): GroupNorm with one group per channel, i.e. statistics per sample and per
// channel over (H, W), the same in training and evaluation; per-channel scale and shift.
//
// The example plugin of docs/plugins.md, "Write a normalization plugin": it includes nothing of s8net but
// the installed SDK header, so it builds in or out of the s8net tree (s8net_add_norm_plugin).
//
// Written for speed on s8net's blocked layouts. Every loop runs over a "unit": one channel block
// of one sample, hw rows of B contiguous lanes (for nchw, B = 1, one channel plane). Each lane is
// its own (sample, channel), so a unit's statistics, output and gradient sums are all computed
// while the unit is in cache, and units run in parallel under OpenMP (the pool the host's oneDNN
// already uses). Inner loops are fixed-width loops over the lanes, so they vectorise; sums go to
// one double accumulator per lane, so vectorising needs no reassociation. Lanes past C in the last
// block are computed and then overwritten with zeros, never read into a result.
#include <s8net/norm/plugin_cpu.hpp>
#include <s8net/norm/plugin_sdk.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <span>
#include <string>
#include <vector>

namespace {

using s8net::sdk::Layout;

// The sum of f(i) over the n * B values of a unit into one double per lane. For nchw (B = 1) the
// plane is summed in 8 interleaved chains folded at the end: a single chain would be one serial
// dependency and would not vectorise.
template <int B, class F>
[[gnu::always_inline]] inline void lane_sums(int64_t values, F f, double* out) {
  constexpr int kChains = B == 1 ? 8 : B;
  double acc[kChains] = {};
  const int64_t body = values - values % kChains;
  for (int64_t i = 0; i < body; i += kChains)
    for (int l = 0; l < kChains; ++l) acc[l] += f(i + l, l % B);
  for (int64_t i = body; i < values; ++i) acc[0] += f(i, 0);  // only for B = 1: B divides values
  if constexpr (B == 1) {
    double total = 0;
    for (const double v : acc) total += v;
    out[0] = total;
  } else {
    std::copy_n(acc, B, out);
  }
}

// dy where the fused ReLU let the value through (y > 0). Tested on the bit pattern, as an integer
// compare and mask: gcc turns the float select into branches, which stops the sums vectorising.
// For every y but a NaN the two agree (+0 and -0 are not > 0).
template <bool Relu>
[[gnu::always_inline]] inline float passed_gradient(const float* y, const float* dy, int64_t i) {
  if constexpr (Relu) {
    const int32_t keep = -static_cast<int32_t>(std::bit_cast<int32_t>(y[i]) > 0);
    return std::bit_cast<float>(std::bit_cast<int32_t>(dy[i]) & keep);
  }
  return dy[i];
}

// Zeros the lanes past C of a unit (only the last block of a sample has any).
template <int B>
[[gnu::always_inline]] inline void zero_padded_lanes(int64_t hw, int64_t valid_lanes, float* out) {
  if (valid_lanes == B) return;
  for (int64_t s = 0; s < hw; ++s)
    for (int64_t l = valid_lanes; l < B; ++l) out[s * B + l] = 0.f;
}

// The lanes of a unit that hold real channels, and the channel of its first lane.
int64_t first_channel(const Layout& at, int64_t unit) { return (unit % at.blocks) * at.block; }
int64_t valid_lanes(const Layout& at, int64_t unit) { return std::min(at.block, at.c - first_channel(at, unit)); }

// What the forward of every unit reads and writes; moments are per lane, [unit * B + lane].
struct ForwardUnits {
  Layout at;
  const float *x, *weight, *bias;
  double eps;
  double *mean, *rstd;
  float* y;
};

template <int B, bool Relu>
[[gnu::always_inline]] inline void forward_unit(const ForwardUnits& w, int64_t unit) {
  const int64_t hw = w.at.hw;
  const float* in = w.x + unit * hw * B;
  float* result = w.y + unit * hw * B;
  // Two passes in double: the variance of centred values keeps its precision when |mean| >> std.
  double mean[B], squares[B];
  lane_sums<B>(
      hw * B, [in](int64_t i, int) { return static_cast<double>(in[i]); }, mean);
  for (double& m : mean) m /= static_cast<double>(hw);
  lane_sums<B>(
      hw * B,
      [in, &mean](int64_t i, int l) {
        const double d = in[i] - mean[l];
        return d * d;
      },
      squares);
  // y = x * a + b per lane; padded lanes get weight 0 here and zeros below.
  float a[B], b[B];
  const int64_t c0 = first_channel(w.at, unit), lanes = valid_lanes(w.at, unit);
  for (int l = 0; l < B; ++l) {
    const double rstd = 1.0 / std::sqrt(squares[l] / static_cast<double>(hw) + w.eps);
    const double scale = l < lanes ? rstd * w.weight[c0 + l] : 0.0;
    a[l] = static_cast<float>(scale);
    b[l] = static_cast<float>(l < lanes ? w.bias[c0 + l] - mean[l] * scale : 0.0);
    w.mean[unit * B + l] = mean[l];
    w.rstd[unit * B + l] = rstd;
  }
  for (int64_t s = 0; s < hw; ++s)
    for (int l = 0; l < B; ++l) {
      const float v = in[s * B + l] * a[l] + b[l];
      result[s * B + l] = Relu ? (v > 0.f ? v : 0.f) : v;
    }
  zero_padded_lanes<B>(hw, lanes, result);
}

// What the backward of every unit reads and writes; the parameter gradients per lane of each unit.
struct BackwardUnits {
  Layout at;
  const float *x, *y, *dy, *weight;
  const double *mean, *rstd;
  double *partial_dweight, *partial_dbias;
  float* dx;
};

template <int B, bool Relu>
[[gnu::always_inline]] inline void backward_unit(const BackwardUnits& w, int64_t unit) {
  const int64_t hw = w.at.hw, start = unit * hw * B;
  const float* ux = w.x + start;
  const float* uy = w.y + start;
  const float* udy = w.dy + start;
  double sum_g[B], sum_g_x[B];
  lane_sums<B>(
      hw * B, [=](int64_t i, int) { return static_cast<double>(passed_gradient<Relu>(uy, udy, i)); }, sum_g);
  lane_sums<B>(
      hw * B, [=](int64_t i, int) { return static_cast<double>(passed_gradient<Relu>(uy, udy, i)) * ux[i]; }, sum_g_x);
  float a[B], b[B], c[B];
  const int64_t c0 = first_channel(w.at, unit), lanes = valid_lanes(w.at, unit);
  const double count = static_cast<double>(hw);
  for (int l = 0; l < B; ++l) {
    const int64_t i = unit * B + l;
    const double mean = w.mean[i], rstd = w.rstd[i], weight = l < lanes ? w.weight[c0 + l] : 0.0;
    const double sum_g_xhat = rstd * (sum_g_x[l] - mean * sum_g[l]);
    w.partial_dweight[i] = sum_g_xhat;
    w.partial_dbias[i] = sum_g[l];
    a[l] = static_cast<float>(weight * rstd);
    b[l] = static_cast<float>(-weight * rstd * rstd * sum_g_xhat / count);
    c[l] = static_cast<float>(weight * rstd * (rstd * mean * sum_g_xhat - sum_g[l]) / count);
  }
  float* out = w.dx + start;
  for (int64_t s = 0; s < hw; ++s)
    for (int l = 0; l < B; ++l) {
      const int64_t i = s * B + l;
      out[i] = a[l] * passed_gradient<Relu>(uy, udy, i) + b[l] * ux[i] + c[l];
    }
  zero_padded_lanes<B>(hw, lanes, out);
}

// Each unit's work compiled three times, for AVX-512, for AVX2 and for any x86-64: the plugin runs
// on every CPU, at the width of the one it runs on (s8net::sdk::cpu_isa() picks, per call).
#if defined(__x86_64__)
#define S8NET_IN_TARGET(isa) [[gnu::target(isa)]]
#else
#define S8NET_IN_TARGET(isa)
#endif
template <int B, bool Relu>
S8NET_IN_TARGET("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
void forward_unit_avx512(const ForwardUnits& w, int64_t unit) {
  forward_unit<B, Relu>(w, unit);
}
template <int B, bool Relu>
S8NET_IN_TARGET("avx2,fma")
void forward_unit_avx2(const ForwardUnits& w, int64_t unit) {
  forward_unit<B, Relu>(w, unit);
}
template <int B, bool Relu>
void forward_unit_baseline(const ForwardUnits& w, int64_t unit) {
  forward_unit<B, Relu>(w, unit);
}
template <int B, bool Relu>
S8NET_IN_TARGET("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
void backward_unit_avx512(const BackwardUnits& w, int64_t unit) {
  backward_unit<B, Relu>(w, unit);
}
template <int B, bool Relu>
S8NET_IN_TARGET("avx2,fma")
void backward_unit_avx2(const BackwardUnits& w, int64_t unit) {
  backward_unit<B, Relu>(w, unit);
}
template <int B, bool Relu>
void backward_unit_baseline(const BackwardUnits& w, int64_t unit) {
  backward_unit<B, Relu>(w, unit);
}
#undef S8NET_IN_TARGET

template <class Units>
using UnitWork = void (*)(const Units&, int64_t);
template <class Units>
UnitWork<Units> compiled_for(s8net::sdk::CpuIsa isa, UnitWork<Units> avx512, UnitWork<Units> avx2,
                             UnitWork<Units> baseline) {
  return isa == s8net::sdk::CpuIsa::avx512 ? avx512 : isa == s8net::sdk::CpuIsa::avx2 ? avx2 : baseline;
}

class InstanceNorm {
 public:
  static constexpr const char* kName = "in";
  static constexpr const char* kVersion = "0.3.0";
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
    const bool train = mode == S8NET_MODE_TRAIN;
    Moments& moments = train ? saved_ : scratch_;
    with_block(desc, [&]<int B, bool Relu>() { forward_units<B, Relu>(Layout(desc), x, moments, y); });
    if (train) saved_desc_ = desc;
  }

  // With xhat = (x - mean) * rstd and g = dL/d(output before the ReLU), per (n, c) over hw values:
  //   dx = weight * rstd * (g - mean(g) - xhat * mean(g * xhat)),  dweight = sum(g * xhat),  dbias = sum(g),
  // which is one pass dx = a*g + b*x + c once the unit's sums of g and g*x are known.
  void backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx) {
    if (desc.n != saved_desc_.n || desc.h != saved_desc_.h || desc.w != saved_desc_.w ||
        desc.layout != saved_desc_.layout)
      throw s8net::sdk::Error(S8NET_ERROR_INVALID_ARGUMENT,
                              "in: backward without a training forward of the same shape");
    const Layout at(desc);
    // Per-(sample, channel) partial sums of the parameter gradients, added in sample order
    // afterwards so that the result does not depend on how OpenMP splits the units.
    partial_dweight_.assign(static_cast<size_t>(at.n * at.blocks * at.block), 0.0);
    partial_dbias_.assign(partial_dweight_.size(), 0.0);
    with_block(desc, [&]<int B, bool Relu>() { backward_units<B, Relu>(at, x, y, dy, dx); });
    for (int64_t c = 0; c < at.c; ++c) {
      double dweight = 0, dbias = 0;
      for (int64_t n = 0; n < at.n; ++n) {
        dweight += partial_dweight_[static_cast<size_t>(n * at.blocks * at.block + c)];
        dbias += partial_dbias_[static_cast<size_t>(n * at.blocks * at.block + c)];
      }
      weight_grad_[static_cast<size_t>(c)] = static_cast<float>(dweight);
      bias_grad_[static_cast<size_t>(c)] = static_cast<float>(dbias);
    }
  }

  std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind) const {
    if (kind == S8NET_NORM_PARAMETERS) return tensors_;
    return {};
  }

  // Optional: evaluation is, per (n, c), y = a x + b with a = weight[c] / sqrt(m2 / hw + eps) and
  // b = bias[c] - mean * a. Offering it lets the host take the norm into the convs around it.
  void eval_affine_from_moments(const s8net_tensor_desc& desc, const s8net_plane_moments* moments, float* scale,
                                float* shift) const {
    const auto hw = static_cast<double>(desc.h * desc.w);
    for (int64_t k = 0; k < desc.n * desc.c; ++k) {
      const auto c = static_cast<size_t>(k % desc.c);
      const double a = weight_[c] / std::sqrt(std::max(moments[k].m2, 0.0) / hw + eps_);
      scale[k] = static_cast<float>(a);
      shift[k] = static_cast<float>(bias_[c] - moments[k].mean * a);
    }
  }

 private:
  // Per lane of every unit, [unit * B + lane] = [n * padded channels + c].
  struct Moments {
    std::vector<double> mean, rstd;
  };

  // Calls f with the layout's block and the fused ReLU as compile-time constants.
  template <class F>
  void with_block(const s8net_tensor_desc& desc, F&& f) const {
    const auto block = [&]<bool Relu>() {
      switch (desc.layout) {
        case S8NET_LAYOUT_NCHW:
          return f.template operator()<1, Relu>();
        case S8NET_LAYOUT_NCHW8C:
          return f.template operator()<8, Relu>();
        case S8NET_LAYOUT_NCHW16C:
          return f.template operator()<16, Relu>();
      }
      throw s8net::sdk::Error(S8NET_ERROR_UNSUPPORTED, "in: unknown layout");
    };
    if (relu_)
      block.template operator()<true>();
    else
      block.template operator()<false>();
  }

  template <int B, bool Relu>
  void forward_units(const Layout& at, const float* x, Moments& out, float* y) {
    const int64_t units = at.n * at.blocks;
    out.mean.resize(static_cast<size_t>(units * B));
    out.rstd.resize(out.mean.size());
    const ForwardUnits work{at, x, weight_.data(), bias_.data(), eps_, out.mean.data(), out.rstd.data(), y};
    const auto run = compiled_for<ForwardUnits>(s8net::sdk::cpu_isa(), forward_unit_avx512<B, Relu>,
                                                forward_unit_avx2<B, Relu>, forward_unit_baseline<B, Relu>);
#pragma omp parallel for schedule(static)
    for (int64_t unit = 0; unit < units; ++unit) run(work, unit);
  }

  template <int B, bool Relu>
  void backward_units(const Layout& at, const float* x, const float* y, const float* dy, float* dx) {
    const BackwardUnits work{at,
                             x,
                             y,
                             dy,
                             weight_.data(),
                             saved_.mean.data(),
                             saved_.rstd.data(),
                             partial_dweight_.data(),
                             partial_dbias_.data(),
                             dx};
    const auto run = compiled_for<BackwardUnits>(s8net::sdk::cpu_isa(), backward_unit_avx512<B, Relu>,
                                                 backward_unit_avx2<B, Relu>, backward_unit_baseline<B, Relu>);
#pragma omp parallel for schedule(static)
    for (int64_t unit = 0; unit < at.n * at.blocks; ++unit) run(work, unit);
  }

  int64_t channels_;
  double eps_;
  bool relu_;
  std::vector<float> weight_, bias_, weight_grad_, bias_grad_;
  std::array<s8net_norm_tensor, 2> tensors_;
  s8net_tensor_desc saved_desc_{};                       // shape of the latest training forward (n = 0: none yet)
  Moments saved_, scratch_;                              // of the latest training forward; of an evaluation
  std::vector<double> partial_dweight_, partial_dbias_;  // kept so a training step allocates nothing
};

}  // namespace

S8NET_NORM_PLUGIN(InstanceNorm)
