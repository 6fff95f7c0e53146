// A drawing surface for the report's figures: a cairo image surface with the few operations
// charts and image grids need (text placed by its alignment, lines, rectangles, pictures).
// Internal to libs8net: figures leave it as an RgbImage, so cairo stays out of the public headers.
#pragma once

#include <s8net/data/image_codec.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

typedef struct _cairo cairo_t;
typedef struct _cairo_surface cairo_surface_t;

namespace s8net::report {

struct Colour {
  double r = 0, g = 0, b = 0, a = 1;
  static Colour rgb(uint32_t hex, double alpha = 1) noexcept;  // 0xRRGGBB
};

namespace colours {
inline const Colour white = Colour::rgb(0xffffff);
inline const Colour black = Colour::rgb(0x000000);
inline const Colour text = Colour::rgb(0x222222);
inline const Colour axis = Colour::rgb(0x555555);
inline const Colour grid = Colour::rgb(0xe3e3e3);
inline const Colour wrong = Colour::rgb(0xc0392b);
}  // namespace colours

// matplotlib's "tab10" colours, so lines and bars look as the original's did.
Colour series_colour(size_t index) noexcept;

struct Rect {
  double x = 0, y = 0, width = 0, height = 0;
  double right() const noexcept { return x + width; }
  double bottom() const noexcept { return y + height; }
  double centre_x() const noexcept { return x + width / 2; }
  double centre_y() const noexcept { return y + height / 2; }
};

enum class HAlign { left, centre, right };
enum class VAlign { top, middle, bottom };

struct Font {
  double size = 13;
  bool bold = false;
};

class Canvas {
 public:
  Canvas(int width, int height, Colour background = colours::white);
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }

  // Text whose box is aligned to (x, y); `angle_degrees` turns it counter-clockwise about that point.
  void text(std::string_view text, double x, double y, HAlign h, VAlign v, Font font = {},
            Colour colour = colours::text, double angle_degrees = 0);
  double text_width(std::string_view text, Font font = {});
  // Shortens `text` with an ellipsis until it fits `width`.
  std::string fit_text(std::string_view text, double width, Font font = {});

  void fill(const Rect& rect, Colour colour);
  void outline(const Rect& rect, Colour colour, double line_width = 1);
  void line(double x0, double y0, double x1, double y1, Colour colour, double line_width = 1, bool dashed = false);
  void polyline(std::span<const double> xs, std::span<const double> ys, Colour colour, double line_width = 2,
                bool dashed = false);
  void dot(double x, double y, double radius, Colour colour);
  // A CIFAR planar 3x32x32 image scaled into `rect` pixel by pixel (no smoothing: the real pixels).
  void image(std::span<const uint8_t> planar, int side, const Rect& rect);

  RgbImage to_rgb();

 private:
  void set_font(Font font);

  int width_, height_;
  std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> surface_;
  std::unique_ptr<cairo_t, void (*)(cairo_t*)> cr_;
};

}  // namespace s8net::report
