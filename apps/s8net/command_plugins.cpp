// s8net plugins: every normalization plugin found (name, version, ABI, oneDNN, file, description),
// and every file that failed to load.
#include "commands.hpp"

#include <s8net/norm/plugin_descriptor.hpp>

#include <cstdio>
#include <iostream>

namespace po = boost::program_options;

namespace s8net::app {

int run_plugins(int argc, char** argv) {
  std::vector<std::string> plugin_dirs;
  po::options_description options(
      "s8net plugins: list the normalization plugins found (--plugin-dir, S8NET_PLUGIN_PATH, install dir);\n"
      "exit 1 if any file failed to load");
  // clang-format off
  options.add_options()("help,h", "show this help")(
      "plugin-dir", po::value(&plugin_dirs)->composing(), "extra plugin directory or file, searched first (repeatable)");
  // clang-format on
  if (!parse_command_line(argc, argv, options)) return 0;

  Context context;
  size_t failures = 0;
  const auto registry = load_plugins(context, plugin_dirs, &failures);
  const auto plugins = registry->plugins();
  std::printf("%-6s %-8s %-5s %-7s %s\n", "name", "version", "ABI", "oneDNN", "file");
  for (const PluginInfo& p : plugins) {
    std::printf("%-6s %-8s %-5s %-7s %s\n", p.name.c_str(), p.version.c_str(), abi_text(p.abi_version).c_str(),
                p.dnnl_version.empty() ? "-" : p.dnnl_version.c_str(), p.file.string().c_str());
    // On a line of its own, indented under the name: a description of any length keeps the table readable.
    if (!p.description.empty()) std::printf("%-6s %s\n", "", p.description.c_str());
  }
  if (plugins.empty()) std::cerr << "error: no normalization plugin could be loaded\n";
  // The good ones are listed, but a file that did not load is a problem to report.
  return plugins.empty() || failures > 0 ? 1 : 0;
}

}  // namespace s8net::app
