// Runs one of the project's programs as a user does, with stdout and stderr kept apart; needs
// nothing of the build but the program's path.
#pragma once

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

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

}  // namespace s8net::test
