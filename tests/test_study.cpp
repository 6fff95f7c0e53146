// s8net study: a small grid trained three ways (one run at a time, two side by side, and over
// two MPI ranks) gives the same numbers for every run; killed midway and started again it ends
// with the same table; a point that fails is recorded with its reason while the rest goes on;
// bad flags are refused before anything runs.
#include "support/app_runner.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"
#include "support/test_plugins.hpp"

#include <s8net/data/cifar_binary.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/trainer.hpp>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::run_app;
using test::RunningApp;
using test::TempDir;

constexpr const char* kNorms = "bn,gn,ln";
constexpr const char* kBatches = "8,16,32";

class Study : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("study");
    write_cifar_binary(test::random_cifar(160, 40, 21), *dir_ / "data");
  }
  // The study every way of running the grid is compared with (two runs side by side), made by
  // the first test that needs it; its output.
  static const std::string& reference_output() {
    if (reference_output_ == nullptr)
      reference_output_ = new std::string(run_app(study_flags(*dir_ / "reference", " --jobs 2")).all());
    return *reference_output_;
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete reference_output_;
    dir_ = nullptr;
    reference_output_ = nullptr;
  }
  static std::string study_flags(const fs::path& out, const std::string& more = "") {
    return std::string("study --norm ") + kNorms + " --batch " + kBatches +
           " --seeds 2 --epochs 2 --lr-scaling linear" + " --data " + (*dir_ / "data").string() + " --out " +
           out.string() + more;
  }
  static std::vector<std::string> run_names() {
    std::vector<std::string> names;
    for (const char* norm : {"bn", "gn", "ln"})
      for (const char* batch : {"8", "16", "32"})
        for (const char* seed : {"1", "2"}) names.push_back(std::string(norm) + "-b" + batch + "-s" + seed);
    return names;
  }
  // Every run of `study` ended with the weights and test results of the same run of `reference`.
  static void expect_same_runs(const fs::path& study, const fs::path& reference) {
    for (const std::string& name : run_names()) {
      SCOPED_TRACE(name);
      const Checkpoint a = load_checkpoint(reference / "runs" / name / kLastCheckpoint);
      const Checkpoint b = load_checkpoint(study / "runs" / name / kLastCheckpoint);
      ASSERT_EQ(a.tensors.size(), b.tensors.size());
      for (size_t k = 0; k < a.tensors.size(); ++k)
        EXPECT_EQ(a.tensors[k].values, b.tensors[k].values) << a.tensors[k].name;
      const auto ha = epoch_history_from_jsonl(a.metrics_jsonl, "a"),
                 hb = epoch_history_from_jsonl(b.metrics_jsonl, "b");
      ASSERT_EQ(ha.size(), 2u);
      ASSERT_EQ(hb.size(), 2u);
      for (size_t e = 0; e < 2; ++e) EXPECT_EQ(ha[e].test_correct, hb[e].test_correct);
    }
  }
  static inline TempDir* dir_ = nullptr;
  static inline std::string* reference_output_ = nullptr;
};

TEST_F(Study, OneAtATimeSideBySideAndOverMpiGiveTheSameRuns) {
  const fs::path reference = *dir_ / "reference", one = *dir_ / "one", ranks = *dir_ / "ranks";
  EXPECT_CONTAINS(reference_output(),
                  "18 points (3 norms x 3 batch sizes x 2 seeds), 0 already done; 2 runs at a time, 1 thread each");
  EXPECT_CONTAINS(reference_output(), "18 finished, 0 failed, 0 not run");
  for (const char* file : {"study.csv", "study.json", "summary.md", "study.html", "study_accuracy.png"})
    EXPECT_TRUE(fs::exists(reference / file)) << file;
  // Linear scaling: batch 8 trains at a quarter of the recipe's rates, batch 32 at them.
  EXPECT_EQ(load_checkpoint(reference / "runs" / "bn-b8-s1" / kLastCheckpoint).config.schedule.points.at(1).second,
            0.01 / 4);
  EXPECT_EQ(load_checkpoint(reference / "runs" / "bn-b32-s2" / kLastCheckpoint).config.schedule.points.at(1).second,
            0.01);

  const auto one_at_a_time = run_app(study_flags(one, " --jobs 1"));
  ASSERT_EQ(one_at_a_time.exit_code, 0) << one_at_a_time.all();
  EXPECT_CONTAINS(one_at_a_time.out, "1 runs at a time, 1 thread each");
  expect_same_runs(one, reference);

  const auto mpi = test::run_program("mpirun", "--allow-run-as-root --oversubscribe -np 2 " + std::string(S8NET_APP) +
                                                   " " + study_flags(ranks, " --jobs 1"));
  ASSERT_EQ(mpi.exit_code, 0) << mpi.all();
  EXPECT_CONTAINS(mpi.out, "rank 1 of 2: ");  // the second rank trained points too
  EXPECT_CONTAINS(mpi.out, "18 finished, 0 failed, 0 not run");
  expect_same_runs(ranks, reference);

  // Nothing is trained twice: the same command again finds every point done.
  const auto again = run_app(study_flags(reference, " --jobs 1"));
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_CONTAINS(again.out, "18 already done");
  EXPECT_EQ(again.out.find(" finished after "), std::string::npos) << again.out;
  // The same directory with other flags is refused, naming a point and the difference, not
  // reported as if its runs were this study's.
  const auto other_epochs = run_app(study_flags(reference, " --jobs 1 --limit-train 100"));
  EXPECT_EQ(other_epochs.exit_code, 2) << other_epochs.all();
  EXPECT_CONTAINS(other_epochs.err, "bn-b8-s1 was trained with limit_train 0 (");
  EXPECT_CONTAINS(other_epochs.err, "this study asks for 100");
  const auto other_scaling =
      run_app(std::string("study --norm ") + kNorms + " --batch " + kBatches + " --seeds 2 --epochs 2 --data " +
              (*dir_ / "data").string() + " --out " + reference.string());
  EXPECT_EQ(other_scaling.exit_code, 2) << other_scaling.all();
  EXPECT_CONTAINS(other_scaling.err, "bn-b8-s1 was trained with schedule.points");
}

// True once no training holds a run directory (a killed study's trainings checkpoint and end).
bool all_runs_released(const fs::path& study) {
  if (!fs::exists(study / "runs")) return true;
  for (const auto& run : fs::directory_iterator(study / "runs")) {
    const int fd = ::open((run.path() / ".lock").c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    ::close(fd);
    if (!free) return false;
  }
  return true;
}

TEST_F(Study, KilledMidwayAndStartedAgainItEndsWithTheSameRuns) {
  const fs::path reference = *dir_ / "reference";
  ASSERT_NE(reference_output().find("18 finished, 0 failed"), std::string::npos) << reference_output();
  const fs::path killed = *dir_ / "killed";
  {
    RunningApp study(study_flags(killed, " --jobs 2"));
    const auto finished_runs = [&] {
      int count = 0;
      if (fs::exists(killed / "runs"))
        for (const auto& run : fs::directory_iterator(killed / "runs"))
          count += fs::exists(run.path() / "metrics.jsonl");
      return count;
    };
    for (int i = 0; i < 6000 && finished_runs() < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    study.signal(SIGKILL);
    study.wait();
  }
  for (int i = 0; i < 6000 && !all_runs_released(killed); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto resumed = run_app(study_flags(killed, " --jobs 2"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.all();
  EXPECT_CONTAINS(resumed.out, "18 finished, 0 failed, 0 not run");
  expect_same_runs(killed, reference);
}

// SIGTERM (or SIGINT) to the study alone, as `kill PID` sends it: the study passes it on to its
// trainings, which checkpoint, and ends with 130; the same command then continues.
TEST_F(Study, ATerminatedStudyStopsItsTrainingsAndContinuesLater) {
  const fs::path out = *dir_ / "terminated";
  const std::string flags = "study --norm ln --batch 8 --seeds 2 --epochs 30 --jobs 2 --data " +
                            (*dir_ / "data").string() + " --out " + out.string();
  RunningApp study(flags);
  for (int i = 0; i < 6000 && !fs::exists(out / "runs" / "ln-b8-s1" / kMetricsFile); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  study.signal(SIGTERM);
  const auto stopped = study.wait();
  EXPECT_EQ(stopped.exit_code, 130) << stopped.all();
  EXPECT_CONTAINS(stopped.err, "s8net study: interrupted; the runs in progress were checkpointed");
  // Both trainings were stopped by the study (not left running) and checkpointed midway.
  EXPECT_TRUE(all_runs_released(out));
  for (const char* run : {"ln-b8-s1", "ln-b8-s2"}) {
    EXPECT_CONTAINS(test::text_of(out / "runs" / run / "train.log"), "s8net train: interrupted after ");
    EXPECT_LT(load_checkpoint(out / "runs" / run / kLastCheckpoint).epochs_done, 30) << run;
  }
}

TEST_F(Study, AFailingPointIsRecordedWithItsReasonAndTheRestGoesOn) {
  const fs::path out = *dir_ / "failing";
  const auto r = run_app("study --norm ln,nanloss --batch 16 --seeds 1 --epochs 2 --plugin-dir " +
                         test::test_plugin_dir("nan_loss").string() + " --data " + (*dir_ / "data").string() +
                         " --out " + out.string());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_CONTAINS(r.out, "nanloss-b16-s1 FAILED after ");
  EXPECT_CONTAINS(r.out, "training diverged: the loss is ");
  EXPECT_CONTAINS(r.out, "1 finished, 1 failed, 0 not run");
  const std::string csv = test::text_of(out / "study.csv");
  EXPECT_CONTAINS(csv, "training diverged");
  EXPECT_TRUE(fs::exists(out / "runs" / "ln-b16-s1" / kLastCheckpoint));
  // Not trained again: the failure is the point's record until --retry-failed.
  const auto again = run_app("study --norm ln,nanloss --batch 16 --seeds 1 --epochs 2 --plugin-dir " +
                             test::test_plugin_dir("nan_loss").string() + " --data " + (*dir_ / "data").string() +
                             " --out " + out.string());
  EXPECT_CONTAINS(again.out, "2 already done");
}

// --tta: every finished run is evaluated once more with the views, as `s8net eval --tta` would,
// kept in its directory and summarised with its interval; the same study again evaluates nothing
// again, and other views evaluate every run again.
TEST_F(Study, TestTimeViewsEvaluateEachFinishedRunOnce) {
  const fs::path out = *dir_ / "views";
  const std::string flags =
      "study --norm gn --batch 16 --seeds 2 --epochs 1 --data " + (*dir_ / "data").string() + " --out " + out.string();
  const auto r = run_app(flags + " --tta flip+shift1");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  for (const char* run : {"gn-b16-s1", "gn-b16-s2"}) {
    SCOPED_TRACE(run);
    const auto recorded = nlohmann::json::parse(test::text_of(out / "runs" / run / "test_time_views.json"));
    EXPECT_EQ(recorded["tta"], "flip+shift1");
    EXPECT_EQ(recorded["views"], 10);
    EXPECT_EQ(recorded["test_total"], 40);
    const auto eval = run_app("eval --tta flip+shift1 --checkpoint " + (out / "runs" / run / kLastCheckpoint).string() +
                              " --data " + (*dir_ / "data").string());
    ASSERT_EQ(eval.exit_code, 0) << eval.all();
    // Appended piece by piece: GCC 12 at -O3 takes "(" + string for an overlapping copy (-Wrestrict).
    std::string correct = "(";
    correct += std::to_string(recorded["test_correct"].get<int>());
    correct += "/40)";
    EXPECT_CONTAINS(eval.out, correct);
    EXPECT_CONTAINS(r.out, std::string(run) + ": test accuracy ");
  }
  const std::string summary = test::text_of(out / "summary.md");
  EXPECT_CONTAINS(summary, "test-time views flip+shift1");
  EXPECT_CONTAINS(summary, "## Test accuracy with test-time views (%)");
  EXPECT_CONTAINS(test::text_of(out / "study.csv"), "test_tta_acc");

  const auto again = run_app(flags + " --tta flip+shift1");
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_EQ(again.out.find(": test accuracy "), std::string::npos) << again.out;
  // A record that does not hold together (here an accuracy its counts do not give) is evaluated again.
  const fs::path record = out / "runs" / "gn-b16-s2" / "test_time_views.json";
  auto tampered = nlohmann::json::parse(test::text_of(record));
  const double accuracy = tampered["test_acc"].get<double>();
  tampered["test_acc"] = 99.5;
  std::ofstream(record) << tampered.dump();
  const auto repaired = run_app(flags + " --tta flip+shift1");
  ASSERT_EQ(repaired.exit_code, 0) << repaired.all();
  EXPECT_CONTAINS(repaired.out, "gn-b16-s2: test accuracy ");
  EXPECT_EQ(repaired.out.find("gn-b16-s1: test accuracy "), std::string::npos) << repaired.out;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(test::text_of(record))["test_acc"].get<double>(), accuracy);
  const auto other = run_app(flags + " --tta flip");
  ASSERT_EQ(other.exit_code, 0) << other.all();
  EXPECT_CONTAINS(other.out, "gn-b16-s1: test accuracy ");
  EXPECT_CONTAINS(test::text_of(out / "summary.md"), "test-time views flip.");
}

TEST_F(Study, BadFlagsAreRefusedBeforeAnythingRuns) {
  const fs::path out = *dir_ / "never";
  const std::string data = " --data " + (*dir_ / "data").string() + " --out " + out.string();
  const std::pair<std::string, std::string> cases[] = {
      {"study --norm bn --batch 0,8" + data, "--batch '0,8': '0' is not a batch size"},
      {"study --norm bn, --batch 8" + data, "--norm 'bn,': an empty entry"},
      {"study --norm bn --batch 8 --lr-scaling cubic" + data, "--lr-scaling 'cubic': expected none, linear or sqrt"},
      {"study --norm bn --batch 8 --seeds 0" + data, "--seeds must be in [1, 1000], got 0"},
      {"study --norm bn --batch 8 --epochs 0" + data, "--epochs must be > 0, got 0"},
      {"study --norm gn --batch 8 --norm-option groups=0" + data, "--norm-option groups=0: out of range for norm 'gn'"},
      {"study --norm bn,gn,bn --batch 8" + data, "--norm 'bn,gn,bn': an entry given twice"},
      {"study --norm bn --batch 8,16,8" + data, "--batch '8,16,8': an entry given twice"},
      {"study --norm bn --batch 8 --threads 4096" + data, "--threads must be in [1, "},
      {"study --norm bn --batch 8 --seed 3" + data, "unrecognised option '--seed'"},
      {"study --norm bn --batch 8 --tta shift9" + data, "--tta: unknown test-time augmentation 'shift9'"},
      {"study --norm bn --batch 8 --lr 0.1" + data, "--lr sets the onecycle, cosine, step and constant schedules"},
      {"study --norm bn --batch 64 --limit-train 100 --val 50" + data,
       "bn-b64-s1: --batch 64 is more than the 50 images"},
  };
  for (const auto& [command, message] : cases) {
    const auto r = run_app(command);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.all();
    EXPECT_CONTAINS(r.err, message);
  }
  const auto unknown = run_app("study --norm bn,xn --batch 8" + data);
  EXPECT_EQ(unknown.exit_code, 2) << unknown.all();
  EXPECT_CONTAINS(unknown.err, "--norm xn: unknown norm 'xn'");
  EXPECT_FALSE(fs::exists(out)) << "nothing may run before every flag is checked";
}

}  // namespace
