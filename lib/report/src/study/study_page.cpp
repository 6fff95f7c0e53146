#include "../report/html.hpp"
#include "study_files.hpp"
#include "study_metrics.hpp"

#include <s8net/core/format.hpp>

#include <cmath>

namespace s8net::study {
namespace {

namespace html = report::html;

std::string link(const char* file) { return "<a href=\"" + html::escape(file) + "\">" + html::escape(file) + "</a>"; }

std::string points_table(const std::vector<StudyRow>& rows) {
  html::Table table({"point", "status", "peak lr", "epochs", "final test acc", "best val acc", "test acc at best val",
                     "test acc with test-time views", "training img/s (median epoch)", "wall time", "reason"},
                    {false, false, true, true, true, true, true, true, true, true, false});
  for (const StudyRow& row : rows) {
    const bool finished = row.status == PointOutcome::Status::finished;
    table.row({row.point.name(), name_of(row.status), finished ? format_number("%.6g", row.learning_rate) : "",
               finished ? std::to_string(row.epochs) : "", finished ? percent(row.final_test_accuracy) + "%" : "",
               row.best_val_accuracy ? percent(*row.best_val_accuracy) + "%" : "",
               row.test_at_best_val ? percent(*row.test_at_best_val) + "%" : "",
               row.test_with_views ? percent(*row.test_with_views) + "%" : "",
               finished ? with_thousands(std::llround(row.train_images_per_second)) : "",
               format_duration(row.wall_seconds), row.reason});
  }
  return table.str();
}

}  // namespace

std::string study_page(const Grid& grid, const std::vector<StudyRow>& rows, const std::vector<StudyCell>& cells) {
  std::string page = html::page_start("s8net study");
  page += "<h1>s8net study</h1>\n<p class=\"subtitle\">" + html::escape(describe_grid(grid, rows)) + "</p>\n";
  page += "<p>The same numbers as files: " + link(kStudyCsvFile) + " (a row per point), " + link(kStudyJsonFile) +
          " (the rows and the summaries), " + link(kStudySummaryFile) + ".</p>\n";
  page += "<p>" + html::escape(kStatisticsNote) + "</p>\n";
  for (const CellMetric& metric : metrics_of(cells)) {
    page += "<h2>" + html::escape(metric.title) + "</h2>\n<p>From the " + html::escape(metric.source) + ".</p>\n";
    html::Table table({"norm", "batch", "n", "mean", "sd", "95% CI"}, {false, true, true, true, true, true});
    for (const StudyCell& cell : cells) {
      const SummaryCells s = summary_cells(metric.summary_of(cell), metric.format);
      table.row({cell.norm, std::to_string(cell.batch), s.count, s.mean, s.standard_deviation, s.interval});
    }
    page += table.str();
  }
  page += "<h2>Figures</h2>\n";
  page += html::figure(kStudyAccuracyFigure,
                       "Test accuracy against batch size (log2 axis), a line per norm: the mean over the finished "
                       "seeds; error bars span the 95% confidence interval of the mean (none with one seed)");
  page += html::figure(kStudyThroughputFigure,
                       "Training throughput (images per second, each run's median epoch) against batch size: the mean "
                       "over the finished seeds; error bars span the 95% confidence interval of the mean");
  page += html::figure(kStudyCurvesFigure,
                       "Test accuracy per epoch, a panel per batch size and a line per norm: the mean over the "
                       "finished seeds");
  page += "<h2>Points</h2>\n" + points_table(rows);
  page += html::page_end();
  return page;
}

}  // namespace s8net::study
