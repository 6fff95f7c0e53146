#include "canvas.hpp"

#include <s8net/core/error.hpp>

#include <cairo.h>

#include <array>
#include <cmath>
#include <numbers>
#include <string>

namespace s8net::report {
namespace {

// Bundled with every Debian desktop and pulled in by fontconfig; any sans serif takes its place.
constexpr const char* kFontFamily = "DejaVu Sans";

void check(cairo_status_t status, const char* what) {
  if (status != CAIRO_STATUS_SUCCESS)
    throw Error(std::string("drawing ") + what + ": " + cairo_status_to_string(status));
}

}  // namespace

Colour Colour::rgb(uint32_t hex, double alpha) noexcept {
  return {((hex >> 16) & 0xff) / 255.0, ((hex >> 8) & 0xff) / 255.0, (hex & 0xff) / 255.0, alpha};
}

Colour series_colour(size_t index) noexcept {
  static constexpr std::array<uint32_t, 10> kTab10 = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                                      0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  return Colour::rgb(kTab10[index % kTab10.size()]);
}

Canvas::Canvas(int width, int height, Colour background)
    : width_(width),
      height_(height),
      surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), cairo_surface_destroy),
      cr_(cairo_create(surface_.get()), cairo_destroy) {
  check(cairo_surface_status(surface_.get()), "surface");
  check(cairo_status(cr_.get()), "context");
  fill({0, 0, static_cast<double>(width), static_cast<double>(height)}, background);
}

Canvas::~Canvas() = default;

void Canvas::set_font(Font font) {
  cairo_select_font_face(cr_.get(), kFontFamily, CAIRO_FONT_SLANT_NORMAL,
                         font.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr_.get(), font.size);
}

double Canvas::text_width(std::string_view text, Font font) {
  set_font(font);
  const std::string s(text);
  cairo_text_extents_t extents;
  cairo_text_extents(cr_.get(), s.c_str(), &extents);
  return extents.x_advance;
}

std::string Canvas::fit_text(std::string_view text, double width, Font font) {
  std::string s(text);
  if (text_width(s, font) <= width) return s;
  while (!s.empty() && text_width(s + "…", font) > width) s.pop_back();
  return s + "…";
}

void Canvas::text(std::string_view text, double x, double y, HAlign h, VAlign v, Font font, Colour colour,
                  double angle_degrees) {
  cairo_t* cr = cr_.get();
  set_font(font);
  const std::string s(text);
  cairo_text_extents_t extents;
  cairo_text_extents(cr, s.c_str(), &extents);
  cairo_font_extents_t font_extents;
  cairo_font_extents(cr, &font_extents);
  // Vertical placement from the font's ascent and descent, not the glyphs', so labels of one
  // row share a baseline whatever letters they contain.
  const double dx = h == HAlign::left ? 0 : h == HAlign::centre ? -extents.x_advance / 2 : -extents.x_advance;
  const double dy = v == VAlign::top      ? font_extents.ascent
                    : v == VAlign::middle ? (font_extents.ascent - font_extents.descent) / 2
                                          : -font_extents.descent;
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -angle_degrees * std::numbers::pi / 180);
  cairo_move_to(cr, dx, dy);
  cairo_set_source_rgba(cr, colour.r, colour.g, colour.b, colour.a);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

void Canvas::fill(const Rect& rect, Colour colour) {
  cairo_t* cr = cr_.get();
  cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height);
  cairo_set_source_rgba(cr, colour.r, colour.g, colour.b, colour.a);
  cairo_fill(cr);
}

void Canvas::outline(const Rect& rect, Colour colour, double line_width) {
  cairo_t* cr = cr_.get();
  cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height);
  cairo_set_source_rgba(cr, colour.r, colour.g, colour.b, colour.a);
  cairo_set_line_width(cr, line_width);
  cairo_stroke(cr);
}

void Canvas::line(double x0, double y0, double x1, double y1, Colour colour, double line_width, bool dashed) {
  const std::array xs{x0, x1}, ys{y0, y1};
  polyline(xs, ys, colour, line_width, dashed);
}

void Canvas::polyline(std::span<const double> xs, std::span<const double> ys, Colour colour, double line_width,
                      bool dashed) {
  if (xs.empty()) return;
  cairo_t* cr = cr_.get();
  cairo_save(cr);
  cairo_move_to(cr, xs[0], ys[0]);
  for (size_t i = 1; i < xs.size(); ++i) cairo_line_to(cr, xs[i], ys[i]);
  cairo_set_source_rgba(cr, colour.r, colour.g, colour.b, colour.a);
  cairo_set_line_width(cr, line_width);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  if (dashed) {
    const double dashes[] = {6 * line_width / 2, 4 * line_width / 2};
    cairo_set_dash(cr, dashes, 2, 0);
  }
  cairo_stroke(cr);
  cairo_restore(cr);
}

void Canvas::dot(double x, double y, double radius, Colour colour) {
  cairo_t* cr = cr_.get();
  cairo_new_sub_path(cr);
  cairo_arc(cr, x, y, radius, 0, 2 * std::numbers::pi);
  cairo_set_source_rgba(cr, colour.r, colour.g, colour.b, colour.a);
  cairo_fill(cr);
}

void Canvas::image(std::span<const uint8_t> planar, int side, const Rect& rect) {
  const size_t plane = static_cast<size_t>(side) * static_cast<size_t>(side);
  if (planar.size() != 3 * plane)
    throw Error("drawing an image: " + std::to_string(planar.size()) + " bytes for a " + std::to_string(side) + "x" +
                std::to_string(side) + " RGB image");
  std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> picture(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, side, side), cairo_surface_destroy);
  check(cairo_surface_status(picture.get()), "image");
  cairo_surface_flush(picture.get());
  unsigned char* data = cairo_image_surface_get_data(picture.get());
  const int stride = cairo_image_surface_get_stride(picture.get());
  for (int y = 0; y < side; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
    for (int x = 0; x < side; ++x) {
      const size_t i = static_cast<size_t>(y) * static_cast<size_t>(side) + static_cast<size_t>(x);
      row[x] = (uint32_t{planar[i]} << 16) | (uint32_t{planar[plane + i]} << 8) | uint32_t{planar[2 * plane + i]};
    }
  }
  cairo_surface_mark_dirty(picture.get());
  cairo_t* cr = cr_.get();
  cairo_save(cr);
  cairo_translate(cr, rect.x, rect.y);
  cairo_scale(cr, rect.width / side, rect.height / side);
  cairo_set_source_surface(cr, picture.get(), 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle(cr, 0, 0, side, side);
  cairo_fill(cr);
  cairo_restore(cr);
}

RgbImage Canvas::to_rgb() {
  cairo_surface_flush(surface_.get());
  const unsigned char* data = cairo_image_surface_get_data(surface_.get());
  const int stride = cairo_image_surface_get_stride(surface_.get());
  RgbImage image{width_, height_, std::vector<uint8_t>(static_cast<size_t>(width_) * static_cast<size_t>(height_) * 3)};
  uint8_t* out = image.pixels.data();
  for (int y = 0; y < height_; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
    for (int x = 0; x < width_; ++x) {
      *out++ = static_cast<uint8_t>(row[x] >> 16);
      *out++ = static_cast<uint8_t>(row[x] >> 8);
      *out++ = static_cast<uint8_t>(row[x]);
    }
  }
  return image;
}

}  // namespace s8net::report
