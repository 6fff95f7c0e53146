#include "canvas.hpp"
#include "plot.hpp"

#include <s8net/core/format.hpp>
#include <s8net/report/axis_ticks.hpp>
#include <s8net/report/figures.hpp>

#include <algorithm>
#include <array>
#include <cstdio>

namespace s8net::report {
namespace {

// matplotlib's "Blues", sampled: light for few images, dark for many.
Colour blues(double t) {
  static constexpr std::array<uint32_t, 5> kStops = {0xf7fbff, 0xc6dbef, 0x6baed6, 0x2171b5, 0x08306b};
  t = std::clamp(t, 0.0, 1.0) * (kStops.size() - 1);
  const auto i = std::min(static_cast<size_t>(t), kStops.size() - 2);
  const double f = t - static_cast<double>(i);
  const Colour a = Colour::rgb(kStops[i]), b = Colour::rgb(kStops[i + 1]);
  return {a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f};
}

}  // namespace

RgbImage draw_confusion_matrix(const ConfusionMatrix& confusion, const std::string& title) {
  constexpr double kCell = 56, kLeft = 130, kAccuracyColumn = 76, kBarWidth = 22;
  Canvas canvas(900, 724);
  const double top = draw_figure_title(canvas, title) + 28;
  const Rect matrix{kLeft, top, kCell * kClassCount, kCell * kClassCount};
  int64_t largest = 1, total = 0;
  for (const auto& row : confusion)
    for (const int64_t n : row) largest = std::max(largest, n), total += n;

  const Font cell_font{12.5, false}, name_font{12.5, false}, axis_font{14, true};
  for (int t = 0; t < kClassCount; ++t) {
    for (int p = 0; p < kClassCount; ++p) {
      const int64_t n = confusion[static_cast<size_t>(t)][static_cast<size_t>(p)];
      const Rect cell{matrix.x + kCell * p, matrix.y + kCell * t, kCell, kCell};
      const double shade = static_cast<double>(n) / static_cast<double>(largest);
      canvas.fill(cell, blues(shade));
      canvas.text(with_thousands(n), cell.centre_x(), cell.centre_y(), HAlign::centre, VAlign::middle,
                  {cell_font.size, t == p}, shade > 0.45 ? colours::white : colours::text);
    }
    const double y = matrix.y + kCell * (t + 0.5);
    const std::string name(kClassNames[static_cast<size_t>(t)]);
    canvas.text(name, matrix.x - 8, y, HAlign::right, VAlign::middle, name_font);
    canvas.text(name, matrix.x + kCell * (t + 0.5) + 4, matrix.bottom() + 8, HAlign::right, VAlign::middle, name_font,
                colours::text, 45);
    canvas.text(format_number("%.1f%%", class_accuracy(confusion, t)), matrix.right() + kAccuracyColumn - 8, y,
                HAlign::right, VAlign::middle, name_font);
  }
  canvas.outline(matrix, colours::axis);
  canvas.text("accuracy", matrix.right() + kAccuracyColumn - 8, matrix.y - 8, HAlign::right, VAlign::bottom,
              {12, true});
  canvas.text("predicted class", matrix.centre_x(), matrix.bottom() + 80, HAlign::centre, VAlign::top, axis_font);
  canvas.text("true class", 14, matrix.centre_y(), HAlign::centre, VAlign::top, axis_font, colours::text, 90);

  // The colour scale, with round counts.
  const Rect bar{matrix.right() + kAccuracyColumn + 22, matrix.y, kBarWidth, matrix.height};
  for (int i = 0; i < static_cast<int>(bar.height); ++i)
    canvas.fill({bar.x, bar.bottom() - i - 1, bar.width, 1.0}, blues(i / bar.height));
  canvas.outline(bar, colours::axis);
  const AxisTicks ticks = nice_ticks(0, static_cast<double>(largest), 8);
  for (const double v : ticks.values) {
    if (v > static_cast<double>(largest)) continue;
    const double y = bar.bottom() - v / static_cast<double>(largest) * bar.height;
    canvas.line(bar.right(), y, bar.right() + 4, y, colours::axis);
    canvas.text(tick_label(v, ticks.step), bar.right() + 7, y, HAlign::left, VAlign::middle, {11.5, false},
                colours::axis);
  }
  canvas.text("images (" + with_thousands(total) + " in all)", bar.right() + 58, matrix.centre_y(), HAlign::centre,
              VAlign::top, {12, false}, colours::text, 90);
  return canvas.to_rgb();
}

}  // namespace s8net::report
