// CIFAR-10 images in memory, in the canonical binary layout: per image 3,072 bytes, the 1,024 red
// values, then green, then blue, rows top to bottom; one label byte per image.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace s8net {

inline constexpr int64_t kImageSide = 32;
inline constexpr int64_t kImagePlane = kImageSide * kImageSide;  // 1,024
inline constexpr int64_t kImageBytes = 3 * kImagePlane;          // 3,072
inline constexpr int64_t kRecordBytes = 1 + kImageBytes;         // 3,073: label, then pixels
inline constexpr int kClassCount = 10;

// Label index = position (docs/data.md).
inline constexpr std::array<std::string_view, kClassCount> kClassNames = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

// Index of a class name, or -1.
int class_index(std::string_view name) noexcept;

struct Dataset {
  std::vector<uint8_t> pixels;  // size() * kImageBytes
  std::vector<uint8_t> labels;  // size(), each < kClassCount

  int64_t size() const noexcept { return static_cast<int64_t>(labels.size()); }
  std::span<const uint8_t> image(int64_t i) const noexcept {
    return {pixels.data() + i * kImageBytes, static_cast<size_t>(kImageBytes)};
  }
  void append(std::span<const uint8_t> image, uint8_t label);
  // The first n images (all of them when n <= 0 or n >= size()).
  Dataset first(int64_t n) const;
  std::array<int64_t, kClassCount> class_counts() const noexcept;
};

struct CifarData {
  Dataset train;
  Dataset test;
};

}  // namespace s8net
