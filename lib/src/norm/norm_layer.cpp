#include <s8net/core/error.hpp>
#include <s8net/norm/loaded_plugin.hpp>
#include <s8net/norm/norm_layer.hpp>
#include <s8net/norm/plugin_sdk.hpp>
#include <s8net/norm/registry.hpp>

#include <algorithm>
#include <cstring>

namespace s8net {

NormLayer::NormLayer(const NormRegistry& registry, const std::string& norm, int64_t channels,
                     const NormOptions& options, bool want_relu, std::string layer_name)
    : plugin_(registry.acquire(norm)),
      engine_(registry.context().engine()),
      layer_name_(std::move(layer_name)),
      channels_(channels) {
  const s8net_norm_plugin& plugin = plugin_->descriptor();
  fuses_relu_ = want_relu && (plugin.flags & S8NET_NORM_FLAG_FUSES_RELU) != 0;
  // The names point into `options`, which outlives the create() call that reads them.
  std::vector<s8net_option_value> values;
  for (const auto& [name, value] : options) values.push_back({name.c_str(), value});
  const s8net_norm_config config{sizeof(s8net_norm_config), channels, fuses_relu_ ? 1 : 0, values.data(),
                                 values.size()};
  s8net_norm_instance* instance = nullptr;
  s8net_message message{};
  if (plugin.create(&config, &instance, &message) != S8NET_OK) fail("create", message);
  if (instance == nullptr) throw Error(layer_name_ + " (" + origin() + "): create succeeded but returned no instance");
  instance_ = {instance, InstanceDeleter{plugin.destroy}};
  parameters_ = wrap(S8NET_NORM_PARAMETERS);
  state_ = wrap(S8NET_NORM_STATE);
}

NormLayer::~NormLayer() = default;

void NormLayer::forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
  s8net_message message{};
  if (plugin_->descriptor().forward(instance_.get(), mode, &desc, x, y, &message) != S8NET_OK) fail("forward", message);
}

void NormLayer::backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx) {
  s8net_message message{};
  if (plugin_->descriptor().backward(instance_.get(), &desc, x, y, dy, dx, &message) != S8NET_OK)
    fail("backward", message);
}

std::optional<ChannelAffine> NormLayer::eval_affine() const {
  const auto eval_affine = eval_affine_entry(plugin_->descriptor());
  if (eval_affine == nullptr) return std::nullopt;
  ChannelAffine affine{std::vector<float>(static_cast<size_t>(channels_)),
                       std::vector<float>(static_cast<size_t>(channels_))};
  s8net_message message{};
  if (eval_affine(instance_.get(), affine.scale.data(), affine.shift.data(), &message) != S8NET_OK)
    fail("eval_affine", message);
  return affine;
}

bool NormLayer::offers_eval_affine() const noexcept { return eval_affine_entry(plugin_->descriptor()) != nullptr; }

bool NormLayer::accepts(s8net_layout layout) const noexcept {
  return (plugin_->descriptor().layouts & sdk::layout_mask(layout)) != 0;
}

const std::string& NormLayer::norm_name() const noexcept { return plugin_->info().name; }

std::string NormLayer::origin() const {
  return plugin_->info().name + " " + plugin_->info().version + " from " + plugin_->info().file.string();
}

// Views, not copies: the optimizer updates the plugin's own arrays and backward() writes the
// gradients the optimizer reads, with no copying in between.
std::vector<Parameter> NormLayer::wrap(s8net_norm_tensor_kind kind) {
  const s8net_norm_plugin& plugin = plugin_->descriptor();
  s8net_message message{};
  size_t count = 0;
  if (plugin.tensors(instance_.get(), kind, nullptr, 0, &count, &message) != S8NET_OK) fail("tensors", message);
  if (count > S8NET_MAX_TENSOR_VIEWS)
    throw Error(layer_name_ + " (" + origin() + "): the plugin reports " + std::to_string(count) +
                " tensors, more than the ABI's limit of " + std::to_string(S8NET_MAX_TENSOR_VIEWS));
  std::vector<s8net_norm_tensor> views(count);
  if (plugin.tensors(instance_.get(), kind, views.data(), views.size(), &count, &message) != S8NET_OK)
    fail("tensors", message);
  views.resize(std::min(count, views.size()));

  std::vector<Parameter> wrapped;
  for (const s8net_norm_tensor& view : views) {
    const bool trainable = kind == S8NET_NORM_PARAMETERS;
    if (view.name == nullptr || view.data == nullptr || view.size <= 0 || view.size > S8NET_MAX_TENSOR_VIEW_SIZE ||
        (trainable && view.grad == nullptr))
      throw Error(layer_name_ + " (" + origin() + "): the plugin reported an invalid tensor '" +
                  (view.name ? view.name : "(null)") + "' (null pointer, or size " + std::to_string(view.size) + " outside 1 to " +
                  std::to_string(S8NET_MAX_TENSOR_VIEW_SIZE) + ")");
    const dnnl::memory::desc desc({view.size}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::x);
    Parameter p{layer_name_ + "." + view.name, Tensor(desc, engine_, view.data), {}};
    if (trainable) p.grad = Tensor(desc, engine_, view.grad);
    wrapped.push_back(std::move(p));
  }
  return wrapped;
}

void NormLayer::fail(const char* call, const s8net_message& message) const {
  const std::string text(message.text, strnlen(message.text, sizeof message.text));
  const PluginInfo& info = plugin_->info();
  throw Error(layer_name_ + " (norm '" + info.name + "' from " + info.file.string() + "): " + call + " failed: " +
              (text.empty() ? "(no message)" : text));
}

}  // namespace s8net
