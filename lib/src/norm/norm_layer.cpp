#include <s8net/core/error.hpp>
#include <s8net/norm/norm_layer.hpp>
#include <s8net/norm/plugin_sdk.hpp>
#include <s8net/norm/registry.hpp>

namespace s8net {
namespace {

PluginInstance create_instance(std::shared_ptr<const PluginInfo> plugin, int64_t channels, const NormOptions& options,
                               bool want_relu, std::string layer_name, const Collective& ranks) {
  const bool fuse_relu = want_relu && (plugin->descriptor->flags & S8NET_NORM_FLAG_FUSES_RELU) != 0;
  // The names point into `options`, which outlives the create() call that reads them.
  std::vector<s8net_option_value> values;
  for (const auto& [name, value] : options) values.push_back({name.c_str(), value});
  return PluginInstance(std::move(plugin), channels, fuse_relu, values, std::move(layer_name), ranks);
}

}  // namespace

NormLayer::NormLayer(const NormRegistry& registry, const std::string& norm, int64_t channels,
                     const NormOptions& options, bool want_relu, std::string layer_name, const Collective& ranks)
    : instance_(create_instance(registry.acquire(norm), channels, options, want_relu, std::move(layer_name), ranks)),
      engine_(registry.context().engine()) {
  parameters_ = wrap(S8NET_NORM_PARAMETERS);
  state_ = wrap(S8NET_NORM_STATE);
}

NormLayer::~NormLayer() = default;

void NormLayer::forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
  instance_.forward(mode, desc, x, y);
}

void NormLayer::backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx) {
  instance_.backward(desc, x, y, dy, dx);
}

std::optional<ChannelAffine> NormLayer::eval_affine() const {
  if (!instance_.offers_eval_affine()) return std::nullopt;
  const auto channels = static_cast<size_t>(instance_.channels());
  ChannelAffine affine{std::vector<float>(channels), std::vector<float>(channels)};
  instance_.eval_affine(affine.scale.data(), affine.shift.data());
  return affine;
}

bool NormLayer::offers_eval_affine() const noexcept { return instance_.offers_eval_affine(); }

bool NormLayer::accepts(s8net_layout layout) const noexcept {
  return (instance_.descriptor().layouts & sdk::layout_mask(layout)) != 0;
}

const std::string& NormLayer::norm_name() const noexcept { return instance_.plugin().name; }

std::string NormLayer::origin() const {
  const PluginInfo& info = instance_.plugin();
  return info.name + " " + info.version + " from " + info.file.string();
}

// Views, not copies: the optimizer updates the plugin's own arrays and backward() writes the
// gradients the optimizer reads, with no copying in between.
std::vector<Parameter> NormLayer::wrap(s8net_norm_tensor_kind kind) {
  std::vector<Parameter> wrapped;
  for (const s8net_norm_tensor& view : instance_.tensors(kind)) {
    const bool trainable = kind == S8NET_NORM_PARAMETERS;
    if (view.name == nullptr || view.data == nullptr || view.size <= 0 || view.size > S8NET_MAX_TENSOR_VIEW_SIZE ||
        (trainable && view.grad == nullptr))
      throw Error(layer_name() + " (" + origin() + "): the plugin reported an invalid tensor '" +
                  (view.name ? view.name : "(null)") + "' (null pointer, or size " + std::to_string(view.size) +
                  " outside 1 to " + std::to_string(S8NET_MAX_TENSOR_VIEW_SIZE) + ")");
    const dnnl::memory::desc desc({view.size}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::x);
    Parameter p{layer_name() + "." + view.name, Tensor(desc, engine_, view.data), {}};
    if (trainable) p.grad = Tensor(desc, engine_, view.grad);
    wrapped.push_back(std::move(p));
  }
  return wrapped;
}

}  // namespace s8net
