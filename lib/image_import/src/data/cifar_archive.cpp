#include <s8net/core/error.hpp>
#include <s8net/data/archive_reader.hpp>
#include <s8net/data/cifar_archive.hpp>
#include <s8net/data/cifar_binary.hpp>

#include <map>
#include <string>
#include <vector>

namespace s8net {

namespace fs = std::filesystem;

bool is_cifar_binary_archive(const fs::path& path) {
  if (!is_archive_path(path)) return false;
  try {
    for (const std::string& name : list_archive_files(path))
      if (fs::path(name).filename() == "data_batch_1.bin") return true;
  } catch (const Error&) {
    // The real read reports the damage.
  }
  return false;
}

CifarData read_cifar_binary_archive(const fs::path& path) {
  if (!fs::exists(path)) throw Error(path.string() + ": no such file or directory");
  // An official batch file holds 30,730,000 bytes; the limit leaves room for far larger sets.
  const ArchiveSelection batch_files{
      [](const std::string& name) { return is_cifar_binary_file_name(fs::path(name).filename().string()); },
      int64_t{1} << 30, "a CIFAR-10 batch file"};
  std::map<std::string, std::vector<uint8_t>> files;
  for_each_archive_file(path, batch_files, [&](const std::string& name, std::vector<uint8_t>&& contents) {
    files[fs::path(name).filename().string()] = std::move(contents);
  });
  return cifar_from_batch_files(files, path.string());
}

}  // namespace s8net
