#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/dataset.hpp>
#include <s8net/data/network_input.hpp>

namespace s8net {

std::vector<float> network_input(std::span<const uint8_t> rgb_images, const Normalization& normalization) {
  if (rgb_images.size() % kImageBytes != 0)
    throw Error("network_input: " + with_thousands(static_cast<int64_t>(rgb_images.size())) +
                " bytes is not a whole number of 32x32 RGB images (3,072 bytes each)");
  for (const float s : normalization.std)
    if (!(s > 0.f)) throw Error("network_input: every std must be > 0");
  std::vector<float> input(rgb_images.size());
  for (size_t first = 0; first < rgb_images.size(); first += kImageBytes) {
    const std::span<const uint8_t> pixels = rgb_images.subspan(first, kImageBytes);
    const std::span<float> image = std::span(input).subspan(first, kImageBytes);
    for (size_t p = 0; p < static_cast<size_t>(kImagePlane); ++p)
      for (size_t c = 0; c < 3; ++c) image[c * kImagePlane + p] = pixels[3 * p + c];
    // The one normalization training uses, so these inputs match what the network learned from.
    normalize(image, normalization);
  }
  return input;
}

}  // namespace s8net
