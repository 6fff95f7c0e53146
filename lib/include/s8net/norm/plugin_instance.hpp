// One created instance of a normalization plugin, driven through its descriptor: create() in the
// constructor, destroy() in the destructor, and every call's status and message turned into a
// PluginCallError here and nowhere else. NormLayer, the conformance checker (`s8net plugin check`)
// and the tests all drive plugins through it.
#pragma once

#include <s8net/norm/plugin_api.h>
#include <s8net/core/error.hpp>
#include <s8net/norm/collective.hpp>
#include <s8net/norm/registry.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace s8net {

// What a plugin call that did not succeed throws. what() names the instance's label (if any), the
// plugin, its file, the function and the reason:
//   "C3.norm (norm 'gn' from /p/s8net_norm_groupnorm.so): create failed: <the plugin's message>".
class PluginCallError : public Error {
 public:
  PluginCallError(const std::string& what, std::string call, s8net_status status, std::string reason);

  // The call as a report names it: "create", "forward (train)", "forward (eval)", "backward",
  // "tensors(parameters)", "tensors(state)", "eval_affine", "eval_affine_from_moments".
  const std::string& call() const noexcept { return call_; }
  // What the plugin returned; S8NET_OK when it claimed success but broke a promise of the ABI.
  s8net_status status() const noexcept { return status_; }
  // The plugin's message ("(no message)" when it left none); for S8NET_OK, the broken promise
  // ("succeeded but returned no instance").
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string call_;
  s8net_status status_;
  std::string reason_;
};

class PluginInstance {
 public:
  // Calls the plugin's create() with these options (the descriptor's defaults for the rest; the
  // names must outlive the constructor only). Throws PluginCallError (call "create") when create()
  // fails or returns no instance; an instance a failing create() still handed out is destroyed.
  // label, a layer's name or "", begins every error message. ranks: the training's ranks the
  // plugin may synchronize over (ABI 1.2); it must outlive the instance.
  PluginInstance(std::shared_ptr<const PluginInfo> plugin, int64_t channels, bool fuse_relu,
                 std::span<const s8net_option_value> options = {}, std::string label = {},
                 const Collective& ranks = single_process());
  ~PluginInstance();
  // Move-only. A moved-from handle may only be destroyed or assigned to.
  PluginInstance(PluginInstance&& other) noexcept;
  PluginInstance& operator=(PluginInstance&& other) noexcept;
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  void forward(s8net_mode mode, const s8net_tensor_desc& desc, const float* x, float* y);
  void backward(const s8net_tensor_desc& desc, const float* x, const float* y, const float* dy, float* dx);
  // The instance's views of one kind: asks for the count, then for that many. Throws when the
  // plugin reports more than S8NET_MAX_TENSOR_VIEWS; the views themselves are the caller's to check.
  std::vector<s8net_norm_tensor> tensors(s8net_norm_tensor_kind kind);
  // Whether the plugin offers eval_affine (ABI 1.1); eval_affine() throws s8net::Error when not.
  bool offers_eval_affine() const noexcept;
  // scale and shift have room for channels() floats each.
  void eval_affine(float* scale, float* shift) const;
  // Whether the plugin offers eval_affine_from_moments (ABI 1.3); the call throws s8net::Error when not.
  bool offers_eval_affine_from_moments() const noexcept;
  // moments, scale and shift: desc.n * desc.c each, indexed [n * c + channel].
  void eval_affine_from_moments(const s8net_tensor_desc& desc, const s8net_plane_moments* moments, float* scale,
                                float* shift) const;

  const PluginInfo& plugin() const noexcept { return *plugin_; }
  const s8net_norm_plugin& descriptor() const noexcept { return *plugin_->descriptor; }
  int64_t channels() const noexcept { return channels_; }
  bool fuses_relu() const noexcept { return fuse_relu_; }
  const std::string& label() const noexcept { return label_; }
  // How every error of this instance begins: "C3.norm (norm 'gn' from FILE)", or without a label
  // "norm 'gn' from FILE".
  std::string where() const;

 private:
  // Throws PluginCallError unless status is S8NET_OK: the one place a status becomes an exception.
  void check(const char* function, const char* call, s8net_status status, const s8net_message& message) const;
  [[noreturn]] void broken_promise(const char* function, const char* call, const std::string& reason) const;

  // Declared first, so destroyed last: destroy() runs while the plugin's library is still loaded.
  std::shared_ptr<const PluginInfo> plugin_;
  s8net_norm_instance* instance_ = nullptr;
  int64_t channels_ = 0;
  bool fuse_relu_ = false;
  std::string label_;
};

}  // namespace s8net
