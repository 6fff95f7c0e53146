// s8net train: trains the S8 network with a norm plugin; the original "seed" recipe (docs/recipe.md) unless flags
// override it; progress bar, per-epoch table, run directory, --resume.
#include "commands.hpp"
#include "epoch_table.hpp"
#include "interrupt.hpp"
#include "mpi_ranks.hpp"
#include "progress.hpp"
#include "train_flags.hpp"

#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/any_data_source.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/report/run_report.hpp>
#include <s8net/train/evaluate.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/run_directory.hpp>
#include <s8net/train/trainer.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

class ConsoleObserver : public TrainObserver {
 public:
  ConsoleObserver(Trainer& trainer, const InterruptRequest& interrupt, std::filesystem::path run_directory, bool report,
                  std::FILE* step_losses)
      : trainer_(trainer),
        interrupt_(interrupt),
        run_directory_(std::move(run_directory)),
        report_(report),
        step_losses_(step_losses) {}

  bool stop_requested() override { return interrupt_.requested(); }

  void on_batch(const BatchProgress& p) override {
    if (step_losses_ != nullptr) std::fprintf(step_losses_, "%.9g\n", p.batch_loss);
    const double rate = p.seconds > 0 ? static_cast<double>(p.images) / p.seconds : 0;
    const double epoch_left =
        p.batch > 0 ? p.seconds * static_cast<double>(p.batches - p.batch) / static_cast<double>(p.batch) : 0;
    const double epoch_estimate = p.seconds + epoch_left;
    const double run_left = epoch_left + epoch_estimate * static_cast<double>(p.epochs - p.epoch);
    char text[256];
    std::snprintf(text, sizeof text, "epoch %lld/%lld %s %lld/%lld  %s img/s  loss %.4f  acc %.2f%%  ETA %s (run %s)",
                  static_cast<long long>(p.epoch), static_cast<long long>(p.epochs),
                  progress_bar(p.batch, p.batches, 24).c_str(), static_cast<long long>(p.batch),
                  static_cast<long long>(p.batches), with_thousands(std::llround(rate)).c_str(), p.loss, p.accuracy,
                  format_duration(epoch_left).c_str(), format_duration(run_left).c_str());
    line_.show(text, p.batch == p.batches);
  }
  void on_evaluation(int64_t done, int64_t total) override { line_.show(count_progress("testing", done, total)); }
  void on_epoch(const EpochMetrics& m, bool new_best) override {
    print_row(m, new_best);
    if (!report_) return;
    // Redrawn every epoch, so a running training can be watched in report.html. A picture that
    // cannot be written (a full disk) must not end a training whose checkpoints are safe.
    try {
      report::RunSnapshot snapshot = report::snapshot_of(trainer_, report::run_name_of(run_directory_));
      snapshot.redraw_data_pictures = !data_pictures_drawn_;
      report::write_run_report(run_directory_, snapshot);
      data_pictures_drawn_ = true;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "s8net train: warning: report not drawn: %s\n", e.what());
    }
  }
  void clear_line() { line_.clear(); }
  void print_history() {
    // After --resume, the epochs already done, so the table is whole.
    for (const EpochMetrics& m : trainer_.history()) print_row(m, false);
  }

 private:
  void print_row(const EpochMetrics& m, bool new_best) {
    line_.clear();
    if (!header_printed_) {
      std::printf("%s\n", epoch_table_header(trainer_.validation_size() > 0).c_str());
      header_printed_ = true;
    }
    std::printf("%s\n", epoch_table_row(m, new_best).c_str());
    std::fflush(stdout);
  }

  Trainer& trainer_;
  const InterruptRequest& interrupt_;  // the trainer stops between batches once it is requested
  std::filesystem::path run_directory_;
  bool report_;
  std::FILE* step_losses_;            // --step-losses, or nullptr
  bool data_pictures_drawn_ = false;  // by this process: class counts and samples, once
  ProgressLine line_;
  bool header_printed_ = false;
};

// --step-losses names a file of its own: not a directory (found only once the run has begun), not
// one of the files the run writes, and not a file holding anything but step losses (a previous
// --step-losses file may be written again).
void refuse_step_losses_path(const std::string& path, const std::string& out) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) throw po::error("--step-losses " + path + ": a directory; give a file");
  // Absolute first: weakly_canonical leaves a relative path whose first directory is missing as it is.
  const auto resolved = [](const std::string& p) {
    std::error_code error;
    fs::path r = fs::weakly_canonical(fs::absolute(p), error).lexically_normal();
    return r.has_filename() ? r : r.parent_path();
  };
  const fs::path file = resolved(path);
  if (file.parent_path() == resolved(out)) {
    std::vector<const char*> written = {kConfigFile, kMetricsFile, kLastCheckpoint, kBestCheckpoint, kLockFile};
    written.insert(written.end(), std::begin(report::kRunReportFiles), std::end(report::kRunReportFiles));
    for (const char* name : written)
      if (file.filename() == name)
        throw po::error("--step-losses " + path + ": the run writes " + name + " itself; give another file");
  }
  if (!fs::is_regular_file(file)) return;  // new, or a pipe or device (/dev/stdout) that is not read
  std::ifstream existing(file);
  for (std::string line; std::getline(existing, line);) {
    double loss = 0;
    const auto [end, problem] = std::from_chars(line.data(), line.data() + line.size(), loss);
    if (problem != std::errc() || end != line.data() + line.size())
      throw po::error("--step-losses " + path + ": holds something other than step losses; give another file");
  }
}

// Where the trainer stands: "after epoch 3", or "after batch 118 of 1,563 of epoch 4" midway.
std::string stop_point(const Trainer& trainer) {
  const int64_t batches_done = trainer.epoch_in_progress().batches_done;
  if (batches_done == 0) return "after epoch " + std::to_string(trainer.epochs_done());
  return "after batch " + with_thousands(batches_done) + " of " + with_thousands(trainer.batches_per_epoch()) +
         " of epoch " + std::to_string(trainer.epochs_done() + 1);
}

// A resumed run continues its stored configuration: a flag may repeat a stored value, but not change it.
// Norm options are compared as the layers they make: an option repeated at its default is no change.
void refuse_changes(const po::variables_map& values, const TrainConfig& stored, const std::filesystem::path& source,
                    const std::string& out, const NormRegistry& registry) {
  for (const char* flag : train_flag_names()) {
    if (!values.count(flag) || values[flag].defaulted()) continue;
    TrainConfig asked = stored, compared = stored;
    apply_train_flags(values, asked, TrainFlags::all, flag);
    if (std::string_view(flag) == "norm-option" && asked.norm_options != stored.norm_options) {
      const PluginInfo& plugin = registry.find(stored.norm);
      asked.norm_options = without_defaults(plugin, asked.norm_options);
      compared.norm_options = without_defaults(plugin, stored.norm_options);
    }
    if (const auto d = first_difference(compared, asked))
      throw po::error(std::string("--") + flag + " asks for " + d->field + " " + d->other + ", but the run in " + out +
                      " was trained with " + d->stored + " (its configuration is read from " + source.string() +
                      "); --resume continues it unchanged: leave the flag out, or start a new run");
  }
}

// A count of test-time views (1, 2, 5 or 10) in words, as a sentence reads it.
const char* views_in_words(int64_t views) {
  switch (views) {
    case 2:
      return "two";
    case 5:
      return "five";
    case 10:
      return "ten";
    default:
      return "one";
  }
}

}  // namespace

int run_train(int argc, char** argv) {
  std::string data_path, out, step_losses_path;
  std::vector<std::string> plugin_dirs;
  bool resume = false, overwrite = false;
  po::options_description options(
      "s8net train: train the S8 network on CIFAR-10 with a normalization plugin.\n"
      "The recipe is the original work's (--recipe seed) unless --recipe fast (docs/recipe.md); each flag below\n"
      "overrides one part of it");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("data", po::value(&data_path)->required(), "data: a directory written by s8net data prepare, or any source it reads")
      ("out", po::value(&out)->required(), "run directory: config.json, metrics.jsonl, last.s8ckpt, best.s8ckpt")
      ("resume", po::bool_switch(&resume), "continue the run in --out from its last checkpoint, with the configuration stored in it")
      ("overwrite", po::bool_switch(&overwrite), "start a new run in --out even if it holds another run, whose files are replaced")
      ("no-report", po::bool_switch(), "do not draw report.html and its pictures after each epoch")
      ("plugin-dir", po::value(&plugin_dirs)->composing(), "extra plugin directory or file (repeatable)")
      ("step-losses", po::value(&step_losses_path), "write each step's loss over its whole batch to this file, one a line (to compare runs)");
  // clang-format on
  add_train_flags(options, TrainFlags::all);
  po::variables_map values;
  if (!parse_command_line(argc, argv, options, &values)) return 0;
  // Under mpirun, the ranks of a data-parallel training (docs/data-parallel.md); rank 0 alone
  // prints, writes the run directory and its report.
  const std::unique_ptr<Collective> mpi_ranks = mpi_training_ranks();
  Collective& ranks = mpi_ranks ? *mpi_ranks : single_process();
  if (ranks.rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr)
    throw Error("cannot silence the output of " + ranks.where());
  // From here on Ctrl-C or SIGTERM asks for a clean stop: one during the loading below is answered
  // at the first batch, with a checkpoint and the command that resumes, like any other.
  const InterruptRequest interrupt;
  if (resume && overwrite) throw po::error("--resume continues a run and --overwrite replaces it: give one of them");
  if (!step_losses_path.empty()) refuse_step_losses_path(step_losses_path, out);
  if (!resume && !values.count("norm")) throw po::error("the option '--norm' is required (or --resume)");
  const std::filesystem::path run_directory(out);

  // Everything that can be refused is refused before the data is read: a typo fails in
  // milliseconds, not after the import.
  TrainConfig config = recipe_of(values);
  Context context;
  const auto registry = load_plugins(context, plugin_dirs);
  const std::filesystem::path last_checkpoint = run_directory / kLastCheckpoint;
  if (resume) {
    if (!std::filesystem::exists(last_checkpoint)) {
      // A training still in its first epoch has written no checkpoint yet: say that, not "nothing".
      if (std::filesystem::exists(run_directory / kLockFile)) {
        const RunDirectoryLock probe(run_directory, "training");  // throws "in use by another training"
      }
      throw Error(out + ": nothing to resume (no " + kLastCheckpoint + ")");
    }
    config = load_checkpoint(last_checkpoint).config;
    try {
      refuse_changes(values, config, last_checkpoint, out, *registry);
    } catch (const Error& e) {
      throw po::error(e.what());
    }
  } else {
    try {
      apply_train_flags(values, config, TrainFlags::all);
      validate(config);
    } catch (const Error& e) {
      throw po::error(e.what());  // a bad flag value: exit code 2 like any other command-line error
    }
    if (!overwrite && ranks.rank() == 0 && holds_run(run_directory))
      throw Error(out + ": holds another run; continue it with --resume, or replace it with --overwrite");
    // A report with no run beside it is someone's file of the same name, not ours to replace.
    for (const char* name : report::kRunReportFiles)
      if (!overwrite && ranks.rank() == 0 && std::filesystem::is_regular_file(run_directory / name))
        throw Error(out + ": holds " + name + ", which s8net train writes, but no run to continue; replace it with " +
                    "--overwrite, or give another --out");
  }
  check_before_loading(context, *registry, config);

  ProgressLine loading;
  loading.show("loading " + data_path, true);
  const CifarData data = load_any_cifar(data_path, counting_progress(loading, "decoding images"));
  loading.clear();
  try {
    const int64_t all = data.train.size(), limit = config.limit_train;
    const int64_t images = limit > 0 ? std::min(limit, all) : all;
    if (config.validation_images >= images)
      throw Error("--val " + with_thousands(config.validation_images) +
                  " leaves no image to train on: the training set has " + with_thousands(images));
    check_batch_fits(config.batch_size, images - config.validation_images);
  } catch (const Error& e) {
    throw po::error(e.what());
  }

  std::unique_ptr<Trainer> trainer;
  if (resume)
    trainer = Trainer::resume(context, *registry, data, run_directory, ranks);
  else
    trainer = std::make_unique<Trainer>(context, *registry, config, data, run_directory,
                                        overwrite ? ExistingRun::replace : ExistingRun::refuse, ranks);
  const TrainConfig& c = trainer->config();
  std::printf("norm %s (%s), activations %s, %s parameters\n", c.norm.c_str(), trainer->network().norm_origin().c_str(),
              std::string(name_of(trainer->network().layout())).c_str(),
              with_thousands(trainer->network().parameter_count()).c_str());
  std::printf(
      "data %s: %s training, %s validation, %s test images; batch %lld, %lld epoch%s, schedule %s, momentum %g%s%s, "
      "seed %llu\n",
      data_path.c_str(), with_thousands(trainer->train_size()).c_str(),
      with_thousands(trainer->validation_size()).c_str(), with_thousands(trainer->test_size()).c_str(),
      static_cast<long long>(c.batch_size), static_cast<long long>(c.epochs), c.epochs == 1 ? "" : "s",
      name_of(c.schedule.kind), static_cast<double>(c.sgd.momentum), c.sgd.nesterov ? " (Nesterov)" : "",
      c.augment ? ", augmented" : ", no augmentation", static_cast<unsigned long long>(c.seed));
  if (ranks.size() > 1)
    std::printf("data-parallel over %d ranks: %lld images of each batch per rank\n", ranks.size(),
                static_cast<long long>(c.batch_size / ranks.size()));
  std::printf(
      "run directory %s%s\n\n", out.c_str(),
      resume ? (", resuming " + stop_point(*trainer) + " with the configuration in " + last_checkpoint.string()).c_str()
             : "");
  std::fflush(stdout);

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> step_losses(nullptr, &std::fclose);
  if (!step_losses_path.empty() && ranks.rank() == 0) {
    step_losses.reset(std::fopen(step_losses_path.c_str(), "w"));
    if (!step_losses) throw Error("--step-losses " + step_losses_path + ": cannot write it");
  }
  ConsoleObserver observer(*trainer, interrupt, out, !values["no-report"].as<bool>() && ranks.rank() == 0,
                           step_losses.get());
  observer.print_history();
  if (trainer->run(observer) == TrainStatus::stopped) {
    observer.clear_line();
    if (ranks.rank() == 0)  // which saved the run
      std::fprintf(stderr,
                   "s8net train: interrupted %s, saved in %s; continue with: s8net train --resume --data %s --out %s\n",
                   stop_point(*trainer).c_str(), (std::filesystem::path(out) / kLastCheckpoint).c_str(),
                   shell_word(data_path).c_str(), shell_word(out).c_str());
    return 130;  // the shell's code for a process ended by Ctrl-C
  }

  const auto& history = trainer->history();
  if (!history.empty()) {
    const EpochMetrics& best = best_epoch(history);
    const std::string best_file = (std::filesystem::path(out) / kBestCheckpoint).string();
    const std::string last_file = (std::filesystem::path(out) / kLastCheckpoint).string();
    if (best.has_validation())
      std::printf(
          "\nbest validation accuracy %.2f%% at epoch %lld, test accuracy %.2f%% there (%s); last: validation "
          "%.2f%%, test %.2f%% (%s)\n",
          best.val_accuracy(), static_cast<long long>(best.epoch), best.test_accuracy(), best_file.c_str(),
          history.back().val_accuracy(), history.back().test_accuracy(), last_file.c_str());
    else
      std::printf("\nbest test accuracy %.2f%% at epoch %lld (%s); last %.2f%% (%s)\n", best.test_accuracy(),
                  static_cast<long long>(best.epoch), best_file.c_str(), history.back().test_accuracy(),
                  last_file.c_str());
    // A recipe chosen with test-time views (docs/recipe.md) names its evaluation, a command of its own.
    const std::string recipe = trainer->config().recipe;
    if (const std::string views(recipe_test_time_views(recipe)); views != "none" && ranks.rank() == 0) {
      std::string command =
          "s8net eval --tta " + views + " --checkpoint " + shell_word(last_file) + " --data " + shell_word(data_path);
      for (const std::string& dir : plugin_dirs) command += " --plugin-dir " + shell_word(dir);
      std::printf("the %s recipe's evaluation (%s views of each test image): %s\n", recipe.c_str(),
                  views_in_words(parse_test_time_augmentation(views).views()), command.c_str());
    }
  }
  if (!values["no-report"].as<bool>())
    std::printf("report %s\n", (std::filesystem::path(out) / report::kReportFile).c_str());
  return 0;
}

}  // namespace s8net::app
