// Checks on the files the report and benchmark commands write: pictures and text pages.
#pragma once

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/image_codec.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace s8net::test {

inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline double pixel_variance(const RgbImage& image) {
  double sum = 0, squares = 0;
  for (const uint8_t v : image.pixels) sum += v, squares += static_cast<double>(v) * v;
  const auto n = static_cast<double>(image.pixels.size());
  return squares / n - (sum / n) * (sum / n);
}

// A PNG on disk of exactly this size with something drawn on it (not one flat colour).
inline void expect_picture(const std::filesystem::path& file, int width, int height) {
  ASSERT_TRUE(std::filesystem::exists(file)) << file;
  const RgbImage image = decode_image(read_file_bytes(file), file.string());
  EXPECT_EQ(image.width, width) << file;
  EXPECT_EQ(image.height, height) << file;
  EXPECT_GT(pixel_variance(image), 200.0) << file << " looks blank";
}

inline void expect_picture(const std::filesystem::path& file) {
  ASSERT_TRUE(std::filesystem::exists(file)) << file;
  const RgbImage image = decode_image(read_file_bytes(file), file.string());
  expect_picture(file, image.width, image.height);
}

}  // namespace s8net::test
