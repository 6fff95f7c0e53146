// The training processes of a study: each grid point is an `s8net train` child process (a crash
// or a diverging plugin ends that run only), pinned to its own cores with its own OpenMP thread
// count, so that runs side by side do not fight over cores, and a point gives the same numbers
// whichever slot, process or machine trains it.
#pragma once

#include <s8net/study/aggregate.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace s8net::app {

// What a point's run directory says about it before the study starts it.
enum class PointState { fresh, partial, finished, failed };
struct PointOnDisk {
  PointState state = PointState::fresh;
  std::optional<TrainConfig> trained_with;  // the configuration of its last checkpoint, if any
};
// One read of the run directory (its last checkpoint is loaded once).
PointOnDisk read_point(const std::filesystem::path& run, int64_t epochs);
PointState state_of(const std::filesystem::path& run, int64_t epochs);

// The file where a failed point's reason is kept, so that the next invocation does not train it
// again (unless asked to retry).
inline constexpr const char* kFailedFile = "failed.txt";
// Seconds of the training processes that ran a point, summed over invocations.
inline constexpr const char* kWallFile = "wall_seconds.txt";
// The child's stdout and stderr.
inline constexpr const char* kTrainLog = "train.log";

double recorded_wall_seconds(const std::filesystem::path& run);

// The arguments of `s8net train` for a point: --resume for a partial run, else the full recipe.
std::vector<std::string> train_arguments(const study::GridPoint& point, PointState state,
                                         const std::vector<std::string>& recipe_flags, const std::string& data,
                                         const std::filesystem::path& run, const std::vector<std::string>& plugin_dirs);

// How many cores this process may run on (its CPU affinity).
size_t cpus_of_this_process();

// Up to `jobs` children at once, each on `threads` cores of this process's CPU set.
class RunSlots {
 public:
  RunSlots(int jobs, int threads, std::string program);
  ~RunSlots();  // ends children still running (SIGTERM: they checkpoint), then waits for them
  RunSlots(const RunSlots&) = delete;
  RunSlots& operator=(const RunSlots&) = delete;

  bool has_free_slot() const noexcept;
  int running() const noexcept;
  void start(const study::GridPoint& point, std::vector<std::string> arguments, const std::filesystem::path& run);
  // The outcomes of children that ended since the last call (never blocks).
  std::vector<study::PointOutcome> collect_finished();
  // Asks every running child to checkpoint and stop (SIGTERM), as Ctrl-C on the terminal would.
  void stop_all() const;
  // Waits for every child (after an interrupt they checkpoint and end).
  std::vector<study::PointOutcome> wait_all();

 private:
  struct Child {
    pid_t pid = -1;
    int slot = 0;
    study::GridPoint point;
    std::filesystem::path run;
    std::chrono::steady_clock::time_point start;
  };
  study::PointOutcome outcome_of(const Child& child, int status) const;

  int threads_;
  std::string program_;
  std::vector<int> cpus_;  // this process's CPU set
  std::vector<std::optional<Child>> slots_;
};

}  // namespace s8net::app
