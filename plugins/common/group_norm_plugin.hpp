// The GroupNorm family as a plugin class: Traits gives the name, the options and the group count
// (GroupNorm reads "groups"; LayerNorm is one group).
#pragma once

#include "group_norm_kernels.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

namespace s8net::plugins {

template <class Traits>
class GroupNormFamily {
 public:
  static constexpr const char* kName = Traits::kName;
  static constexpr const char* kVersion = "0.2.0";
  static constexpr const char* kDescription = Traits::kDescription;
  static constexpr const char* kDnnlVersion = "";  // hand-written kernels (oneDNN 2.6 has no GroupNorm)
  static constexpr uint32_t kLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C;
  static constexpr uint32_t kFlags = S8NET_NORM_FLAG_FUSES_RELU;
  static constexpr auto kOptions = Traits::kOptions;

  GroupNormFamily(const sdk::Host&, const sdk::Config& config)
      : channels_(config.channels()),
        groups_(Traits::groups(config)),
        eps_(config.get("eps")),
        relu_(config.fuse_relu()),
        weight_(static_cast<size_t>(channels_), 1.f),
        bias_(static_cast<size_t>(channels_), 0.f),
        weight_grad_(static_cast<size_t>(channels_), 0.f),
        bias_grad_(static_cast<size_t>(channels_), 0.f) {
    if (channels_ % groups_ != 0)
      throw sdk::Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(kName) + ": " + std::to_string(channels_) +
                                                         " channels cannot be split into " + std::to_string(groups_) +
                                                         " equal groups");
    tensors_ = {{{"weight", weight_.data(), weight_grad_.data(), channels_},
                 {"bias", bias_.data(), bias_grad_.data(), channels_}}};
  }

  int64_t channels() const { return channels_; }

  // Statistics are per sample, so training and evaluation compute the same thing. Only a training
  // forward is remembered: backward must see it even if evaluation ran in between.
  void forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
    const bool train = mode == S8NET_MODE_TRAIN;
    group_norm_forward(GroupNormShape(desc, groups_), x, weight_.data(), bias_.data(), eps_, relu_,
                       train ? saved_ : eval_, scratch_, y);
    if (train) saved_desc_ = desc;
  }

  void backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx) {
    if (desc.n != saved_desc_.n || desc.h != saved_desc_.h || desc.w != saved_desc_.w ||
        desc.layout != saved_desc_.layout)
      throw sdk::Error(S8NET_ERROR_INVALID_ARGUMENT,
                       std::string(kName) + ": backward without a training forward of the same shape");
    group_norm_backward(GroupNormShape(desc, groups_), x, y, dy, weight_.data(), saved_, relu_, scratch_, dx,
                        weight_grad_.data(), bias_grad_.data());
  }

  // Each group's moments from its channel planes' (each of hw values): the mean of their means,
  // and M var = the sum of their m2 and hw (mean_c - mean)^2 (the pairwise merge of moments).
  // Then y = x*a + b as the forward has it: a = rstd * weight[c], b = bias[c] - mean * a.
  void eval_affine_from_moments(const s8net_tensor_desc& desc, const s8net_plane_moments* moments, float* scale,
                                float* shift) const {
    const GroupNormShape shape(desc, groups_);
    const auto hw = static_cast<double>(shape.hw), m = static_cast<double>(shape.group_size());
    for (int64_t n = 0; n < shape.n; ++n)
      for (int64_t g = 0; g < groups_; ++g) {
        const int64_t first = n * channels_ + g * shape.channels_per_group, last = first + shape.channels_per_group;
        double means = 0;
        for (int64_t i = first; i < last; ++i) means += moments[i].mean;
        const double mean = means / static_cast<double>(shape.channels_per_group);
        double squares = 0;
        for (int64_t i = first; i < last; ++i) {
          const double d = moments[i].mean - mean;
          squares += moments[i].m2 + hw * d * d;
        }
        const double rstd = 1.0 / std::sqrt(std::max(squares, 0.0) / m + eps_);
        for (int64_t i = first; i < last; ++i) {
          const double a = rstd * weight_[static_cast<size_t>(i - n * channels_)];
          scale[i] = static_cast<float>(a);
          shift[i] = static_cast<float>(bias_[static_cast<size_t>(i - n * channels_)] - mean * a);
        }
      }
  }

  std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind) const {
    if (kind == S8NET_NORM_PARAMETERS) return tensors_;
    return {};
  }

 private:
  int64_t channels_, groups_;
  double eps_;
  bool relu_;
  std::vector<float> weight_, bias_, weight_grad_, bias_grad_;
  GroupMoments saved_, eval_;       // of the latest training / evaluation forward
  s8net_tensor_desc saved_desc_{};  // shape of the latest training forward (n = 0: none yet)
  GroupNormScratch scratch_;
  std::array<s8net_norm_tensor, 2> tensors_{};
};

inline constexpr s8net_norm_option kEpsOption{"eps", "added to the variance inside the square root", 1e-5, 1e-12, 1.0,
                                              0};

}  // namespace s8net::plugins
