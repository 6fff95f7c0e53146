// A training interrupted as users and machines interrupt it: Ctrl-C (SIGINT) finishes the batch,
// checkpoints and exits with 130; SIGKILL at any moment loses at most the epoch in progress. In both
// cases `--resume` ends with exactly the weights of an uninterrupted run of the same seed.
#include "support/app_runner.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/data/cifar_binary.hpp>
#include <s8net/train/checkpoint.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::run_app;
using test::RunningApp;
using test::TempDir;

int64_t lines_of(const fs::path& file) {
  std::ifstream in(file);
  int64_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

// Polls (every 10 ms, for at most a minute) until ready() holds.
template <class Ready>
bool wait_for(Ready ready) {
  for (int i = 0; i < 6000; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Whether process `pid` has a handler for `signal` (its bit in SigCgt of /proc/PID/status).
bool catches(pid_t pid, int signal) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("SigCgt:")) return (std::stoull(line.substr(7), nullptr, 16) >> (signal - 1) & 1) != 0;
  return false;
}

// 1,024 training images in batches of 8: 128 batches per epoch, long enough to land a signal in
// the middle of one. The reference run is uninterrupted.
class Interrupted : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("interrupt");
    write_cifar_binary(test::random_cifar(1024, 20, 6), *dir_ / "data");
    const auto r = run_app(train_flags("reference"));
    ASSERT_EQ(r.exit_code, 0) << r.all();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string train_flags(const std::string& run) {
    return "train --norm gn --epochs 3 --batch 8 --seed 5 --no-report " + data_and_out(run);
  }
  static std::string data_and_out(const std::string& run) {
    return "--data " + (*dir_ / "data").string() + " --out " + (*dir_ / run).string();
  }
  static fs::path last_of(const std::string& run) { return *dir_ / run / "last.s8ckpt"; }

  // The resumed run's final tensors equal the reference's.
  static void expect_resume_matches_reference(const std::string& run) {
    const auto resumed = run_app("train --resume --no-report " + data_and_out(run));
    ASSERT_EQ(resumed.exit_code, 0) << resumed.all();
    EXPECT_CONTAINS(resumed.out, "resuming ");
    const Checkpoint expected = load_checkpoint(last_of("reference")), actual = load_checkpoint(last_of(run));
    EXPECT_EQ(actual.epochs_done, 3);
    ASSERT_EQ(actual.tensors.size(), expected.tensors.size());
    for (size_t k = 0; k < expected.tensors.size(); ++k)
      EXPECT_EQ(actual.tensors[k].values, expected.tensors[k].values) << expected.tensors[k].name;
    EXPECT_EQ(lines_of(*dir_ / run / "metrics.jsonl"), 3);
  }

  static inline TempDir* dir_ = nullptr;
};

TEST_F(Interrupted, CtrlCFinishesTheBatchSavesAndResumesExactly) {
  RunningApp app(train_flags("sigint"));
  // In epoch 2: epoch 1 is in metrics.jsonl, then a little more training.
  ASSERT_TRUE(wait_for([&] { return lines_of(*dir_ / "sigint" / "metrics.jsonl") >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  app.signal(SIGINT);
  const auto stopped = app.wait();
  EXPECT_EQ(stopped.exit_code, 130) << stopped.all();
  EXPECT_CONTAINS(stopped.err, "s8net train: interrupted after ");
  EXPECT_CONTAINS(stopped.err, "saved in " + last_of("sigint").string() + "; continue with: s8net train --resume");
  const Checkpoint saved = load_checkpoint(last_of("sigint"));
  EXPECT_GE(saved.epochs_done, 1);
  EXPECT_LT(saved.epoch_in_progress.batches_done, 128);
  expect_resume_matches_reference("sigint");
}

TEST_F(Interrupted, ASignalWhileItStartsStopsItAtTheFirstBatch) {
  RunningApp app(train_flags("early"));
  // The handler is in place before the plugins and the data load, and so before the trainer
  // makes the run directory.
  bool caught = false;
  for (int i = 0; i < 60000 && !caught; ++i) {
    caught = catches(app.pid(), SIGTERM);
    if (!caught) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(caught);
  EXPECT_FALSE(fs::exists(*dir_ / "early"));
  app.signal(SIGTERM);
  const auto stopped = app.wait();
  EXPECT_EQ(stopped.exit_code, 130) << stopped.all();
  EXPECT_CONTAINS(stopped.err,
                  "s8net train: interrupted after batch 1 of 128 of epoch 1, saved in " + last_of("early").string());
  expect_resume_matches_reference("early");
}

// A training in its first epoch has no checkpoint yet: --resume says it is in use, not that there
// is nothing to resume.
TEST_F(Interrupted, ResumeOfARunInItsFirstEpochSaysItIsInUse) {
  RunningApp app("train --norm gn --epochs 1 --batch 1 --no-report " + data_and_out("busy"));  // 1,024 steps
  ASSERT_TRUE(wait_for([&] { return fs::exists(*dir_ / "busy" / ".lock"); }));
  ASSERT_FALSE(fs::exists(last_of("busy")));
  const auto r = run_app("train --resume --no-report " + data_and_out("busy"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, (*dir_ / "busy").string() + ": in use by another training (process " +
                             std::to_string(app.pid()) + "); one directory takes one training at a time");
}

TEST_F(Interrupted, SigkillLosesAtMostTheEpochInProgress) {
  RunningApp app(train_flags("sigkill"));
  ASSERT_TRUE(wait_for([&] { return lines_of(*dir_ / "sigkill" / "metrics.jsonl") >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  app.signal(SIGKILL);
  EXPECT_EQ(app.wait().exit_code, 128 + SIGKILL);
  // Whatever the moment, the checkpoint on disk is whole: the previous one or the new one.
  const Checkpoint kept = load_checkpoint(last_of("sigkill"));
  EXPECT_GE(kept.epochs_done, 1);
  EXPECT_EQ(kept.epoch_in_progress.batches_done, 0);
  expect_resume_matches_reference("sigkill");
}

}  // namespace
