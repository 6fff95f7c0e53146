// The figures of a study (many runs over norms, batch sizes and seeds): a measure against batch
// size on a log2 axis, a line per norm with error bars; learning curves as small multiples, one
// panel per batch size with a line per norm.
#pragma once

#include <s8net/data/image_codec.hpp>

#include <span>
#include <string>
#include <vector>

namespace s8net::report {

// A norm's values over the batch sizes; the error bar of point i spans low[i] .. high[i].
struct BatchSizeLine {
  std::string name;
  std::vector<double> batches, values, low, high;
};

struct BatchSizePanel {
  std::string title, y_label;
  std::vector<BatchSizeLine> lines;  // the same order in every panel: a norm keeps its colour
};

// The panels left to right under `title` and `subtitle` (760 x 480 for one panel, 1260 x 480 for two,
// 600 pixels wide each beyond); panels of one y label share the y axis.
RgbImage draw_against_batch_size(const std::string& title, const std::string& subtitle,
                                 std::span<const BatchSizePanel> panels);

// A norm's values per epoch (1-based).
struct EpochLine {
  std::string name;
  std::vector<double> epochs, values;
};

struct EpochPanel {
  std::string title;
  std::vector<EpochLine> lines;  // the same order in every panel
};

// Three panels to a row (420 x 320 each) under `title` and `subtitle`, all on the same y axis so
// that the panels compare at a glance; the first panel holds the legend.
RgbImage draw_small_multiples(const std::string& title, const std::string& subtitle, const std::string& y_label,
                              std::span<const EpochPanel> panels);

}  // namespace s8net::report
