// Runs the s8net app (or another of the project's programs) as a user does, with stdout and stderr kept apart.
#pragma once

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace s8net::test {

struct AppRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

// A whole file as text ("" if it is missing).
inline std::string text_of(const std::filesystem::path& file) {
  std::stringstream text;
  text << std::ifstream(file).rdbuf();
  return text.str();
}

// `[environment] program arguments`; stderr goes through a file so that it stays separate.
inline AppRun run_program(const std::string& program, const std::string& arguments,
                          const std::string& environment = "") {
  const TempDir scratch("app-run");
  const auto err_file = scratch / "stderr";
  const std::string command = environment + " " + program + " " + arguments + " 2>" + err_file.string();
  AppRun r;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return r;
  }
  std::array<char, 4096> buffer{};
  while (const size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) r.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = text_of(err_file);
  return r;
}

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
