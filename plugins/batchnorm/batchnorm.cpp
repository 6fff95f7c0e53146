// BatchNorm ("bn") on oneDNN's batch_normalization primitives, with the ReLU fused
// (fuse_norm_relu: BN+ReLU for the cost of BN). PyTorch semantics: batch statistics in training,
// running mean and unbiased running variance (momentum 0.1) in evaluation.
#include <s8net/norm/plugin_sdk.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace {

using s8net::sdk::Error;
using dnnl::memory;

#define S8NET_STRINGIFY2(x) #x
#define S8NET_STRINGIFY(x) S8NET_STRINGIFY2(x)

memory::format_tag tag_of(s8net_layout layout) {
  switch (layout) {
    case S8NET_LAYOUT_NCHW: return memory::format_tag::nchw;
    case S8NET_LAYOUT_NCHW8C: return memory::format_tag::nChw8c;
    case S8NET_LAYOUT_NCHW16C: return memory::format_tag::nChw16c;
  }
  throw Error(S8NET_ERROR_UNSUPPORTED, "bn: unknown layout");
}

class BatchNorm {
 public:
  static constexpr const char* kName = "bn";
  static constexpr const char* kVersion = "0.1.0";
  static constexpr const char* kDescription = "BatchNorm: statistics per channel over (N, H, W); running stats in eval";
  static constexpr const char* kDnnlVersion =
      S8NET_STRINGIFY(DNNL_VERSION_MAJOR) "." S8NET_STRINGIFY(DNNL_VERSION_MINOR) "." S8NET_STRINGIFY(DNNL_VERSION_PATCH);
  static constexpr uint32_t kLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C;
  static constexpr uint32_t kFlags = S8NET_NORM_FLAG_FUSES_RELU;
  static constexpr std::array<s8net_norm_option, 2> kOptions{
      {{"eps", "added to the variance inside the square root", 1e-5, 1e-12, 1.0, 0},
       {"momentum", "weight of the batch statistic in the running average", 0.1, 0.0, 1.0, 0}}};

  BatchNorm(const s8net::sdk::Host& host, const s8net::sdk::Config& config)
      : engine_(reinterpret_cast<dnnl_engine_t>(host.dnnl_engine), true),
        stream_(reinterpret_cast<dnnl_stream_t>(host.dnnl_stream), true),
        channels_(config.channels()),
        eps_(static_cast<float>(config.get("eps"))),
        momentum_(static_cast<float>(config.get("momentum"))),
        relu_(config.fuse_relu()),
        values_(6 * static_cast<size_t>(channels_)) {
    if (host.dnnl_engine == nullptr || host.dnnl_stream == nullptr)
      throw Error(S8NET_ERROR_INVALID_ARGUMENT, "bn: the host gave no oneDNN engine or stream");
    const memory::desc channel_desc({channels_}, memory::data_type::f32, memory::format_tag::x);
    for (size_t i = 0; i < 6; ++i) arrays_[i] = memory(channel_desc, engine_, values_.data() + i * static_cast<size_t>(channels_));
    std::fill_n(data(kWeight), channels_, 1.f);
    std::fill_n(data(kRunningVar), channels_, 1.f);
    parameters_ = {{{"weight", data(kWeight), data(kWeightGrad), channels_}, {"bias", data(kBias), data(kBiasGrad), channels_}}};
    state_ = {{{"running_mean", data(kRunningMean), nullptr, channels_}, {"running_var", data(kRunningVar), nullptr, channels_}}};
  }

  int64_t channels() const { return channels_; }

  void forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
    Primitives& p = primitives_for(desc, mode);
    const memory src(p.data_desc, engine_, const_cast<float*>(x)), dst(p.data_desc, engine_, y);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_DST, dst},
                                         {DNNL_ARG_SCALE, arrays_[kWeight]},
                                         {DNNL_ARG_SHIFT, arrays_[kBias]}};
    if (mode == S8NET_MODE_EVAL) {
      args[DNNL_ARG_MEAN] = arrays_[kRunningMean];
      args[DNNL_ARG_VARIANCE] = arrays_[kRunningVar];
      p.forward.execute(stream_, args);
      stream_.wait();
      s8net::sdk::zero_padding(s8net::sdk::Layout(desc), y);  // oneDNN leaves padded lanes as they were
      return;
    }
    args[DNNL_ARG_MEAN] = batch_mean_;
    args[DNNL_ARG_VARIANCE] = batch_var_;
    if (relu_) args[DNNL_ARG_WORKSPACE] = p.workspace;
    p.forward.execute(stream_, args);
    stream_.wait();
    s8net::sdk::zero_padding(s8net::sdk::Layout(desc), y);
    trained_ = &p;
    // PyTorch's running statistics: the variance estimate is unbiased (m / (m - 1)).
    const double m = static_cast<double>(desc.n * desc.h * desc.w);
    const float unbias = m > 1 ? static_cast<float>(m / (m - 1)) : 1.f;
    const float* mean = static_cast<const float*>(batch_mean_.get_data_handle());
    const float* var = static_cast<const float*>(batch_var_.get_data_handle());
    float* running_mean = data(kRunningMean);
    float* running_var = data(kRunningVar);
    for (int64_t c = 0; c < channels_; ++c) {
      running_mean[c] = (1.f - momentum_) * running_mean[c] + momentum_ * mean[c];
      running_var[c] = (1.f - momentum_) * running_var[c] + momentum_ * var[c] * unbias;
    }
  }

  void backward(const s8net_tensor_desc& desc, const float* x, const float*, const float* dy, float* dx) {
    Primitives& p = primitives_for(desc, S8NET_MODE_TRAIN);
    if (trained_ != &p) throw Error(S8NET_ERROR_INVALID_ARGUMENT, "bn: backward without a training forward of the same shape");
    const memory src(p.data_desc, engine_, const_cast<float*>(x)), diff_dst(p.data_desc, engine_, const_cast<float*>(dy)),
        diff_src(p.data_desc, engine_, dx);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_MEAN, batch_mean_},
                                         {DNNL_ARG_VARIANCE, batch_var_},
                                         {DNNL_ARG_DIFF_DST, diff_dst},
                                         {DNNL_ARG_SCALE, arrays_[kWeight]},
                                         // oneDNN 2.6 refuses to execute backward without the shift, though it does not read it.
                                         {DNNL_ARG_SHIFT, arrays_[kBias]},
                                         {DNNL_ARG_DIFF_SRC, diff_src},
                                         {DNNL_ARG_DIFF_SCALE, arrays_[kWeightGrad]},
                                         {DNNL_ARG_DIFF_SHIFT, arrays_[kBiasGrad]}};
    if (relu_) args[DNNL_ARG_WORKSPACE] = p.workspace;
    p.backward.execute(stream_, args);
    stream_.wait();
    s8net::sdk::zero_padding(s8net::sdk::Layout(desc), dx);
  }

  std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind) const {
    return kind == S8NET_NORM_PARAMETERS ? std::span<const s8net_norm_tensor>(parameters_)
                                         : std::span<const s8net_norm_tensor>(state_);
  }

 private:
  enum Array { kWeight, kBias, kWeightGrad, kBiasGrad, kRunningMean, kRunningVar };
  float* data(Array a) { return values_.data() + static_cast<size_t>(a) * static_cast<size_t>(channels_); }

  // Primitives of one shape and mode, created once and reused.
  struct Primitives {
    memory::desc data_desc;
    dnnl::batch_normalization_forward forward;
    dnnl::batch_normalization_backward backward;  // training only
    memory workspace;                              // ReLU mask for backward (fused ReLU only)
  };

  Primitives& primitives_for(const s8net_tensor_desc& desc, s8net_mode mode) {
    const auto key = std::make_tuple(desc.n, desc.h, desc.w, static_cast<int>(desc.layout), static_cast<int>(mode));
    if (auto found = cache_.find(key); found != cache_.end()) return found->second;
    Primitives p;
    p.data_desc = memory::desc({desc.n, desc.c, desc.h, desc.w}, memory::data_type::f32, tag_of(desc.layout));
    auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    if (relu_) flags |= dnnl::normalization_flags::fuse_norm_relu;
    if (mode == S8NET_MODE_EVAL) {
      flags |= dnnl::normalization_flags::use_global_stats;
      const dnnl::batch_normalization_forward::primitive_desc pd(
          {dnnl::prop_kind::forward_inference, p.data_desc, eps_, flags}, engine_);
      p.forward = dnnl::batch_normalization_forward(pd);
    } else {
      const dnnl::batch_normalization_forward::primitive_desc pd({dnnl::prop_kind::forward_training, p.data_desc, eps_, flags},
                                                                 engine_);
      p.forward = dnnl::batch_normalization_forward(pd);
      if (relu_) p.workspace = memory(pd.workspace_desc(), engine_);
      if (!batch_mean_) {
        batch_mean_ = memory(pd.mean_desc(), engine_);
        batch_var_ = memory(pd.variance_desc(), engine_);
      }
      const dnnl::batch_normalization_backward::primitive_desc backward_pd(
          {dnnl::prop_kind::backward, p.data_desc, p.data_desc, eps_, flags}, engine_, pd);
      p.backward = dnnl::batch_normalization_backward(backward_pd);
    }
    return cache_.emplace(key, std::move(p)).first->second;
  }

  dnnl::engine engine_;
  dnnl::stream stream_;
  int64_t channels_;
  float eps_, momentum_;
  bool relu_;
  std::vector<float> values_;          // the six per-channel arrays of enum Array, back to back
  std::array<memory, 6> arrays_;       // oneDNN views of them
  memory batch_mean_, batch_var_;      // statistics of the latest training forward
  const Primitives* trained_ = nullptr;
  std::map<std::tuple<int64_t, int64_t, int64_t, int, int>, Primitives> cache_;
  std::array<s8net_norm_tensor, 2> parameters_{}, state_{};
};

}  // namespace

S8NET_NORM_PLUGIN(BatchNorm)
