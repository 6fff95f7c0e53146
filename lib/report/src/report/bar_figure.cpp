#include "plot.hpp"

#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/report/bar_figure.hpp>

#include <algorithm>
#include <cmath>

namespace s8net::report {

RgbImage draw_bar_figure(const std::string& title, std::span<const BarPanel> panels, int width, int height) {
  Canvas canvas(width, height);
  const double top = draw_figure_title(canvas, title);
  const double panel_width = width / static_cast<double>(std::max<size_t>(panels.size(), 1));
  for (size_t p = 0; p < panels.size(); ++p) {
    const BarPanel& panel = panels[p];
    if (panel.values.size() != panel.series.size())
      throw Error("bar chart '" + panel.title + "': " + std::to_string(panel.values.size()) + " value rows for " +
                  std::to_string(panel.series.size()) + " series");
    BarChart chart{panel.title, panel.y_label, panel.categories,
                   panel.label ? panel.label : [](double v) { return with_thousands(std::llround(v)); }};
    std::vector<BarSeries> series;
    for (size_t s = 0; s < panel.series.size(); ++s) {
      if (panel.values[s].size() != panel.categories.size())
        throw Error("bar chart '" + panel.title + "': series '" + panel.series[s] + "' has " +
                    std::to_string(panel.values[s].size()) + " values for " + std::to_string(panel.categories.size()) +
                    " categories");
      series.push_back({panel.series[s], panel.values[s], series_colour(s)});
    }
    draw_bar_chart(canvas, {panel_width * static_cast<double>(p), top, panel_width, height - top}, chart, series);
  }
  return canvas.to_rgb();
}

}  // namespace s8net::report
