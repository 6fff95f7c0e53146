// One loaded plugin library and its validated descriptor. The library stays loaded for as long
// as this object lives; the registry and every layer created from the plugin hold a shared_ptr.
#pragma once

#include <s8net/norm/registry.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <boost/dll/shared_library.hpp>

#include <filesystem>

namespace s8net {

class LoadedPlugin {
 public:
  // Loads file (RTLD_NOW | RTLD_LOCAL), calls its entry point and validates the descriptor; throws
  // s8net::Error with the file's path first. The plugin is given this object's own host table,
  // and the object keeps the engine and stream that table points to: plugin_api.h lets a plugin
  // keep all three until it unloads, which may be after the registry and the Context are gone.
  LoadedPlugin(const std::filesystem::path& file, const dnnl::engine& engine, const dnnl::stream& stream);
  // The plugin holds a pointer to host_, so the object never moves.
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const PluginInfo& info() const noexcept { return info_; }
  const s8net_norm_plugin& descriptor() const noexcept { return *info_.descriptor; }

 private:
  // Declared before library_ so that they outlive it: the library unloads first.
  dnnl::engine engine_;
  dnnl::stream stream_;
  s8net_host_api host_;
  boost::dll::shared_library library_;
  PluginInfo info_;
};

// The host table for an engine and stream (the handles are borrowed, not owned).
s8net_host_api make_host_api(const dnnl::engine& engine, const dnnl::stream& stream);

// "" when a plugin's descriptor is one the host can use; otherwise what is wrong with it (ABI,
// size, name, missing strings or functions, layouts, options). Exposed for the fuzz target.
std::string descriptor_problem(const s8net_norm_plugin* descriptor);

// A validated descriptor's optional ABI 1.1 eval_affine, or null when the plugin leaves it out or
// predates 1.1 (its descriptor then ends before the field, which must not be read).
decltype(s8net_norm_plugin::eval_affine) eval_affine_entry(const s8net_norm_plugin& descriptor) noexcept;

// Throws s8net::Error naming the file when it is missing, not a regular file, or unreadable.
void require_readable_file(const std::filesystem::path& file);

// "1.0": an ABI version as major.minor.
std::string abi_text(uint32_t version);

// "S8NET_ERROR_ABI_MISMATCH" ...
const char* status_name(s8net_status status) noexcept;

}  // namespace s8net
