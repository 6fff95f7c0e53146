#include "plot.hpp"

#include <s8net/report/axis_ticks.hpp>
#include <s8net/report/study_figures.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <span>

namespace s8net::report {
namespace {

// The finite values seen, for one y axis that several panels share.
struct ValueRange {
  double low = std::numeric_limits<double>::infinity(), high = -std::numeric_limits<double>::infinity();

  void add(std::span<const double> values) {
    for (const double v : values)
      if (std::isfinite(v)) low = std::min(low, v), high = std::max(high, v);
  }
  bool empty() const { return !std::isfinite(low); }
  // Ticks covering the range with 4% to spare at each end (0 to 1 when nothing was seen).
  AxisTicks ticks() const {
    const double from = empty() ? 0 : low, to = empty() ? 1 : high, margin = (to - from) * 0.04;
    return nice_ticks(from - margin, to + margin, 7);
  }
};

}  // namespace

RgbImage draw_against_batch_size(const std::string& title, const std::string& subtitle,
                                 std::span<const BatchSizePanel> panels) {
  // Side by side, each panel at least 600 pixels wide once there are three.
  const int panel_count = static_cast<int>(panels.size());
  Canvas canvas(panel_count > 2 ? 600 * panel_count : panel_count > 1 ? 1260 : 760, 480);
  const double top = draw_figure_title(canvas, title, subtitle);
  const double width = canvas.width() / static_cast<double>(std::max<size_t>(panels.size(), 1));
  // Panels of one measure (one y label) share the y axis, so that a value stands at one height in all.
  const bool one_measure = std::all_of(panels.begin(), panels.end(),
                                       [&](const BatchSizePanel& panel) { return panel.y_label == panels[0].y_label; });
  ValueRange range;
  for (const BatchSizePanel& panel : panels)
    for (const BatchSizeLine& line : panel.lines)
      for (const auto* values : {&line.values, &line.low, &line.high}) range.add(*values);
  std::optional<AxisTicks> shared_y;
  if (panels.size() > 1 && one_measure && !range.empty()) shared_y = range.ticks();
  for (size_t p = 0; p < panels.size(); ++p) {
    std::vector<Series> series;
    const size_t lines = panels[p].lines.size();
    for (size_t i = 0; i < lines; ++i) {
      const BatchSizeLine& line = panels[p].lines[i];
      // Norms side by side around each batch size, so that their error bars do not hide each other.
      const double shift = (static_cast<double>(i) - static_cast<double>(lines - 1) / 2) * 7;
      series.push_back({line.name, line.batches, line.values, series_colour(i), false, line.low, line.high, shift});
    }
    draw_line_plot(canvas, {width * static_cast<double>(p), top, width, canvas.height() - top},
                   {.title = panels[p].title,
                    .x_label = "batch size",
                    .y_label = panels[p].y_label,
                    .y_low = shared_y ? std::optional(shared_y->low) : std::nullopt,
                    .y_high = shared_y ? std::optional(shared_y->high) : std::nullopt,
                    .integer_x = false,
                    .log2_x = true},
                   series);
  }
  return canvas.to_rgb();
}

RgbImage draw_small_multiples(const std::string& title, const std::string& subtitle, const std::string& y_label,
                              std::span<const EpochPanel> panels) {
  constexpr int kColumns = 3, kPanelWidth = 420, kPanelHeight = 320, kTitleRoom = 60;
  const int rows = std::max<int>(1, static_cast<int>((panels.size() + kColumns - 1) / kColumns));
  Canvas canvas(kColumns * kPanelWidth, kTitleRoom + rows * kPanelHeight);
  const double top = draw_figure_title(canvas, title, subtitle);
  ValueRange range;
  double last_epoch = 1;
  for (const EpochPanel& panel : panels)
    for (const EpochLine& line : panel.lines) {
      range.add(line.values);
      for (const double e : line.epochs) last_epoch = std::max(last_epoch, e);
    }
  const AxisTicks y_axis = range.ticks();
  for (size_t p = 0; p < panels.size(); ++p) {
    std::vector<Series> series;
    for (size_t i = 0; i < panels[p].lines.size(); ++i)
      series.push_back(
          {panels[p].lines[i].name, panels[p].lines[i].epochs, panels[p].lines[i].values, series_colour(i)});
    const Rect frame{static_cast<double>(p % kColumns) * kPanelWidth,
                     top + static_cast<double>(p / kColumns) * kPanelHeight, kPanelWidth, kPanelHeight};
    draw_line_plot(canvas, frame,
                   {.title = panels[p].title,
                    .x_label = "epoch",
                    .y_label = y_label,
                    .y_low = y_axis.low,
                    .y_high = y_axis.high,
                    .x_low = 0.0,
                    .x_high = last_epoch,
                    .legend = p == 0},
                   series);
  }
  return canvas.to_rgb();
}

}  // namespace s8net::report
