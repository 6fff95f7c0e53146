// Any supported CIFAR-10 source, told apart by its contents: the binary version (directory or
// archive) or an image folder (directory or archive).
#pragma once

#include <s8net/data/image_folder.hpp>

#include <filesystem>

namespace s8net {

enum class DataFormat { cifar_binary, image_folder };

DataFormat detect_data_format(const std::filesystem::path& path);
const char* name_of(DataFormat format) noexcept;

CifarData load_cifar(const std::filesystem::path& path, DataFormat format, const ImportProgress& progress = {});
// Detects the format first.
CifarData load_cifar(const std::filesystem::path& path, const ImportProgress& progress = {});

}  // namespace s8net
