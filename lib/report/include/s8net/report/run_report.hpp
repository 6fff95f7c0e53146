// A training run's report: every picture of figures.hpp and report.html, one self-contained page
// (configuration, model summary, results, per-epoch table, the pictures by relative link).
// Trainings redraw it after every epoch; `s8net report` draws it for a finished run.
#pragma once

#include <s8net/data/dataset.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/train/evaluate.hpp>
#include <s8net/train/train_config.hpp>
#include <s8net/train/trainer.hpp>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace s8net::report {

inline constexpr const char* kReportFile = "report.html";
inline constexpr const char* kCurvesFile = "curves_lr_loss_acc.png";
inline constexpr const char* kConfusionFile = "confusion.png";
inline constexpr const char* kMisclassifiedFile = "misclassified.png";
inline constexpr const char* kSamplesFile = "samples.png";
inline constexpr const char* kClassCountsFile = "class_counts.png";
// Every file write_run_report writes into a run directory.
inline constexpr const char* kRunReportFiles[] = {kReportFile,        kCurvesFile,  kConfusionFile,
                                                  kMisclassifiedFile, kSamplesFile, kClassCountsFile};

// What a run report shows. The pointers must outlive write_run_report.
struct RunSnapshot {
  std::string name;  // the heading, usually the run directory's name
  TrainConfig config;
  std::vector<EpochMetrics> history;
  int64_t epochs_done = 0;           // of config.epochs: a running training's page refreshes itself
  std::vector<LayerSummary> layers;  // the model summary
  int64_t parameter_count = 0;
  std::string norm_origin;         // "bn 0.1.0 from FILE"
  std::string layout;              // "nChw8c"
  const Dataset* train = nullptr;  // for class counts and samples
  const Dataset* test = nullptr;
  // Class counts and samples stay the same for the whole training: false keeps the ones already
  // in the directory (drawing them when missing) instead of drawing them again every epoch.
  bool redraw_data_pictures = true;
  const EvalResult* evaluation = nullptr;  // of *test: confusion matrix, misclassified images
  std::string evaluated;                   // what `evaluation` is of: "epoch 20", "best.s8ckpt (epoch 19)"
};

// The name a run goes by: its directory's last component ("runs/bn/" -> "bn").
std::string run_name_of(const std::filesystem::path& directory);

// Fills the snapshot's model summary, parameter count, plugin origin and layout from `network`.
void add_network_summary(RunSnapshot& run, const S8Network& network);

// A snapshot of a trainer after an epoch, with its latest test evaluation.
RunSnapshot snapshot_of(Trainer& trainer, std::string name);

// The run's settings as (name, value) rows a person reads: "schedule" -> "seed, points 0:0.001,...".
std::vector<std::pair<std::string, std::string>> describe(const TrainConfig& config);

// Draws every picture and report.html into `directory` (each file replaced atomically); returns
// the files written.
std::vector<std::filesystem::path> write_run_report(const std::filesystem::path& directory, const RunSnapshot& run);

}  // namespace s8net::report
