// Runs the s8net app as a user does, with stdout and stderr kept apart (support/program_runner.hpp).
#pragma once

#include "support/program_runner.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace s8net::test {

// `[environment] s8net arguments`.
inline AppRun run_app(const std::string& arguments, const std::string& environment = "") {
  return run_program(S8NET_APP, arguments, environment);
}

// The app started in the background, so a test can signal it while it works. stdout and stderr
// go to files of the test's scratch directory; wait() collects them with the exit code (a
// process ended by a signal reports 128 + the signal, as a shell does).
class RunningApp {
 public:
  explicit RunningApp(const std::string& arguments) {
    const std::string command = "exec " + std::string(S8NET_APP) + " " + arguments + " >" +
                                (scratch_ / "stdout").string() + " 2>" + (scratch_ / "stderr").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid_ < 0) ADD_FAILURE() << "cannot start " << command;
  }
  ~RunningApp() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  RunningApp(const RunningApp&) = delete;
  RunningApp& operator=(const RunningApp&) = delete;

  void signal(int number) const { ::kill(pid_, number); }
  pid_t pid() const noexcept { return pid_; }

  AppRun wait() {
    AppRun r;
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, 0) == pid_)
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
    pid_ = -1;
    r.out = text_of(scratch_ / "stdout");
    r.err = text_of(scratch_ / "stderr");
    return r;
  }

 private:
  TempDir scratch_{"running-app"};
  pid_t pid_ = -1;
};

}  // namespace s8net::test

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)
