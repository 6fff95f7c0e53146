// Runs the s8net app (or another of the project's programs) as a user does, with stdout and stderr kept apart.
#pragma once

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
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

// `[environment] program arguments`; stderr goes through a file so that it stays separate.
inline AppRun run_program(const std::string& program, const std::string& arguments, const std::string& environment = "") {
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
  std::stringstream err;
  err << std::ifstream(err_file).rdbuf();
  r.err = err.str();
  return r;
}

// `[environment] s8net arguments`.
inline AppRun run_app(const std::string& arguments, const std::string& environment = "") {
  return run_program(S8NET_APP, arguments, environment);
}

}  // namespace s8net::test

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)
