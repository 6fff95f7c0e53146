// Finds, loads and validates normalization plugins, and creates layers from them by name.
//
// Search order (first found wins; a name found twice is an error naming both files):
//   1. directories or files given explicitly (--plugin-dir),
//   2. S8NET_PLUGIN_PATH, a colon-separated list of directories or files,
//   3. <prefix>/lib/s8net/plugins relative to the running executable (<prefix>/bin/...),
//   4. the build tree's plugin directory, for the programs of that build tree only (the app,
//      tests and benchmarks run from a build), and skipped when step 3 provided plugins: an
//      installed app next to a build tree would otherwise find bn/gn/ln twice.
// A library is loaded once per real path, under one mutex, with RTLD_NOW; registration is
// all-or-nothing; libraries stay loaded while any layer created from them lives.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/norm/plugin_api.h>

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

  // Loads the explicit paths, then S8NET_PLUGIN_PATH, then the install and build-tree directories
  // (those two only if they exist, the build tree only if the install directory gave nothing).
  // Returns every failure.
  std::vector<PluginLoadFailure> load_search_path(const std::vector<std::filesystem::path>& explicit_paths = {});

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

  // The default directories of steps 3 and 4 (whether they exist or not; step 4 only for a
  // program inside the build tree).
  static std::vector<std::filesystem::path> default_directories();

 private:
  // These three expect the caller to hold mutex_.
  std::shared_ptr<LoadedPlugin> find_locked(std::string_view name) const;
  [[noreturn]] void throw_unknown_locked(std::string_view name) const;
  bool provided_plugins_locked(const std::filesystem::path& dir) const;
  void note_searched(const std::filesystem::path& path);  // locks

  Context& context_;
  s8net_host_api host_{};
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<LoadedPlugin>> loaded_;  // in load order
  std::vector<std::filesystem::path> searched_;         // for the message when nothing loaded
};

}  // namespace s8net
