// BatchNorm ("bn") on oneDNN's batch_normalization primitives, with the ReLU fused
// (fuse_norm_relu: BN+ReLU for the cost of BN). PyTorch semantics: batch statistics in training,
// running mean and unbiased running variance (momentum 0.1) in evaluation.
//
// With the option sync=1 (synchronized BatchNorm, plugin ABI 1.2), a training forward takes its
// statistics over every rank's share of a data-parallel batch, and backward sums its two
// per-channel reductions over the ranks too, so R ranks compute what one process does on the
// whole batch. oneDNN then normalizes with those statistics given (use_global_stats), and the
// terms of the gradient that flow through the statistics, which oneDNN leaves out in that mode,
// are added here.
#include <s8net/norm/plugin_sdk.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using s8net::sdk::Error;

#define S8NET_STRINGIFY2(x) #x
#define S8NET_STRINGIFY(x) S8NET_STRINGIFY2(x)

memory::format_tag tag_of(s8net_layout layout) {
  switch (layout) {
    case S8NET_LAYOUT_NCHW:
      return memory::format_tag::nchw;
    case S8NET_LAYOUT_NCHW8C:
      return memory::format_tag::nChw8c;
    case S8NET_LAYOUT_NCHW16C:
      return memory::format_tag::nChw16c;
  }
  throw Error(S8NET_ERROR_UNSUPPORTED, "bn: unknown layout");
}

class BatchNorm {
 public:
  static constexpr const char* kName = "bn";
  static constexpr const char* kVersion = "0.1.0";
  static constexpr const char* kDescription = "BatchNorm: statistics per channel over (N, H, W); running stats in eval";
  static constexpr const char* kDnnlVersion = S8NET_STRINGIFY(DNNL_VERSION_MAJOR) "." S8NET_STRINGIFY(
      DNNL_VERSION_MINOR) "." S8NET_STRINGIFY(DNNL_VERSION_PATCH);
  static constexpr uint32_t kLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C;
  static constexpr uint32_t kFlags = S8NET_NORM_FLAG_FUSES_RELU;
  static constexpr std::array<s8net_norm_option, 3> kOptions{
      {{"eps", "added to the variance inside the square root", 1e-5, 1e-12, 1.0, 0},
       {"momentum", "weight of the batch statistic in the running average", 0.1, 0.0, 1.0, 0},
       {"sync", "1: batch statistics over all ranks of a data-parallel training (synchronized BatchNorm)", 0, 0, 1,
        1}}};

  BatchNorm(const s8net::sdk::Host& host, const s8net::sdk::Config& config)
      : channels_(config.channels()),
        eps_(static_cast<float>(config.get("eps"))),
        momentum_(config.get("momentum")),
        relu_(config.fuse_relu()),
        sync_(config.get("sync") != 0),
        ranks_(config.collective()),
        verbose_(std::getenv("S8NET_VERBOSE") != nullptr),
        values_(kArrays * static_cast<size_t>(channels_)) {
    if (host.dnnl_engine == nullptr || host.dnnl_stream == nullptr)
      throw Error(S8NET_ERROR_INVALID_ARGUMENT, "bn: the host gave no oneDNN engine or stream");
    // Non-owning (weak) wrappers: the engine and stream belong to the host. plugin_api.h's
    // struct dnnl_engine / dnnl_stream are oneDNN's own, so the handles need no cast.
    engine_ = dnnl::engine(static_cast<dnnl_engine_t>(host.dnnl_engine), true);
    stream_ = dnnl::stream(static_cast<dnnl_stream_t>(host.dnnl_stream), true);
    const memory::desc channel_desc({channels_}, memory::data_type::f32, memory::format_tag::x);
    for (size_t i = 0; i < kArrays; ++i) arrays_[i] = memory(channel_desc, engine_, data(static_cast<Array>(i)));
    reductions_.resize(2 * static_cast<size_t>(channels_) + 1);
    std::fill_n(data(kWeight), channels_, 1.f);
    std::fill_n(data(kRunningVar), channels_, 1.f);
    parameters_ = {
        {{"weight", data(kWeight), data(kWeightGrad), channels_}, {"bias", data(kBias), data(kBiasGrad), channels_}}};
    state_ = {{{"running_mean", data(kRunningMean), nullptr, channels_},
               {"running_var", data(kRunningVar), nullptr, channels_}}};
  }

  int64_t channels() const { return channels_; }

  void forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
    const bool train = mode == S8NET_MODE_TRAIN;
    // Values per channel: this call's, or with sync every rank's.
    const int64_t m = train && sync_ ? synchronized_statistics(desc, x) : desc.n * desc.h * desc.w;
    if (train && m < 2)  // as PyTorch: one value per channel has no variance to estimate
      throw Error(S8NET_ERROR_INVALID_ARGUMENT,
                  "bn: training needs more than 1 value per channel, got " + std::to_string(m));
    Primitives& p = primitives_for(desc, mode);
    p.src.set_data_handle(const_cast<float*>(x));  // oneDNN's handles are non-const; it only reads src
    p.dst.set_data_handle(y);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, p.src},
                                         {DNNL_ARG_DST, p.dst},
                                         {DNNL_ARG_SCALE, arrays_[kWeight]},
                                         {DNNL_ARG_SHIFT, arrays_[kBias]},
                                         {DNNL_ARG_MEAN, train ? arrays_[kBatchMean] : arrays_[kRunningMean]},
                                         {DNNL_ARG_VARIANCE, train ? arrays_[kBatchVar] : arrays_[kRunningVar]}};
    if (train && relu_) args[DNNL_ARG_WORKSPACE] = p.workspace;
    p.forward.execute(stream_, args);
    stream_.wait();
    // oneDNN normalises the padded lanes too, from whatever x holds there: zero them as the ABI asks.
    s8net::sdk::zero_padding(s8net::sdk::Layout(desc), y);
    if (!train) return;
    trained_ = &p;
    // PyTorch's running statistics: the variance estimate is unbiased (m / (m - 1)).
    const double unbias = static_cast<double>(m) / static_cast<double>(m - 1);
    const float* mean = data(kBatchMean);
    const float* var = data(kBatchVar);
    float* running_mean = data(kRunningMean);
    float* running_var = data(kRunningVar);
    for (int64_t c = 0; c < channels_; ++c) {
      running_mean[c] = static_cast<float>((1 - momentum_) * running_mean[c] + momentum_ * mean[c]);
      running_var[c] = static_cast<float>((1 - momentum_) * running_var[c] + momentum_ * var[c] * unbias);
    }
  }

  void backward(const s8net_tensor_desc& desc, const float* x, const float*, const float* dy, float* dx) {
    Primitives& p = primitives_for(desc, S8NET_MODE_TRAIN);
    if (trained_ != &p)
      throw Error(S8NET_ERROR_INVALID_ARGUMENT, "bn: backward without a training forward of the same shape");
    p.src.set_data_handle(const_cast<float*>(x));
    p.diff_dst.set_data_handle(const_cast<float*>(dy));
    p.diff_src.set_data_handle(dx);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, p.src},
        {DNNL_ARG_MEAN, arrays_[kBatchMean]},
        {DNNL_ARG_VARIANCE, arrays_[kBatchVar]},
        {DNNL_ARG_DIFF_DST, p.diff_dst},
        {DNNL_ARG_SCALE, arrays_[kWeight]},
        // oneDNN 2.6 refuses to execute backward without the shift, though it does not read it.
        {DNNL_ARG_SHIFT, arrays_[kBias]},
        {DNNL_ARG_DIFF_SRC, p.diff_src},
        {DNNL_ARG_DIFF_SCALE, arrays_[kWeightGrad]},
        {DNNL_ARG_DIFF_SHIFT, arrays_[kBiasGrad]}};
    if (relu_) args[DNNL_ARG_WORKSPACE] = p.workspace;  // the ReLU mask of the training forward
    p.backward.execute(stream_, args);
    stream_.wait();
    if (sync_) add_statistics_gradient(desc, x, dx);
    s8net::sdk::zero_padding(s8net::sdk::Layout(desc), dx);
  }

  // Evaluation is weight * (x - running_mean) / sqrt(running_var + eps) + bias per channel.
  void eval_affine(float* scale, float* shift) const {
    const float* weight = data(kWeight);
    const float* bias = data(kBias);
    const float* mean = data(kRunningMean);
    const float* var = data(kRunningVar);
    for (int64_t c = 0; c < channels_; ++c) {
      scale[c] = weight[c] / std::sqrt(var[c] + eps_);
      shift[c] = bias[c] - mean[c] * scale[c];
    }
  }

  std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind) const {
    return kind == S8NET_NORM_PARAMETERS ? std::span<const s8net_norm_tensor>(parameters_)
                                         : std::span<const s8net_norm_tensor>(state_);
  }

 private:
  // Calls visit(c, i) for every element i of channel c, a channel block at a time and in memory
  // order within it (a block's lanes are adjacent), the blocks spread over OpenMP's threads.
  template <typename Visit>
  void for_each_block(const s8net_tensor_desc& desc, Visit visit) const {
    const s8net::sdk::Layout layout(desc);
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < layout.blocks; ++b) {
      const int64_t lanes = std::min(layout.block, channels_ - b * layout.block);
      for (int64_t n = 0; n < layout.n; ++n) {
        const int64_t first = (n * layout.blocks + b) * layout.hw * layout.block;
        for (int64_t s = 0; s < layout.hw; ++s)
          for (int64_t l = 0; l < lanes; ++l) visit(b * layout.block + l, first + s * layout.block + l);
      }
    }
  }

  // Per channel over (N, H, W) of this rank's x: sum(term(c, x)) in double, into out[c] as float.
  template <typename Term>
  void channel_sums(const s8net_tensor_desc& desc, const float* x, float* out, Term term) {
    std::vector<double>& sums = double_sums_;
    sums.assign(static_cast<size_t>(channels_), 0.0);
    // Each block's channels belong to one thread: no two threads add to one sum.
    for_each_block(desc, [&](int64_t c, int64_t i) { sums[static_cast<size_t>(c)] += term(c, x[i]); });
    for (int64_t c = 0; c < channels_; ++c) out[c] = static_cast<float>(sums[static_cast<size_t>(c)]);
  }

  // The mean and the (biased) variance over every rank's values, into the batch arrays, in two
  // passes (sum, then squared deviations from the global mean: no cancellation); returns how many
  // values per channel they cover.
  int64_t synchronized_statistics(const s8net_tensor_desc& desc, const float* x) {
    float* sums = reductions_.data();
    channel_sums(desc, x, sums, [](int64_t, float v) { return static_cast<double>(v); });
    sums[channels_] = static_cast<float>(desc.n * desc.h * desc.w);
    s8net::sdk::allreduce_sum(ranks_, sums, static_cast<size_t>(channels_) + 1);
    const auto count = static_cast<int64_t>(std::llround(sums[channels_]));
    if (count < 2) return count;
    float* mean = data(kBatchMean);
    for (int64_t c = 0; c < channels_; ++c)
      mean[c] = static_cast<float>(static_cast<double>(sums[c]) / static_cast<double>(count));
    float* squares = reductions_.data();
    channel_sums(desc, x, squares, [mean](int64_t c, float v) {
      const double d = static_cast<double>(v) - mean[c];
      return d * d;
    });
    s8net::sdk::allreduce_sum(ranks_, squares, static_cast<size_t>(channels_));
    float* var = data(kBatchVar);
    for (int64_t c = 0; c < channels_; ++c)
      var[c] = static_cast<float>(static_cast<double>(squares[c]) / static_cast<double>(count));
    synchronized_count_ = count;
    return count;
  }

  // oneDNN's backward with given statistics wrote dx = weight / sigma * dy' (dy' = dy through the
  // ReLU mask) and this rank's sum(dy') and sum(dy' * xhat) as the bias and weight gradients. The
  // statistics depend on every rank's x, which adds
  //   -weight / sigma / M * (sum(dy') + xhat * sum(dy' * xhat)), sums over all ranks' M values.
  // The parameter gradients stay this rank's: the trainer sums them over the ranks.
  void add_statistics_gradient(const s8net_tensor_desc& desc, const float* x, float* dx) {
    float* sums = reductions_.data();
    std::copy_n(data(kBiasGrad), channels_, sums);
    std::copy_n(data(kWeightGrad), channels_, sums + channels_);
    s8net::sdk::allreduce_sum(ranks_, sums, 2 * static_cast<size_t>(channels_));
    const float* mean = data(kBatchMean);
    const float* var = data(kBatchVar);
    const float* weight = data(kWeight);
    const auto count = static_cast<float>(synchronized_count_);
    // Per channel: dx -= dy_term + xhat_term * xhat.
    std::vector<float>& terms = correction_;
    terms.resize(3 * static_cast<size_t>(channels_));
    float* dy_term = terms.data();
    float* xhat_term = dy_term + channels_;
    float* inv_sigma = xhat_term + channels_;
    for (int64_t c = 0; c < channels_; ++c) {
      inv_sigma[c] = 1.f / std::sqrt(var[c] + eps_);
      dy_term[c] = weight[c] * inv_sigma[c] * sums[c] / count;
      xhat_term[c] = weight[c] * inv_sigma[c] * sums[channels_ + c] / count;
    }
    for_each_block(desc,
                   [&](int64_t c, int64_t i) { dx[i] -= dy_term[c] + xhat_term[c] * (x[i] - mean[c]) * inv_sigma[c]; });
  }

  // The per-channel arrays, back to back in values_. The batch statistics are those of the
  // latest training forward (backward needs them).
  enum Array { kWeight, kBias, kWeightGrad, kBiasGrad, kRunningMean, kRunningVar, kBatchMean, kBatchVar, kArrays };
  float* data(Array a) { return values_.data() + static_cast<size_t>(a) * static_cast<size_t>(channels_); }
  const float* data(Array a) const { return values_.data() + static_cast<size_t>(a) * static_cast<size_t>(channels_); }

  // Primitives and memory objects of one shape and mode, created once and reused; each call only
  // points the memory objects at that call's buffers.
  struct Primitives {
    dnnl::batch_normalization_forward forward;
    dnnl::batch_normalization_backward backward;  // training only
    memory src, dst, diff_dst, diff_src;          // diff_*: training only
    memory workspace;                             // the ReLU mask for backward (training with fused ReLU)
  };

  Primitives& primitives_for(const s8net_tensor_desc& desc, s8net_mode mode) {
    const auto key = std::make_tuple(desc.n, desc.h, desc.w, static_cast<int>(desc.layout), static_cast<int>(mode));
    if (auto found = cache_.find(key); found != cache_.end()) return found->second;
    const memory::desc data_desc({desc.n, desc.c, desc.h, desc.w}, memory::data_type::f32, tag_of(desc.layout));
    auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    if (relu_) flags |= dnnl::normalization_flags::fuse_norm_relu;
    // Synchronized training normalizes with the statistics computed over the ranks.
    if (sync_ && mode == S8NET_MODE_TRAIN) flags |= dnnl::normalization_flags::use_global_stats;
    Primitives p;
    p.src = memory(data_desc, engine_, DNNL_MEMORY_NONE);
    p.dst = memory(data_desc, engine_, DNNL_MEMORY_NONE);
    if (mode == S8NET_MODE_EVAL) {
      const dnnl::batch_normalization_forward::primitive_desc pd(
          {dnnl::prop_kind::forward_inference, data_desc, eps_, flags | dnnl::normalization_flags::use_global_stats},
          engine_);
      report(desc, mode, pd.impl_info_str());
      p.forward = dnnl::batch_normalization_forward(pd);
    } else {
      const dnnl::batch_normalization_forward::primitive_desc pd(
          {dnnl::prop_kind::forward_training, data_desc, eps_, flags}, engine_);
      const dnnl::batch_normalization_backward::primitive_desc backward_pd(
          {dnnl::prop_kind::backward, data_desc, data_desc, eps_, flags}, engine_, pd);
      report(desc, mode, std::string(pd.impl_info_str()) + ", backward " + backward_pd.impl_info_str());
      p.forward = dnnl::batch_normalization_forward(pd);
      p.backward = dnnl::batch_normalization_backward(backward_pd);
      p.diff_dst = memory(data_desc, engine_, DNNL_MEMORY_NONE);
      p.diff_src = memory(data_desc, engine_, DNNL_MEMORY_NONE);
      if (relu_) p.workspace = memory(pd.workspace_desc(), engine_);
    }
    return cache_.emplace(key, std::move(p)).first->second;
  }

  // Which oneDNN implementation a shape got (a ref:any here would cost 10x), once per shape.
  void report(const s8net_tensor_desc& desc, s8net_mode mode, const std::string& impl) const {
    if (!verbose_) return;
    std::fprintf(stderr, "s8net bn: %lldx%lldx%lldx%lld %s %s: %s\n", static_cast<long long>(desc.n),
                 static_cast<long long>(desc.c), static_cast<long long>(desc.h), static_cast<long long>(desc.w),
                 s8net::sdk::layout_name(desc.layout), mode == S8NET_MODE_TRAIN ? "train" : "eval", impl.c_str());
  }

  dnnl::engine engine_;
  dnnl::stream stream_;
  int64_t channels_;
  float eps_;
  double momentum_;
  bool relu_;
  bool sync_;                      // statistics over all ranks (option sync)
  const s8net_collective* ranks_;  // nullptr from a host older than ABI 1.2: one rank
  bool verbose_;
  std::vector<float> values_;
  std::vector<float> reductions_;        // per-channel sums sent to the other ranks
  std::vector<double> double_sums_;      // channel_sums' accumulators
  std::vector<float> correction_;        // add_statistics_gradient's per-channel terms
  int64_t synchronized_count_ = 0;       // values per channel of the latest synchronized forward
  std::array<memory, kArrays> arrays_;   // oneDNN views of the per-channel arrays
  const Primitives* trained_ = nullptr;  // of the latest training forward
  std::map<std::tuple<int64_t, int64_t, int64_t, int, int>, Primitives> cache_;
  std::array<s8net_norm_tensor, 2> parameters_{}, state_{};
};

}  // namespace

S8NET_NORM_PLUGIN(BatchNorm)
