// Grouped bar charts side by side in one figure, each bar labelled with its value: final
// accuracies of runs, benchmark throughput of BN, GN and LN.
#pragma once

#include <s8net/data/image_codec.hpp>

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace s8net::report {

struct BarPanel {
  std::string title, y_label;
  std::vector<std::string> categories;       // groups along the x axis
  std::vector<std::string> series;           // bars within a group (a legend when more than one)
  std::vector<std::vector<double>> values;   // [series][category]
  std::function<std::string(double)> label;  // the text above a bar; "1,234" when empty
};

// The panels left to right on a width x height canvas under `title`.
RgbImage draw_bar_figure(const std::string& title, std::span<const BarPanel> panels, int width = 1260,
                         int height = 460);

}  // namespace s8net::report
