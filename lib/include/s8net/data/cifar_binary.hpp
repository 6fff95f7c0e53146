// The canonical CIFAR-10 binary version: data_batch_1.bin ... data_batch_5.bin (training) and
// test_batch.bin, each a sequence of 3,073-byte records (label byte, then 3,072 pixel bytes), and
// batches.meta.txt with the class names one per line.
#pragma once

#include <s8net/data/dataset.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace s8net {

inline constexpr int kTrainBatchFiles = 5;

// The files write_cifar_binary writes: the five training batches, the test batch, batches.meta.txt.
std::vector<std::string> cifar_binary_file_names();

// Validates and appends the records of one file's bytes; `source` names it in errors (size not a
// whole number of records, a label >= 10, no records).
void append_cifar_records(std::span<const uint8_t> bytes, const std::string& source, Dataset& into);

// True when `path` is a cifar-10-batches-bin directory, a directory holding one, or an archive
// (.tar.gz / .tar) whose file names end in data_batch_1.bin.
bool is_cifar_binary(const std::filesystem::path& path);

// Reads all six files from such a directory or archive. Throws s8net::Error naming the missing
// or invalid file; in a directory with a manifest (data_manifest.hpp), also a file whose size or
// checksum differs from it.
CifarData read_cifar_binary(const std::filesystem::path& path);

// Writes the six files and batches.meta.txt into `directory` (created if needed), each one
// atomically; the training images are split over the five batch files in order.
void write_cifar_binary(const CifarData& data, const std::filesystem::path& directory);

}  // namespace s8net
