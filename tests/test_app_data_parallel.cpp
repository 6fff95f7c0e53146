// `mpirun -np 2 s8net train` (docs/data-parallel.md) against one process on the same 1,600
// training images: GroupNorm, LayerNorm and synchronized BatchNorm follow the single-process run step by step,
// per-rank BatchNorm measurably does not; a killed rank ends the job without a hang and the run
// resumes; ranks started differently, or a batch the ranks cannot share, are refused.
#include "support/app_runner.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/data/cifar_binary.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/trainer.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::AppRun;
using test::TempDir;

// 1,600 images at batch 32: one epoch is 50 steps.
constexpr const char* kShortRun = " --epochs 1 --schedule constant --lr 0.002 --no-report";
constexpr const char* kSomeTestImages = " --limit-test 1000";
constexpr const char* kFiftySteps = " --batch 32 --limit-train 1600";

// mpirun refuses root unless told; OMP_NUM_THREADS=1 so that two ranks fit two cores.
std::string mpirun(int ranks) {
  return std::string("mpirun ") + (::geteuid() == 0 ? "--allow-run-as-root " : "") + "--oversubscribe -np " +
         std::to_string(ranks) + " ";
}
constexpr const char* kOneThread = "OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE";

std::vector<double> numbers_in(const fs::path& file) {
  std::vector<double> values;
  std::ifstream in(file);
  for (double v; in >> v;) values.push_back(v);
  return values;
}

struct Differences {
  double first = 0, largest_of_first_10 = 0, mean = 0, largest = 0;  // relative, |a - b| / a
};

Differences differences(const std::vector<double>& a, const std::vector<double>& b) {
  Differences d;
  EXPECT_EQ(a.size(), b.size());
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const double r = std::abs(a[i] - b[i]) / std::abs(a[i]);
    if (i == 0) d.first = r;
    if (i < 10) d.largest_of_first_10 = std::max(d.largest_of_first_10, r);
    d.largest = std::max(d.largest, r);
    d.mean += r / static_cast<double>(n);
  }
  return d;
}

class DataParallelApp : public ::testing::Test {
 protected:
  // The project's CIFAR-10 when it is there (accuracies then mean something), else random images.
  static void SetUpTestSuite() {
    dir_ = new TempDir("data-parallel");
    const fs::path archive = S8NET_SHARED_DATA;
    if (fs::exists(archive)) {
      const AppRun prepared =
          test::run_app("data prepare --from " + archive.string() + " --out " + (*dir_ / "data").string());
      ASSERT_EQ(prepared.exit_code, 0) << prepared.all();
    } else {
      write_cifar_binary(test::random_cifar(1600, 500, 17), *dir_ / "data");
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path dir() { return dir_->path(); }

  // Trains `flags` in `ranks` processes (1: without mpirun) into dir()/name; returns the run.
  static AppRun train(const std::string& name, int ranks, const std::string& flags) {
    const std::string arguments = "train --data " + (dir() / "data").string() + " --out " + (dir() / name).string() +
                                  " --overwrite --step-losses " + (dir() / (name + ".losses")).string() + " " + flags;
    if (ranks == 1) return test::run_app(arguments, kOneThread);
    return test::run_program(kOneThread + std::string(" ") + mpirun(ranks) + S8NET_APP, arguments);
  }
  static std::vector<double> losses(const std::string& name) { return numbers_in(dir() / (name + ".losses")); }
  static EpochMetrics last_epoch(const std::string& name) {
    const auto history = epoch_history_from_jsonl(test::text_of(dir() / name / kMetricsFile), name);
    EXPECT_FALSE(history.empty());
    return history.empty() ? EpochMetrics{} : history.back();
  }

  static TempDir* dir_;
};
TempDir* DataParallelApp::dir_ = nullptr;

class NormsThatFollowOneProcess : public DataParallelApp, public ::testing::WithParamInterface<std::string> {};

TEST_P(NormsThatFollowOneProcess, TwoRanksAtBatch32TrainWhatOneProcessDoes) {
  // The whole test set: after 50 steps many test images are near ties between classes, and
  // rounding flips a few; over 10,000 images a 0.1-point agreement means something.
  const std::string flags = std::string(kShortRun) + kFiftySteps + " --limit-test 10000 --norm " + GetParam();
  const std::string name = "follow-" + GetParam().substr(0, 2) + (GetParam().size() > 2 ? "-sync" : "");
  const AppRun one = train(name + "-1", 1, flags);
  ASSERT_EQ(one.exit_code, 0) << one.all();
  const AppRun two = train(name + "-2", 2, flags);
  ASSERT_EQ(two.exit_code, 0) << two.all();
  EXPECT_CONTAINS(two.out, "data-parallel over 2 ranks: 16 images of each batch per rank");

  const auto a = losses(name + "-1"), b = losses(name + "-2");
  ASSERT_EQ(a.size(), 50u);
  const Differences d = differences(a, b);
  EXPECT_LT(d.largest, GetParam().size() > 2 ? 2e-2 : 1e-3) << GetParam();
  EXPECT_LT(d.first, 1e-5) << GetParam();
  std::cout << GetParam() << ": loss per step over 2 ranks against one process, relative difference: first " << d.first
            << ", mean " << d.mean << ", largest " << d.largest << "\n";
  const EpochMetrics m1 = last_epoch(name + "-1"), m2 = last_epoch(name + "-2");
  EXPECT_EQ(m2.train_total, m1.train_total);
  // On the project's data the 0.1 point; on the random stand-in, with 500 test images,
  // one image (0.2 points).
  double tolerance = m1.test_total > 1000 ? 0.1 : 0.2;
  // BatchNorm's training amplifies rounding (its batch statistics couple every image): one process
  // computing the same statistics in another order (without sync, oneDNN's sums) ends the run
  // apart by an amount that depends on the CPU's kernels. Two ranks may differ by that much more.
  if (GetParam().starts_with("bn")) {
    std::string unsynced_flags = flags;
    unsynced_flags.replace(unsynced_flags.find("sync=1"), 6, "sync=0");
    const AppRun unsynced = train(name + "-1-unsynced", 1, unsynced_flags);
    ASSERT_EQ(unsynced.exit_code, 0) << unsynced.all();
    const double rounding = std::abs(last_epoch(name + "-1-unsynced").test_accuracy() - m1.test_accuracy());
    std::cout << GetParam() << ": one process, the statistics summed without sync: test accuracy "
              << last_epoch(name + "-1-unsynced").test_accuracy() << "%\n";
    tolerance += std::min(rounding, 0.5);  // beyond that a broken sync would pass unseen
  }
  EXPECT_NEAR(m2.test_accuracy(), m1.test_accuracy(), tolerance);
  std::cout << GetParam() << ": test accuracy " << m2.test_accuracy() << "% over 2 ranks, " << m1.test_accuracy()
            << "% in one process\n";
}

INSTANTIATE_TEST_SUITE_P(DataParallelApp, NormsThatFollowOneProcess,
                         ::testing::Values("gn", "ln", "bn --norm-option sync=1"), [](const auto& param) {
                           return param.param.substr(0, 2) + (param.index == 2 ? "_sync" : "");
                         });

TEST_F(DataParallelApp, BatchNormWithoutSyncNormalizesPerRankAndMeasurablyDiffers) {
  const std::string flags = std::string(kShortRun) + kSomeTestImages + kFiftySteps + " --norm bn";
  const AppRun one = train("bn-1", 1, flags);
  ASSERT_EQ(one.exit_code, 0) << one.all();
  const AppRun per_rank = train("bn-2", 2, flags);
  ASSERT_EQ(per_rank.exit_code, 0) << per_rank.all();
  const AppRun synchronized = train("bn-sync-2", 2, flags + " --norm-option sync=1");
  ASSERT_EQ(synchronized.exit_code, 0) << synchronized.all();
  const Differences unsynced = differences(losses("bn-1"), losses("bn-2"));
  const Differences synced = differences(losses("bn-1"), losses("bn-sync-2"));
  // The first step starts from the same weights: per-rank statistics already change its loss.
  EXPECT_GT(unsynced.first, 1e-3);
  EXPECT_LT(synced.first, 1e-5);
  EXPECT_GT(unsynced.largest_of_first_10, 10 * synced.largest_of_first_10);
  std::cout << "bn over 2 ranks against one process, loss per step, relative difference: without sync first "
            << unsynced.first << ", largest of the first 10 " << unsynced.largest_of_first_10 << ", mean "
            << unsynced.mean << "; with sync=1 first " << synced.first << ", largest of the first 10 "
            << synced.largest_of_first_10 << ", mean " << synced.mean << "\n";
  std::cout << "bn test accuracy: one process " << last_epoch("bn-1").test_accuracy() << "%, 2 ranks "
            << last_epoch("bn-2").test_accuracy() << "%, 2 ranks sync=1 " << last_epoch("bn-sync-2").test_accuracy()
            << "%\n";
}

TEST_F(DataParallelApp, OnlyRankZeroPrintsAndWritesTheRunDirectory) {
  const AppRun two =
      train("quiet", 2, std::string(kShortRun) + kSomeTestImages + " --norm gn --batch 32 --limit-train 320");
  ASSERT_EQ(two.exit_code, 0) << two.all();
  // One header line and one epoch row: the second rank printed nothing.
  size_t headers = 0;
  for (size_t at = two.out.find("train correct"); at != std::string::npos; at = two.out.find("train correct", at + 1))
    ++headers;
  EXPECT_EQ(headers, 1u) << two.out;
  EXPECT_EQ(two.err, "");
  const Checkpoint last = load_checkpoint(dir() / "quiet" / kLastCheckpoint);
  EXPECT_EQ(last.epochs_done, 1);
  EXPECT_TRUE(fs::exists(dir() / "quiet" / kConfigFile));
}

TEST_F(DataParallelApp, ABatchTheRanksCannotShareEquallyIsRefused) {
  const AppRun r =
      train("uneven", 2, std::string(kShortRun) + kSomeTestImages + " --norm gn --batch 31 --limit-train 320");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_CONTAINS(r.err, "--batch 31 cannot be shared equally by 2 ranks: give a multiple of 2");
  EXPECT_FALSE(fs::exists(dir() / "uneven" / kLastCheckpoint));
}

TEST_F(DataParallelApp, RanksStartedWithDifferentFlagsRefuseNamingTheDifference) {
  const std::string common = "train --data " + (dir() / "data").string() + " --out " + (dir() / "mixed").string() +
                             " --overwrite --norm gn --epochs 1 --limit-train 320 --no-report";
  // One mpirun, two programs: rank 0 at batch 32, rank 1 at batch 16.
  const AppRun r =
      test::run_program(kOneThread + std::string(" mpirun ") + (::geteuid() == 0 ? "--allow-run-as-root " : "") +
                            "--oversubscribe -np 1 " + S8NET_APP,
                        common + " --batch 32 : -np 1 " + S8NET_APP + " " + common + " --batch 16");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_CONTAINS(r.err,
                  "rank 1 was started differently from rank 0: the configuration's batch_size is 16 on rank 1 "
                  "but 32 on rank 0");
  EXPECT_FALSE(fs::exists(dir() / "mixed" / kLastCheckpoint));
}

// The pids of this run's ranks: s8net processes whose command line names its run directory.
std::vector<pid_t> rank_pids(const fs::path& run) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string command = test::text_of(entry.path() / "cmdline");
    std::replace(command.begin(), command.end(), '\0', ' ');
    if (command.starts_with(std::string(S8NET_APP) + " train") && command.find(run.string()) != std::string::npos)
      pids.push_back(std::stoi(name));
  }
  return pids;
}

TEST_F(DataParallelApp, AKilledRankEndsTheJobWithoutAHangAndTheRunResumes) {
  const fs::path run = dir() / "killed";
  const std::string arguments = "train --data " + (dir() / "data").string() + " --out " + run.string() +
                                " --overwrite --norm gn --batch 32 --epochs 4 --limit-train 640 --limit-test 100 "
                                "--no-report";
  const TempDir scratch("killed-job");
  const std::string command = std::string("exec env ") + kOneThread + " " + mpirun(2) + S8NET_APP + " " + arguments +
                              " >" + (scratch / "out").string() + " 2>" + (scratch / "err").string();
  const pid_t job = ::fork();
  if (job == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(job, 0);
  // Once the first epoch is saved, kill a rank in the middle of the second.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(run / kMetricsFile) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::vector<pid_t> ranks = rank_pids(run);
  ASSERT_EQ(ranks.size(), 2u) << "the ranks of " << run;
  ::kill(ranks.back(), SIGKILL);
  // The job must end by itself: the surviving rank may not wait for the dead one for ever.
  int status = 0;
  pid_t ended = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((ended = ::waitpid(job, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (ended == 0) {
    ::kill(job, SIGKILL);
    for (const pid_t p : rank_pids(run)) ::kill(p, SIGKILL);
    ::waitpid(job, &status, 0);
    FAIL() << "the job still ran 60 s after a rank was killed";
  }
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const std::string said = test::text_of(scratch / "out") + test::text_of(scratch / "err");
  EXPECT_CONTAINS(said, "signal 9");  // mpirun names the rank that died and how
  EXPECT_TRUE(rank_pids(run).empty()) << "no rank survives the job";

  const Checkpoint last = load_checkpoint(run / kLastCheckpoint);
  EXPECT_GE(last.epochs_done, 1);
  EXPECT_LT(last.epochs_done, 4);
  // Resumed in one process: another number of ranks continues the same run.
  const AppRun resumed = test::run_app(
      "train --resume --data " + (dir() / "data").string() + " --out " + run.string() + " --no-report", kOneThread);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.all();
  EXPECT_EQ(load_checkpoint(run / kLastCheckpoint).epochs_done, 4);
  EXPECT_EQ(epoch_history_from_jsonl(test::text_of(run / kMetricsFile), "metrics").size(), 4u);
}

}  // namespace
