// Where the s8net app looks for normalization plugins, for any program that wants the same.
//
// NormRegistry loads only what it is given; this is the one place that decides the default order:
//   1. the paths given explicitly (the app's --plugin-dir), directories or files,
//   2. S8NET_PLUGIN_PATH, a colon-separated list of directories or files,
//   3. the install directory beside the running executable: <dir of executable>/../lib/s8net/plugins.
// The build tree lays its plugins out the same way (build/bin/.. -> build/lib/s8net/plugins), so a
// program of a build finds that build's plugins by step 3 and an installed one finds the installed
// plugins, never both. A program installed elsewhere than the s8net app (a project linking
// libs8net) finds nothing at step 3: it passes the installed plugin directory (CMake:
// s8net_PLUGIN_DIR; pkg-config: --variable=plugindir s8net) as an explicit path, or its users set
// S8NET_PLUGIN_PATH.
#pragma once

#include <s8net/norm/registry.hpp>

#include <filesystem>
#include <vector>

namespace s8net {

// Step 3 for the running executable, or an empty path when its location cannot be determined.
std::filesystem::path installed_plugin_directory();

// Step 3 for an executable at `executable` (its directory's ../lib/s8net/plugins, normalized).
std::filesystem::path installed_plugin_directory(const std::filesystem::path& executable);

// The directories and files of S8NET_PLUGIN_PATH in order (empty entries skipped; none when unset).
std::vector<std::filesystem::path> plugin_path_variable();

// Loads steps 1, 2 and 3 into the registry, in that order, and returns every failure. An explicit
// path or a S8NET_PLUGIN_PATH entry that does not exist is a failure; a missing install directory
// is not (a program need not be installed), but it is still named in the registry's "searched"
// message when no plugin loads.
std::vector<PluginLoadFailure> load_plugin_search_path(NormRegistry& registry,
                                                       const std::vector<std::filesystem::path>& explicit_paths = {});

}  // namespace s8net
