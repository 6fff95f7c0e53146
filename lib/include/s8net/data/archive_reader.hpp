// Regular files of a .tar, .tar.gz (or any format libarchive reads), in archive order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace s8net {

// Calls visit(name inside the archive, contents) for each regular file. Throws s8net::Error
// naming the archive (and the entry, when one is damaged).
void for_each_archive_file(const std::filesystem::path& archive,
                           const std::function<void(const std::string& name, std::vector<uint8_t>&& contents)>& visit);

// The names of the regular files, without reading their contents.
std::vector<std::string> list_archive_files(const std::filesystem::path& archive);

// True when the path names a file (not a directory) that ends in .tar, .tar.gz or .tgz.
bool is_archive_path(const std::filesystem::path& path);

}  // namespace s8net
