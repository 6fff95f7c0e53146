#include "plugin_instance.hpp"

#include <s8net/norm/loaded_plugin.hpp>

#include <cstdio>
#include <cstring>

namespace s8net::conformance {

PluginInstance::PluginInstance(const s8net_norm_plugin& plugin, int64_t channels, bool fuse_relu,
                               std::span<const s8net_option_value> options)
    : plugin_(plugin) {
  const s8net_norm_config config{sizeof(s8net_norm_config), channels, fuse_relu ? 1 : 0,
                                 options.empty() ? nullptr : options.data(), options.size()};
  create_status_ = plugin_.create(&config, &instance_, &message_);
  // A plugin that fails but still hands out an instance would leak it here; destroy it instead.
  if (create_status_ != S8NET_OK && instance_ != nullptr) {
    plugin_.destroy(instance_);
    instance_ = nullptr;
  }
  if (create_status_ == S8NET_OK && instance_ == nullptr) {
    std::snprintf(message_.text, sizeof message_.text, "create returned S8NET_OK but no instance");
    create_status_ = S8NET_ERROR_INTERNAL;
  }
}

PluginInstance::~PluginInstance() {
  if (instance_ != nullptr) plugin_.destroy(instance_);
}

std::string PluginInstance::message() const {
  const std::string text(message_.text, strnlen(message_.text, sizeof message_.text));
  return text.empty() ? "(no message)" : text;
}

s8net_status PluginInstance::forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
  message_ = {};
  return plugin_.forward(instance_, mode, &desc, x, y, &message_);
}

s8net_status PluginInstance::backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy,
                                      float* dx) {
  message_ = {};
  return plugin_.backward(instance_, &desc, x, y, dy, dx, &message_);
}

s8net_status PluginInstance::eval_affine(float* scale, float* shift) {
  message_ = {};
  const auto entry = eval_affine_entry(plugin_);
  if (entry == nullptr) return S8NET_ERROR_UNSUPPORTED;
  return entry(instance_, scale, shift, &message_);
}

s8net_status PluginInstance::tensors(s8net_norm_tensor_kind kind, std::vector<s8net_norm_tensor>& out) {
  message_ = {};
  size_t count = 0;
  if (const s8net_status status = plugin_.tensors(instance_, kind, nullptr, 0, &count, &message_); status != S8NET_OK)
    return status;
  if (count > S8NET_MAX_TENSOR_VIEWS) {
    std::snprintf(message_.text, sizeof message_.text, "tensors() reports %zu views, more than the ABI's limit of %d",
                  count, S8NET_MAX_TENSOR_VIEWS);
    return S8NET_ERROR_INVALID_ARGUMENT;
  }
  out.assign(count, s8net_norm_tensor{});
  size_t again = 0;
  const s8net_status status = plugin_.tensors(instance_, kind, out.data(), out.size(), &again, &message_);
  // The count cannot change between two calls on the same instance; if it does, keep what both
  // calls agree is there.
  if (again < out.size()) out.resize(again);
  return status;
}

}  // namespace s8net::conformance
