// s8net study: trains a grid of norms x batch sizes x seeds, each point an ordinary run directory
// under --out, side by side (--jobs) or across the ranks of mpirun, then writes the aggregate.
// Running the same command again continues: finished points are kept, partial ones resumed.
#include "commands.hpp"
#include "interrupt.hpp"
#include "progress.hpp"
#include "study_runs.hpp"
#include "study_sources.hpp"
#include "study_views.hpp"
#include "train_flags.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/any_data_source.hpp>
#include <s8net/study/aggregate.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/run_directory.hpp>
#include <s8net/train/trainer.hpp>

#include <boost/dll/runtime_symbol_info.hpp>

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::vector<std::string> split_list(const std::string& text, const char* flag) {
  std::vector<std::string> items;
  for (size_t start = 0;;) {
    const size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (items.back().empty()) throw po::error(std::string("--") + flag + " '" + text + "': an empty entry");
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

std::vector<int64_t> parse_batches(const std::string& text) {
  std::vector<int64_t> batches;
  for (const std::string& item : split_list(text, "batch")) {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (error != std::errc() || end != item.data() + item.size() || value <= 0)
      throw po::error("--batch '" + text + "': '" + item + "' is not a batch size (a whole number > 0)");
    batches.push_back(value);
  }
  return batches;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// What became of every point, from the run directories themselves: they are the record, whatever
// process or machine trained them.
std::vector<study::PointOutcome> outcomes_of(const fs::path& out, const std::vector<study::GridPoint>& points,
                                             int64_t epochs) {
  std::vector<study::PointOutcome> outcomes;
  for (const study::GridPoint& point : points) {
    const fs::path run = study::run_directory(out, point);
    study::PointOutcome outcome{point, study::PointOutcome::Status::not_run, {}, recorded_wall_seconds(run)};
    const PointState state = state_of(run, epochs);
    if (state == PointState::finished) outcome.status = study::PointOutcome::Status::finished;
    if (state == PointState::failed) {
      outcome.status = study::PointOutcome::Status::failed;
      outcome.reason = read_text(run / kFailedFile);
      while (!outcome.reason.empty() && outcome.reason.back() == '\n') outcome.reason.pop_back();
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

template <class T>
void refuse_repeats(const std::vector<T>& items, const char* flag, const std::string& text) {
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (items[i] == items[j])
        throw po::error(std::string("--") + flag + " '" + text +
                        "': an entry given twice would train one run directory twice");
}

// A point trained before with another configuration (other flags, another --epochs, another
// scaling) is not this study's point: refused, naming the difference, rather than reported as if it were.
void refuse_other_configuration(const fs::path& run, const PointOnDisk& on_disk, const study::GridPoint& point,
                                const TrainConfig& wanted) {
  if (!on_disk.trained_with) return;
  if (const auto d = first_difference(*on_disk.trained_with, wanted))
    throw po::error(point.name() + " was trained with " + d->field + " " + d->stored + " (" +
                    (run / kLastCheckpoint).string() + "), this study asks for " + d->other +
                    "; give the flags it was started with, or another --out");
}

class StudyProgress {
 public:
  StudyProgress(size_t total, size_t already_done) : total_(total), done_before_(already_done) {}
  void ended(const study::PointOutcome& outcome, const std::string& where) {
    ++ended_here_;
    line_.clear();
    const char* what = outcome.status == study::PointOutcome::Status::finished ? "finished"
                       : outcome.status == study::PointOutcome::Status::failed ? "FAILED"
                                                                               : "interrupted";
    std::printf("%s%s %s after %s%s%s\n", where.empty() ? "" : (where + ": ").c_str(), outcome.point.name().c_str(),
                what, format_duration(outcome.wall_seconds).c_str(), outcome.reason.empty() ? "" : ": ",
                outcome.reason.c_str());
    std::fflush(stdout);
  }
  void show(int running) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const size_t done = done_before_ + ended_here_;
    const size_t left = total_ > done ? total_ - done : 0;
    std::string text = "study: " + std::to_string(done) + "/" + std::to_string(total_) + " done, " +
                       std::to_string(running) + " running here, " + std::to_string(left) + " left";
    if (ended_here_ > 0)
      text += ", ETA " + format_duration(seconds / static_cast<double>(ended_here_) * static_cast<double>(left));
    line_.show(text);
  }
  void clear() { line_.clear(); }

 private:
  size_t total_, done_before_, ended_here_ = 0;
  Clock::time_point start_ = Clock::now();
  ProgressLine line_;
};

}  // namespace

int run_study(int argc, char** argv) {
  std::string norms_text, batches_text, data_path, out, lr_scaling_text = "none", views_text = "none";
  std::vector<std::string> plugin_dirs;
  int64_t seeds = 1, jobs = 0, threads = 1;
  bool retry_failed = false;
  po::options_description options(
      "s8net study: train every norm x batch size x seed of a grid and aggregate the results.\n"
      "Each point is an ordinary run directory under --out/runs; the same command again continues a\n"
      "study. Under mpirun every rank trains points until the grid is done; rank 0 writes the aggregate");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("norm", po::value(&norms_text)->required(), "norms, comma-separated (bn,gn,ln or any plugin's name)")
      ("batch", po::value(&batches_text)->required(), "batch sizes, comma-separated (2,4,8,16,32,64)")
      ("seeds", po::value(&seeds)->default_value(1), "seeds per (norm, batch): 1..N")
      ("lr-scaling", po::value(&lr_scaling_text)->default_value("none"), "learning rate scaled by batch/32: linear, sqrt or none")
      ("jobs", po::value(&jobs)->default_value(0), "runs side by side in this process (0: this process's cores / --threads)")
      ("threads", po::value(&threads)->default_value(1), "OpenMP threads (and cores) of each run; keep it equal to compare runs bit for bit")
      ("retry-failed", po::bool_switch(&retry_failed), "train again the points that failed in an earlier invocation")
      ("tta", po::value(&views_text)->default_value("none"), "test-time views each finished run's last checkpoint is evaluated with once, reported beside the plain test accuracy: none, flip, shiftN or flip+shiftN with N from 1 to 8 (as s8net eval --tta)")
      ("data", po::value(&data_path)->required(), "data: a directory written by s8net data prepare (the same path on every machine)")
      ("out", po::value(&out)->required(), "study directory: runs/<norm>-b<batch>-s<seed>/, study.csv, study.json, summary.md, study.html")
      ("plugin-dir", po::value(&plugin_dirs)->composing(), "extra plugin directory or file (repeatable)");
  // clang-format on
  add_train_flags(options, TrainFlags::without_grid);
  po::variables_map values;
  const po::parsed_options parsed = po::command_line_parser(argc, argv).options(options).style(kCommandLineStyle).run();
  refuse_stray_arguments(parsed);
  po::store(parsed, values);
  if (values.count("help")) {
    std::cout << options << '\n';
    return 0;
  }
  refuse_empty_values(values);
  po::notify(values);

  // Every flag and every point's configuration is checked before anything runs.
  study::Grid grid;
  grid.norms = split_list(norms_text, "norm");
  grid.batches = parse_batches(batches_text);
  refuse_repeats(grid.norms, "norm", norms_text);
  refuse_repeats(grid.batches, "batch", batches_text);
  grid.seeds = seeds;
  if (seeds < 1 || seeds > 1000) throw po::error("--seeds must be in [1, 1000], got " + std::to_string(seeds));
  const long cores = static_cast<long>(cpus_of_this_process());
  if (threads < 1 || threads > cores)
    throw po::error("--threads must be in [1, " + std::to_string(cores) + "] (the cores this process may use), got " +
                    std::to_string(threads));
  try {
    grid.lr_scaling = study::parse_lr_scaling(lr_scaling_text);
  } catch (const Error& e) {
    throw po::error(e.what());
  }
  TestTimeAugmentation views;
  try {
    views = parse_test_time_augmentation(views_text);
  } catch (const Error& e) {
    throw po::error(std::string("--tta: ") + e.what());
  }
  grid.test_time_views = name_of(views);
  if (jobs == 0) jobs = std::max<int64_t>(1, cores / threads);
  if (jobs < 0 || jobs > 1024) throw po::error("--jobs must be in [0, 1024], got " + std::to_string(jobs));
  TrainConfig base = recipe_of(values);
  try {
    apply_train_flags(values, base, TrainFlags::without_grid);
  } catch (const Error& e) {
    throw po::error(e.what());
  }
  const std::vector<study::GridPoint> points = grid.points();
  Context context;
  {
    const auto registry = load_plugins(context, plugin_dirs);
    for (const study::GridPoint& point : points) {
      const TrainConfig config = study::config_for(base, point, grid.lr_scaling);
      try {
        validate(config);
      } catch (const Error& e) {
        throw po::error(point.name() + ": " + e.what());
      }
      check_before_loading(context, *registry, config);
      if (config.limit_train > 0 && config.validation_images >= config.limit_train)
        throw po::error("--val " + std::to_string(config.validation_images) + " leaves none of the " +
                        std::to_string(config.limit_train) + " training images (--limit-train) to train on");
      if (config.limit_train > 0 && config.batch_size > config.limit_train - config.validation_images)
        throw po::error(point.name() + ": --batch " + std::to_string(config.batch_size) + " is more than the " +
                        std::to_string(config.limit_train - config.validation_images) + " images it trains on");
    }
  }
  // The flags each point's training gets besides its norm, batch and seed: the recipe as given,
  // with the learning rate as scaled for the point.
  const char* const grid_flags[] = {"norm", "batch", "seed", "lr", "lr-points", "min-lr"};
  const std::vector<std::string> recipe_flags = train_flag_tokens(parsed, grid_flags);
  const auto flags_for = [&](const study::GridPoint& point) {
    const TrainConfig config = study::config_for(base, point, grid.lr_scaling);
    std::vector<std::string> flags = recipe_flags;
    // Exact text: a point's training must get the very rate the study computed, or its stored
    // configuration would differ from the study's.
    if (config.schedule.kind == ScheduleKind::seed) {
      flags.insert(flags.end(), {"--lr-points", format_schedule_points(config.schedule.points)});
    } else {
      flags.insert(flags.end(), {"--lr", round_trip_text(config.schedule.learning_rate), "--min-lr",
                                 round_trip_text(config.schedule.min_learning_rate)});
    }
    return flags;
  };
  // Data that cannot be read fails here, once, not in every point's training.
  (void)detect_data_format(data_path);

  const bool with_mpi = launched_by_mpi();
  const int rank = mpi_rank();
  const fs::path study_dir(out);
  // One study of a directory at a time (rank 0 holds it for all ranks).
  std::optional<RunDirectoryLock> lock;
  if (rank == 0) lock.emplace(study_dir, "study");
  s8net::create_directories(study_dir / "runs");
  std::vector<size_t> queue;
  size_t finished_before = 0, failed_before = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const fs::path run = study::run_directory(study_dir, points[i]);
    const PointOnDisk on_disk = read_point(run, base.epochs);
    refuse_other_configuration(run, on_disk, points[i], study::config_for(base, points[i], grid.lr_scaling));
    const PointState state = on_disk.state;
    if (state == PointState::failed && retry_failed) fs::remove(run / kFailedFile);
    if (state == PointState::finished)
      ++finished_before;
    else if (state == PointState::failed && !retry_failed)
      ++failed_before;
    else
      queue.push_back(i);
  }
  const size_t already_done = finished_before + failed_before;
  const auto source = with_mpi ? mpi_source(queue) : local_source(queue);
  if (rank == 0)
    std::printf(
        "study %s: %zu points (%zu norms x %zu batch sizes x %lld seeds), %zu already done%s; %lld runs at a "
        "time%s, %lld thread%s each\n",
        out.c_str(), points.size(), grid.norms.size(), grid.batches.size(), static_cast<long long>(seeds), already_done,
        failed_before == 0 ? ""
                           : (" (" + std::to_string(finished_before) + " finished, " + std::to_string(failed_before) +
                              " failed; --retry-failed trains those again)")
                                 .c_str(),
        static_cast<long long>(jobs), with_mpi ? " per rank" : "", static_cast<long long>(threads),
        threads == 1 ? "" : "s");
  std::fflush(stdout);

  const std::string program = boost::dll::program_location().string();
  RunSlots slots(static_cast<int>(jobs), static_cast<int>(threads), program);
  InterruptRequest interrupt;
  StudyProgress progress(points.size(), already_done);
  const auto record = [&](const study::PointOutcome& outcome) {
    progress.ended(outcome, source->where());
    for (size_t i = 0; i < points.size(); ++i)
      if (points[i].name() == outcome.point.name()) source->ended(i);
  };
  bool children_stopped = false;
  for (;;) {
    while (!interrupt.requested() && slots.has_free_slot()) {
      const std::optional<size_t> index = source->next();
      if (!index) break;
      const study::GridPoint& point = points[*index];
      const fs::path run = study::run_directory(study_dir, point);
      slots.start(point,
                  train_arguments(point, state_of(run, base.epochs), flags_for(point), data_path, run, plugin_dirs),
                  run);
    }
    // A signal to the study alone (kill PID) reaches its trainings as Ctrl-C on the terminal would.
    if (interrupt.requested() && !children_stopped) {
      slots.stop_all();
      children_stopped = true;
    }
    for (const study::PointOutcome& outcome : slots.collect_finished()) record(outcome);
    if (!interrupt.requested()) source->serve();
    if (slots.running() == 0 && (interrupt.requested() || source->done())) break;
    progress.show(slots.running());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  progress.clear();
  if (interrupt.requested()) {
    std::fprintf(stderr,
                 "s8net study: interrupted; the runs in progress were checkpointed. Continue with the same command.\n");
    return 130;
  }
  if (rank != 0) return 0;

  const std::vector<study::PointOutcome> outcomes = outcomes_of(study_dir, points, base.epochs);
  std::vector<study::StudyRow> rows = study::collect_rows(study_dir, outcomes, grid.test_time_views);
  if (views.views() > 1 && !evaluate_with_views(context, plugin_dirs, data_path, study_dir, rows, views, interrupt)) {
    std::fprintf(stderr, "s8net study: interrupted while evaluating with %s; continue with the same command.\n",
                 grid.test_time_views.c_str());
    return 130;
  }
  const auto files = study::write_study_report(study_dir, grid, rows);
  size_t finished = 0, failed = 0;
  for (const study::PointOutcome& o : outcomes) {
    finished += o.status == study::PointOutcome::Status::finished;
    failed += o.status == study::PointOutcome::Status::failed;
  }
  std::printf("study %s: %zu finished, %zu failed, %zu not run; %s\n", out.c_str(), finished, failed,
              points.size() - finished - failed, (study_dir / "study.html").c_str());
  return failed == 0 && finished == points.size() ? 0 : 1;
}

}  // namespace s8net::app
