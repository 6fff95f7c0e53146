// One loaded plugin library and its validated descriptor. The library stays loaded for as long
// as this object lives; layers keep a shared_ptr to it.
#pragma once

#include <s8net/norm/registry.hpp>

#include <boost/dll/shared_library.hpp>

#include <filesystem>

namespace s8net {

class LoadedPlugin {
 public:
  // Loads (RTLD_NOW), calls the entry point, and validates the descriptor; throws s8net::Error
  // with the file's path first.
  LoadedPlugin(const std::filesystem::path& file, const s8net_host_api& host);

  const PluginInfo& info() const noexcept { return info_; }
  const s8net_norm_plugin& descriptor() const noexcept { return *info_.descriptor; }

 private:
  boost::dll::shared_library library_;
  PluginInfo info_;
};

// "S8NET_ERROR_ABI_MISMATCH" ...
const char* status_name(s8net_status status) noexcept;

}  // namespace s8net
