// Regular files of a .tar, .tar.gz (or any format libarchive reads), in archive order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace s8net {

// Which files a reader wants and how large one may be. An archive's header may claim any size (a
// few kilobytes of .tar.gz can hold gigabytes of zeros, and a forged header claims exabytes), so
// the choice is made from the name alone, before any data is read: unwanted files are skipped
// unread, and a wanted one claiming more than max_bytes is refused before anything is allocated.
struct ArchiveSelection {
  std::function<bool(const std::string& name)> wanted;
  int64_t max_bytes = 0;
  std::string kind;  // what the files are, for the refusal: "an image" -> "more than an image may have"
};

// Calls visit(name inside the archive, contents) for each regular file the selection wants.
// Throws s8net::Error naming the archive (and the entry, when one is damaged or too large).
void for_each_archive_file(const std::filesystem::path& archive, const ArchiveSelection& selection,
                           const std::function<void(const std::string& name, std::vector<uint8_t>&& contents)>& visit);

// The names of the regular files, without reading their contents.
std::vector<std::string> list_archive_files(const std::filesystem::path& archive);

// True when the path names a file (not a directory) that ends in .tar, .tar.gz or .tgz.
bool is_archive_path(const std::filesystem::path& path);

// "64 MiB": a byte limit as refusals state it.
std::string mebibytes(int64_t bytes);

}  // namespace s8net
