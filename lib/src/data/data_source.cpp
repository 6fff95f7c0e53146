#include <s8net/core/error.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/data_source.hpp>

namespace s8net {

DataFormat detect_data_format(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error(path.string() + ": no such file or directory");
  return is_cifar_binary(path) ? DataFormat::cifar_binary : DataFormat::image_folder;
}

const char* name_of(DataFormat format) noexcept {
  return format == DataFormat::cifar_binary ? "CIFAR-10 binary" : "image folder";
}

CifarData load_cifar(const std::filesystem::path& path, DataFormat format, const ImportProgress& progress) {
  return format == DataFormat::cifar_binary ? read_cifar_binary(path) : import_image_folder(path, progress);
}

CifarData load_cifar(const std::filesystem::path& path, const ImportProgress& progress) {
  return load_cifar(path, detect_data_format(path), progress);
}

}  // namespace s8net
