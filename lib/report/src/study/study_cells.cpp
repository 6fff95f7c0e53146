#include "study_cells.hpp"

#include <algorithm>

namespace s8net::study {

namespace {

StudyCell cell_of(const std::string& norm, int64_t batch, const std::vector<StudyRow>& rows) {
  std::vector<double> final_test, at_best_val, with_views, throughput;
  std::vector<double> epoch_sums;
  std::vector<int64_t> epoch_counts;
  for (const StudyRow& row : rows) {
    if (row.status != PointOutcome::Status::finished || row.point.norm != norm || row.point.batch != batch) continue;
    final_test.push_back(row.final_test_accuracy);
    if (row.test_at_best_val) at_best_val.push_back(*row.test_at_best_val);
    if (row.test_with_views) with_views.push_back(*row.test_with_views);
    throughput.push_back(row.train_images_per_second);
    const size_t epochs = row.test_accuracy_per_epoch.size();
    if (epoch_sums.size() < epochs) epoch_sums.resize(epochs), epoch_counts.resize(epochs);
    for (size_t e = 0; e < epochs; ++e) epoch_sums[e] += row.test_accuracy_per_epoch[e], ++epoch_counts[e];
  }
  StudyCell cell;
  cell.norm = norm;
  cell.batch = batch;
  cell.final_test = summarize(final_test);
  if (!at_best_val.empty()) cell.test_at_best_val = summarize(at_best_val);
  if (!with_views.empty()) cell.test_with_views = summarize(with_views);
  cell.train_images_per_second = summarize(throughput);
  for (size_t e = 0; e < epoch_sums.size(); ++e)
    cell.mean_test_accuracy_per_epoch.push_back(epoch_sums[e] / static_cast<double>(epoch_counts[e]));
  return cell;
}

}  // namespace

std::vector<StudyCell> cells_of(const Grid& grid, const std::vector<StudyRow>& rows) {
  std::vector<StudyCell> cells;
  for (const std::string& norm : grid.norms)
    for (const int64_t batch : grid.batches) cells.push_back(cell_of(norm, batch, rows));
  return cells;
}

bool any_validation(const std::vector<StudyCell>& cells) {
  return std::any_of(cells.begin(), cells.end(), [](const StudyCell& c) { return c.test_at_best_val.has_value(); });
}

bool any_test_time_views(const std::vector<StudyCell>& cells) {
  return std::any_of(cells.begin(), cells.end(), [](const StudyCell& c) { return c.test_with_views.has_value(); });
}

}  // namespace s8net::study
