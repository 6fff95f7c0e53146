// Comparing training runs (BN vs GN vs LN, or any runs): their test loss and accuracy per epoch
// in one figure, bars of final accuracy and of training throughput, and compare.html.
#pragma once

#include <s8net/data/image_codec.hpp>
#include <s8net/train/train_config.hpp>
#include <s8net/train/trainer.hpp>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace s8net::report {

inline constexpr const char* kCompareFile = "compare.html";
inline constexpr const char* kCompareCurvesFile = "compare_loss_acc.png";
inline constexpr const char* kCompareBarsFile = "compare_final.png";

struct RunRecord {
  std::filesystem::path directory;
  std::string label;  // legend and table name
  TrainConfig config;
  std::vector<EpochMetrics> history;  // at least one epoch
};

// A run directory's config.json and metrics.jsonl. Throws s8net::Error naming the directory and
// what is wrong (missing, not a run, no finished epoch, unreadable lines).
RunRecord load_run(const std::filesystem::path& directory);

// Labels each run by its norm; where several runs share a norm, "norm (recipe recipe)" when the
// recipe tells them apart, else "norm (directory name)".
void label_runs(std::vector<RunRecord>& runs);

// How a run's curves are drawn. When no norm has more than two runs, the runs of a norm share its
// colour and the second one given is dashed (one recipe against another, norm by norm); otherwise
// every run has a colour of its own.
struct CurveStyle {
  size_t colour = 0;  // index into the series palette
  bool dashed = false;
};
std::vector<CurveStyle> curve_styles(std::span<const RunRecord> runs);

// What the comparison's curves are plotted against: the epoch, or the minutes the run had spent
// by the end of that epoch (the sum of its epochs' times, training and evaluation), which puts a
// short recipe and a long one on one time scale.
enum class CompareAxis { epochs, minutes };
CompareAxis parse_compare_axis(const std::string& name);  // "epochs" or "minutes"; throws s8net::Error
// The minutes a run had spent by the end of each epoch.
std::vector<double> cumulative_minutes(std::span<const EpochMetrics> history);

// Test loss and test accuracy per epoch or per minute, a line per run (1260 x 480).
RgbImage draw_comparison_curves(std::span<const RunRecord> runs, CompareAxis axis = CompareAxis::epochs);
// Final and best test accuracy, and training throughput, a bar per run (1260 x 460).
RgbImage draw_comparison_bars(std::span<const RunRecord> runs);

// The two figures and compare.html (the table of final results, the settings of each run) in
// `directory`; returns the files written.
std::vector<std::filesystem::path> write_comparison(std::span<const RunRecord> runs,
                                                    const std::filesystem::path& directory,
                                                    CompareAxis axis = CompareAxis::epochs);

}  // namespace s8net::report
