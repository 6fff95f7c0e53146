#include <s8net/core/error.hpp>
#include <s8net/train/run_directory.hpp>
#include <s8net/train/trainer.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

namespace s8net {
namespace fs = std::filesystem;

namespace {

constexpr std::array kRunFiles = {kConfigFile, kMetricsFile, kLastCheckpoint, kBestCheckpoint};
// Files whose presence means an epoch was trained and saved. Without them (a config.json, or a
// best.s8ckpt whose epoch's last.s8ckpt was never written) there is nothing to resume, and a new
// run may take the directory's place.
constexpr std::array kTrainedFiles = {kMetricsFile, kLastCheckpoint};

std::string holder_of(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  if (n <= 0) return "another process";
  std::string pid(text, static_cast<size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return "process " + pid;
}

}  // namespace

RunDirectoryLock::RunDirectoryLock(const fs::path& directory, const char* holder_kind) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) throw Error("cannot create the run directory " + directory.string() + ": " + error.message());
  const fs::path file = directory / kLockFile;
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot create " + file.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int code = errno;
    const std::string holder = holder_of(fd_);
    ::close(fd_);
    if (code == EWOULDBLOCK)
      throw Error(directory.string() + ": in use by another " + holder_kind + " (" + holder +
                  "); one directory takes one " + holder_kind + " at a time");
    throw Error("cannot lock " + file.string() + ": " + std::strerror(code));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // The lock holds regardless; only the holder's pid in a rival's message would be missing.
  }
}

RunDirectoryLock::~RunDirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock; the file stays for the next run
}

bool holds_run(const fs::path& directory) {
  std::error_code error;
  for (const char* name : kTrainedFiles)
    if (fs::exists(directory / name, error)) return true;
  return false;
}

void remove_run_files(const fs::path& directory) {
  for (const char* name : kRunFiles) {
    std::error_code error;
    fs::remove(directory / name, error);
    if (error) throw Error("cannot remove " + (directory / name).string() + ": " + error.message());
  }
}

void remove_stale_temporaries(const fs::path& directory) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    for (const char* file : kRunFiles) {
      const std::string prefix = std::string(file) + ".tmp.";
      if (name.size() > prefix.size() && name.starts_with(prefix) &&
          name.find_first_not_of("0123456789", prefix.size()) == std::string::npos)
        fs::remove(entry.path(), error);
    }
  }
}

}  // namespace s8net
