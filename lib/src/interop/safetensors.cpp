#include "../core/bounded_json.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/interop/safetensors.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>
#include <tuple>

namespace s8net {
namespace {

using nlohmann::json;

static_assert(std::endian::native == std::endian::little, "safetensors values are little-endian, read here by memcpy");

constexpr const char* kMetadataKey = "__metadata__";

// The dtypes of the format's specification, with their bits per element.
constexpr std::pair<std::string_view, int64_t> kDtypes[] = {
    {"BOOL", 8},    {"U8", 8},      {"I8", 8},   {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"F4", 4},
    {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"I16", 16}, {"U16", 16},    {"F16", 16},    {"BF16", 16},   {"I32", 32},
    {"U32", 32},    {"F32", 32},    {"C64", 64}, {"F64", 64},    {"I64", 64},    {"U64", 64},
};

// Finds the first name the header holds twice: nlohmann::json keeps only the last of equal keys,
// so a second pass over the text sees what the parsed object no longer shows.
class DuplicateKeyFinder : public nlohmann::json_sax<json> {
 public:
  std::optional<std::string> duplicate;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& name) override {
    if (keys_.back().insert(name).second) return true;
    duplicate = name;
    return false;
  }
  bool end_object() override {
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    keys_.emplace_back();
    return true;
  }
  bool end_array() override {
    keys_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  std::vector<std::set<std::string>> keys_;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Bytes of a tensor of this dtype and shape; nothing when the count overflows or is not whole bytes.
std::optional<uint64_t> byte_count(int64_t bits, const std::vector<int64_t>& shape) {
  uint64_t total = static_cast<uint64_t>(bits);
  for (const int64_t d : shape) {
    if (d < 0) return std::nullopt;
    const auto dim = static_cast<uint64_t>(d);
    if (dim != 0 && total > std::numeric_limits<uint64_t>::max() / dim) return std::nullopt;
    total *= dim;
  }
  if (total % 8 != 0) return std::nullopt;
  return total / 8;
}

uint64_t non_negative_integer(const json& value, const std::string& what, const std::string& name) {
  if (!value.is_number_unsigned()) throw Error(name + ": " + what + " is not a non-negative integer: " + value.dump());
  return value.get<uint64_t>();
}

struct Entry {
  SafeTensor tensor;
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& tensor_name, const json& info, const std::string& name) {
  const std::string where = "tensor \"" + tensor_name + "\"";
  if (!info.is_object()) throw Error(name + ": " + where + " is described by " + info.dump() + ", not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!info.contains(field)) throw Error(name + ": " + where + " has no \"" + field + "\"");
  Entry entry;
  entry.tensor.name = tensor_name;
  if (!info["dtype"].is_string()) throw Error(name + ": " + where + ": dtype is not a string");
  entry.tensor.dtype = info["dtype"].get<std::string>();
  const auto bits = safetensors_dtype_bits(entry.tensor.dtype);
  if (!bits) throw Error(name + ": " + where + ": unknown dtype \"" + entry.tensor.dtype + "\"");
  const json& shape = info["shape"];
  if (!shape.is_array()) throw Error(name + ": " + where + ": shape is not an array");
  for (const json& d : shape) {
    const uint64_t dim = non_negative_integer(d, where + ": a dimension of shape", name);
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Error(name + ": " + where + ": dimension " + std::to_string(dim) + " is too large");
    entry.tensor.shape.push_back(static_cast<int64_t>(dim));
  }
  const json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    throw Error(name + ": " + where + ": data_offsets is not a pair [begin, end]");
  entry.begin = non_negative_integer(offsets[0], where + ": data_offsets begin", name);
  entry.end = non_negative_integer(offsets[1], where + ": data_offsets end", name);
  if (entry.end < entry.begin)
    throw Error(name + ": " + where + ": data_offsets end " + std::to_string(entry.end) + " is before begin " +
                std::to_string(entry.begin));
  const auto expected = byte_count(*bits, entry.tensor.shape);
  if (!expected)
    throw Error(name + ": " + where + ": shape " + shape_text(entry.tensor.shape) + " of " + entry.tensor.dtype +
                " is not a whole number of bytes that fits in 64 bits");
  if (entry.end - entry.begin != *expected)
    throw Error(name + ": " + where + ": " + entry.tensor.dtype + " " + shape_text(entry.tensor.shape) + " takes " +
                std::to_string(*expected) + " bytes, but data_offsets [" + std::to_string(entry.begin) + ", " +
                std::to_string(entry.end) + ") hold " + std::to_string(entry.end - entry.begin));
  return entry;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& name) {
  if (!value.is_object()) throw Error(name + ": __metadata__ is not an object of strings");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, text] : value.items()) {
    if (!text.is_string())
      throw Error(name + ": __metadata__ value of \"" + key + "\" is " + text.dump() + ", not a string");
    metadata[key] = text.get<std::string>();
  }
  return metadata;
}

}  // namespace

const SafeTensor* SafeTensorsFile::find(const std::string& name) const noexcept {
  for (const SafeTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::optional<int64_t> safetensors_dtype_bits(const std::string& dtype) {
  for (const auto& [known, bits] : kDtypes)
    if (dtype == known) return bits;
  return std::nullopt;
}

std::vector<uint8_t> serialize_safetensors(const SafeTensorsFile& file) {
  json header = json::object();
  uint64_t offset = 0;
  for (const SafeTensor& t : file.tensors) {
    if (t.name == kMetadataKey || header.contains(t.name))
      throw Error("safetensors: cannot write a second tensor named \"" + t.name + "\"");
    const auto bits = safetensors_dtype_bits(t.dtype);
    if (!bits) throw Error("safetensors: tensor \"" + t.name + "\" has unknown dtype \"" + t.dtype + "\"");
    const auto expected = byte_count(*bits, t.shape);
    if (!expected || *expected != t.bytes.size())
      throw Error("safetensors: tensor \"" + t.name + "\" holds " + std::to_string(t.bytes.size()) +
                  " bytes, not what " + t.dtype + " " + shape_text(t.shape) + " takes");
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  if (!file.metadata.empty()) header[kMetadataKey] = file.metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<uint8_t> bytes(8 + text.size() + offset);
  const uint64_t length = text.size();
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(length >> (8 * i));
  std::memcpy(bytes.data() + 8, text.data(), text.size());
  size_t at = 8 + text.size();
  for (const SafeTensor& t : file.tensors) {
    if (!t.bytes.empty()) std::memcpy(bytes.data() + at, t.bytes.data(), t.bytes.size());
    at += t.bytes.size();
  }
  return bytes;
}

void save_safetensors(const std::filesystem::path& path, const SafeTensorsFile& file) {
  write_file_atomically(path, serialize_safetensors(file));
}

SafeTensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.size() < 8)
    throw Error(name + ": not a safetensors file (" + std::to_string(bytes.size()) +
                " bytes, fewer than the 8 of the header length)");
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= static_cast<uint64_t>(bytes[static_cast<size_t>(i)]) << (8 * i);
  if (length > kMaxSafetensorsHeader)
    throw Error(name + ": not a safetensors file, or damaged: header length " + std::to_string(length) +
                " is above the format's limit of " + std::to_string(kMaxSafetensorsHeader) + " bytes");
  if (length > bytes.size() - 8)
    throw Error(name + ": truncated or not a safetensors file: header length " + std::to_string(length) + " but only " +
                std::to_string(bytes.size() - 8) + " bytes follow it");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), static_cast<size_t>(length));
  if (text.empty() || text.front() != '{')
    throw Error(name + ": not a safetensors file: the header is not a JSON object");
  const json header = parse_bounded_json(text, name + ": safetensors header");
  if (!header.is_object()) throw Error(name + ": not a safetensors file: the header is not a JSON object");
  DuplicateKeyFinder duplicates;
  json::sax_parse(text.begin(), text.end(), &duplicates);
  if (duplicates.duplicate) throw Error(name + ": the header names \"" + *duplicates.duplicate + "\" twice");

  SafeTensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey)
      file.metadata = parse_metadata(value, name);
    else
      entries.push_back(parse_entry(key, value, name));
  }
  const std::span<const uint8_t> buffer = bytes.subspan(8 + static_cast<size_t>(length));
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.tensor.name) < std::tie(b.begin, b.end, b.tensor.name);
  });
  // The ranges must tile the buffer: each begins where the one before ends, the last ends with it.
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.end > buffer.size())
      throw Error(name + ": tensor \"" + e.tensor.name + "\": data_offsets [" + std::to_string(e.begin) + ", " +
                  std::to_string(e.end) + ") reach past the data buffer's " + std::to_string(buffer.size()) + " bytes");
    if (e.begin < covered)
      throw Error(name + ": tensor \"" + e.tensor.name + "\" (bytes " + std::to_string(e.begin) + " to " +
                  std::to_string(e.end) + ") overlaps tensor \"" + previous->tensor.name + "\" (to byte " +
                  std::to_string(covered) + ")");
    if (e.begin > covered)
      throw Error(name + ": bytes " + std::to_string(covered) + " to " + std::to_string(e.begin) +
                  " of the data buffer belong to no tensor");
    covered = e.end;
    previous = &e;
  }
  if (covered != buffer.size())
    throw Error(name + ": bytes " + std::to_string(covered) + " to " + std::to_string(buffer.size()) +
                " of the data buffer belong to no tensor");
  for (Entry& e : entries) {
    e.tensor.bytes.assign(buffer.begin() + static_cast<std::ptrdiff_t>(e.begin),
                          buffer.begin() + static_cast<std::ptrdiff_t>(e.end));
    file.tensors.push_back(std::move(e.tensor));
  }
  return file;
}

SafeTensorsFile load_safetensors(const std::filesystem::path& path) {
  return parse_safetensors(read_file_bytes(path, kMaxSafetensorsFileBytes, "a safetensors file of this model"),
                           path.string());
}

}  // namespace s8net
