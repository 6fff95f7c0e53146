// An epoch's outputs under every fault in turn: each write and each rename of a run's files,
// made to fail (as on a full disk) or to kill the process just before it happens, by a shim
// preloaded into the app. After any of them, continuing the run (--resume, or the same command
// again when no checkpoint was made yet) ends with exactly the files of an uninterrupted run:
// the same weights, the same metrics, and a best.s8ckpt that holds the epoch the run calls best.
#include "support/app_runner.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/data/cifar_binary.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/trainer.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::run_app;
using test::TempDir;

struct Fault {
  std::string operation;  // write or rename
  std::string action;     // fail or kill
};
void PrintTo(const Fault& f, std::ostream* os) { *os << f.operation << "_" << f.action; }

class RunFaults : public ::testing::TestWithParam<Fault> {
 protected:
  static void SetUpTestSuite() {
#ifdef __SANITIZE_ADDRESS__
    return;  // the sanitizer's runtime must be the first library loaded, the shim cannot be
#endif
    dir_ = new TempDir("run-faults");
    write_cifar_binary(test::random_cifar(64, 32, 8), *dir_ / "data");
    // The reference, with every operation on the run's files logged: how many there are to fail.
    const std::string log = (*dir_ / "operations").string();
    const auto r = run_app(command("reference"), "S8NET_FAULT_DIR=" + run("reference").string() +
                                                     " S8NET_FAULT_LOG=" + log + " LD_PRELOAD=" + S8NET_FAULT_SHIM);
    ASSERT_EQ(r.exit_code, 0) << r.all();
    std::ifstream in(log);
    for (std::string operation, path; in >> operation >> path;) ++(operation == "write" ? writes_ : renames_);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "LD_PRELOAD shims do not load into sanitized programs";
  }
  static fs::path run(const std::string& name) { return *dir_ / name; }
  static std::string command(const std::string& name) {
    return "train --norm bn --epochs 4 --batch 16 --no-report --data " + (*dir_ / "data").string() + " --out " +
           run(name).string();
  }

  // The run in `name` has the reference's weights, metrics and best checkpoint.
  static void expect_reference(const std::string& name) {
    const Checkpoint expected = load_checkpoint(run("reference") / kLastCheckpoint);
    const Checkpoint actual = load_checkpoint(run(name) / kLastCheckpoint);
    EXPECT_EQ(actual.epochs_done, expected.epochs_done);
    ASSERT_EQ(actual.tensors.size(), expected.tensors.size());
    for (size_t k = 0; k < expected.tensors.size(); ++k)
      EXPECT_EQ(actual.tensors[k].values, expected.tensors[k].values) << expected.tensors[k].name;
    const auto history = epoch_history_from_jsonl(test::text_of(run(name) / kMetricsFile), "metrics.jsonl");
    const auto reference = epoch_history_from_jsonl(test::text_of(run("reference") / kMetricsFile), "metrics.jsonl");
    ASSERT_EQ(history.size(), reference.size());
    for (size_t e = 0; e < history.size(); ++e) {
      EXPECT_EQ(history[e].test_correct, reference[e].test_correct) << "epoch " << e + 1;
      EXPECT_EQ(history[e].train_loss, reference[e].train_loss) << "epoch " << e + 1;
    }
    const Checkpoint best = load_checkpoint(run(name) / kBestCheckpoint);
    EXPECT_EQ(best.epochs_done, best_epoch(history).epoch) << "best.s8ckpt holds the epoch the metrics call best";
    EXPECT_EQ(best.tensors[0].values, load_checkpoint(run("reference") / kBestCheckpoint).tensors[0].values);
    for (const auto& entry : fs::directory_iterator(run(name)))
      EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }

  static inline TempDir* dir_ = nullptr;
  static inline int writes_ = 0, renames_ = 0;
};

TEST_P(RunFaults, EachOperationInTurnThenTheRunContinuesToTheSameEnd) {
  const Fault& fault = GetParam();
  const int count = fault.operation == "write" ? writes_ : renames_;
  ASSERT_GE(count, 9) << "config.json, then best, last and metrics in each of the epochs";
  for (int at = 1; at <= count; ++at) {
    SCOPED_TRACE(fault.operation + " " + std::to_string(at) + " of " + std::to_string(count) + ": " + fault.action);
    const std::string name = fault.operation + "-" + fault.action + "-" + std::to_string(at);
    const auto broken =
        run_app(command(name), "S8NET_FAULT=" + fault.operation + ":" + std::to_string(at) + ":" + fault.action +
                                   " S8NET_FAULT_DIR=" + run(name).string() + " LD_PRELOAD=" + S8NET_FAULT_SHIM);
    if (fault.action == "fail") {
      EXPECT_EQ(broken.exit_code, 1) << broken.all();
      EXPECT_CONTAINS(broken.err, "s8net train: cannot " + fault.operation + " " + run(name).string() + "/");
      EXPECT_CONTAINS(broken.err, "No space left on device");
    } else {
      EXPECT_NE(broken.exit_code, 0) << broken.all();
    }
    const bool resumable = fs::exists(run(name) / kLastCheckpoint);
    const auto continued = run_app(resumable ? "train --resume --no-report --data " + (*dir_ / "data").string() +
                                                   " --out " + run(name).string()
                                             : command(name));
    ASSERT_EQ(continued.exit_code, 0) << continued.all();
    expect_reference(name);
  }
}

std::string fault_name(const ::testing::TestParamInfo<Fault>& fault) {
  return fault.param.operation + "_" + fault.param.action;
}

INSTANTIATE_TEST_SUITE_P(Faults, RunFaults,
                         ::testing::Values(Fault{"write", "fail"}, Fault{"write", "kill"}, Fault{"rename", "fail"},
                                           Fault{"rename", "kill"}),
                         fault_name);

}  // namespace
