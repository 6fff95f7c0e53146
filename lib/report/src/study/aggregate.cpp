#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/report/compare.hpp>
#include <s8net/study/aggregate.hpp>
#include <s8net/train/trainer.hpp>

#include <nlohmann/json.hpp>

#include <cmath>

namespace s8net::study {

const char* name_of(PointOutcome::Status status) noexcept {
  switch (status) {
    case PointOutcome::Status::finished:
      return "finished";
    case PointOutcome::Status::failed:
      return "failed";
    case PointOutcome::Status::not_run:
      return "not_run";
  }
  return "unknown";
}

namespace {

StudyRow row_of(const PointOutcome& outcome) {
  StudyRow row;
  row.point = outcome.point;
  row.status = outcome.status;
  row.reason = outcome.reason;
  row.wall_seconds = outcome.wall_seconds;
  return row;
}

// A run directory that holds another point's run would put its numbers in the wrong cell.
void check_run_is_the_point(const TrainConfig& config, const GridPoint& point, const std::filesystem::path& file) {
  if (config.norm != point.norm || config.batch_size != point.batch || config.seed != point.seed)
    throw Error(file.string() + ": the run of norm " + config.norm + ", batch " + std::to_string(config.batch_size) +
                ", seed " + std::to_string(config.seed) + ", not of the study's point " + point.name());
}

StudyRow finished_row(const std::filesystem::path& study, const PointOutcome& outcome,
                      const std::string& test_time_views) {
  const std::filesystem::path directory = run_directory(study, outcome.point);
  const report::RunRecord run = report::load_run(directory);
  check_run_is_the_point(run.config, outcome.point, directory / kConfigFile);
  StudyRow row = row_of(outcome);
  row.learning_rate = peak_learning_rate(run.config);
  row.epochs = run.history.back().epoch;
  row.final_test_accuracy = run.history.back().test_accuracy();
  if (run.history.back().has_validation()) {
    const EpochMetrics& best = best_epoch(run.history);
    row.best_val_accuracy = best.val_accuracy();
    row.test_at_best_val = best.test_accuracy();
  }
  row.train_images_per_second = median_training_images_per_second(run.history);
  for (const EpochMetrics& m : run.history) row.test_accuracy_per_epoch.push_back(m.test_accuracy());
  if (test_time_views != "none")
    row.test_with_views = recorded_test_accuracy(directory, test_time_views, run.history.back().test_total);
  return row;
}

}  // namespace

std::optional<double> recorded_test_accuracy(const std::filesystem::path& run, const std::string& views,
                                             int64_t test_images) {
  const std::filesystem::path file = run / kTestTimeViewsFile;
  try {
    if (!std::filesystem::is_regular_file(file)) return std::nullopt;
    const std::vector<uint8_t> bytes = read_file_bytes(file);
    const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end());
    const int64_t correct = j.at("test_correct").get<int64_t>(), total = j.at("test_total").get<int64_t>();
    if (j.at("tta").get<std::string>() != views || total != test_images || total <= 0 || correct < 0 || correct > total)
      return std::nullopt;
    const double accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(total);
    if (!(std::abs(j.at("test_acc").get<double>() - accuracy) < 1e-6)) return std::nullopt;
    return accuracy;
  } catch (const std::exception&) {  // unreadable, not JSON, or a field missing or of another type
    return std::nullopt;
  }
}

void record_test_accuracy(const std::filesystem::path& run, const std::string& views, int64_t view_count,
                          const EvalResult& result, double seconds) {
  const nlohmann::ordered_json j = {{"tta", views},
                                    {"views", view_count},
                                    {"test_loss", result.loss},
                                    {"test_correct", result.correct},
                                    {"test_total", result.total},
                                    {"test_acc", result.accuracy()},
                                    {"seconds", seconds}};
  write_file_atomically(run / kTestTimeViewsFile, j.dump(2) + "\n");
}

std::vector<StudyRow> collect_rows(const std::filesystem::path& study, const std::vector<PointOutcome>& outcomes,
                                   const std::string& test_time_views) {
  std::vector<StudyRow> rows;
  rows.reserve(outcomes.size());
  for (const PointOutcome& outcome : outcomes) {
    rows.push_back(outcome.status == PointOutcome::Status::finished ? finished_row(study, outcome, test_time_views)
                                                                    : row_of(outcome));
  }
  return rows;
}

}  // namespace s8net::study
