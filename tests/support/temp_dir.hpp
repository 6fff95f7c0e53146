// A fresh directory for one test, removed with everything in it at the end.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace s8net::test {

class TempDir {
 public:
  explicit TempDir(const std::string& label = "test")
      : path_(std::filesystem::temp_directory_path() /
              ("s8net-" + label + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  static int& counter() {
    static int next = 0;
    return next;
  }
  std::filesystem::path path_;
};

}  // namespace s8net::test
