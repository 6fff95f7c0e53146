// One loaded plugin library and its validated descriptor. The library stays loaded for as long as
// this object lives; the registry, and every PluginInfo pointer handed out for it (registry.hpp's
// acquire, plugin_file.hpp's load_plugin_file), share ownership of it. Private to libs8net: no
// installed header includes Boost.DLL.
#pragma once

#include <s8net/norm/registry.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>

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

 private:
  // Declared before library_ so that they outlive it: the library unloads first.
  dnnl::engine engine_;
  dnnl::stream stream_;
  s8net_host_api host_;
  boost::dll::shared_library library_;
  PluginInfo info_;
};

// The plugin's PluginInfo, sharing ownership of the library (the aliasing constructor): what
// callers outside the registry hold, so that the library's type stays private.
inline std::shared_ptr<const PluginInfo> info_keeping_loaded(std::shared_ptr<const LoadedPlugin> plugin) {
  const PluginInfo* info = &plugin->info();
  return {std::move(plugin), info};
}

// The host table for an engine and stream (the handles are borrowed, not owned).
s8net_host_api make_host_api(const dnnl::engine& engine, const dnnl::stream& stream);

}  // namespace s8net
