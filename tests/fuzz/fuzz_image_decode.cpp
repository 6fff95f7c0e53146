// libFuzzer target: the image importer's decoder (PNG and JPEG through libpng and libjpeg-turbo).
// Any input either decodes or throws s8net::Error naming it.
#include <s8net/core/error.hpp>
#include <s8net/data/image_codec.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const s8net::RgbImage image = s8net::decode_image({data, size}, "fuzz.img");
    // What the importer relies on: a decoded image has exactly its stated pixels.
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3)
      __builtin_trap();
  } catch (const s8net::Error&) {
  }
  return 0;
}
