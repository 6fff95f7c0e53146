#include <s8net/core/error.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/data_source.hpp>

#include <string>

namespace s8net {

CifarData load_cifar(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error(path.string() + ": no such file or directory");
  if (!is_cifar_binary_directory(path)) {
    const std::string what = std::filesystem::is_directory(path)
                                 ? "not a CIFAR-10 binary directory (no data_batch_1.bin): an image folder?"
                                 : "not a directory: an archive?";
    throw Error(path.string() + ": " + what + " This program reads prepared data only; `s8net data prepare --from " +
                path.string() +
                " --out DIR` makes a directory it reads (a program linking s8net::image_import reads any "
                "source with load_any_cifar)");
  }
  return read_cifar_binary(path);
}

}  // namespace s8net
