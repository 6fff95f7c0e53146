#include <s8net/core/error.hpp>
#include <s8net/data/dataset.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/data/png_decoder.hpp>

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace s8net {
namespace {

struct TurboJpegCloser {
  void operator()(void* handle) const noexcept { tjDestroy(handle); }
};
using TurboJpeg = std::unique_ptr<void, TurboJpegCloser>;

bool is_jpeg(std::span<const uint8_t> b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
bool is_png(std::span<const uint8_t> b) {
  static constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return b.size() >= 8 && std::equal(kSignature, kSignature + 8, b.begin());
}

RgbImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& source) {
  TurboJpeg handle(tjInitDecompress());
  if (!handle) throw Error(source + ": cannot start the JPEG decoder");
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), &width, &height,
                          &subsampling, &colorspace) != 0)
    throw Error(source + ": not a decodable JPEG: " + tjGetErrorStr2(handle.get()));
  require_decodable_size(width, height, source);
  RgbImage image{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * static_cast<size_t>(height) * 3)};
  // Default flags: the accurate integer DCT and smooth chroma upsampling, as PIL decodes. A
  // warning (a truncated file decodes to grey) is an error too: training must not see it.
  if (tjDecompress2(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), image.pixels.data(), width, 0,
                    height, TJPF_RGB, 0) != 0)
    throw Error(source + ": not a decodable JPEG: " + tjGetErrorStr2(handle.get()));
  return image;
}

void check_image(const RgbImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3)
    throw Error("encode: image of " + std::to_string(image.width) + "x" + std::to_string(image.height) + " with " +
                std::to_string(image.pixels.size()) + " bytes of RGB");
}

}  // namespace

// A header may claim any size: a few bytes announcing 100,000 x 100,000 pixels must be refused
// before the decoder's buffer is allocated (found by fuzzing). A 64-megapixel photo still imports.
constexpr int64_t kMaxSide = 16384, kMaxPixels = int64_t{1} << 26;

void require_decodable_size(int64_t width, int64_t height, const std::string& source) {
  if (width <= 0 || height <= 0 || width > kMaxSide || height > kMaxSide || width * height > kMaxPixels)
    throw Error(source + ": image of " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels is larger than s8net decodes (at most " + std::to_string(kMaxPixels >> 20) + " megapixels, " +
                std::to_string(kMaxSide) + " a side)");
}

RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& source) {
  if (is_jpeg(bytes)) return decode_jpeg(bytes, source);
  if (is_png(bytes)) return decode_png(bytes, source);
  throw Error(source + ": not an image (neither a JPEG nor a PNG signature)");
}

std::vector<uint8_t> encode_png(const RgbImage& image) {
  check_image(image);
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_get_memory_size(png, size, 0, image.pixels.data(), 0, nullptr))
    throw Error(std::string("PNG encoder: ") + png.message);
  std::vector<uint8_t> bytes(size);
  if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, image.pixels.data(), 0, nullptr))
    throw Error(std::string("PNG encoder: ") + png.message);
  bytes.resize(size);
  return bytes;
}

std::vector<uint8_t> encode_jpeg(const RgbImage& image, int quality) {
  check_image(image);
  TurboJpeg handle(tjInitCompress());
  if (!handle) throw Error("JPEG encoder: cannot start");
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int status = tjCompress2(handle.get(), image.pixels.data(), image.width, 0, image.height, TJPF_RGB, &buffer,
                                 &size, TJSAMP_420, quality, 0);
  std::unique_ptr<unsigned char, decltype(&tjFree)> owned(buffer, &tjFree);
  if (status != 0) throw Error(std::string("JPEG encoder: ") + tjGetErrorStr2(handle.get()));
  return {buffer, buffer + size};
}

RgbImage resize_area(const RgbImage& image, int width, int height) {
  check_image(image);
  if (image.width == width && image.height == height) return image;
  RgbImage out{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * static_cast<size_t>(height) * 3)};
  const double sx = static_cast<double>(image.width) / width, sy = static_cast<double>(image.height) / height;
  for (int y = 0; y < height; ++y) {
    const double y0 = y * sy, y1 = y0 + sy;
    for (int x = 0; x < width; ++x) {
      const double x0 = x * sx, x1 = x0 + sx;
      double sum[3] = {0, 0, 0}, area = 0;
      for (int v = static_cast<int>(y0); v < std::min(image.height, static_cast<int>(std::ceil(y1))); ++v) {
        const double wy = std::min<double>(v + 1, y1) - std::max<double>(v, y0);
        for (int u = static_cast<int>(x0); u < std::min(image.width, static_cast<int>(std::ceil(x1))); ++u) {
          const double w = wy * (std::min<double>(u + 1, x1) - std::max<double>(u, x0));
          const uint8_t* p =
              &image.pixels[(static_cast<size_t>(v) * static_cast<size_t>(image.width) + static_cast<size_t>(u)) * 3];
          for (int c = 0; c < 3; ++c) sum[c] += w * p[c];
          area += w;
        }
      }
      uint8_t* q = &out.pixels[(static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3];
      for (int c = 0; c < 3; ++c) q[c] = static_cast<uint8_t>(std::clamp(std::lround(sum[c] / area), 0L, 255L));
    }
  }
  return out;
}

std::vector<uint8_t> to_planar(const RgbImage& image) {
  if (image.width != kImageSide || image.height != kImageSide)
    throw Error("image is " + std::to_string(image.width) + "x" + std::to_string(image.height) + ", expected 32x32");
  std::vector<uint8_t> planar(kImageBytes);
  for (int64_t i = 0; i < kImagePlane; ++i)
    for (int64_t c = 0; c < 3; ++c)
      planar[static_cast<size_t>(c * kImagePlane + i)] = image.pixels[static_cast<size_t>(i * 3 + c)];
  return planar;
}

RgbImage from_planar(std::span<const uint8_t> planar) {
  RgbImage image{kImageSide, kImageSide, std::vector<uint8_t>(kImageBytes)};
  for (int64_t i = 0; i < kImagePlane; ++i)
    for (int64_t c = 0; c < 3; ++c)
      image.pixels[static_cast<size_t>(i * 3 + c)] = planar[static_cast<size_t>(c * kImagePlane + i)];
  return image;
}

}  // namespace s8net
