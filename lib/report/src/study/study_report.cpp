#include "study_cells.hpp"
#include "study_files.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/report/figures.hpp>
#include <s8net/report/study_figures.hpp>
#include <s8net/study/aggregate.hpp>

namespace s8net::study {
namespace {

namespace fs = std::filesystem;
using report::BatchSizeLine;
using report::BatchSizePanel;

// Each norm's line of one measure over the batch sizes that have a finished point.
BatchSizePanel panel_of(const std::string& title, const std::string& y_label, const Grid& grid,
                        const std::vector<StudyCell>& cells,
                        const std::function<std::optional<Summary>(const StudyCell&)>& summary_of) {
  BatchSizePanel panel{title, y_label, {}};
  for (const std::string& norm : grid.norms) {
    BatchSizeLine line{norm, {}, {}, {}, {}};
    for (const StudyCell& cell : cells) {
      const std::optional<Summary> s = summary_of(cell);
      if (cell.norm != norm || !s || s->count == 0) continue;
      line.batches.push_back(static_cast<double>(cell.batch));
      line.values.push_back(s->mean);
      line.low.push_back(s->interval_low);
      line.high.push_back(s->interval_high);
    }
    panel.lines.push_back(std::move(line));
  }
  return panel;
}

RgbImage draw_accuracy(const Grid& grid, const std::vector<StudyCell>& cells) {
  std::vector<BatchSizePanel> panels = {panel_of("Final test accuracy (last epoch)", "test accuracy (%)", grid, cells,
                                                 [](const StudyCell& c) { return std::optional(c.final_test); })};
  if (any_validation(cells))
    panels.push_back(panel_of("Test accuracy at the best validation epoch", "test accuracy (%)", grid, cells,
                              [](const StudyCell& c) { return c.test_at_best_val; }));
  if (any_test_time_views(cells))
    panels.push_back(panel_of("Test accuracy with test-time views (" + grid.test_time_views + ")", "test accuracy (%)",
                              grid, cells, [](const StudyCell& c) { return c.test_with_views; }));
  return report::draw_against_batch_size("Test accuracy against batch size",
                                         "mean over seeds; error bars: 95% confidence interval of the mean", panels);
}

RgbImage draw_throughput(const Grid& grid, const std::vector<StudyCell>& cells) {
  const BatchSizePanel panels[] = {
      panel_of("Training throughput (median epoch of each run)", "images per second", grid, cells,
               [](const StudyCell& c) { return std::optional(c.train_images_per_second); })};
  return report::draw_against_batch_size("Training throughput against batch size",
                                         "mean over seeds; error bars: 95% confidence interval of the mean", panels);
}

RgbImage draw_learning_curves(const Grid& grid, const std::vector<StudyCell>& cells) {
  std::vector<report::EpochPanel> panels;
  for (const int64_t batch : grid.batches) {
    report::EpochPanel panel{"batch " + std::to_string(batch), {}};
    for (const std::string& norm : grid.norms) {
      report::EpochLine line{norm, {}, {}};
      for (const StudyCell& cell : cells)
        if (cell.norm == norm && cell.batch == batch)
          for (size_t e = 0; e < cell.mean_test_accuracy_per_epoch.size(); ++e) {
            line.epochs.push_back(static_cast<double>(e + 1));
            line.values.push_back(cell.mean_test_accuracy_per_epoch[e]);
          }
      panel.lines.push_back(std::move(line));
    }
    panels.push_back(std::move(panel));
  }
  return report::draw_small_multiples("Test accuracy per epoch", "mean over seeds; a panel per batch size",
                                      "test accuracy (%)", panels);
}

}  // namespace

std::vector<fs::path> write_study_report(const fs::path& study, const Grid& grid, const std::vector<StudyRow>& rows) {
  s8net::create_directories(study);
  const std::vector<StudyCell> cells = cells_of(grid, rows);
  report::write_png(study / kStudyAccuracyFigure, draw_accuracy(grid, cells));
  report::write_png(study / kStudyThroughputFigure, draw_throughput(grid, cells));
  report::write_png(study / kStudyCurvesFigure, draw_learning_curves(grid, cells));
  write_file_atomically(study / kStudyCsvFile, study_csv(rows));
  write_file_atomically(study / kStudyJsonFile, study_json(grid, rows, cells));
  write_file_atomically(study / kStudySummaryFile, summary_markdown(grid, rows, cells));
  // The page last: when it is there, everything it links to is.
  write_file_atomically(study / kStudyPageFile, study_page(grid, rows, cells));
  return {study / kStudyAccuracyFigure, study / kStudyThroughputFigure, study / kStudyCurvesFigure,
          study / kStudyCsvFile,        study / kStudyJsonFile,         study / kStudySummaryFile,
          study / kStudyPageFile};
}

}  // namespace s8net::study
