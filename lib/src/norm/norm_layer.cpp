#include <s8net/core/error.hpp>
#include <s8net/norm/loaded_plugin.hpp>
#include <s8net/norm/norm_layer.hpp>
#include <s8net/norm/registry.hpp>

#include <cstring>

namespace s8net {

NormLayer::NormLayer(const NormRegistry& registry, const std::string& norm, int64_t channels,
                     const NormOptions& options, bool want_relu, std::string layer_name)
    : plugin_(registry.acquire(norm)), engine_(registry.context().engine()), layer_name_(std::move(layer_name)), channels_(channels) {
  const s8net_norm_plugin& plugin = plugin_->descriptor();
  fuses_relu_ = want_relu && (plugin.flags & S8NET_NORM_FLAG_FUSES_RELU) != 0;
  std::vector<s8net_option_value> values;
  for (const auto& [name, value] : options) values.push_back({name.c_str(), value});
  const s8net_norm_config config{sizeof(s8net_norm_config), channels, fuses_relu_ ? 1 : 0, values.data(), values.size()};
  s8net_message message{};
  if (const s8net_status status = plugin.create(&config, &instance_, &message); status != S8NET_OK)
    fail("create", status, message);
  parameters_ = wrap(S8NET_NORM_PARAMETERS);
  state_ = wrap(S8NET_NORM_STATE);
  for (Parameter& p : parameters_) p.name = layer_name_ + "." + p.name;
  for (Parameter& p : state_) p.name = layer_name_ + "." + p.name;
}

NormLayer::~NormLayer() {
  // Destroy the instance while its library is certainly still loaded (plugin_ is released after).
  if (instance_ != nullptr) plugin_->descriptor().destroy(instance_);
}

void NormLayer::forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
  s8net_message message{};
  if (const s8net_status status = plugin_->descriptor().forward(instance_, mode, &desc, x, y, &message); status != S8NET_OK)
    fail("forward", status, message);
}

void NormLayer::backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx) {
  s8net_message message{};
  if (const s8net_status status = plugin_->descriptor().backward(instance_, &desc, x, y, dy, dx, &message);
      status != S8NET_OK)
    fail("backward", status, message);
}

const std::string& NormLayer::norm_name() const noexcept { return plugin_->info().name; }

std::string NormLayer::origin() const {
  return plugin_->info().name + " " + plugin_->info().version + " from " + plugin_->info().file.string();
}

std::vector<Parameter> NormLayer::wrap(s8net_norm_tensor_kind kind) {
  const s8net_norm_plugin& plugin = plugin_->descriptor();
  s8net_message message{};
  size_t count = 0;
  if (const s8net_status status = plugin.tensors(instance_, kind, nullptr, 0, &count, &message); status != S8NET_OK)
    fail("tensors", status, message);
  std::vector<s8net_norm_tensor> views(count);
  if (const s8net_status status = plugin.tensors(instance_, kind, views.data(), views.size(), &count, &message);
      status != S8NET_OK)
    fail("tensors", status, message);
  std::vector<Parameter> wrapped;
  for (const s8net_norm_tensor& view : views) {
    if (view.data == nullptr || view.size <= 0 || (kind == S8NET_NORM_PARAMETERS && view.grad == nullptr))
      throw Error(layer_name_ + " (" + origin() + "): tensor '" + (view.name ? view.name : "?") + "' is invalid");
    const dnnl::memory::desc desc({view.size}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::x);
    Parameter p{view.name, Tensor(desc, engine_, view.data), {}};
    if (view.grad != nullptr) p.grad = Tensor(desc, engine_, view.grad);
    wrapped.push_back(std::move(p));
  }
  return wrapped;
}

void NormLayer::fail(const char* call, s8net_status status, const s8net_message& message) const {
  throw Error(layer_name_ + " (norm '" + plugin_->info().name + "' from " + plugin_->info().file.string() + "): " + call +
              " failed (" + status_name(status) + "): " + std::string(message.text, strnlen(message.text, sizeof message.text)));
}

}  // namespace s8net
