// write_file_atomically: the target is always the whole old file or the whole new one. A write
// that fails midway (here the file size limit stands in for a full disk: write() fails the same
// way, with no space left for the rest) leaves the previous file intact and no temporary behind.
#include "support/temp_dir.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using s8net::read_file_bytes;
using s8net::write_file_atomically;
using s8net::test::TempDir;

TEST(AtomicFile, ReplacesTheWholeFileAndLeavesNoTemporary) {
  const TempDir dir("atomic");
  write_file_atomically(dir / "f", std::string_view("first version"));
  write_file_atomically(dir / "f", std::string_view("second"));
  const std::vector<uint8_t> bytes = read_file_bytes(dir / "f");
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

// A pipe or a device where the file would go stays what it was: the rename would replace it.
TEST(AtomicFile, RefusesToReplaceWhatIsNotARegularFile) {
  const TempDir dir("atomic");
  const fs::path pipe = dir / "pipe";
  ASSERT_EQ(::mkfifo(pipe.c_str(), 0600), 0);
  fs::create_directory(dir / "folder");
  for (const fs::path& target : {pipe, dir / "folder"}) {
    try {
      write_file_atomically(target, std::string_view("text"));
      ADD_FAILURE() << target << " was written";
    } catch (const s8net::Error& e) {
      EXPECT_EQ(std::string(e.what()), target.string() + ": not a regular file; give a file to write");
    }
  }
  EXPECT_TRUE(fs::is_fifo(pipe));
  EXPECT_TRUE(fs::is_directory(dir / "folder"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2) << "no temporary left";
}

TEST(AtomicFile, AWriteThatRunsOutOfSpaceKeepsThePreviousFile) {
  const TempDir dir("atomic");
  const std::string previous(1000, 'p');
  write_file_atomically(dir / "checkpoint", std::string_view(previous));

  // In a child, so the limit and the ignored signal do not reach the rest of the tests.
  int pipe_ends[2];
  ASSERT_EQ(::pipe(pipe_ends), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_ends[0]);
    std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG instead of killing
    const rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::string message = "no error";
    try {
      write_file_atomically(dir / "checkpoint", std::string(100000, 'n'));
    } catch (const std::exception& e) {
      message = e.what();
    }
    const ssize_t written = ::write(pipe_ends[1], message.data(), message.size());
    ::_exit(written == static_cast<ssize_t>(message.size()) ? 0 : 1);
  }
  ::close(pipe_ends[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_ends[0], buffer, sizeof buffer)) > 0;)
    message.append(buffer, static_cast<size_t>(n));
  ::close(pipe_ends[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  EXPECT_EQ(message.rfind("cannot write " + (dir / "checkpoint").string() + ".tmp.", 0), 0u) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  const std::vector<uint8_t> bytes = read_file_bytes(dir / "checkpoint");
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), previous);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1) << "temporary left";
}

}  // namespace
