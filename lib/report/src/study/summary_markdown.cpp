#include "study_files.hpp"
#include "study_metrics.hpp"

#include <s8net/core/format.hpp>

#include <algorithm>

namespace s8net::study {
namespace {

// A table cell or list item on one line: line breaks would end it, a bar would split the cell.
std::string markdown_text(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n' || c == '\r')
      out += ' ';
    else if (c == '|')
      out += "\\|";
    else
      out += c;
  }
  return out;
}

std::string points_with_status(const std::vector<StudyRow>& rows, PointOutcome::Status status) {
  std::string list;
  for (const StudyRow& row : rows)
    if (row.status == status)
      list += "- `" + row.point.name() + "`" + (row.reason.empty() ? "" : ": " + markdown_text(row.reason)) + "\n";
  return list;
}

}  // namespace

std::string describe_grid(const Grid& grid, const std::vector<StudyRow>& rows) {
  std::string norms, batches;
  for (const std::string& n : grid.norms) norms += (norms.empty() ? "" : ", ") + n;
  for (const int64_t b : grid.batches) batches += (batches.empty() ? "" : ", ") + std::to_string(b);
  auto count = [&](PointOutcome::Status s) {
    return std::to_string(std::count_if(rows.begin(), rows.end(), [&](const StudyRow& r) { return r.status == s; }));
  };
  const std::string views = grid.test_time_views == "none" ? "" : "; test-time views " + grid.test_time_views;
  return "Norms " + norms + "; batch sizes " + batches + "; seeds 1.." + std::to_string(grid.seeds) + views + ". " +
         std::to_string(rows.size()) + " points: " + count(PointOutcome::Status::finished) + " finished, " +
         count(PointOutcome::Status::failed) + " failed, " + count(PointOutcome::Status::not_run) + " not run.";
}

std::string summary_markdown(const Grid& grid, const std::vector<StudyRow>& rows, const std::vector<StudyCell>& cells) {
  std::string md = "# Study summary\n\n" + describe_grid(grid, rows) + "\n\n" + kStatisticsNote + "\n";
  for (const CellMetric& metric : metrics_of(cells)) {
    md += "\n## " + metric.title + "\n\nFrom the " + metric.source + ".\n\n";
    md += "| norm | batch | n | mean | sd | 95% CI |\n|:--|--:|--:|--:|--:|--:|\n";
    for (const StudyCell& cell : cells) {
      const SummaryCells s = summary_cells(metric.summary_of(cell), metric.format);
      md += "| " + markdown_text(cell.norm) + " | " + std::to_string(cell.batch) + " | " + s.count + " | " + s.mean +
            " | " + s.standard_deviation + " | " + s.interval + " |\n";
    }
  }
  const std::string failed = points_with_status(rows, PointOutcome::Status::failed);
  if (!failed.empty()) md += "\n## Failed points\n\n" + failed;
  const std::string not_run = points_with_status(rows, PointOutcome::Status::not_run);
  if (!not_run.empty()) md += "\n## Points not run\n\n" + not_run;
  return md;
}

}  // namespace s8net::study
