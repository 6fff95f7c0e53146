#include "study_metrics.hpp"

#include <s8net/core/format.hpp>

#include <cmath>

namespace s8net::study {

std::string percent(double value) { return format_number("%.2f", value); }

std::vector<CellMetric> metrics_of(const std::vector<StudyCell>& cells) {
  std::vector<CellMetric> metrics;
  metrics.push_back({"final_test_acc", "Final test accuracy (%)", "test split, last epoch",
                     [](const StudyCell& c) { return std::optional(c.final_test); }, percent});
  if (any_validation(cells))
    metrics.push_back({"test_at_best_val", "Test accuracy at the best validation epoch (%)",
                       "test split, at the epoch of the highest validation-split accuracy",
                       [](const StudyCell& c) { return c.test_at_best_val; }, percent});
  if (any_test_time_views(cells))
    metrics.push_back({"test_tta_acc", "Test accuracy with test-time views (%)",
                       "test split, the last epoch's weights, each image's views averaged (the study's --tta)",
                       [](const StudyCell& c) { return c.test_with_views; }, percent});
  metrics.push_back({"train_img_s", "Training throughput (images/s)", "training split, each run's median epoch",
                     [](const StudyCell& c) { return std::optional(c.train_images_per_second); },
                     [](double v) { return with_thousands(std::llround(v)); }});
  return metrics;
}

SummaryCells summary_cells(const std::optional<Summary>& summary, const std::function<std::string(double)>& format) {
  const std::string dash = "–";
  if (!summary || summary->count == 0) return {"0", dash, dash, dash};
  if (summary->count == 1) return {"1", format(summary->mean), dash, dash};
  // Appended piece by piece: GCC 12 at -O3 takes "[" + string for an overlapping copy (-Wrestrict).
  std::string interval = "[";
  interval += format(summary->interval_low);
  interval += ", ";
  interval += format(summary->interval_high);
  interval += "]";
  return {std::to_string(summary->count), format(summary->mean), format(summary->standard_deviation), interval};
}

}  // namespace s8net::study
