#include <s8net/norm/plugin_search.hpp>

#include <boost/dll/runtime_symbol_info.hpp>

#include <cstdlib>
#include <sstream>
#include <string>

namespace s8net {
namespace fs = std::filesystem;

fs::path installed_plugin_directory(const fs::path& executable) {
  // An absolute S8NET_PLUGIN_INSTALL_DIR replaces the prefix, as operator/ does.
  return (executable.parent_path() / ".." / S8NET_PLUGIN_INSTALL_DIR).lexically_normal();
}

fs::path installed_plugin_directory() {
  boost::dll::fs::error_code ec;
  const boost::dll::fs::path program = boost::dll::program_location(ec);
  if (ec) return {};
  return installed_plugin_directory(fs::path(program.string()));
}

std::vector<fs::path> plugin_path_variable() {
  std::vector<fs::path> paths;
  const char* list = std::getenv("S8NET_PLUGIN_PATH");
  if (list == nullptr) return paths;
  std::stringstream stream(list);
  for (std::string entry; std::getline(stream, entry, ':');)
    if (!entry.empty()) paths.emplace_back(entry);
  return paths;
}

std::vector<PluginLoadFailure> load_plugin_search_path(NormRegistry& registry,
                                                       const std::vector<fs::path>& explicit_paths) {
  std::vector<PluginLoadFailure> failures;
  const auto keep = [&](std::vector<PluginLoadFailure> more) {
    failures.insert(failures.end(), more.begin(), more.end());
  };
  for (const fs::path& path : explicit_paths) keep(registry.load_path(path));
  for (const fs::path& path : plugin_path_variable()) keep(registry.load_path(path));
  // Explicit paths and the variable add to the install directory and never hide it: `--plugin-dir
  // mine` still finds bn, gn, ln and in.
  if (const fs::path installed = installed_plugin_directory(); !installed.empty())
    keep(registry.load_path_if_present(installed));
  return failures;
}

}  // namespace s8net
