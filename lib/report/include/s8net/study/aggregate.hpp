// A study's results: one row per grid point, read from its run directory, and the statistics
// per (norm, batch) over the seeds, written as study.csv, study.json, summary.md, figures and
// study.html in the study directory.
#pragma once

#include <s8net/study/grid.hpp>
#include <s8net/train/evaluate.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace s8net::study {

// What the scheduler knows of a point when the study ends.
struct PointOutcome {
  GridPoint point;
  enum class Status { finished, failed, not_run } status = Status::not_run;
  std::string reason;       // why it failed
  double wall_seconds = 0;  // of the training process(es) that ran it, summed over invocations
};

// "finished", "failed", "not_run": the status column of study.csv and study.json.
const char* name_of(PointOutcome::Status status) noexcept;

struct StudyRow {
  GridPoint point;
  PointOutcome::Status status = PointOutcome::Status::not_run;
  std::string reason;
  double learning_rate = 0;                 // peak_learning_rate of the run's configuration
  int64_t epochs = 0;                       // epochs finished
  double final_test_accuracy = 0;           // percent, last epoch
  std::optional<double> best_val_accuracy;  // percent, the best epoch on validation (runs with --val)
  std::optional<double> test_at_best_val;   // percent, test accuracy at that epoch
  std::optional<double> test_with_views;    // percent, the last epoch's weights with the study's --tta views
  double train_images_per_second = 0;       // median over epochs
  double wall_seconds = 0;
  std::vector<double> test_accuracy_per_epoch;  // percent, epoch 1 first: the learning curve
};

// A finished run's test accuracy with test-time views, as `s8net study --tta` evaluates it once:
// {"tta": name, "views", "test_loss", "test_correct", "test_total", "test_acc", "seconds"}.
inline constexpr const char* kTestTimeViewsFile = "test_time_views.json";

// What a run's file above records for `views` on its `test_images` test images: 100 *
// test_correct / test_total. Nothing when the file is missing, is not such a record, names other
// views or another number of test images, or has an accuracy that is not its counts': the study
// then evaluates the run again rather than report a number it cannot vouch for.
std::optional<double> recorded_test_accuracy(const std::filesystem::path& run, const std::string& views,
                                             int64_t test_images);
// Writes that record (atomically): an evaluation of the run's last checkpoint with `views`
// (`view_count` per image) that took `seconds`.
void record_test_accuracy(const std::filesystem::path& run, const std::string& views, int64_t view_count,
                          const EvalResult& result, double seconds);

// Reads each finished point's run directory (config.json, metrics.jsonl, and with
// `test_time_views` other than "none" what the file above records); the other points get a row of
// their status, reason and wall time alone. Throws s8net::Error naming the file that
// is missing or unreadable, or a config.json whose norm, batch or seed is not its point's.
std::vector<StudyRow> collect_rows(const std::filesystem::path& study, const std::vector<PointOutcome>& outcomes,
                                   const std::string& test_time_views = "none");

// Mean, sample standard deviation and the 95% confidence interval of the mean (Student's t with
// n - 1 degrees of freedom); with one value the deviation is 0 and the interval the value itself,
// with none everything is 0.
struct Summary {
  int64_t count = 0;
  double mean = 0, standard_deviation = 0, interval_low = 0, interval_high = 0;
};
Summary summarize(const std::vector<double>& values);

inline constexpr const char* kStudyCsvFile = "study.csv";
inline constexpr const char* kStudyJsonFile = "study.json";
inline constexpr const char* kStudySummaryFile = "summary.md";
inline constexpr const char* kStudyPageFile = "study.html";
inline constexpr const char* kStudyAccuracyFigure = "study_accuracy.png";
inline constexpr const char* kStudyThroughputFigure = "study_throughput.png";
inline constexpr const char* kStudyCurvesFigure = "study_learning_curves.png";

// Writes study.csv, study.json, summary.md, the figures (test accuracy and training throughput
// against batch size with error bars, learning curves per batch size) and study.html. Returns
// the files written.
std::vector<std::filesystem::path> write_study_report(const std::filesystem::path& study, const Grid& grid,
                                                      const std::vector<StudyRow>& rows);

}  // namespace s8net::study
