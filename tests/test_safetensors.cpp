// The safetensors reader and writer: a round trip, the layout the specification fixes, and one
// clear refusal, naming the file, for each way a file can be malformed.
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/interop/safetensors.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <string>

namespace {

using namespace s8net;
using test::error_of;

SafeTensorsFile sample() {
  SafeTensorsFile file;
  std::vector<uint8_t> floats(6 * 4);
  for (size_t i = 0; i < floats.size(); ++i) floats[i] = static_cast<uint8_t>(i * 7);
  file.tensors.push_back({"a.weight", "F32", {2, 3}, floats});
  file.tensors.push_back({"a.steps", "I64", {}, std::vector<uint8_t>(8, 1)});
  file.tensors.push_back({"empty", "F16", {0, 4}, {}});
  file.metadata = {{"format", "pt"}, {"s8net.norm", "gn"}};
  return file;
}

// A file of this header text and data buffer, the header length as given or as the text's size.
std::vector<uint8_t> raw(const std::string& header, size_t buffer_bytes, std::optional<uint64_t> length = {}) {
  std::vector<uint8_t> bytes(8 + header.size() + buffer_bytes, 0);
  const uint64_t n = length.value_or(header.size());
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  return bytes;
}

std::string refusal(const std::string& header, size_t buffer_bytes, std::optional<uint64_t> length = {}) {
  return error_of([&] { parse_safetensors(raw(header, buffer_bytes, length), "bad.safetensors"); });
}

TEST(Safetensors, RoundTripKeepsNamesDtypesShapesBytesAndMetadata) {
  const SafeTensorsFile original = sample();
  const SafeTensorsFile back = parse_safetensors(serialize_safetensors(original), "x");
  ASSERT_EQ(back.tensors.size(), original.tensors.size());
  for (const SafeTensor& t : original.tensors) {
    const SafeTensor* read = back.find(t.name);
    ASSERT_NE(read, nullptr) << t.name;
    EXPECT_EQ(read->dtype, t.dtype);
    EXPECT_EQ(read->shape, t.shape);
    EXPECT_EQ(read->bytes, t.bytes);
  }
  EXPECT_EQ(back.metadata, original.metadata);
}

TEST(Safetensors, WritesTheSpecificationsLayout) {
  const std::vector<uint8_t> bytes = serialize_safetensors(sample());
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  EXPECT_EQ(length % 8, 0u) << "the data buffer must start 8-byte aligned";
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(length));
  EXPECT_EQ(header.front(), '{');
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}')) << "padding is spaces after the JSON";
  EXPECT_NE(header.find("\"a.weight\":{\"data_offsets\":[0,24],\"dtype\":\"F32\",\"shape\":[2,3]}"), std::string::npos)
      << header;
  EXPECT_NE(header.find("\"a.steps\":{\"data_offsets\":[24,32],\"dtype\":\"I64\",\"shape\":[]}"), std::string::npos);
  EXPECT_NE(header.find("\"__metadata__\":{\"format\":\"pt\",\"s8net.norm\":\"gn\"}"), std::string::npos);
  EXPECT_EQ(bytes.size(), 8 + length + 32);
}

TEST(Safetensors, SavesAtomicallyAndLoadsFromAFile) {
  const test::TempDir dir("safetensors");
  save_safetensors(dir / "m.safetensors", sample());
  EXPECT_EQ(load_safetensors(dir / "m.safetensors").tensors.size(), 3u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 1)
      << "no temporary left beside the file";
}

TEST(Safetensors, ReadsTensorsInAnyHeaderOrder) {
  const auto file = parse_safetensors(
      raw(R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
          4),
      "x");
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].name, "a");
  EXPECT_TRUE(file.metadata.empty());
}

TEST(Safetensors, WriterRefusesWhatItCannotWrite) {
  SafeTensorsFile file = sample();
  file.tensors[0].bytes.pop_back();
  EXPECT_NE(error_of([&] { serialize_safetensors(file); }).find("a.weight\" holds 23 bytes"), std::string::npos);
  file = sample();
  file.tensors.push_back(file.tensors[0]);
  EXPECT_NE(error_of([&] { serialize_safetensors(file); }).find("second tensor named \"a.weight\""), std::string::npos);
  file = sample();
  file.tensors[1].dtype = "F12";
  EXPECT_NE(error_of([&] { serialize_safetensors(file); }).find("unknown dtype \"F12\""), std::string::npos);
}

struct Refusal {
  const char* label;
  std::string header;
  size_t buffer;
  std::optional<uint64_t> length;
  const char* message;
};

// CTest's listing names the case, not the struct's bytes.
void PrintTo(const Refusal& r, std::ostream* out) { *out << r.label; }

class SafetensorsRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(SafetensorsRefusal, NamesTheFileAndTheReason) {
  const Refusal& r = GetParam();
  const std::string message = refusal(r.header, r.buffer, r.length);
  EXPECT_EQ(message.rfind("bad.safetensors: ", 0), 0u) << message;
  EXPECT_NE(message.find(r.message), std::string::npos) << message;
}

const std::string kOne = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

INSTANTIATE_TEST_SUITE_P(
    Malformed, SafetensorsRefusal,
    ::testing::Values(
        Refusal{"HeaderPastTheFile", "{}", 0, 4096, "header length 4096 but only 2 bytes follow it"},
        Refusal{"HeaderAbsurd", "{}", 0, 1ull << 40, "above the format's limit of 100000000 bytes"},
        Refusal{"HeaderNotJson", "{nope", 0, {}, "safetensors header: "},
        Refusal{"HeaderAnArray", "[1, 2]", 0, {}, "the header is not a JSON object"},
        Refusal{"UnknownDtype",
                R"({"t":{"dtype":"F24","shape":[2],"data_offsets":[0,6]}})",
                6,
                {},
                "unknown dtype \"F24\""},
        Refusal{"EndBeforeBegin",
                R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}})",
                8,
                {},
                "end 4 is before begin 8"},
        Refusal{"SizeNotDtypeTimesShape",
                R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                8,
                {},
                "F32 [3] takes 12 bytes, but data_offsets [0, 8) hold 8"},
        Refusal{"OffsetsPastTheBuffer", "{" + kOne + "}", 4, {}, "reach past the data buffer's 4 bytes"},
        Refusal{
            "Overlap",
            R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
            8,
            {},
            "tensor \"u\" (bytes 4 to 8) overlaps tensor \"t\""},
        Refusal{"Gap",
                R"({"t":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                4,
                {},
                "bytes 0 to 2 of the data buffer belong to no tensor"},
        Refusal{"TrailingBytes", "{" + kOne + "}", 9, {}, "bytes 8 to 9 of the data buffer belong to no tensor"},
        Refusal{"DuplicateName", "{" + kOne + "," + kOne + "}", 8, {}, "the header names \"t\" twice"},
        Refusal{"MetadataNotString",
                R"({"__metadata__":{"epochs":3}})",
                0,
                {},
                "__metadata__ value of \"epochs\" is 3, not a string"},
        Refusal{"NegativeDimension",
                R"({"t":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})",
                0,
                {},
                "a dimension of shape is not a non-negative integer: -1"},
        Refusal{"MissingOffsets", R"({"t":{"dtype":"U8","shape":[1]}})", 1, {}, "has no \"data_offsets\""},
        Refusal{"ShapeOverflow",
                R"({"t":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})",
                0,
                {},
                "is not a whole number of bytes that fits in 64 bits"}),
    [](const ::testing::TestParamInfo<Refusal>& param) { return std::string(param.param.label); });

TEST(Safetensors, RefusesAFileShorterThanTheHeaderLength) {
  const std::string message = error_of([] { parse_safetensors(std::vector<uint8_t>(5, 0), "bad.safetensors"); });
  EXPECT_EQ(message, "bad.safetensors: not a safetensors file (5 bytes, fewer than the 8 of the header length)");
}

TEST(Safetensors, RefusesAMissingFileNamingIt) {
  EXPECT_NE(error_of([] { load_safetensors("/nonexistent/m.safetensors"); }).find("/nonexistent/m.safetensors"),
            std::string::npos);
}

}  // namespace
