#include "loaded_plugin.hpp"

#include <s8net/core/error.hpp>
#include <s8net/norm/plugin_file.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace s8net {
namespace fs = std::filesystem;

void require_readable_file(const fs::path& file) {
  const std::string where = file.string() + ": ";
  std::error_code ec;
  const fs::file_status status = fs::status(file, ec);
  if (!fs::exists(status)) throw Error(where + "no such file");
  if (!fs::is_regular_file(status)) throw Error(where + "not a regular file");
  if (::access(file.c_str(), R_OK) != 0) throw Error(where + "not readable: " + std::strerror(errno));
}

std::shared_ptr<const PluginInfo> load_plugin_file(const fs::path& file, Context& context) {
  return info_keeping_loaded(std::make_shared<const LoadedPlugin>(file, context.engine(), context.stream()));
}

}  // namespace s8net
