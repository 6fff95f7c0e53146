#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/report/compare.hpp>
#include <s8net/study/aggregate.hpp>
#include <s8net/train/trainer.hpp>

#include <nlohmann/json.hpp>

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

// The test accuracy the file records for `views`, if it records those.
std::optional<double> test_accuracy_with(const std::filesystem::path& file, const std::string& views) {
  if (!std::filesystem::exists(file)) return std::nullopt;
  try {
    const std::vector<uint8_t> bytes = read_file_bytes(file);
    const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end());
    if (j.at("tta").get<std::string>() != views) return std::nullopt;
    return j.at("test_acc").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": " + e.what());
  }
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
    row.test_with_views = test_accuracy_with(directory / kTestTimeViewsFile, test_time_views);
  return row;
}

}  // namespace

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
