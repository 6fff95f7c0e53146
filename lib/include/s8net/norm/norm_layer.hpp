// One normalization layer of the network: a plugin instance (norm/plugin_instance.hpp, which keeps
// the plugin's library loaded and turns status codes into s8net::Error) and its parameters.
#pragma once

#include <s8net/norm/plugin_api.h>
#include <s8net/core/parameter.hpp>
#include <s8net/norm/plugin_instance.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace s8net {

class NormRegistry;

using NormOptions = std::map<std::string, double>;

// An evaluation that is y = scale[c] * x + shift[c] for every sample (see eval_affine in plugin_api.h).
struct ChannelAffine {
  std::vector<float> scale, shift;
};

class NormLayer {
 public:
  // Asks for ReLU fusion when want_relu and the plugin can fuse it; otherwise the caller applies
  // the ReLU itself (see fuses_relu()).
  // ranks: the training's ranks, which a plugin may synchronize over (synchronized BatchNorm); it
  // must outlive the layer.
  NormLayer(const NormRegistry& registry, const std::string& norm, int64_t channels, const NormOptions& options,
            bool want_relu, std::string layer_name, const Collective& ranks = single_process());
  ~NormLayer();
  NormLayer(const NormLayer&) = delete;
  NormLayer& operator=(const NormLayer&) = delete;

  void forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y);
  void backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx);
  // The evaluation as a per-channel affine map, as of the current parameters and state, when the
  // plugin offers one (BatchNorm); empty otherwise. Lets inference fold the norm into a conv.
  std::optional<ChannelAffine> eval_affine() const;
  bool offers_eval_affine() const noexcept;
  // Per sample, the evaluation as a per-channel affine map given the moments of each (sample,
  // channel) plane of its input, when the plugin offers that (GroupNorm, LayerNorm, InstanceNorm):
  // moments, scale and shift hold desc.n * desc.c values, [n * c + channel]. Lets inference take the
  // moments inside the conv before the norm and apply the map inside the conv after it.
  void eval_affine_from_moments(const s8net_tensor_desc& desc, const s8net_plane_moments* moments, float* scale,
                                float* shift) const {
    instance_.eval_affine_from_moments(desc, moments, scale, shift);
  }
  bool offers_eval_affine_from_moments() const noexcept { return instance_.offers_eval_affine_from_moments(); }

  // Wrapped around the plugin's own arrays: updating value.data() updates the layer.
  std::vector<Parameter>& parameters() noexcept { return parameters_; }
  const std::vector<Parameter>& parameters() const noexcept { return parameters_; }
  // Non-trainable state (running statistics), wrapped the same way; grad is empty.
  std::vector<Parameter>& state() noexcept { return state_; }

  bool fuses_relu() const noexcept { return instance_.fuses_relu(); }
  bool accepts(s8net_layout layout) const noexcept;
  int64_t channels() const noexcept { return instance_.channels(); }
  const std::string& norm_name() const noexcept;
  const std::string& layer_name() const noexcept { return instance_.label(); }
  // "bn 0.1.0 from /path/s8net_norm_batchnorm.so"
  std::string origin() const;

 private:
  std::vector<Parameter> wrap(s8net_norm_tensor_kind kind);

  // Member order is destruction order reversed: the views go first, then the instance (which
  // releases the library last, so destroy() runs while its code is still mapped).
  PluginInstance instance_;
  dnnl::engine engine_;  // for the Tensor views of the plugin's arrays
  std::vector<Parameter> parameters_;
  std::vector<Parameter> state_;
};

}  // namespace s8net
