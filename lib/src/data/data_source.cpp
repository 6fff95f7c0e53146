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

CifarData load_cifar(const std::filesystem::path& path, const ImportProgress& progress) {
  return detect_data_format(path) == DataFormat::cifar_binary ? read_cifar_binary(path)
                                                               : import_image_folder(path, progress);
}

CifarData prepare_cifar(const std::filesystem::path& from, const std::filesystem::path& out,
                        const ImportProgress& progress) {
  CifarData data = load_cifar(from, progress);
  write_cifar_binary(data, out);
  return data;
}

}  // namespace s8net
