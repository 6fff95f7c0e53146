// Loads and validates normalization plugins, and creates layers from them by name.
//
// The registry loads exactly the files and directories it is given (load_file, load_path,
// load_path_if_present) and looks nowhere by itself. Where to look is the program's choice; the
// app's order (--plugin-dir, S8NET_PLUGIN_PATH, the install directory beside the executable) is
// load_plugin_search_path in norm/plugin_search.hpp. A name found twice is an error naming both
// files. A library is loaded once per real path, under one mutex, with RTLD_NOW; registration is
// all-or-nothing; libraries stay loaded while any layer created from them lives.
#pragma once

#include <s8net/norm/plugin_api.h>
#include <s8net/core/context.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace s8net {

class LoadedPlugin;  // a loaded library and its validated descriptor (private to libs8net)

struct PluginInfo {
  std::string name;
  std::string version;
  std::string description;
  std::string dnnl_version;  // oneDNN the plugin was built with
  uint32_t abi_version = 0;
  std::filesystem::path file;  // the real (canonical) path
  // Valid while the library is loaded: while the registry or a layer made from it lives.
  const s8net_norm_plugin* descriptor = nullptr;
};

// Checks options against the plugin's declared list (names, ranges, integers) before any
// instance is made, so that a bad --norm-option is refused as a flag. Throws s8net::Error naming
// the option. A plugin may still refuse a declared value in create() (groups that do not divide
// the channels, say).
void check_norm_options(const PluginInfo& plugin, const std::map<std::string, double>& options);

// The options without those set to the plugin's declared default: two sets that make the same
// layers compare equal (gn's "groups=2" and none at all).
std::map<std::string, double> without_defaults(const PluginInfo& plugin, const std::map<std::string, double>& options);

struct PluginLoadFailure {
  std::filesystem::path file;
  std::string reason;  // full message: names the file and what is wrong
};

class NormRegistry {
 public:
  explicit NormRegistry(Context& context);
  ~NormRegistry();
  NormRegistry(const NormRegistry&) = delete;
  NormRegistry& operator=(const NormRegistry&) = delete;

  // Loads one plugin file; throws s8net::Error naming the file and the reason. Loading the same
  // real path again is a no-op that returns the already registered plugin.
  const PluginInfo& load_file(const std::filesystem::path& file);

  // Loads every *.so in a directory (or the one file); failures are collected, not thrown.
  // A path that does not exist is itself a failure.
  std::vector<PluginLoadFailure> load_path(const std::filesystem::path& dir_or_file);

  // load_path for a directory that may legitimately be absent (a default location): a path that
  // does not exist is no failure, but it is still listed among the places searched in find()'s
  // message.
  std::vector<PluginLoadFailure> load_path_if_present(const std::filesystem::path& dir_or_file);

  // The plugin registered under name; throws "unknown norm 'xn' (known: bn from FILE, ...); add a
  // plugin directory with --plugin-dir or S8NET_PLUGIN_PATH", or the same with "(no plugins
  // loaded; searched: DIR, ...)".
  const PluginInfo& find(std::string_view name) const;
  std::vector<PluginInfo> plugins() const;  // sorted by name

  // The plugin registered under name (throws as find() does), keeping its library loaded for as
  // long as the returned pointer or a copy of it lives: what a PluginInstance is created from.
  std::shared_ptr<const PluginInfo> acquire(std::string_view name) const;

  const s8net_host_api& host_api() const noexcept { return host_; }
  Context& context() const noexcept { return context_; }

 private:
  // These two expect the caller to hold mutex_.
  std::shared_ptr<LoadedPlugin> find_locked(std::string_view name) const;
  [[noreturn]] void throw_unknown_locked(std::string_view name) const;
  void note_searched(const std::filesystem::path& path);  // locks

  Context& context_;
  s8net_host_api host_{};
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<LoadedPlugin>> loaded_;  // in load order
  std::vector<std::filesystem::path> searched_;        // for the message when nothing loaded
};

}  // namespace s8net
