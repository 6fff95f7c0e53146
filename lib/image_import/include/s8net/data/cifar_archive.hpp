// The CIFAR-10 binary version in an archive, as published (cifar-10-binary.tar.gz) or any .tar /
// .tar.gz holding the batch files. The core reads the same files from a directory (cifar_binary.hpp).
#pragma once

#include <s8net/data/dataset.hpp>

#include <filesystem>

namespace s8net {

// True when `path` is an archive (archive_reader.hpp's is_archive_path) whose file names end in
// data_batch_1.bin. A damaged archive answers false; reading it reports the damage.
bool is_cifar_binary_archive(const std::filesystem::path& path);

// Reads the six files from such an archive. Throws s8net::Error naming the archive and the
// missing, damaged or invalid file.
CifarData read_cifar_binary_archive(const std::filesystem::path& path);

}  // namespace s8net
