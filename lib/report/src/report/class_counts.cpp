#include "plot.hpp"

#include <s8net/core/format.hpp>
#include <s8net/report/figures.hpp>

#include <cmath>

namespace s8net::report {

RgbImage draw_class_counts(const Dataset& train, const Dataset& test) {
  Canvas canvas(1100, 440);
  const double top = draw_figure_title(canvas, "Images per class: " + with_thousands(train.size()) + " training, " +
                                                   with_thousands(test.size()) + " test");
  BarChart chart{"", "images", {}, [](double v) { return with_thousands(std::llround(v)); }};
  for (const auto name : kClassNames) chart.categories.emplace_back(name);
  BarSeries train_bars{"training set", {}, series_colour(0)}, test_bars{"test set", {}, series_colour(1)};
  const auto train_counts = train.class_counts(), test_counts = test.class_counts();
  for (int c = 0; c < kClassCount; ++c) {
    train_bars.values.push_back(static_cast<double>(train_counts[static_cast<size_t>(c)]));
    test_bars.values.push_back(static_cast<double>(test_counts[static_cast<size_t>(c)]));
  }
  const BarSeries series[] = {train_bars, test_bars};
  draw_bar_chart(canvas, {0, top, static_cast<double>(canvas.width()), canvas.height() - top}, chart, series);
  return canvas.to_rgb();
}

}  // namespace s8net::report
