// s8net data prepare stopped by Ctrl-C (SIGINT) or SIGTERM: it exits with 130 saying so, and the
// data set it was to replace is still there, whole, with no temporary beside it. The source is a
// named pipe the test feeds, so the signal lands while the import is surely under way.
#include "support/app_runner.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/cifar_binary.hpp>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::RunningApp;
using test::TempDir;

// Opens the pipe for writing once the app has opened it for reading (at most a minute), or -1.
int open_when_read(const fs::path& pipe) {
  for (int i = 0; i < 6000; ++i) {
    const int fd = ::open(pipe.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      ::fcntl(fd, F_SETFL, 0);  // blocking writes from here on
      return fd;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// Writes what it can; a reader that has gone away (EPIPE) ends the writing.
void write_some(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

class PrepareInterrupted : public ::testing::TestWithParam<int> {};

TEST_P(PrepareInterrupted, ExitsWith130AndKeepsThePreviousDataSet) {
  std::signal(SIGPIPE, SIG_IGN);  // the app may stop reading before the pipe is drained
  const TempDir dir("prepare-interrupt");
  const CifarData previous = test::random_cifar(20, 10, 1);
  write_cifar_binary(previous, dir / "source-bin");
  const auto first =
      test::run_app("data prepare --from " + (dir / "source-bin").string() + " --out " + (dir / "out").string());
  ASSERT_EQ(first.exit_code, 0) << first.all();

  // A .tar.gz of an image folder, fed through a pipe whose name says nothing of an archive, so
  // that it is read once: the import, not the format detection.
  test::write_image_folder(dir / "set", test::random_cifar(40, 10, 2), "png");
  test::make_tar_gz(dir / "set.tar.gz", dir.path(), "set");
  const std::vector<uint8_t> archive = read_file_bytes(dir / "set.tar.gz");
  ASSERT_EQ(::mkfifo((dir / "source").c_str(), 0600), 0);

  RunningApp app("data prepare --from " + (dir / "source").string() + " --out " + (dir / "out").string());
  const int fd = open_when_read(dir / "source");
  ASSERT_GE(fd, 0) << "the app never opened the source";
  write_some(fd, archive.data(), archive.size() / 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the app waits for the rest
  app.signal(GetParam());
  write_some(fd, archive.data() + archive.size() / 2, archive.size() - archive.size() / 2);
  ::close(fd);
  const auto r = app.wait();

  EXPECT_EQ(r.exit_code, 130) << r.all();
  EXPECT_EQ(r.err, "s8net data prepare: interrupted before the new data set was complete; " + (dir / "out").string() +
                       " is unchanged\n");
  const CifarData kept = read_cifar_binary(dir / "out");
  EXPECT_EQ(kept.train.labels, previous.train.labels);
  EXPECT_TRUE(kept.train.pixels == previous.train.pixels);
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find("out."), std::string::npos) << "left behind: " << entry.path();
}

std::string signal_name(const ::testing::TestParamInfo<int>& info) {
  return info.param == SIGINT ? "CtrlC" : "Sigterm";
}

INSTANTIATE_TEST_SUITE_P(Signals, PrepareInterrupted, ::testing::Values(SIGINT, SIGTERM), signal_name);

}  // namespace
