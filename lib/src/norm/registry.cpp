#include <s8net/core/error.hpp>
#include <s8net/norm/loaded_plugin.hpp>
#include <s8net/norm/registry.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <boost/dll/runtime_symbol_info.hpp>

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace s8net {
namespace fs = std::filesystem;

namespace {

const std::string& dnnl_version_text() {
  static const std::string text = [] {
    const dnnl_version_t* v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }();
  return text;
}

fs::path canonical_or_self(const fs::path& path) {
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  return ec ? path : real;
}

std::vector<fs::path> split_path_list(const char* list) {
  std::vector<fs::path> paths;
  if (list == nullptr) return paths;
  std::stringstream stream(list);
  for (std::string entry; std::getline(stream, entry, ':');)
    if (!entry.empty()) paths.emplace_back(entry);
  return paths;
}

}  // namespace

NormRegistry::NormRegistry(Context& context) : context_(context) {
  host_.struct_size = sizeof(s8net_host_api);
  host_.abi_version = S8NET_NORM_ABI_VERSION;
  host_.host_version = S8NET_VERSION;
  host_.dnnl_version = dnnl_version_text().c_str();
  host_.dnnl_engine = reinterpret_cast<struct dnnl_engine*>(context.engine().get());
  host_.dnnl_stream = reinterpret_cast<struct dnnl_stream*>(context.stream().get());
}

NormRegistry::~NormRegistry() = default;

const PluginInfo& NormRegistry::load_file(const fs::path& file) {
  const fs::path real = canonical_or_self(file);
  const std::lock_guard lock(mutex_);
  for (const auto& plugin : loaded_)
    if (plugin->info().file == real) return plugin->info();
  // Validate completely before registering: a failed load leaves the registry as it was.
  auto plugin = std::make_shared<LoadedPlugin>(real, host_);
  for (const auto& other : loaded_)
    if (other->info().name == plugin->info().name)
      throw Error(real.string() + ": duplicate norm \"" + plugin->info().name + "\" from " + other->info().file.string() +
                  " and " + real.string());
  loaded_.push_back(std::move(plugin));
  return loaded_.back()->info();
}

std::vector<PluginLoadFailure> NormRegistry::load_path(const fs::path& dir_or_file) {
  std::vector<PluginLoadFailure> failures;
  std::error_code ec;
  if (!fs::exists(dir_or_file, ec)) return {{dir_or_file, dir_or_file.string() + ": no such file or directory"}};
  std::vector<fs::path> files;
  if (fs::is_directory(dir_or_file, ec)) {
    for (const auto& entry : fs::directory_iterator(dir_or_file, ec))
      if (entry.path().extension() == ".so" && !entry.is_directory()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());  // deterministic: the same order on every machine
  } else {
    files.push_back(dir_or_file);
  }
  for (const fs::path& file : files) {
    try {
      load_file(file);
    } catch (const Error& e) {
      failures.push_back({file, e.what()});
    }
  }
  return failures;
}

std::vector<PluginLoadFailure> NormRegistry::load_search_path(const std::vector<fs::path>& explicit_paths) {
  std::vector<PluginLoadFailure> failures;
  const auto append = [&](std::vector<PluginLoadFailure> more) {
    failures.insert(failures.end(), more.begin(), more.end());
  };
  for (const fs::path& path : explicit_paths) append(load_path(path));
  for (const fs::path& path : split_path_list(std::getenv("S8NET_PLUGIN_PATH"))) append(load_path(path));
  // The installed and the build-tree directories both hold bn/gn/ln when an installed app runs
  // beside a build tree; the first one that exists is the app's own, so only it is loaded.
  for (const fs::path& dir : default_directories()) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) {
      append(load_path(dir));
      break;
    }
  }
  return failures;
}

std::vector<fs::path> NormRegistry::default_directories() {
  std::vector<fs::path> dirs;
  boost::dll::fs::error_code ec;
  const boost::dll::fs::path program = boost::dll::program_location(ec);
  if (!ec) dirs.push_back(fs::path(program.parent_path().string()) / ".." / S8NET_PLUGIN_INSTALL_DIR);
  dirs.emplace_back(S8NET_BUILD_PLUGIN_DIR);
  return dirs;
}

const PluginInfo& NormRegistry::find(std::string_view name) const {
  const std::lock_guard lock(mutex_);
  for (const auto& plugin : loaded_)
    if (plugin->info().name == name) return plugin->info();
  std::string known;
  for (const auto& plugin : loaded_)
    known += (known.empty() ? "" : ", ") + plugin->info().name + " from " + plugin->info().file.string();
  if (known.empty()) {
    known = "no plugins loaded; searched:";
    for (const fs::path& dir : default_directories()) known += " " + dir.lexically_normal().string();
    known += " and S8NET_PLUGIN_PATH";
  }
  throw Error("unknown norm '" + std::string(name) + "' (known: " + known + ")");
}

std::vector<PluginInfo> NormRegistry::plugins() const {
  const std::lock_guard lock(mutex_);
  std::vector<PluginInfo> all;
  for (const auto& plugin : loaded_) all.push_back(plugin->info());
  std::sort(all.begin(), all.end(), [](const PluginInfo& a, const PluginInfo& b) { return a.name < b.name; });
  return all;
}

std::shared_ptr<const LoadedPlugin> NormRegistry::acquire(std::string_view name) const {
  const PluginInfo& info = find(name);
  const std::lock_guard lock(mutex_);
  for (const auto& plugin : loaded_)
    if (&plugin->info() == &info) return plugin;
  throw Error("norm '" + std::string(name) + "' disappeared from the registry");
}

}  // namespace s8net
