// A CIFAR-10 data set as training reads it: the binary version in a directory, either what
// `s8net data prepare` writes (with its manifest) or the official cifar-10-batches-bin extracted.
// Image folders and archives (.tar.gz) need image decoding and libarchive, which the core does not
// link: s8net::image_import reads them (load_any_cifar, data/any_data_source.hpp), and
// `s8net data prepare` turns them into such a directory once.
#pragma once

#include <s8net/data/dataset.hpp>

#include <filesystem>

namespace s8net {

// Throws s8net::Error naming `path` when it is missing, or is an image folder or an archive (the
// message says how to read it), or when a file of the binary version is missing or invalid.
CifarData load_cifar(const std::filesystem::path& path);

}  // namespace s8net
