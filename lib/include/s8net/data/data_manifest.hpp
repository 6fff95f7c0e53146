// manifest.json of a prepared data directory: the size and CRC-32 of each file, written last by
// s8net data prepare. Files that do not all come from that one prepare (a copy cut short, a batch
// file replaced by hand) no longer match it, and loading refuses them naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace s8net {

inline constexpr const char* kManifestFile = "manifest.json";

class DataManifest {
 public:
  // The manifest of `directory`, or nullopt when it has none (older versions wrote none). Throws
  // s8net::Error naming the manifest when it is not one.
  static std::optional<DataManifest> read(const std::filesystem::path& directory);
  // Records these files of `directory` and writes the manifest.
  static void write(const std::filesystem::path& directory, const std::vector<std::string>& files);

  // Throws s8net::Error naming the first listed file that `directory` lacks.
  void check_present(const std::filesystem::path& directory) const;
  // Throws s8net::Error naming the file unless the manifest lists it with this size: checked
  // before a file is read.
  void check_size(const std::filesystem::path& file) const;
  // Throws s8net::Error naming the file unless its bytes have the listed checksum.
  void check_contents(const std::filesystem::path& file, std::span<const uint8_t> bytes) const;

 private:
  struct Entry {
    int64_t bytes = 0;
    uint32_t crc32 = 0;
  };
  const Entry& entry_of(const std::filesystem::path& file) const;

  std::map<std::string, Entry> files_;
};

}  // namespace s8net
