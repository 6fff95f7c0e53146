// One run directory, one training: the lock, the refusal of a fresh run over another, --overwrite,
// and the empty --out, through the library and through the app.
#include "support/app_runner.hpp"
#include "support/error_of.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/run_directory.hpp>
#include <s8net/train/trainer.hpp>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::error_of;
using test::run_app;
using test::RunningApp;
using test::TempDir;

TEST(RunDirectoryLock, ASecondHolderIsRefusedNamingTheFirst) {
  const TempDir dir("lock");
  const RunDirectoryLock first(dir / "run");
  EXPECT_TRUE(fs::is_directory(dir / "run"));
  EXPECT_EQ(error_of([&] { RunDirectoryLock second(dir / "run"); }),
            (dir / "run").string() + ": in use by another training (process " + std::to_string(::getpid()) +
                "); one directory takes one training at a time");
}

TEST(RunDirectoryLock, IsReleasedWithItsHolder) {
  const TempDir dir("lock");
  { const RunDirectoryLock first(dir / "run"); }
  EXPECT_NO_THROW(RunDirectoryLock(dir / "run"));
}

// The kernel drops the lock of a process that dies, however it dies: a killed run never blocks.
TEST(RunDirectoryLock, TheLockOfAKilledProcessDoesNotBlock) {
  const TempDir dir("lock");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    const RunDirectoryLock held(dir / "run");
    const char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
    ::pause();
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_NE(error_of([&] { RunDirectoryLock taken(dir / "run"); }).find("in use by another training"),
            std::string::npos);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_NO_THROW(RunDirectoryLock(dir / "run"));
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(RunDirectory, HoldsARunOnceSomethingWasTrained) {
  const TempDir dir("holds");
  EXPECT_FALSE(holds_run(dir / "absent"));
  EXPECT_FALSE(holds_run(dir.path()));
  write_file_atomically(dir / kConfigFile, std::string("{}"));
  EXPECT_FALSE(holds_run(dir.path())) << "a configuration alone trained nothing";
  write_file_atomically(dir / kBestCheckpoint, std::string("x"));
  EXPECT_FALSE(holds_run(dir.path())) << "a best.s8ckpt without its last.s8ckpt: the first epoch's save was cut";
  fs::remove(dir / kBestCheckpoint);
  for (const char* file : {kMetricsFile, kLastCheckpoint}) {
    write_file_atomically(dir / file, std::string("x"));
    EXPECT_TRUE(holds_run(dir.path())) << file;
    fs::remove(dir / file);
  }
  write_file_atomically(dir / kLastCheckpoint, std::string("x"));
  write_file_atomically(dir / "notes.txt", std::string("mine"));
  remove_run_files(dir.path());
  EXPECT_FALSE(fs::exists(dir / kLastCheckpoint));
  EXPECT_FALSE(fs::exists(dir / kConfigFile));
  EXPECT_TRUE(fs::exists(dir / "notes.txt")) << "only the run's own files go";
}

TEST(RunDirectory, StaleTemporariesOfRunFilesAreRemoved) {
  const TempDir dir("stale");
  for (const char* name : {"last.s8ckpt.tmp.123", "metrics.jsonl.tmp.9", "report.html.tmp.5", "last.s8ckpt.tmp.x"})
    write_file_atomically(dir / name, std::string("x"));
  remove_stale_temporaries(dir.path());
  EXPECT_FALSE(fs::exists(dir / "last.s8ckpt.tmp.123"));
  EXPECT_FALSE(fs::exists(dir / "metrics.jsonl.tmp.9"));
  EXPECT_TRUE(fs::exists(dir / "report.html.tmp.5")) << "not a run file's";
  EXPECT_TRUE(fs::exists(dir / "last.s8ckpt.tmp.x")) << "not a temporary's name";
}

// The app: 256 images in batches of 8, a run long enough to still be training when a second starts.
class AppRunDirectory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("app-run-dir");
    write_cifar_binary(test::random_cifar(256, 16, 4), *dir_ / "data");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string train(const std::string& norm, const fs::path& out, const std::string& more = "") {
    return "train --norm " + norm + " --batch 8 --no-report --data " + (*dir_ / "data").string() + " --out " +
           out.string() + more;
  }
  static inline TempDir* dir_ = nullptr;
};

TEST_F(AppRunDirectory, ASecondTrainingOfTheSameDirectoryIsRefused) {
  const fs::path run = *dir_ / "shared";
  RunningApp first(train("bn", run, " --epochs 200"));
  // Wait until the first holds the directory: its config.json is written under the lock.
  for (int i = 0; i < 6000 && !fs::exists(run / kConfigFile); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(run / kConfigFile));
  const auto second = run_app(train("ln", run, " --epochs 1 --overwrite"));
  EXPECT_EQ(second.exit_code, 1) << second.all();
  EXPECT_CONTAINS(second.err, run.string() + ": in use by another training (process ");
  first.signal(SIGKILL);
  first.wait();
  // The killed run's lock does not block; its config is the first's, untouched by the refused second.
  EXPECT_CONTAINS(test::text_of(run / kConfigFile), "\"norm\": \"bn\"");
  const auto after = run_app(train("ln", run, " --epochs 1 --overwrite"));
  EXPECT_EQ(after.exit_code, 0) << after.all();
}

TEST_F(AppRunDirectory, AFreshRunOverAnotherIsRefusedUnlessOverwrite) {
  const fs::path run = *dir_ / "finished";
  ASSERT_EQ(run_app(train("bn", run, " --epochs 1")).exit_code, 0);
  const auto before = read_file_bytes(run / kBestCheckpoint);
  const auto refused = run_app(train("ln", run, " --epochs 1"));
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_CONTAINS(refused.err,
                  run.string() + ": holds another run; continue it with --resume, or replace it with --overwrite");
  EXPECT_EQ(read_file_bytes(run / kBestCheckpoint), before) << "a refused run leaves the old one as it was";
  EXPECT_EQ(load_checkpoint(run / kLastCheckpoint).config.norm, "bn");

  const auto replaced = run_app(train("ln", run, " --epochs 1 --overwrite"));
  EXPECT_EQ(replaced.exit_code, 0) << replaced.all();
  for (const char* file : {kLastCheckpoint, kBestCheckpoint})
    EXPECT_EQ(load_checkpoint(run / file).config.norm, "ln") << file;
  EXPECT_CONTAINS(test::text_of(run / kConfigFile), "\"norm\": \"ln\"");

  const auto both = run_app(train("ln", run, " --resume --overwrite"));
  EXPECT_EQ(both.exit_code, 2) << both.all();
  EXPECT_CONTAINS(both.err, "--resume continues a run and --overwrite replaces it: give one of them");
}

// `--out "$RUN"` with RUN unset: refused at once, nothing trained, nothing written.
TEST_F(AppRunDirectory, AnEmptyPathIsRefusedBeforeAnything) {
  for (const std::string& command :
       {train("bn", "''", " --epochs 1"), "train --norm bn --epochs 1 --data '' --out " + (*dir_ / "x").string(),
        std::string("eval --checkpoint '' --data ") + (*dir_ / "data").string()}) {
    const auto r = run_app(command);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.all();
    EXPECT_CONTAINS(r.err, " is empty (an unset shell variable?)");
  }
  EXPECT_FALSE(fs::exists(*dir_ / "x"));
}

}  // namespace
