// One instance of a plugin driven through its descriptor alone, for the conformance checker: the
// plugin's statuses come back as they are (NormLayer would turn them into exceptions, and hide
// the ones a check wants to see), and destroy() runs when the object goes.
#pragma once

#include <s8net/norm/plugin_api.h>

#include <span>
#include <string>
#include <vector>

namespace s8net::conformance {

class PluginInstance {
 public:
  // Calls create() with these options (the descriptor's defaults for the rest); see ok() and
  // create_status(). The options' names must outlive the call only.
  PluginInstance(const s8net_norm_plugin& plugin, int64_t channels, bool fuse_relu,
                 std::span<const s8net_option_value> options);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  bool ok() const noexcept { return instance_ != nullptr; }
  s8net_status create_status() const noexcept { return create_status_; }
  // The message of the latest call, even one the plugin left without its NUL.
  std::string message() const;

  s8net_status forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y);
  s8net_status backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx);
  // The plugin's eval_affine (ABI 1.1); S8NET_ERROR_UNSUPPORTED when it offers none.
  s8net_status eval_affine(float* scale, float* shift);
  // Asks for the count, then for that many views.
  s8net_status tensors(s8net_norm_tensor_kind kind, std::vector<s8net_norm_tensor>& out);

 private:
  const s8net_norm_plugin& plugin_;
  s8net_norm_instance* instance_ = nullptr;
  s8net_status create_status_ = S8NET_ERROR_INTERNAL;
  s8net_message message_{};
};

}  // namespace s8net::conformance
