#include "loaded_plugin.hpp"

#include <s8net/core/error.hpp>
#include <s8net/norm/registry.hpp>

#include <algorithm>

namespace s8net {
namespace fs = std::filesystem;

namespace {

// The key of "load once": two spellings of one file (symlinks, "..", "./") are one plugin.
fs::path canonical_or_self(const fs::path& path) {
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  return ec ? path : real;
}

// Every regular file (or symlink to one) named *.so, sorted so that which of two duplicates wins
// is the same on every machine. Throws std::filesystem::filesystem_error if dir cannot be read.
std::vector<fs::path> plugin_files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    std::error_code ec;
    if (entry.path().extension() == ".so" && entry.is_regular_file(ec)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

NormRegistry::NormRegistry(Context& context)
    : context_(context), host_(make_host_api(context.engine(), context.stream())) {}

NormRegistry::~NormRegistry() = default;

const PluginInfo& NormRegistry::load_file(const fs::path& file) {
  const fs::path real = canonical_or_self(file);
  const std::lock_guard lock(mutex_);
  for (const auto& plugin : loaded_)
    if (plugin->info().file == real) return plugin->info();
  // Validated completely before it is registered: a failed load leaves the registry as it was
  // (and unloads the library again when `plugin` goes out of scope).
  auto plugin = std::make_shared<LoadedPlugin>(real, context_.engine(), context_.stream());
  if (const auto other = find_locked(plugin->info().name))
    throw Error(real.string() + ": duplicate norm \"" + plugin->info().name + "\" from " + other->info().file.string() +
                " and " + real.string());
  loaded_.push_back(std::move(plugin));
  return loaded_.back()->info();
}

std::vector<PluginLoadFailure> NormRegistry::load_path(const fs::path& dir_or_file) {
  note_searched(dir_or_file);
  std::error_code ec;
  if (!fs::is_directory(dir_or_file, ec)) {
    if (!fs::exists(dir_or_file, ec)) return {{dir_or_file, dir_or_file.string() + ": no such file or directory"}};
    try {
      load_file(dir_or_file);
      return {};
    } catch (const Error& e) {
      return {{dir_or_file, e.what()}};
    }
  }
  std::vector<fs::path> files;
  try {
    files = plugin_files_in(dir_or_file);
  } catch (const fs::filesystem_error& e) {
    return {{dir_or_file, dir_or_file.string() + ": cannot list the directory: " + e.code().message()}};
  }
  std::vector<PluginLoadFailure> failures;
  for (const fs::path& file : files) {
    try {
      load_file(file);
    } catch (const Error& e) {
      failures.push_back({file, e.what()});
    }
  }
  return failures;
}

std::vector<PluginLoadFailure> NormRegistry::load_path_if_present(const fs::path& dir_or_file) {
  std::error_code ec;
  if (fs::exists(dir_or_file, ec)) return load_path(dir_or_file);
  note_searched(dir_or_file);
  return {};
}

const PluginInfo& NormRegistry::find(std::string_view name) const {
  const std::lock_guard lock(mutex_);
  if (const auto plugin = find_locked(name)) return plugin->info();
  throw_unknown_locked(name);
}

std::vector<PluginInfo> NormRegistry::plugins() const {
  const std::lock_guard lock(mutex_);
  std::vector<PluginInfo> all;
  for (const auto& plugin : loaded_) all.push_back(plugin->info());
  std::sort(all.begin(), all.end(), [](const PluginInfo& a, const PluginInfo& b) { return a.name < b.name; });
  return all;
}

std::shared_ptr<const PluginInfo> NormRegistry::acquire(std::string_view name) const {
  const std::lock_guard lock(mutex_);
  if (auto plugin = find_locked(name)) return info_keeping_loaded(std::move(plugin));
  throw_unknown_locked(name);
}

std::shared_ptr<LoadedPlugin> NormRegistry::find_locked(std::string_view name) const {
  for (const auto& plugin : loaded_)
    if (plugin->info().name == name) return plugin;
  return nullptr;
}

void NormRegistry::throw_unknown_locked(std::string_view name) const {
  std::string detail;
  if (loaded_.empty()) {
    detail = "no plugins loaded; ";
    if (searched_.empty())
      detail += "nothing was searched";
    else {
      detail += "searched:";
      for (size_t i = 0; i < searched_.size(); ++i) detail += (i ? ", " : " ") + searched_[i].string();
    }
  } else {
    std::vector<const PluginInfo*> known;
    for (const auto& plugin : loaded_) known.push_back(&plugin->info());
    std::sort(known.begin(), known.end(), [](const PluginInfo* a, const PluginInfo* b) { return a->name < b->name; });
    detail = "known:";
    for (size_t i = 0; i < known.size(); ++i)
      detail += (i ? ", " : " ") + known[i]->name + " from " + known[i]->file.string();
  }
  // Programs that search as the app does (norm/plugin_search.hpp) take both: say how to add more.
  throw Error("unknown norm '" + std::string(name) + "' (" + detail +
              "); add a plugin directory with --plugin-dir or S8NET_PLUGIN_PATH");
}

void NormRegistry::note_searched(const fs::path& path) {
  const std::lock_guard lock(mutex_);
  if (std::find(searched_.begin(), searched_.end(), path) == searched_.end()) searched_.push_back(path);
}

}  // namespace s8net
