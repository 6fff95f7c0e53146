// PNG decoding (libpng) to 8-bit RGB exactly as PIL's Image.open(png).convert("RGB"), the
// reference the project's data sets were made with.
#pragma once

#include <s8net/data/image_codec.hpp>

#include <span>
#include <string>

namespace s8net {

// Throws s8net::Error naming `source` and libpng's reason, or the size when it is too large.
RgbImage decode_png(std::span<const uint8_t> bytes, const std::string& source);

}  // namespace s8net
