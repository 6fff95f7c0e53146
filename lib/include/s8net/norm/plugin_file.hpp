// One plugin file loaded on its own, outside any registry: what `s8net plugin check` starts from
// (the checker must see a file that fails to load, and must not refuse a name another plugin has).
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/norm/registry.hpp>

#include <filesystem>
#include <memory>

namespace s8net {

// Throws s8net::Error naming the file when it is missing, not a regular file, or unreadable.
void require_readable_file(const std::filesystem::path& file);

// Loads file (RTLD_NOW | RTLD_LOCAL), calls its entry point and validates the descriptor; throws
// s8net::Error with the file's path, as given, first. The library stays loaded for as long as the
// returned pointer or a copy of it lives; info->file is the path as given.
std::shared_ptr<const PluginInfo> load_plugin_file(const std::filesystem::path& file, Context& context);

}  // namespace s8net
