// The canonical CIFAR-10 binary version: data_batch_1.bin ... data_batch_5.bin (training) and
// test_batch.bin, each a sequence of 3,073-byte records (label byte, then 3,072 pixel bytes), and
// batches.meta.txt with the class names one per line. The core reads it from a directory only: the
// official .tar.gz is s8net::image_import's (data/cifar_archive.hpp), as is everything libarchive reads.
#pragma once

#include <s8net/data/dataset.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace s8net {

inline constexpr int kTrainBatchFiles = 5;

// The files write_cifar_binary writes: the five training batches, the test batch, batches.meta.txt.
std::vector<std::string> cifar_binary_file_names();

// Validates and appends the records of one file's bytes; `source` names it in errors (size not a
// whole number of records, a label >= 10, no records).
void append_cifar_records(std::span<const uint8_t> bytes, const std::string& source, Dataset& into);

// True when `name` (a base name) is one of cifar_binary_file_names().
bool is_cifar_binary_file_name(const std::string& name);

// The data set from the files by base name (those of cifar_binary_file_names(); batches.meta.txt
// is optional and checked when present). `where` names the directory or archive in errors: a
// missing file, invalid records or class names.
CifarData cifar_from_batch_files(const std::map<std::string, std::vector<uint8_t>>& files, const std::string& where);

// True when `path` is a cifar-10-batches-bin directory or a directory holding one.
bool is_cifar_binary_directory(const std::filesystem::path& path);

// Reads all six files from such a directory. Throws s8net::Error naming the missing or invalid
// file, or a file whose size or checksum differs from the directory's manifest (data_manifest.hpp)
// when it has one; a path that is not a directory is refused.
CifarData read_cifar_binary(const std::filesystem::path& path);

// Writes the six files and batches.meta.txt into `directory` (created if needed), each one
// atomically; the training images are split over the five batch files in order.
void write_cifar_binary(const CifarData& data, const std::filesystem::path& directory);

}  // namespace s8net
