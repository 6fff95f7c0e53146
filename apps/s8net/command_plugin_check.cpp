// s8net plugin check FILE.so: the conformance checks of one plugin file, one line per check as it
// finishes, then a summary. Exit 0 when nothing failed, 1 otherwise, 2 for a bad command line.
// Also the dispatcher of `s8net plugin` (check, bench).
#include "commands.hpp"
#include "train_flags.hpp"

#include <s8net/core/error.hpp>
#include <s8net/plugin_check/conformance.hpp>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

constexpr const char* kUsage =
    "usage: s8net plugin check FILE.so [--seed N] [--timeout SECONDS] [--norm-option NAME=VALUE]...\n"
    "  check a normalization plugin file against the ABI: loading, forward, gradients against finite\n"
    "  differences, training vs evaluation, state round trip, determinism and buffer bounds\n"
    "usage: s8net plugin bench FILE.so [--plugin-dir DIR]... [--threads N] [--batch N]\n"
    "  time its forward and backward at the network's shapes, beside bn and gn\n";

// The checks run in a child process, so that a plugin that crashes (a segfault, an abort) is a
// FAIL line and a summary, not a checker dying mid-report. The child sends each result line
// through a pipe; the parent prints and counts them. Nothing of oneDNN or OpenMP has started
// before the fork. A plugin that hangs (a loop that never ends, a collective that waits forever)
// is stopped when no check has finished for --timeout seconds, and is a FAIL line too.
constexpr int kChildCouldNotCheck = 3;
constexpr int kChildRefusedOption = 4;  // a --norm-option the plugin does not accept: a usage error

void write_line(int fd, std::string line) {
  line += '\n';
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(kChildCouldNotCheck);
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void run_checks_and_exit(const std::string& file, const ConformanceOptions& conformance, int out) {
  try {
    Context context;
    check_plugin(file, context, conformance,
                 [&](const CheckResult& result) { write_line(out, format_result(result)); });
  } catch (const RefusedNormOption& e) {
    std::cerr << "s8net plugin: " << e.what() << " (see s8net plugin check --help)" << std::endl;
    ::_exit(kChildRefusedOption);
  } catch (const std::exception& e) {
    std::cerr << "s8net plugin: " << e.what() << std::endl;
    ::_exit(kChildCouldNotCheck);
  }
  ::_exit(0);
}

// Waits until the pipe has something to read or the deadline passes; false when it passed.
bool readable_before(int fd, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd wanted{fd, POLLIN, 0};
    const int ready = ::poll(&wanted, 1, static_cast<int>(left.count()));  // --timeout <= 86400 s fits
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) throw Error(std::string("cannot wait for the checks: ") + std::strerror(errno));
  }
}

int check_in_child_process(const std::string& file, const ConformanceOptions& conformance, int timeout_seconds) {
  int pipe_ends[2];
  if (::pipe(pipe_ends) != 0) throw Error(std::string("cannot make a pipe: ") + std::strerror(errno));
  std::cout.flush();
  const pid_t child = ::fork();
  if (child < 0) throw Error(std::string("cannot start the checks: ") + std::strerror(errno));
  if (child == 0) {
    ::close(pipe_ends[0]);
    run_checks_and_exit(file, conformance, pipe_ends[1]);
  }
  ::close(pipe_ends[1]);
  size_t passed = 0, failed = 0, skipped = 0;
  std::string where = "before the first result", pending;
  char buffer[4096];
  const auto patience = std::chrono::seconds(timeout_seconds);
  auto deadline = std::chrono::steady_clock::now() + patience;
  bool hung = false;
  for (;;) {
    if (!readable_before(pipe_ends[0], deadline)) {
      hung = true;
      ::kill(child, SIGKILL);
      break;
    }
    const ssize_t n = ::read(pipe_ends[0], buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    pending.append(buffer, static_cast<size_t>(n));
    for (size_t end; (end = pending.find('\n')) != std::string::npos; pending.erase(0, end + 1)) {
      const std::string line = pending.substr(0, end);
      std::cout << line << std::endl;  // flushed: a slow check shows where it stands
      ++(line.starts_with("PASS") ? passed : line.starts_with("FAIL") ? failed : skipped);
      const size_t colon = line.find(':');
      where = "after \"" + line.substr(6, colon == std::string::npos ? std::string::npos : colon - 6) + "\"";
      deadline = std::chrono::steady_clock::now() + patience;
    }
  }
  ::close(pipe_ends[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kChildCouldNotCheck) return 1;  // it said why on stderr
  if (WIFEXITED(status) && WEXITSTATUS(status) == kChildRefusedOption) return 2;  // likewise
  if (hung) {
    std::cout << "FAIL  hang: no check finished within " << timeout_seconds << " s, in the check " << where
              << "; the checker was stopped and no later check ran" << std::endl;
    ++failed;
  } else if (WIFSIGNALED(status)) {
    std::cout << "FAIL  crash: the plugin crashed the checker with SIG" << ::sigabbrev_np(WTERMSIG(status)) << " ("
              << ::strsignal(WTERMSIG(status)) << "), in the check " << where << "; no later check ran" << std::endl;
    ++failed;
  }
  std::cout << "plugin check " << file << ": " << passed << " passed, " << failed << " failed, " << skipped
            << " skipped" << std::endl;
  return failed == 0 ? 0 : 1;
}

int run_check(int argc, char** argv) {
  std::string file, seed_text;
  int timeout_seconds = 300;
  std::vector<std::string> norm_options;
  ConformanceOptions conformance;
  po::options_description options("s8net plugin check FILE.so: check a normalization plugin against the ABI");
  // clang-format off
  options.add_options()("help,h", "show this help")(
      "seed", po::value(&seed_text)->default_value("1"), "seed of the random inputs (0 to 4294967295)")(
      "timeout", po::value(&timeout_seconds)->default_value(300),
      "seconds one check may take before the plugin counts as hung, is stopped and fails (1 to 86400)")(
      "norm-option", po::value(&norm_options)->composing(),
      "an option NAME=VALUE given to every create() (repeatable), e.g. groups=4; others keep their defaults")(
      "file", po::value(&file), "the plugin's shared library (also the bare argument)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("file", 1);
  if (!parse_command_line(argc, argv, options, nullptr, &positional)) return 0;
  if (file.empty()) throw po::error("no plugin file given: s8net plugin check FILE.so");
  uint64_t seed = UINT64_MAX;
  try {
    seed = parse_seed(seed_text);
  } catch (const po::error&) {
    // parse_seed names training's range; this seed has a narrower one.
  }
  if (seed > UINT32_MAX) throw po::error("--seed '" + seed_text + "': expected a whole number from 0 to 4294967295");
  conformance.seed = static_cast<uint32_t>(seed);
  if (timeout_seconds < 1 || timeout_seconds > 86'400)
    throw po::error("--timeout '" + std::to_string(timeout_seconds) + "': expected seconds from 1 to 86400");
  try {
    conformance.norm_options = parse_norm_options(norm_options);
  } catch (const Error& e) {
    throw po::error(e.what());
  }

  return check_in_child_process(file, conformance, timeout_seconds);
}

}  // namespace

int run_plugin(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::cout << kUsage;
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "bench") == 0) return run_plugin_bench(argc - 1, argv + 1);
  if (argc < 2 || std::strcmp(argv[1], "check") != 0) {
    if (argc >= 2) std::cerr << "s8net plugin: unknown action '" << argv[1] << "'\n";
    std::cerr << kUsage;
    return 2;
  }
  return run_check(argc - 1, argv + 1);
}

}  // namespace s8net::app
