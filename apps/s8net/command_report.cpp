// s8net report: draws a run's report.html and pictures again (a finished run, or one trained with
// --no-report); with --data also the confusion matrix and misclassified images of a checkpoint.
#include "commands.hpp"
#include "progress.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/data/any_data_source.hpp>
#include <s8net/report/compare.hpp>
#include <s8net/report/run_report.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/evaluate.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/train_config.hpp>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace s8net::app {

int run_report(int argc, char** argv) {
  std::string run_dir, data_path, checkpoint_choice, out;
  std::vector<std::string> plugin_dirs;
  po::options_description options(
      "s8net report RUN_DIR: draw a run's report.html, curves and (with --data) its test-set pictures");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("run", po::value(&run_dir)->required(), "the run directory (positional)")
      ("data", po::value(&data_path), "data set: adds the confusion matrix, misclassified images, samples and class counts")
      ("checkpoint", po::value(&checkpoint_choice)->default_value("last"), "last, best, or a .s8ckpt file to evaluate")
      ("out", po::value(&out), "where to write (default: the run directory)")
      ("plugin-dir", po::value(&plugin_dirs)->composing(), "extra plugin directory or file (repeatable)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("run", 1);
  if (!parse_command_line(argc, argv, options, nullptr, &positional)) return 0;

  const report::RunRecord run = report::load_run(run_dir);
  // Another run's directory keeps its own report: a report drawn there would replace it.
  std::error_code same_error;
  if (!out.empty() && fs::exists(fs::path(out) / kConfigFile) && !fs::equivalent(out, run_dir, same_error))
    throw Error(out + ": holds another run (its " + kConfigFile +
                "), whose report this would replace; give another --out");
  const fs::path checkpoint_path = checkpoint_choice == "last"   ? fs::path(run_dir) / kLastCheckpoint
                                   : checkpoint_choice == "best" ? fs::path(run_dir) / kBestCheckpoint
                                                                 : fs::path(checkpoint_choice);
  report::RunSnapshot snapshot;
  snapshot.name = report::run_name_of(run_dir);
  snapshot.config = run.config;
  snapshot.history = run.history;
  snapshot.epochs_done = static_cast<int64_t>(run.history.size());

  Context context;
  const auto registry = load_plugins(context, plugin_dirs);
  const bool have_checkpoint = fs::exists(checkpoint_path);
  if (!have_checkpoint && (!data_path.empty() || checkpoint_choice != "last"))
    throw Error(checkpoint_path.string() + ": no such checkpoint");
  std::optional<Checkpoint> checkpoint;
  std::unique_ptr<S8Network> network;
  if (have_checkpoint) {
    checkpoint = load_checkpoint(checkpoint_path);
    // The pictures may come from another checkpoint of the network (an import of the run's export,
    // say), never from a network of another norm than the curves'.
    TrainConfig ours = run.config, theirs = run.config;
    theirs.norm = checkpoint->config.norm;
    if (theirs.norm == ours.norm) {
      const PluginInfo& plugin = registry->find(ours.norm);
      ours.norm_options = without_defaults(plugin, ours.norm_options);
      theirs.norm_options = without_defaults(plugin, checkpoint->config.norm_options);
    }
    if (const auto d = first_difference(ours, theirs))
      throw Error(checkpoint_path.string() + ": a network of " + d->field + " " + d->other + ", but the run in " +
                  run_dir + " has " + d->stored + ": give a checkpoint of this run's network");
    network = network_from_checkpoint(context, *registry, *checkpoint, checkpoint_path.string());
    report::add_network_summary(snapshot, *network);
  }

  CifarData data;
  EvalResult evaluation;
  if (!data_path.empty()) {
    ProgressLine line;
    data = load_any_cifar(data_path, counting_progress(line, "decoding images"));
    data.train = data.train.first(run.config.limit_train);
    data.test = data.test.first(run.config.limit_test);
    evaluation = evaluate(*network, data.test, Augmenter(run.config.augment_options), run.config.eval_batch_size,
                          counting_progress(line, "testing"));
    line.clear();
    snapshot.train = &data.train;
    snapshot.test = &data.test;
    snapshot.evaluation = &evaluation;
    snapshot.evaluated =
        checkpoint_path.filename().string() + " (epoch " + std::to_string(checkpoint->epochs_done) + ")";
  }
  const auto written = report::write_run_report(out.empty() ? fs::path(run_dir) : fs::path(out), snapshot);
  for (const fs::path& file : written) std::printf("%s\n", file.c_str());
  return 0;
}

int run_compare(int argc, char** argv) {
  std::vector<std::string> run_dirs;
  std::string out, x_axis = "epochs";
  po::options_description options(
      "s8net compare RUN_DIR...: test loss and accuracy of several runs in one figure, final results, compare.html");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("run", po::value(&run_dirs)->required(), "run directories (positional, two or more make a comparison)")
      ("out", po::value(&out)->required(), "output directory for compare.html and its pictures")
      ("x", po::value(&x_axis)->default_value("epochs"), "what the curves are plotted against: epochs, or minutes (each run's time spent by the end of each epoch)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("run", -1);
  if (!parse_command_line(argc, argv, options, nullptr, &positional)) return 0;
  report::CompareAxis axis = report::CompareAxis::epochs;
  try {
    axis = report::parse_compare_axis(x_axis);
  } catch (const Error& e) {
    throw po::error(std::string("--x: ") + e.what());
  }

  std::vector<report::RunRecord> runs;
  for (const std::string& dir : run_dirs) runs.push_back(report::load_run(dir));
  report::label_runs(runs);
  create_directories(out);  // a bad --out fails before the table is printed, not after
  for (const report::RunRecord& r : runs)
    std::printf("%-16s %3lld epochs  test acc %6.2f%%  best %6.2f%% (epoch %lld)  %s\n", r.label.c_str(),
                static_cast<long long>(r.history.size()), r.history.back().test_accuracy(),
                best_epoch(r.history).test_accuracy(), static_cast<long long>(best_epoch(r.history).epoch),
                r.directory.c_str());
  for (const fs::path& file : report::write_comparison(runs, out, axis)) std::printf("%s\n", file.c_str());
  return 0;
}

}  // namespace s8net::app
