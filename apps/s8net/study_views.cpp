#include "study_views.hpp"

#include "commands.hpp"
#include "progress.hpp"

#include <s8net/data/any_data_source.hpp>
#include <s8net/study/aggregate.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/trainer.hpp>

#include <chrono>
#include <cstdio>

namespace s8net::app {
namespace {

namespace fs = std::filesystem;

// Thrown from the progress callback, between two batches, when a signal asked the study to stop.
struct Interrupted {};

}  // namespace

bool evaluate_with_views(Context& context, const std::vector<std::string>& plugin_dirs, const std::string& data_path,
                         const fs::path& study_dir, std::vector<study::StudyRow>& rows,
                         const TestTimeAugmentation& views, const InterruptRequest& interrupt) {
  const std::string name = name_of(views);
  std::vector<study::StudyRow*> left;
  for (study::StudyRow& row : rows)
    if (row.status == study::PointOutcome::Status::finished && !row.test_with_views) left.push_back(&row);
  if (left.empty()) return true;
  const auto registry = load_plugins(context, plugin_dirs);
  const CifarData data = load_any_cifar(data_path);
  ProgressLine line;
  for (size_t i = 0; i < left.size(); ++i) {
    if (interrupt.requested()) return false;
    const fs::path run = study::run_directory(study_dir, left[i]->point);
    const fs::path checkpoint_file = run / kLastCheckpoint;
    const Checkpoint checkpoint = load_checkpoint(checkpoint_file.string());
    const auto network = network_from_checkpoint(context, *registry, checkpoint, checkpoint_file.string());
    const auto start = std::chrono::steady_clock::now();
    const std::string label = "evaluating " + left[i]->point.name() + " with " + name + " (" + std::to_string(i + 1) +
                              "/" + std::to_string(left.size()) + ")";
    const auto progress = [&, draw = counting_progress(line, label)](int64_t done, int64_t total) {
      if (interrupt.requested()) throw Interrupted{};
      draw(done, total);
    };
    EvalResult r;
    try {
      r = evaluate(*network, data.test.first(checkpoint.config.limit_test),
                   Augmenter(checkpoint.config.augment_options), 256, progress, views);
    } catch (const Interrupted&) {
      line.clear();
      return false;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    line.clear();
    study::record_test_accuracy(run, name, views.views(), r, seconds);
    left[i]->test_with_views = r.accuracy();
    std::printf("%s: test accuracy %.2f%% with %s (%lld views, %.1f s)\n", left[i]->point.name().c_str(), r.accuracy(),
                name.c_str(), static_cast<long long>(views.views()), seconds);
    std::fflush(stdout);
  }
  return !interrupt.requested();
}

}  // namespace s8net::app
