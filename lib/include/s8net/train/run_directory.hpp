// A run directory belongs to one training at a time. An advisory lock (flock on RUN/.lock) is
// held for the training's lifetime; the kernel drops it when the process ends, however it ends,
// so the lock of a killed run never blocks the next one. The lock file records the holder's pid
// for the message a second training gets.
#pragma once

#include <filesystem>

namespace s8net {

inline constexpr const char* kLockFile = ".lock";

class RunDirectoryLock {
 public:
  // Creates the directory if needed. Throws s8net::Error naming the directory when another
  // process holds it ("in use by another <holder>"), or when the lock file cannot be made.
  explicit RunDirectoryLock(const std::filesystem::path& directory, const char* holder = "training");
  ~RunDirectoryLock();
  RunDirectoryLock(const RunDirectoryLock&) = delete;
  RunDirectoryLock& operator=(const RunDirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

// True when the directory holds a run that saved an epoch (metrics.jsonl or last.s8ckpt).
bool holds_run(const std::filesystem::path& directory);

// Removes the files of a training run from the directory (for a new run that replaces it).
void remove_run_files(const std::filesystem::path& directory);

// Removes the temporaries of run files that a killed training left (last.s8ckpt.tmp.PID ...).
// Only for the holder of the directory's lock, who is the only writer of those files.
void remove_stale_temporaries(const std::filesystem::path& directory);

}  // namespace s8net
