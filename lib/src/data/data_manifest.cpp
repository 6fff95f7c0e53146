#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/data_manifest.hpp>

#include <boost/crc.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace s8net {
namespace {

namespace fs = std::filesystem;

uint32_t crc32_of(std::span<const uint8_t> bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

std::string hex(uint32_t value) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", value);
  return text;
}

constexpr const char* kPrepareAgain = "; prepare the data set again";

}  // namespace

std::optional<DataManifest> DataManifest::read(const fs::path& directory) {
  const fs::path file = directory / kManifestFile;
  if (!fs::exists(file)) return std::nullopt;
  const std::vector<uint8_t> bytes = read_file_bytes(file);
  DataManifest manifest;
  try {
    const auto json = nlohmann::json::parse(bytes.begin(), bytes.end());
    for (const auto& [name, entry] : json.at("files").items()) {
      const std::string crc = entry.at("crc32").get<std::string>();
      size_t parsed = 0;
      const unsigned long value = std::stoul(crc, &parsed, 16);
      if (parsed != crc.size() || value > 0xFFFFFFFFul) throw Error("crc32 '" + crc + "' of " + name);
      manifest.files_[name] = Entry{entry.at("bytes").get<int64_t>(), static_cast<uint32_t>(value)};
    }
  } catch (const std::exception& e) {
    throw Error(file.string() + ": not a valid manifest (" + e.what() + ")" + kPrepareAgain);
  }
  return manifest;
}

void DataManifest::write(const fs::path& directory, const std::vector<std::string>& files) {
  nlohmann::ordered_json json;
  json["written_by"] = "s8net data prepare";
  json["files"] = nlohmann::ordered_json::object();
  for (const std::string& name : files) {
    const std::vector<uint8_t> bytes = read_file_bytes(directory / name);
    json["files"][name] = {{"bytes", static_cast<int64_t>(bytes.size())}, {"crc32", hex(crc32_of(bytes))}};
  }
  write_file_atomically(directory / kManifestFile, json.dump(2) + "\n");
}

const DataManifest::Entry& DataManifest::entry_of(const fs::path& file) const {
  const auto found = files_.find(file.filename().string());
  if (found == files_.end())
    throw Error(file.string() + ": not listed in " + kManifestFile + ", so not from the prepare that wrote it" +
                kPrepareAgain);
  return found->second;
}

void DataManifest::check_present(const fs::path& directory) const {
  for (const auto& [name, entry] : files_)
    if (!fs::exists(directory / name))
      throw Error((directory / name).string() + ": missing, but " + kManifestFile + " lists it" + kPrepareAgain);
}

void DataManifest::check_size(const fs::path& file) const {
  const int64_t listed = entry_of(file).bytes, actual = static_cast<int64_t>(fs::file_size(file));
  if (actual != listed)
    throw Error(file.string() + ": " + with_thousands(actual) + " bytes, but " + kManifestFile + " lists " +
                with_thousands(listed) + ": the data set is incomplete or mixed" + kPrepareAgain);
}

void DataManifest::check_contents(const fs::path& file, std::span<const uint8_t> bytes) const {
  const uint32_t listed = entry_of(file).crc32, actual = crc32_of(bytes);
  if (actual != listed)
    throw Error(file.string() + ": CRC-32 " + hex(actual) + ", but " + kManifestFile + " lists " + hex(listed) +
                ": the file is damaged or from another prepare" + kPrepareAgain);
}

}  // namespace s8net
