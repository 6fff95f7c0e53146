#include "plugin_message.hpp"

#include <s8net/norm/plugin_descriptor.hpp>
#include <s8net/norm/plugin_instance.hpp>

#include <string>
#include <utility>

namespace s8net {

PluginCallError::PluginCallError(const std::string& what, std::string call, s8net_status status, std::string reason)
    : Error(what), call_(std::move(call)), status_(status), reason_(std::move(reason)) {}

PluginInstance::PluginInstance(std::shared_ptr<const PluginInfo> plugin, int64_t channels, bool fuse_relu,
                               std::span<const s8net_option_value> options, std::string label, const Collective& ranks)
    : plugin_(std::move(plugin)), channels_(channels), fuse_relu_(fuse_relu), label_(std::move(label)) {
  const s8net_norm_config config{sizeof(s8net_norm_config),
                                 channels,
                                 fuse_relu ? 1 : 0,
                                 options.empty() ? nullptr : options.data(),
                                 options.size(),
                                 ranks.plugin_view()};
  s8net_message message{};
  s8net_norm_instance* created = nullptr;
  const s8net_status status = descriptor().create(&config, &created, &message);
  // A plugin that fails but still hands out an instance would leak it: destroy it instead.
  if (status != S8NET_OK && created != nullptr) descriptor().destroy(created);
  check("create", "create", status, message);
  if (created == nullptr) broken_promise("create", "create", "succeeded but returned no instance");
  instance_ = created;
}

PluginInstance::~PluginInstance() {
  if (instance_ != nullptr) descriptor().destroy(instance_);
}

PluginInstance::PluginInstance(PluginInstance&& other) noexcept
    : plugin_(std::move(other.plugin_)),
      instance_(std::exchange(other.instance_, nullptr)),
      channels_(other.channels_),
      fuse_relu_(other.fuse_relu_),
      label_(std::move(other.label_)) {}

PluginInstance& PluginInstance::operator=(PluginInstance&& other) noexcept {
  if (this == &other) return *this;
  if (instance_ != nullptr) descriptor().destroy(instance_);
  // The old plugin_ is released only after its destroy() above has run.
  instance_ = std::exchange(other.instance_, nullptr);
  plugin_ = std::move(other.plugin_);
  channels_ = other.channels_;
  fuse_relu_ = other.fuse_relu_;
  label_ = std::move(other.label_);
  return *this;
}

void PluginInstance::forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y) {
  s8net_message message{};
  check("forward", mode == S8NET_MODE_TRAIN ? "forward (train)" : "forward (eval)",
        descriptor().forward(instance_, mode, &desc, x, y, &message), message);
}

void PluginInstance::backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy,
                              float* dx) {
  s8net_message message{};
  check("backward", "backward", descriptor().backward(instance_, &desc, x, y, dy, dx, &message), message);
}

std::vector<s8net_norm_tensor> PluginInstance::tensors(s8net_norm_tensor_kind kind) {
  const char* call = kind == S8NET_NORM_PARAMETERS ? "tensors(parameters)" : "tensors(state)";
  s8net_message message{};
  size_t count = 0;
  check("tensors", call, descriptor().tensors(instance_, kind, nullptr, 0, &count, &message), message);
  // Checked before anything is allocated for the views.
  if (count > S8NET_MAX_TENSOR_VIEWS)
    broken_promise("tensors", call,
                   "reports " + std::to_string(count) + " views, more than the ABI's limit of " +
                       std::to_string(S8NET_MAX_TENSOR_VIEWS));
  std::vector<s8net_norm_tensor> views(count);
  size_t again = 0;
  message = {};
  check("tensors", call, descriptor().tensors(instance_, kind, views.data(), views.size(), &again, &message), message);
  // The count cannot change between two calls on the same instance; if it does, keep what both
  // calls agree is there.
  if (again < views.size()) views.resize(again);
  return views;
}

bool PluginInstance::offers_eval_affine() const noexcept { return eval_affine_entry(descriptor()) != nullptr; }

void PluginInstance::eval_affine(float* scale, float* shift) const {
  const auto entry = eval_affine_entry(descriptor());
  if (entry == nullptr) throw Error(where() + ": the plugin offers no eval_affine");
  s8net_message message{};
  check("eval_affine", "eval_affine", entry(instance_, scale, shift, &message), message);
}

bool PluginInstance::offers_eval_affine_from_moments() const noexcept {
  return eval_affine_from_moments_entry(descriptor()) != nullptr;
}

void PluginInstance::eval_affine_from_moments(const s8net_tensor_desc& desc, const s8net_plane_moments* moments,
                                              float* scale, float* shift) const {
  const auto entry = eval_affine_from_moments_entry(descriptor());
  if (entry == nullptr) throw Error(where() + ": the plugin offers no eval_affine_from_moments");
  s8net_message message{};
  check("eval_affine_from_moments", "eval_affine_from_moments",
        entry(instance_, &desc, moments, scale, shift, &message), message);
}

std::string PluginInstance::where() const {
  const std::string norm = "norm '" + plugin_->name + "' from " + plugin_->file.string();
  return label_.empty() ? norm : label_ + " (" + norm + ")";
}

void PluginInstance::check(const char* function, const char* call, s8net_status status,
                           const s8net_message& message) const {
  if (status == S8NET_OK) return;
  std::string reason = message_text(message);
  // Without a message, the status is all the plugin said.
  const std::string said = message.text[0] == '\0' ? status_name(status) + " " : "";
  const std::string what = where() + ": " + function + " failed: " + said + reason;
  throw PluginCallError(what, call, status, std::move(reason));
}

void PluginInstance::broken_promise(const char* function, const char* call, const std::string& reason) const {
  throw PluginCallError(where() + ": " + function + " " + reason, call, S8NET_OK, reason);
}

}  // namespace s8net
