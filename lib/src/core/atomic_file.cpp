#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

namespace s8net {
namespace {

std::string system_error_text() { return std::strerror(errno); }

// Closes the descriptor and removes the temporary file unless committed.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error("cannot create " + path_.string() + ": " + system_error_text());
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) {
      std::error_code ignored;
      std::filesystem::remove(path_, ignored);
    }
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  void write_all(std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error("cannot write " + path_.string() + ": " + system_error_text());
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd_) != 0) throw Error("cannot flush " + path_.string() + ": " + system_error_text());
    if (::close(fd_) != 0) {
      fd_ = -1;
      throw Error("cannot close " + path_.string() + ": " + system_error_text());
    }
    fd_ = -1;
  }
  void commit_as(const std::filesystem::path& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0)
      throw Error("cannot rename " + path_.string() + " to " + target.string() + ": " + system_error_text());
    committed_ = true;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool committed_ = false;
};

class FileForReading {
 public:
  explicit FileForReading(const std::filesystem::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw Error("cannot open " + path.string() + ": " + system_error_text());
  }
  ~FileForReading() { ::close(fd_); }
  FileForReading(const FileForReading&) = delete;
  FileForReading& operator=(const FileForReading&) = delete;
  int descriptor() const noexcept { return fd_; }

 private:
  int fd_;
};

void sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // the rename happened; durability of the entry is best effort here
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  // The rename would put a file where a device or a pipe was (/dev/full, a FIFO someone reads).
  std::error_code error;
  if (const auto status = std::filesystem::status(path, error);
      std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
    throw Error(path.string() + ": not a regular file; give a file to write");
  std::filesystem::path temporary = path;
  temporary += ".tmp." + std::to_string(::getpid());
  TemporaryFile file(temporary);
  file.write_all(bytes);
  file.commit_as(path);
  sync_directory(path.parent_path());
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  write_file_atomically(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void create_directories(const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) throw Error(directory.string() + ": cannot create the directory: " + error.message());
}

std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path, int64_t limit, std::string_view what) {
  const auto too_large = [&] {
    return Error(path.string() + ": more than " + std::string(what) + " may have (" + std::to_string(limit >> 20) +
                 " MiB)");
  };
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) throw Error(path.string() + ": is a directory, expected a file");
  const FileForReading file(path);
  const int fd = file.descriptor();
  // A regular file is read at its size; a pipe or a device (`--checkpoint <(...)`) to its end.
  struct stat status {};
  std::vector<uint8_t> bytes;
  if (::fstat(fd, &status) == 0 && S_ISREG(status.st_mode)) {
    if (status.st_size > limit) throw too_large();
    bytes.reserve(static_cast<size_t>(status.st_size));
  }
  uint8_t chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("cannot read " + path.string() + ": " + system_error_text());
    if (n == 0) return bytes;
    if (static_cast<int64_t>(bytes.size()) + n > limit) throw too_large();
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
}

std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path) {
  return read_file_bytes(path, std::numeric_limits<int64_t>::max(), "a file");
}

}  // namespace s8net
