// Any supported CIFAR-10 source, told apart by its contents: the binary version (directory or
// archive) or an image folder (directory or archive). What `s8net data prepare`, `train`, `eval`
// and `report` read; the core's load_cifar (data_source.hpp) reads binary directories alone.
#pragma once

#include <s8net/data/image_folder.hpp>

#include <filesystem>

namespace s8net {

enum class DataFormat { cifar_binary, image_folder };

// Throws s8net::Error when `path` does not exist.
DataFormat detect_data_format(const std::filesystem::path& path);
const char* name_of(DataFormat format) noexcept;

// `progress` follows the decoding of an image folder (a binary source reports none).
CifarData load_any_cifar(const std::filesystem::path& path, DataFormat format, const ImportProgress& progress = {});
// Detects the format first.
CifarData load_any_cifar(const std::filesystem::path& path, const ImportProgress& progress = {});

}  // namespace s8net
