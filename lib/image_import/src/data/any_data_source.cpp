#include <s8net/core/error.hpp>
#include <s8net/data/any_data_source.hpp>
#include <s8net/data/cifar_archive.hpp>
#include <s8net/data/cifar_binary.hpp>

namespace s8net {

DataFormat detect_data_format(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error(path.string() + ": no such file or directory");
  if (std::filesystem::is_regular_file(path)) {
    if (std::filesystem::file_size(path) == 0) throw Error(path.string() + ": an empty file, not a data set");
    if (path.extension() == ".bin" && !is_cifar_binary_archive(path))
      throw Error(path.string() + ": one CIFAR-10 binary batch file; give the directory that holds all six");
  }
  return is_cifar_binary_directory(path) || is_cifar_binary_archive(path) ? DataFormat::cifar_binary
                                                                          : DataFormat::image_folder;
}

const char* name_of(DataFormat format) noexcept {
  return format == DataFormat::cifar_binary ? "CIFAR-10 binary" : "image folder";
}

CifarData load_any_cifar(const std::filesystem::path& path, DataFormat format, const ImportProgress& progress) {
  if (format == DataFormat::image_folder) return import_image_folder(path, progress);
  return std::filesystem::is_directory(path) ? read_cifar_binary(path) : read_cifar_binary_archive(path);
}

CifarData load_any_cifar(const std::filesystem::path& path, const ImportProgress& progress) {
  return load_any_cifar(path, detect_data_format(path), progress);
}

}  // namespace s8net
