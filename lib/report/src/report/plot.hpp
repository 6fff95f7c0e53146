// Charts on a Canvas: line plots (one axis frame, several series, legend) and grouped bar charts,
// each drawn into a given rectangle so figures can put several side by side.
#pragma once

#include "canvas.hpp"

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace s8net::report {

struct Series {
  std::string name;
  std::vector<double> x, y;
  Colour colour;
  bool dashed = false;
  // Error bars, when given: point i's bar spans error_low[i] .. error_high[i] (same size as y).
  std::vector<double> error_low = {}, error_high = {};
  // Drawn this many pixels right of its x: the error bars of series sharing an x side by side.
  double x_shift = 0;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::optional<double> y_low = std::nullopt,
                        y_high = std::nullopt;  // fixed ends of the y axis; otherwise the data's, rounded out
  std::optional<double> x_low = std::nullopt,
                        x_high = std::nullopt;  // ends the x axis must include (e.g. the planned epochs)
  bool legend = true;
  bool integer_x = true;  // epochs: no fractional x ticks
  // Powers of two spread evenly (batch sizes): ticks at 1, 2, 4, 8, ... covering the data; x > 0.
  bool log2_x = false;
};

void draw_line_plot(Canvas& canvas, const Rect& frame, const LinePlot& plot, std::span<const Series> series);

struct BarSeries {
  std::string name;
  std::vector<double> values;  // one per category
  Colour colour;
};

struct BarChart {
  std::string title, y_label;
  std::vector<std::string> categories;
  std::function<std::string(double)> value_label;  // the text above each bar
  bool legend = true;
};

void draw_bar_chart(Canvas& canvas, const Rect& frame, const BarChart& chart, std::span<const BarSeries> series);

// A figure's title (and a smaller grey subtitle under it) across the top of the canvas; returns
// the height they took.
double draw_figure_title(Canvas& canvas, const std::string& title, const std::string& subtitle = {});

}  // namespace s8net::report
