// The safetensors file format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON header mapping each tensor's name to its dtype, shape and [begin, end) byte range in the
// data buffer that follows, and an optional "__metadata__" object of string values. Values are
// little-endian, row-major. Nothing in a file is executed, unlike a pickled PyTorch .pt file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace s8net {

struct SafeTensor {
  std::string name;
  std::string dtype;           // "F32", "I64", ... as the file spells it
  std::vector<int64_t> shape;  // [] is a scalar (one element)
  std::vector<uint8_t> bytes;  // element count x the dtype's size
};

struct SafeTensorsFile {
  std::vector<SafeTensor> tensors;  // in data-buffer order
  std::map<std::string, std::string> metadata;

  const SafeTensor* find(const std::string& name) const noexcept;
};

// The reference implementation refuses larger headers; so does s8net, before allocating one.
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;
// What load_safetensors() reads at most: the header's limit and far more tensor data than the
// original model's state_dict holds (under a megabyte).
inline constexpr int64_t kMaxSafetensorsFileBytes = int64_t{256} << 20;

// Bits per element of a dtype the format defines ("F32" -> 32, "F4" -> 4); nothing for any other
// string.
std::optional<int64_t> safetensors_dtype_bits(const std::string& dtype);

// The file's bytes: header padded with spaces to a multiple of 8 bytes, so that the data buffer
// starts aligned, then each tensor's bytes in order. Throws s8net::Error for an unknown dtype, a
// tensor whose byte count does not match its dtype and shape, or two tensors of one name.
std::vector<uint8_t> serialize_safetensors(const SafeTensorsFile& file);
// serialize_safetensors() written atomically (core/atomic_file.hpp).
void save_safetensors(const std::filesystem::path& path, const SafeTensorsFile& file);

// Throws s8net::Error "NAME: REASON" for anything the format does not allow: a header length
// past the file or above kMaxSafetensorsHeader, a header that is not a JSON object, an unknown
// dtype, a shape or byte range that does not fit, ranges that overlap or leave bytes of the
// buffer uncovered, duplicate names, a metadata value that is not a string.
SafeTensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& name);
SafeTensorsFile load_safetensors(const std::filesystem::path& path);

}  // namespace s8net
