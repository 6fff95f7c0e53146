// Small CIFAR-shaped data sets for tests: random pixels, labels cycling through the classes.
#pragma once

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/dataset.hpp>
#include <s8net/data/image_codec.hpp>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

namespace s8net::test {

inline Dataset random_dataset(int64_t size, uint32_t seed) {
  Dataset data;
  std::mt19937 generator(seed);
  std::vector<uint8_t> image(kImageBytes);
  for (int64_t i = 0; i < size; ++i) {
    for (uint8_t& v : image) v = static_cast<uint8_t>(generator() & 0xFF);
    data.append(image, static_cast<uint8_t>(i % kClassCount));
  }
  return data;
}

inline CifarData random_cifar(int64_t train, int64_t test, uint32_t seed = 1) {
  return {random_dataset(train, seed), random_dataset(test, seed + 1)};
}

// root/<split>/<class>/<NNNN>.<extension> for each image (PNG is lossless, JPEG quality 95).
inline void write_image_folder(const std::filesystem::path& root, const CifarData& data, const std::string& extension) {
  for (const auto& [split, set] :
       {std::pair<const char*, const Dataset*>{"train", &data.train}, {"test", &data.test}}) {
    for (int64_t i = 0; i < set->size(); ++i) {
      const auto directory = root / split / std::string(kClassNames[set->labels[static_cast<size_t>(i)]]);
      std::filesystem::create_directories(directory);
      char name[32];
      std::snprintf(name, sizeof name, "%04lld.%s", static_cast<long long>(i), extension.c_str());
      const RgbImage image = from_planar(set->image(i));
      write_file_atomically(directory / name, extension == "png" ? encode_png(image) : encode_jpeg(image, 95));
    }
  }
}

// `tar czf archive -C parent entry` (tar is part of every Debian system).
inline void make_tar_gz(const std::filesystem::path& archive, const std::filesystem::path& parent,
                        const std::string& entry) {
  const std::string command = "tar czf '" + archive.string() + "' -C '" + parent.string() + "' '" + entry + "'";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

}  // namespace s8net::test
