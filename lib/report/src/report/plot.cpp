#include "plot.hpp"

#include <s8net/report/axis_ticks.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace s8net::report {
namespace {

constexpr Font kTitleFont{15, true};
constexpr Font kLabelFont{13, false};
constexpr Font kTickFont{11.5, false};
constexpr Font kLegendFont{12, false};

// Space around the plotting area inside a frame: title above, y label and ticks left, x ticks
// and label below.
constexpr double kTop = 34, kLeft = 74, kBottom = 50, kRight = 18;

Rect plot_area(const Rect& frame) {
  return {frame.x + kLeft, frame.y + kTop, frame.width - kLeft - kRight, frame.height - kTop - kBottom};
}

void draw_frame_labels(Canvas& canvas, const Rect& frame, const Rect& area, const std::string& title,
                       const std::string& x_label, const std::string& y_label) {
  canvas.text(title, area.centre_x(), frame.y + 8, HAlign::centre, VAlign::top, kTitleFont);
  if (!x_label.empty())
    canvas.text(x_label, area.centre_x(), frame.bottom() - 6, HAlign::centre, VAlign::bottom, kLabelFont);
  if (!y_label.empty())
    canvas.text(y_label, frame.x + 6, area.centre_y(), HAlign::centre, VAlign::top, kLabelFont, colours::text, 90);
}

void draw_y_axis(Canvas& canvas, const Rect& area, const AxisTicks& ticks) {
  for (const double v : ticks.values) {
    const double y = area.bottom() - (v - ticks.low) / (ticks.high - ticks.low) * area.height;
    canvas.line(area.x, y, area.right(), y, colours::grid);
    canvas.line(area.x - 4, y, area.x, y, colours::axis);
    canvas.text(tick_label(v, ticks.step), area.x - 7, y, HAlign::right, VAlign::middle, kTickFont, colours::axis);
  }
}

struct LegendEntry {
  std::string name;
  Colour colour;
  bool dashed = false;
};

Rect legend_box(Canvas& canvas, std::span<const LegendEntry> entries) {
  double width = 0;
  for (const LegendEntry& e : entries) width = std::max(width, canvas.text_width(e.name, kLegendFont));
  return {0, 0, width + 46, 10.0 + 18.0 * static_cast<double>(entries.size())};
}

void draw_legend(Canvas& canvas, Rect box, std::span<const LegendEntry> entries) {
  canvas.fill(box, Colour::rgb(0xffffff, 0.88));
  canvas.outline(box, Colour::rgb(0xcccccc));
  for (size_t i = 0; i < entries.size(); ++i) {
    const double y = box.y + 14 + 18.0 * static_cast<double>(i);
    canvas.line(box.x + 8, y, box.x + 34, y, entries[i].colour, 2.5, entries[i].dashed);
    canvas.text(entries[i].name, box.x + 40, y, HAlign::left, VAlign::middle, kLegendFont);
  }
}

// The corner of `area` where the legend covers the fewest data points.
Rect place_legend(const Rect& area, Rect box, std::span<const std::pair<double, double>> points) {
  const double pad = 8;
  const std::array<std::pair<double, double>, 4> corners = {
      std::pair{area.right() - box.width - pad, area.y + pad},
      {area.right() - box.width - pad, area.bottom() - box.height - pad},
      {area.x + pad, area.y + pad},
      {area.x + pad, area.bottom() - box.height - pad}};
  size_t best_hits = std::numeric_limits<size_t>::max();
  Rect best = box;
  for (const auto& [x, y] : corners) {
    const Rect candidate{x, y, box.width, box.height};
    const auto hits = static_cast<size_t>(std::count_if(points.begin(), points.end(), [&](const auto& p) {
      return p.first >= candidate.x - 4 && p.first <= candidate.right() + 4 && p.second >= candidate.y - 4 &&
             p.second <= candidate.bottom() + 4;
    }));
    if (hits < best_hits) best_hits = hits, best = candidate;
  }
  return best;
}

// Ticks at whole exponents (of two) covering [low, high]: every exponent while they fit in
// max_ticks, else every second, fourth ... The axis reaches a third of a step past the outer
// ticks so that points there and their error bars stay clear of the frame.
AxisTicks log2_ticks(double low, double high, int max_ticks) {
  AxisTicks ticks;
  const double first = std::floor(low);
  ticks.step = 1;
  while ((std::ceil(high) - first) / ticks.step + 1 > max_ticks) ticks.step *= 2;
  for (double v = first; v < high + ticks.step - 1e-9; v += ticks.step) ticks.values.push_back(v);
  ticks.low = ticks.values.front() - ticks.step / 3, ticks.high = ticks.values.back() + ticks.step / 3;
  return ticks;
}

}  // namespace

double draw_figure_title(Canvas& canvas, const std::string& title, const std::string& subtitle) {
  constexpr Font kFigureTitle{16, true}, kSubtitle{12.5, false};
  double height = 0;
  if (!title.empty()) {
    canvas.text(canvas.fit_text(title, canvas.width() - 20, kFigureTitle), canvas.width() / 2.0, 10, HAlign::centre,
                VAlign::top, kFigureTitle);
    height = 34;
  }
  if (!subtitle.empty()) {
    canvas.text(canvas.fit_text(subtitle, canvas.width() - 20, kSubtitle), canvas.width() / 2.0, height + 2,
                HAlign::centre, VAlign::top, kSubtitle, colours::axis);
    height += 22;
  }
  return height;
}

void draw_line_plot(Canvas& canvas, const Rect& frame, const LinePlot& plot, std::span<const Series> series) {
  const Rect area = plot_area(frame);
  // A log2 axis is a linear axis of the exponents.
  auto to_axis = [&](double x) { return plot.log2_x ? std::log2(x) : x; };
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min, y_min = x_min, y_max = -x_min;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x_min = std::min(x_min, to_axis(s.x[i])), x_max = std::max(x_max, to_axis(s.x[i]));
      y_min = std::min(y_min, s.y[i]), y_max = std::max(y_max, s.y[i]);
      if (i < s.error_low.size() && std::isfinite(s.error_low[i])) y_min = std::min(y_min, s.error_low[i]);
      if (i < s.error_high.size() && std::isfinite(s.error_high[i])) y_max = std::max(y_max, s.error_high[i]);
    }
  if (!std::isfinite(x_min)) x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  if (plot.x_low) x_min = std::min(x_min, to_axis(*plot.x_low));
  if (plot.x_high) x_max = std::max(x_max, to_axis(*plot.x_high));
  AxisTicks x_ticks;
  if (plot.log2_x) {
    x_ticks = log2_ticks(x_min, x_max, 11);
  } else {
    if (plot.integer_x) x_max = std::max(x_max, x_min + 1);
    x_ticks = nice_ticks(plot.integer_x ? std::floor(x_min) : x_min, x_max, 11);
    if (plot.integer_x && x_ticks.step < 1) x_ticks = nice_ticks(std::floor(x_min), std::ceil(x_max), 2);
  }
  // A margin of 4% keeps the extreme points off the frame.
  const double y_margin = (y_max - y_min) * 0.04;
  AxisTicks y_ticks = nice_ticks(plot.y_low.value_or(y_min - y_margin), plot.y_high.value_or(y_max + y_margin), 7);
  if (plot.y_low) y_ticks.low = *plot.y_low;
  if (plot.y_high) y_ticks.high = *plot.y_high;
  std::erase_if(y_ticks.values, [&](double v) { return v < y_ticks.low - 1e-12 || v > y_ticks.high + 1e-12; });

  auto px = [&](double x) { return area.x + (to_axis(x) - x_ticks.low) / (x_ticks.high - x_ticks.low) * area.width; };
  auto py = [&](double y) { return area.bottom() - (y - y_ticks.low) / (y_ticks.high - y_ticks.low) * area.height; };

  draw_y_axis(canvas, area, y_ticks);
  for (const double v : x_ticks.values) {
    const double x = area.x + (v - x_ticks.low) / (x_ticks.high - x_ticks.low) * area.width;
    const std::string label = plot.log2_x ? tick_label(std::exp2(v), 1) : tick_label(v, x_ticks.step);
    canvas.line(x, area.y, x, area.bottom(), colours::grid);
    canvas.line(x, area.bottom(), x, area.bottom() + 4, colours::axis);
    canvas.text(label, x, area.bottom() + 7, HAlign::centre, VAlign::top, kTickFont, colours::axis);
  }
  canvas.outline(area, colours::axis);
  draw_frame_labels(canvas, frame, area, plot.title, plot.x_label, plot.y_label);

  std::vector<std::pair<double, double>> points;
  std::vector<LegendEntry> legend;
  for (const Series& s : series) {
    std::vector<double> xs, ys;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) xs.push_back(px(s.x[i]) + s.x_shift), ys.push_back(py(s.y[i]));
    canvas.polyline(xs, ys, s.colour, 2.2, s.dashed);
    if (xs.size() <= 40)
      for (size_t i = 0; i < xs.size(); ++i) canvas.dot(xs[i], ys[i], 3.2, s.colour);
    for (size_t i = 0; i < s.x.size() && i < s.error_low.size() && i < s.error_high.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.error_low[i]) || !std::isfinite(s.error_high[i])) continue;
      // A point without spread (one seed) gets no bar rather than caps that look like one.
      if (!(s.error_high[i] > s.error_low[i])) continue;
      const double x = px(s.x[i]) + s.x_shift, top = py(s.error_high[i]), bottom = py(s.error_low[i]);
      constexpr double kCap = 5;
      canvas.line(x, top, x, bottom, s.colour, 1.5);
      canvas.line(x - kCap, top, x + kCap, top, s.colour, 1.5);
      canvas.line(x - kCap, bottom, x + kCap, bottom, s.colour, 1.5);
      points.emplace_back(x, top), points.emplace_back(x, bottom);
    }
    // The legend avoids lines, not only their points: sample along each segment.
    for (size_t i = 0; i < xs.size(); ++i) {
      points.emplace_back(xs[i], ys[i]);
      if (i + 1 < xs.size())
        for (int k = 1; k < 8; ++k)
          points.emplace_back(xs[i] + (xs[i + 1] - xs[i]) * k / 8, ys[i] + (ys[i + 1] - ys[i]) * k / 8);
    }
    legend.push_back({s.name, s.colour, s.dashed});
  }
  if (plot.legend && !legend.empty())
    draw_legend(canvas, place_legend(area, legend_box(canvas, legend), points), legend);
}

void draw_bar_chart(Canvas& canvas, const Rect& frame, const BarChart& chart, std::span<const BarSeries> series) {
  const bool legend = chart.legend && series.size() > 1;
  Rect area = plot_area(frame);
  // A legend gets its own row between the title and the bars: bars fill every corner of the area.
  constexpr double kLegendRow = 24;
  if (legend) area.y += kLegendRow, area.height -= kLegendRow;
  double y_max = 0;
  for (const BarSeries& s : series)
    for (const double v : s.values) y_max = std::max(y_max, v);
  // Room above the tallest bar for its value label.
  AxisTicks y_ticks = nice_ticks(0, y_max * 1.12, 7);
  auto py = [&](double y) { return area.bottom() - y / y_ticks.high * area.height; };
  draw_y_axis(canvas, area, y_ticks);
  canvas.outline(area, colours::axis);
  draw_frame_labels(canvas, frame, area, chart.title, "", chart.y_label);

  const double group_width = area.width / static_cast<double>(std::max<size_t>(chart.categories.size(), 1));
  const double bar_width = group_width * 0.8 / static_cast<double>(std::max<size_t>(series.size(), 1));
  const Font value_font{series.size() > 1 ? 10.0 : 12.0, false};
  for (size_t c = 0; c < chart.categories.size(); ++c) {
    const double group_x = area.x + group_width * static_cast<double>(c);
    canvas.text(canvas.fit_text(chart.categories[c], group_width - 4, kTickFont), group_x + group_width / 2,
                area.bottom() + 7, HAlign::centre, VAlign::top, kTickFont, colours::text);
    for (size_t s = 0; s < series.size(); ++s) {
      const double value = series[s].values[c];
      const Rect bar{group_x + group_width * 0.1 + bar_width * static_cast<double>(s), py(value), bar_width * 0.92,
                     area.bottom() - py(value)};
      canvas.fill(bar, series[s].colour);
      if (chart.value_label)
        canvas.text(chart.value_label(value), bar.centre_x(), bar.y - 3, HAlign::centre, VAlign::bottom, value_font);
    }
  }
  if (legend) {
    double x = area.right();
    const double y = area.y - kLegendRow / 2 - 2;
    for (size_t s = series.size(); s-- > 0;) {
      x -= canvas.text_width(series[s].name, kLegendFont);
      canvas.text(series[s].name, x, y, HAlign::left, VAlign::middle, kLegendFont);
      x -= 30;
      canvas.fill({x, y - 6, 22, 12}, series[s].colour);
      x -= 18;
    }
  }
}

}  // namespace s8net::report
