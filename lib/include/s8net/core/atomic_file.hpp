// Files that are either completely the old version or completely the new one: the bytes go to a
// temporary file beside the target, are flushed to disk, and then renamed over it. A crash or a
// full disk midway leaves the previous file intact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace s8net {

// Creates a directory and its parents, as std::filesystem::create_directories, but throws
// s8net::Error naming the directory and why (a file in the way, no permission).
void create_directories(const std::filesystem::path& directory);

// Throws s8net::Error naming `path` when something other than a regular file (a device, a pipe,
// a directory) is there: the rename would replace it.
void write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes);
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

// The whole file; throws s8net::Error naming the file when it cannot be read.
std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path);
// The same, refusing a file of more than `limit` bytes before it is read, or a pipe or device
// (/dev/zero) once it has given more: "PATH: more than `what` may have (N MiB)".
std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path, int64_t limit, std::string_view what);

}  // namespace s8net
