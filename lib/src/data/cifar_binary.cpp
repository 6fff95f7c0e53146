#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/data_manifest.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

namespace s8net {
namespace {

namespace fs = std::filesystem;

std::string train_file_name(int k) { return "data_batch_" + std::to_string(k) + ".bin"; }
constexpr const char* kTestFile = "test_batch.bin";
constexpr const char* kMetaFile = "batches.meta.txt";

// The directory holding data_batch_1.bin: `path` itself or its cifar-10-batches-bin child.
std::optional<fs::path> batches_directory(const fs::path& path) {
  for (const fs::path& candidate : {path, path / "cifar-10-batches-bin"})
    if (fs::is_regular_file(candidate / train_file_name(1))) return candidate;
  return std::nullopt;
}

// Class names must be those of docs/data.md, in order; blank lines (the official file ends with some) are ignored.
void check_meta(std::span<const uint8_t> bytes, const std::string& source) {
  std::istringstream lines(std::string(bytes.begin(), bytes.end()));
  std::string line;
  size_t index = 0;
  while (std::getline(lines, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    if (index >= kClassNames.size() || line != kClassNames[index])
      throw Error(source + ": class " + std::to_string(index) + " is '" + line + "', expected '" +
                  std::string(index < kClassNames.size() ? kClassNames[index] : "(none: there are 10 classes)") + "'");
    ++index;
  }
  if (index != kClassNames.size()) throw Error(source + ": " + std::to_string(index) + " class names, expected 10");
}

}  // namespace

// Files by base name, in the order the split needs them.
CifarData cifar_from_batch_files(const std::map<std::string, std::vector<uint8_t>>& files, const std::string& where) {
  auto file = [&](const std::string& name) -> const std::vector<uint8_t>& {
    const auto found = files.find(name);
    if (found == files.end()) throw Error(where + ": missing " + name);
    return found->second;
  };
  if (const auto meta = files.find(kMetaFile); meta != files.end()) check_meta(meta->second, where + "/" + kMetaFile);
  CifarData data;
  for (int k = 1; k <= kTrainBatchFiles; ++k)
    append_cifar_records(file(train_file_name(k)), where + "/" + train_file_name(k), data.train);
  append_cifar_records(file(kTestFile), where + "/" + kTestFile, data.test);
  return data;
}

bool is_cifar_binary_file_name(const std::string& name) {
  const auto names = cifar_binary_file_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> cifar_binary_file_names() {
  std::vector<std::string> names;
  for (int k = 1; k <= kTrainBatchFiles; ++k) names.push_back(train_file_name(k));
  names.push_back(kTestFile);
  names.push_back(kMetaFile);
  return names;
}

void append_cifar_records(std::span<const uint8_t> bytes, const std::string& source, Dataset& into) {
  if (bytes.empty()) throw Error(source + ": empty file, expected 3,073-byte records");
  if (bytes.size() % kRecordBytes != 0)
    throw Error(source + ": " + with_thousands(static_cast<int64_t>(bytes.size())) +
                " bytes is not a whole number of 3,073-byte records (1 label byte + 3,072 pixels)");
  const int64_t records = static_cast<int64_t>(bytes.size()) / kRecordBytes;
  for (int64_t r = 0; r < records; ++r) {
    const uint8_t label = bytes[static_cast<size_t>(r * kRecordBytes)];
    if (label >= kClassCount)
      throw Error(source + ": record " + std::to_string(r) + " has label " + std::to_string(label) + ", expected 0-9");
  }
  into.pixels.reserve(into.pixels.size() + static_cast<size_t>(records * kImageBytes));
  for (int64_t r = 0; r < records; ++r)
    into.append(bytes.subspan(static_cast<size_t>(r * kRecordBytes + 1), kImageBytes),
                bytes[static_cast<size_t>(r * kRecordBytes)]);
}

bool is_cifar_binary_directory(const fs::path& path) {
  return fs::is_directory(path) && batches_directory(path).has_value();
}

CifarData read_cifar_binary(const fs::path& path) {
  if (!fs::exists(path)) throw Error(path.string() + ": no such file or directory");
  if (!fs::is_directory(path))
    throw Error(path.string() + ": not a directory (the CIFAR-10 binary version is read from its directory here)");
  const auto directory = batches_directory(path);
  if (!directory)
    throw Error(path.string() + ": missing " + train_file_name(1) + " (not a cifar-10-batches-bin directory)");
  // Directories prepared before manifests existed load unchecked.
  const auto manifest = DataManifest::read(*directory);
  if (manifest) manifest->check_present(*directory);
  std::map<std::string, std::vector<uint8_t>> files;
  for (const std::string& name : cifar_binary_file_names()) {
    const fs::path file = *directory / name;
    if (!fs::exists(file)) continue;
    if (manifest) manifest->check_size(file);
    files[name] = read_file_bytes(file);
    if (manifest) manifest->check_contents(file, files[name]);
  }
  return cifar_from_batch_files(files, directory->string());
}

void write_cifar_binary(const CifarData& data, const fs::path& directory) {
  if (data.train.size() == 0) throw Error("no training images to write to " + directory.string());
  if (data.test.size() == 0) throw Error("no test images to write to " + directory.string());
  s8net::create_directories(directory);
  auto records = [](const Dataset& set, int64_t begin, int64_t end) {
    std::vector<uint8_t> bytes;
    bytes.reserve(static_cast<size_t>((end - begin) * kRecordBytes));
    for (int64_t i = begin; i < end; ++i) {
      bytes.push_back(set.labels[static_cast<size_t>(i)]);
      const auto image = set.image(i);
      bytes.insert(bytes.end(), image.begin(), image.end());
    }
    return bytes;
  };
  const int64_t n = data.train.size();
  if (n < kTrainBatchFiles)
    throw Error("only " + std::to_string(n) + " training images; the binary layout needs at least 5");
  for (int k = 0; k < kTrainBatchFiles; ++k)
    write_file_atomically(directory / train_file_name(k + 1),
                          records(data.train, n * k / kTrainBatchFiles, n * (k + 1) / kTrainBatchFiles));
  write_file_atomically(directory / kTestFile, records(data.test, 0, data.test.size()));
  std::string meta;
  for (const auto name : kClassNames) (meta += name) += '\n';
  write_file_atomically(directory / kMetaFile, meta);
}

}  // namespace s8net
