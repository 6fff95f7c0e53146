#include "study_runs.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/trainer.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace s8net::app {
namespace fs = std::filesystem;

namespace {

std::string text_of(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The training's own one-line error, the last line it printed as "s8net train: ...".
std::string failure_reason(const fs::path& log, int status) {
  std::istringstream lines(text_of(log));
  std::string reason;
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("s8net train: ")) reason = line.substr(13);
  if (!reason.empty()) return reason;
  if (WIFSIGNALED(status)) return std::string("the training process ended with ") + ::strsignal(WTERMSIG(status));
  return "the training process exited with " + std::to_string(WEXITSTATUS(status)) + " (see " + log.string() + ")";
}

std::vector<int> cpus_of_this_process_list() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

}  // namespace

size_t cpus_of_this_process() { return cpus_of_this_process_list().size(); }

PointOnDisk read_point(const fs::path& run, int64_t epochs) {
  std::error_code error;
  if (!fs::exists(run / kLastCheckpoint, error))
    return {fs::exists(run / kFailedFile, error) ? PointState::failed : PointState::fresh, std::nullopt};
  Checkpoint last = load_checkpoint(run / kLastCheckpoint);
  const PointState state = fs::exists(run / kFailedFile, error) ? PointState::failed
                           : last.epochs_done >= epochs         ? PointState::finished
                                                                : PointState::partial;
  return {state, std::move(last.config)};
}

PointState state_of(const fs::path& run, int64_t epochs) { return read_point(run, epochs).state; }

double recorded_wall_seconds(const fs::path& run) {
  const std::string text = text_of(run / kWallFile);
  return text.empty() ? 0.0 : std::strtod(text.c_str(), nullptr);
}

std::vector<std::string> train_arguments(const study::GridPoint& point, PointState state,
                                         const std::vector<std::string>& recipe_flags, const std::string& data,
                                         const fs::path& run, const std::vector<std::string>& plugin_dirs) {
  std::vector<std::string> arguments = {"train", "--no-report", "--data", data, "--out", run.string()};
  if (state == PointState::partial) {
    arguments.push_back("--resume");
  } else {
    // A run directory left with only a configuration (stopped before its first epoch) is replaced.
    arguments.insert(arguments.end(), {"--overwrite", "--norm", point.norm, "--batch", std::to_string(point.batch),
                                       "--seed", std::to_string(point.seed)});
    arguments.insert(arguments.end(), recipe_flags.begin(), recipe_flags.end());
  }
  for (const std::string& dir : plugin_dirs) arguments.insert(arguments.end(), {"--plugin-dir", dir});
  return arguments;
}

RunSlots::RunSlots(int jobs, int threads, std::string program)
    : threads_(threads),
      program_(std::move(program)),
      cpus_(cpus_of_this_process_list()),
      slots_(static_cast<size_t>(jobs)) {}

RunSlots::~RunSlots() {
  stop_all();
  wait_all();
}

void RunSlots::stop_all() const {
  for (const auto& child : slots_)
    if (child) ::kill(child->pid, SIGTERM);
}

bool RunSlots::has_free_slot() const noexcept {
  for (const auto& child : slots_)
    if (!child) return true;
  return false;
}

int RunSlots::running() const noexcept {
  int count = 0;
  for (const auto& child : slots_) count += child.has_value();
  return count;
}

void RunSlots::start(const study::GridPoint& point, std::vector<std::string> arguments, const fs::path& run) {
  size_t slot = 0;
  while (slot < slots_.size() && slots_[slot]) ++slot;
  if (slot == slots_.size()) throw Error("study: no free slot for " + point.name());
  s8net::create_directories(run);
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  cpu_set_t cores;
  CPU_ZERO(&cores);
  for (int t = 0; t < threads_; ++t)
    CPU_SET(cpus_[(slot * static_cast<size_t>(threads_) + static_cast<size_t>(t)) % cpus_.size()], &cores);
  const std::string log = (run / kTrainLog).string(), omp_threads = "OMP_NUM_THREADS=" + std::to_string(threads_);
  std::vector<char*> argv{program_.data()};
  for (std::string& a : arguments) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment_text;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view variable(*e);
    // A point trains alone: without the launcher's variables, s8net train under an mpirun'd
    // study does not take itself for a rank of a data-parallel training.
    const bool launcher =
        variable.starts_with("OMPI_") || variable.starts_with("PMIX_") || variable.starts_with("PMI_");
    if (!variable.starts_with("OMP_NUM_THREADS=") && !launcher) environment_text.emplace_back(*e);
  }
  environment_text.push_back(omp_threads);
  std::vector<char*> environment;
  for (std::string& e : environment_text) environment.push_back(e.data());
  environment.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw Error("cannot open " + log + ": " + std::strerror(errno));

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw Error(std::string("cannot start a training process: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // A study that dies takes its trainings with it; SIGTERM lets each checkpoint first.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::sched_setaffinity(0, sizeof cores, &cores);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(program_.c_str(), argv.data(), environment.data());
    ::_exit(127);
  }
  ::close(log_fd);
  slots_[slot] = Child{pid, static_cast<int>(slot), point, run, std::chrono::steady_clock::now()};
}

study::PointOutcome RunSlots::outcome_of(const Child& child, int status) const {
  study::PointOutcome outcome;
  outcome.point = child.point;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - child.start).count();
  outcome.wall_seconds = recorded_wall_seconds(child.run) + seconds;
  write_file_atomically(child.run / kWallFile, std::to_string(outcome.wall_seconds) + "\n");
  const bool interrupted = (WIFEXITED(status) && WEXITSTATUS(status) == 130) ||
                           (WIFSIGNALED(status) &&
                            (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGKILL));
  const std::string reason = interrupted ? std::string() : failure_reason(child.run / kTrainLog, status);
  // Still held by a training of an earlier invocation that is checkpointing after its study
  // ended: not a failure of the point, the next invocation trains it.
  const bool busy = reason.find("in use by another training") != std::string::npos;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    outcome.status = study::PointOutcome::Status::finished;
  } else if (interrupted || busy) {
    outcome.status = study::PointOutcome::Status::not_run;  // checkpointed or killed: the next invocation resumes it
  } else {
    outcome.status = study::PointOutcome::Status::failed;
    outcome.reason = reason;
    write_file_atomically(child.run / kFailedFile, outcome.reason + "\n");
  }
  return outcome;
}

std::vector<study::PointOutcome> RunSlots::collect_finished() {
  std::vector<study::PointOutcome> ended;
  for (auto& child : slots_) {
    if (!child) continue;
    int status = 0;
    const pid_t done = ::waitpid(child->pid, &status, WNOHANG);
    if (done == child->pid || (done < 0 && errno == ECHILD)) {
      ended.push_back(outcome_of(*child, status));
      child.reset();
    }
  }
  return ended;
}

std::vector<study::PointOutcome> RunSlots::wait_all() {
  std::vector<study::PointOutcome> ended;
  while (running() > 0) {
    for (study::PointOutcome& outcome : collect_finished()) ended.push_back(std::move(outcome));
    if (running() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ended;
}

}  // namespace s8net::app
