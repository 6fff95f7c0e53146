// JPEG (libjpeg-turbo) and PNG (libpng) decoding and encoding of 8-bit RGB images, and the
// conversion to CIFAR's planar layout.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace s8net {

// Far more than any 32x32 image needs, and little enough memory that a file or archive header
// claiming gigabytes is refused before it is read.
inline constexpr int64_t kMaxImageFileBytes = int64_t{64} << 20;

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // interleaved R G B, rows top to bottom
};

// Decodes a JPEG or PNG (told apart by their signatures; grey and alpha become RGB). Throws
// s8net::Error naming `source` and the decoder's reason.
RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& source);

// Throws s8net::Error naming `source` unless a decoder may allocate for an image of this size: a
// header may claim any size, so each decoder asks before it allocates the pixels.
void require_decodable_size(int64_t width, int64_t height, const std::string& source);

std::vector<uint8_t> encode_png(const RgbImage& image);
std::vector<uint8_t> encode_jpeg(const RgbImage& image, int quality);

// Averages the source pixels each destination pixel covers (a box filter), so shrinking a large
// photo keeps its detail rather than aliasing.
RgbImage resize_area(const RgbImage& image, int width, int height);

// 32x32 interleaved RGB -> CIFAR planar (R plane, G plane, B plane) and back.
std::vector<uint8_t> to_planar(const RgbImage& image);
RgbImage from_planar(std::span<const uint8_t> planar);

}  // namespace s8net
