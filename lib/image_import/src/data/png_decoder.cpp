#include <s8net/core/error.hpp>
#include <s8net/data/png_decoder.hpp>

#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace s8net {
namespace {

// libpng reports an error by a longjmp back to the last setjmp. The functions below that call it
// set that jump themselves and hold nothing with a destructor, so a jump skips no cleanup; the
// reason waits here for the caller to throw.
struct PngInput {
  std::span<const uint8_t> bytes;
  size_t offset = 0;
  char error[256] = "";
};

extern "C" void on_png_error(png_structp png, png_const_charp message) {
  auto* input = static_cast<PngInput*>(png_get_error_ptr(png));
  std::snprintf(input->error, sizeof input->error, "%s", message);
  png_longjmp(png, 1);
}

// PIL reads on past what libpng only warns about (an incorrect sRGB profile and the like).
extern "C" void on_png_warning(png_structp, png_const_charp) {}

extern "C" void read_from_memory(png_structp png, png_bytep out, size_t size) {
  auto* input = static_cast<PngInput*>(png_get_io_ptr(png));
  if (size > input->bytes.size() - input->offset) png_error(png, "the file ends before the image data does");
  std::memcpy(out, input->bytes.data() + input->offset, size);
  input->offset += size;
}

class PngReader {
 public:
  explicit PngReader(PngInput& input)
      : png_(png_create_read_struct(PNG_LIBPNG_VER_STRING, &input, on_png_error, on_png_warning)),
        info_(png_ ? png_create_info_struct(png_) : nullptr) {
    if (png_) png_set_read_fn(png_, &input, read_from_memory);
  }
  ~PngReader() { png_destroy_read_struct(&png_, &info_, nullptr); }
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;

  bool started() const noexcept { return png_ && info_; }
  png_structp png() const noexcept { return png_; }
  png_infop info() const noexcept { return info_; }

 private:
  png_structp png_;
  png_infop info_;
};

struct Layout {
  int64_t width = 0, height = 0;
  int colour_type = 0;  // as the file has it, before expansion
  int bit_depth = 0;    // of the rows read: 8 or 16
  int channels = 0;     // of the rows read: 1 to 4
  size_t row_bytes = 0;
};

// Reads the header and sets only the conversions PIL makes too: palettes become RGB and grey
// below 8 bits is scaled to 8 bits. No gamma (PIL ignores gAMA and sRGB), no compositing.
bool read_layout(png_structp png, png_infop info, Layout* layout) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  layout->colour_type = png_get_color_type(png, info);
  if (layout->colour_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (layout->colour_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  layout->width = png_get_image_width(png, info);
  layout->height = png_get_image_height(png, info);
  layout->bit_depth = png_get_bit_depth(png, info);
  layout->channels = png_get_channels(png, info);
  layout->row_bytes = png_get_rowbytes(png, info);
  return true;
}

bool read_rows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

// One 8-bit value of a sample as PIL's convert("RGB") makes it.
uint8_t to_8_bits(const uint8_t* sample, const Layout& layout) {
  if (layout.bit_depth == 8) return *sample;
  const unsigned value = (unsigned{sample[0]} << 8) | sample[1];
  // PIL opens 16-bit grey as 32-bit integers (mode I), and the RGB conversion of those clips to
  // 0-255; every other 16-bit colour type it reads through 8-bit modes, keeping the high byte.
  if (layout.colour_type == PNG_COLOR_TYPE_GRAY) return static_cast<uint8_t>(std::min(value, 255u));
  return sample[0];
}

}  // namespace

RgbImage decode_png(std::span<const uint8_t> bytes, const std::string& source) {
  PngInput input;
  input.bytes = bytes;
  PngReader reader(input);
  if (!reader.started()) throw Error(source + ": cannot start the PNG decoder");
  Layout layout;
  if (!read_layout(reader.png(), reader.info(), &layout)) throw Error(source + ": not a decodable PNG: " + input.error);
  require_decodable_size(layout.width, layout.height, source);
  // Left uninitialised: a file that claims a large image and then ends soon touches little of it.
  const auto decoded = std::make_unique_for_overwrite<uint8_t[]>(static_cast<size_t>(layout.height) * layout.row_bytes);
  std::vector<png_bytep> rows(static_cast<size_t>(layout.height));
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = decoded.get() + y * layout.row_bytes;
  if (!read_rows(reader.png(), rows.data())) throw Error(source + ": not a decodable PNG: " + input.error);

  // Grey (with or without alpha) is replicated; alpha is dropped, as PIL drops it.
  const size_t sample_bytes = static_cast<size_t>(layout.bit_depth / 8);
  const bool grey = layout.channels <= 2;
  RgbImage image{static_cast<int>(layout.width), static_cast<int>(layout.height),
                 std::vector<uint8_t>(static_cast<size_t>(layout.width * layout.height) * 3)};
  uint8_t* out = image.pixels.data();
  for (size_t y = 0; y < rows.size(); ++y) {
    const uint8_t* pixel = rows[y];
    for (int64_t x = 0; x < layout.width; ++x, pixel += sample_bytes * static_cast<size_t>(layout.channels))
      for (size_t c = 0; c < 3; ++c) *out++ = to_8_bits(pixel + (grey ? 0 : c * sample_bytes), layout);
  }
  return image;
}

}  // namespace s8net
