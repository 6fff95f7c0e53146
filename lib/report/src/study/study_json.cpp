#include "study_files.hpp"
#include "study_metrics.hpp"

#include <nlohmann/json.hpp>

namespace s8net::study {
namespace {

using nlohmann::ordered_json;

ordered_json optional_number(const std::optional<double>& value) { return value ? ordered_json(*value) : nullptr; }

ordered_json summary_json(const std::optional<Summary>& summary) {
  const int64_t n = summary ? summary->count : 0;
  ordered_json j = {{"n", n}, {"mean", nullptr}, {"sd", nullptr}, {"ci95_low", nullptr}, {"ci95_high", nullptr}};
  if (n >= 1) j["mean"] = summary->mean;
  // One seed has no spread to speak of: null rather than a zero that looks measured.
  if (n >= 2) {
    j["sd"] = summary->standard_deviation;
    j["ci95_low"] = summary->interval_low;
    j["ci95_high"] = summary->interval_high;
  }
  return j;
}

}  // namespace

std::string study_json(const Grid& grid, const std::vector<StudyRow>& rows, const std::vector<StudyCell>& cells) {
  ordered_json root;
  root["grid"] = {
      {"norms", grid.norms}, {"batches", grid.batches}, {"seeds", grid.seeds}, {"tta", grid.test_time_views}};
  ordered_json& row_list = root["rows"] = ordered_json::array();
  for (const StudyRow& row : rows) {
    const bool finished = row.status == PointOutcome::Status::finished;
    auto if_finished = [&](auto value) { return finished ? ordered_json(value) : ordered_json(nullptr); };
    row_list.push_back({{"name", row.point.name()},
                        {"norm", row.point.norm},
                        {"batch", row.point.batch},
                        {"seed", row.point.seed},
                        {"status", name_of(row.status)},
                        {"reason", row.reason},
                        {"lr", if_finished(row.learning_rate)},
                        {"epochs", if_finished(row.epochs)},
                        {"final_test_acc", if_finished(row.final_test_accuracy)},
                        {"best_val_acc", optional_number(row.best_val_accuracy)},
                        {"test_at_best_val", optional_number(row.test_at_best_val)},
                        {"test_tta_acc", optional_number(row.test_with_views)},
                        {"train_img_s", if_finished(row.train_images_per_second)},
                        {"wall_s", row.wall_seconds},
                        {"test_acc_per_epoch", row.test_accuracy_per_epoch}});
  }
  const std::vector<CellMetric> metrics = metrics_of(cells);
  ordered_json& metric_list = root["metrics"] = ordered_json::array();
  for (const CellMetric& m : metrics) metric_list.push_back({{"key", m.key}, {"title", m.title}, {"source", m.source}});
  ordered_json& summaries = root["summaries"] = ordered_json::array();
  for (const StudyCell& cell : cells) {
    ordered_json j = {{"norm", cell.norm}, {"batch", cell.batch}};
    for (const CellMetric& m : metrics) j[m.key] = summary_json(m.summary_of(cell));
    summaries.push_back(std::move(j));
  }
  // A reason quoted from a failed process's output may hold bytes that are not UTF-8.
  return root.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace s8net::study
