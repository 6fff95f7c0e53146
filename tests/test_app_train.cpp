// s8net train, eval and predict as a user runs them: on small synthetic data for the flags and
// the failures, and end to end on 2,000 images of the project's CIFAR-10 JPEG archive.
#include "support/app_runner.hpp"
#include "support/run_metrics.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"
#include "support/test_plugins.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/train/checkpoint.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::metrics_of;
using test::run_app;
using test::TempDir;

// A tiny prepared data set and a finished 2-epoch run on it, shared by the tests below.
class AppTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("app-train");
    write_cifar_binary(test::random_cifar(64, 30, 8), *dir_ / "data");
    const auto r = run_app("train --norm gn --data " + data() + " --out " + run() + " --epochs 2 --batch 16 --seed 3");
    ASSERT_EQ(r.exit_code, 0) << r.all();
    first_output_ = new std::string(r.out);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete first_output_;
  }
  static std::string data() { return (*dir_ / "data").string(); }
  static std::string run() { return (*dir_ / "run").string(); }
  static TempDir* dir_;
  static std::string* first_output_;
};
TempDir* AppTraining::dir_ = nullptr;
std::string* AppTraining::first_output_ = nullptr;

TEST_F(AppTraining, PrintsTheEpochTableAndWritesTheRunDirectory) {
  const std::string& out = *first_output_;
  EXPECT_CONTAINS(out, "norm gn (gn 0.2.0 from ");
  EXPECT_CONTAINS(
      out,
      "64 training, 0 validation, 30 test images; batch 16, 2 epochs, schedule seed, momentum 0.95, augmented, seed 3");
  EXPECT_CONTAINS(
      out, "epoch         LR    time   img/s train loss   train correct train acc test loss    test correct  test acc");
  // Each row's training throughput is the one metrics.jsonl records for that epoch.
  for (const auto& m : metrics_of(run())) {
    const std::string rate = with_thousands(std::llround(m["train_images_per_second"].get<double>()));
    EXPECT_CONTAINS(out, "s " + std::string(7 - std::min<size_t>(7, rate.size()), ' ') + rate + " ");
  }
  // The first row: epoch 1 at the seed schedule's first rate, x/64 training and y/30 test images.
  const size_t row = out.find("\n    1   0.001000 ");
  ASSERT_NE(row, std::string::npos) << out;
  const std::string first = out.substr(row + 1, out.find('\n', row + 1) - row - 1);
  EXPECT_NE(first.find("/64 "), std::string::npos) << first;
  EXPECT_NE(first.find("/30 "), std::string::npos) << first;
  EXPECT_EQ(std::count(first.begin(), first.end(), '%'), 2) << first;
  EXPECT_CONTAINS(out, "best test accuracy ");
  const auto metrics = metrics_of(run());
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[1]["epoch"], 2);
  EXPECT_DOUBLE_EQ(metrics[1]["lr"].get<double>(), 0.0055);
}

// A norm whose output turns NaN at step 7 (epoch 2, batch 3 of 4): the run stops there with one
// message naming the batch and keeps epoch 1's checkpoint and metrics as they were.
TEST_F(AppTraining, StopsOnANonFiniteLossAndKeepsTheLastGoodCheckpoint) {
  const fs::path out = *dir_ / "diverged";
  const auto r = run_app("train --norm nanloss --plugin-dir " + test::test_plugin_dir("nan_loss").string() +
                         " --data " + data() + " --out " + out.string() + " --epochs 3 --batch 16");
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_CONTAINS(r.err, "training diverged: the loss is NaN at epoch 2, batch 3 of 4; stopped before that update.");
  EXPECT_CONTAINS(r.err, "The last good checkpoint, after epoch 1, is kept: " + (out / "last.s8ckpt").string());
  EXPECT_EQ(metrics_of(out).size(), 1u);
  const Checkpoint kept = load_checkpoint(out / "last.s8ckpt");
  EXPECT_EQ(kept.epochs_done, 1);
  for (const NamedValues& t : kept.tensors)
    for (const float v : t.values) ASSERT_TRUE(std::isfinite(v)) << t.name;
}

TEST_F(AppTraining, EvalReproducesTheLastEpochsTestAccuracy) {
  const auto r = run_app("eval --checkpoint " + run() + "/last.s8ckpt --data " + data());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  const auto last = metrics_of(run()).back();
  char expected[64];
  std::snprintf(expected, sizeof expected, "accuracy %.2f%% (%lld/30)", last["test_acc"].get<double>(),
                static_cast<long long>(last["test_correct"].get<int64_t>()));
  EXPECT_CONTAINS(r.out, expected);
  EXPECT_CONTAINS(r.out, "norm gn, after epoch 2");
  for (const auto name : kClassNames) EXPECT_CONTAINS(r.out, std::string("\n").append(name));

  // The same evaluation with a batch as large as the flag takes (it used to overflow into 0 of 0
  // images), and from a checkpoint read through a pipe (it used to fail on the pipe's size).
  const auto huge = run_app("eval --batch 9223372036854775807 --checkpoint " + run() + "/last.s8ckpt --data " + data());
  ASSERT_EQ(huge.exit_code, 0) << huge.all();
  EXPECT_CONTAINS(huge.out, expected);
  const auto piped = run_app("eval --checkpoint /dev/stdin --data " + data(), "cat " + run() + "/last.s8ckpt |");
  ASSERT_EQ(piped.exit_code, 0) << piped.all();
  EXPECT_CONTAINS(piped.out, expected);
}

// A copy of the fixture's run whose last epoch is its best, as when a kill came right after a new
// best's last.s8ckpt; `best_file` then gets `make_best(latest)` instead of that epoch.
template <class MakeBest>
fs::path run_whose_best_is_replaced(const TempDir& copy, const std::string& source, MakeBest make_best) {
  fs::copy(source, copy / "run");
  const fs::path last = copy / "run" / "last.s8ckpt";
  Checkpoint latest = load_checkpoint(last);
  latest.best_epoch = latest.epochs_done;
  latest.best_test_accuracy = 100;
  save_checkpoint(last, latest);
  save_checkpoint(copy / "run" / "best.s8ckpt", make_best(latest));
  return copy / "run";
}

// best.s8ckpt copied from another run (same epoch, other configuration) is no best of this one.
TEST_F(AppTraining, ResumeReplacesABestCheckpointOfAnotherRun) {
  const TempDir copy("foreign-best");
  const fs::path dir = run_whose_best_is_replaced(copy, run(), [](Checkpoint c) {
    c.config.seed = 99;
    return c;
  });
  const auto r = run_app("train --resume --data " + data() + " --out " + dir.string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(read_file_bytes(dir / "best.s8ckpt"), read_file_bytes(dir / "last.s8ckpt"));
}

// A run written by an earlier s8net, killed between its last.s8ckpt and its best.s8ckpt: the best
// file lags an epoch behind what the checkpoint calls best. --resume puts the best epoch in it.
TEST_F(AppTraining, ResumeRepairsABestCheckpointLeftBehind) {
  const TempDir copy("lagging-best");
  const fs::path dir = run_whose_best_is_replaced(copy, run(), [](Checkpoint c) {
    c.epochs_done = 1;
    c.tensors[0].values[0] += 1;
    return c;
  });
  const fs::path best = dir / "best.s8ckpt", last = dir / "last.s8ckpt";
  const auto r = run_app("train --resume --data " + data() + " --out " + (copy / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(read_file_bytes(best), read_file_bytes(last));
}

TEST_F(AppTraining, PredictShowsTheTopThreeClasses) {
  const TempDir images("predict");
  write_file_atomically(images / "a.png", encode_png(from_planar(test::random_dataset(1, 77).image(0))));
  // A larger photo is shrunk to 32x32 first.
  write_file_atomically(images / "b.jpg", encode_jpeg(RgbImage{64, 48, std::vector<uint8_t>(64 * 48 * 3, 90)}, 90));
  const auto r = run_app("predict --checkpoint " + run() + "/best.s8ckpt " + (images / "a.png").string() + " " +
                         (images / "b.jpg").string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  // "a.png: frog 31.2%, cat 20.1%, deer 9.8%": one line per image, three classes each.
  std::istringstream lines(r.out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(rows[k].rfind((images / (k ? "b.jpg" : "a.png")).string() + ": ", 0), 0u) << rows[k];
    EXPECT_EQ(std::count(rows[k].begin(), rows[k].end(), '%'), 3) << rows[k];
    EXPECT_EQ(std::count(rows[k].begin(), rows[k].end(), ','), 2) << rows[k];
  }

  // A name with a newline still makes one line of output.
  write_file_atomically(images / "two\nlines.png", encode_png(from_planar(test::random_dataset(1, 78).image(0))));
  const auto odd =
      run_app("predict --checkpoint " + run() + "/best.s8ckpt '" + (images / "two\nlines.png").string() + "'");
  ASSERT_EQ(odd.exit_code, 0) << odd.all();
  EXPECT_EQ(odd.out.rfind((images / "two\\x0alines.png").string() + ": ", 0), 0u) << odd.out;
  EXPECT_EQ(std::count(odd.out.begin(), odd.out.end(), '\n'), 1) << odd.out;

  std::ofstream(images / "c.png") << "text";
  const auto bad = run_app("predict --checkpoint " + run() + "/best.s8ckpt " + (images / "c.png").string());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err,
            "s8net predict: " + (images / "c.png").string() + ": not an image (neither a JPEG nor a PNG signature)\n");
}

// A folder with a file of the report's name but no run is someone else's: kept unless --overwrite.
TEST_F(AppTraining, KeepsAFileOfTheReportsNameInAFolderWithoutARun) {
  const TempDir folder("mine");
  std::ofstream(folder / "report.html") << "my own report";
  const auto r = run_app("train --norm bn --epochs 1 --data " + data() + " --out " + folder.path().string());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_CONTAINS(r.err, folder.path().string() + ": holds report.html, which s8net train writes, but no run to " +
                             "continue; replace it with --overwrite, or give another --out");
  std::ifstream in(folder / "report.html");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "my own report");
}

// --step-losses is refused before anything is written when it could not hold the losses or would
// take a file of the run's.
TEST_F(AppTraining, StepLossesMustBeAFileOfItsOwn) {
  const TempDir folder("losses");
  const std::string run_dir = (folder / "run").string();
  const std::pair<std::string, std::string> cases[] = {
      {folder.path().string(), folder.path().string() + ": a directory; give a file"},
      {run_dir + "/last.s8ckpt", run_dir + "/last.s8ckpt: the run writes last.s8ckpt itself; give another file"},
      {run_dir + "/report.html", run_dir + "/report.html: the run writes report.html itself; give another file"},
      {run_dir + "/../run/./config.json",
       run_dir + "/../run/./config.json: the run writes config.json itself; give another file"},
      {folder.path().string() + "/notes.txt",
       folder.path().string() + "/notes.txt: holds something other than step losses; give another file"},
      // Relative to the app's working directory (the test's), while --out is absolute.
      {fs::relative(folder / "run" / "config.json").string(),
       fs::relative(folder / "run" / "config.json").string() + ": the run writes config.json itself"}};
  std::ofstream(folder / "notes.txt") << "my notes\n";
  for (const auto& [path, message] : cases) {
    const auto r =
        run_app("train --norm bn --epochs 1 --data " + data() + " --out " + run_dir + " --step-losses " + path);
    EXPECT_EQ(r.exit_code, 2) << r.all();
    EXPECT_CONTAINS(r.err, "--step-losses " + message);
    EXPECT_FALSE(fs::exists(run_dir));
  }
}

TEST_F(AppTraining, ResumeContinuesAndRefusesRecipeFlags) {
  const TempDir copy("resume");
  fs::copy(run(), copy / "run");
  const std::string run_dir = (copy / "run").string(), last = (copy / "run" / "last.s8ckpt").string();
  // Extend nothing: a resumed run keeps its 2 epochs, so there is nothing left to train.
  const auto done = run_app("train --resume --data " + data() + " --out " + run_dir);
  EXPECT_EQ(done.exit_code, 0) << done.all();
  EXPECT_CONTAINS(done.out, "resuming after epoch 2 with the configuration in " + last);
  // The command the run was started with, plus --resume, is accepted: its flags equal the stored values.
  const auto same =
      run_app("train --resume --norm gn --epochs 2 --batch 16 --seed 3 --data " + data() + " --out " + run_dir);
  EXPECT_EQ(same.exit_code, 0) << same.all();
  const auto refused = run_app("train --resume --epochs 5 --data " + data() + " --out " + run_dir);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_CONTAINS(refused.err, "--epochs asks for epochs 5, but the run in " + run_dir +
                                   " was trained with 2 (its configuration is read from " + last + ")");
  // A checkpoint continues with its own norm, never with another one asked for.
  const auto other_norm = run_app("train --resume --norm ln --data " + data() + " --out " + run_dir);
  EXPECT_EQ(other_norm.exit_code, 2);
  EXPECT_CONTAINS(other_norm.err,
                  "--norm asks for norm \"ln\", but the run in " + run_dir + " was trained with \"gn\"");
  // An option the run was not trained with is a change too (it was once silently dropped).
  const auto option = run_app("train --resume --norm-option eps=0.5 --data " + data() + " --out " + run_dir);
  EXPECT_EQ(option.exit_code, 2) << option.all();
  EXPECT_CONTAINS(option.err, "--norm-option asks for norm_options.eps 0.5, but the run in " + run_dir +
                                  " was trained with nothing");
  // An option repeated at the plugin's default is no change: gn's groups are 2 unless given.
  const auto default_option = run_app("train --resume --norm-option groups=2 --data " + data() + " --out " + run_dir);
  EXPECT_EQ(default_option.exit_code, 0) << default_option.all();
  // A run of the seed recipe does not turn into the fast one, nor the other way round.
  const auto recipe = run_app("train --resume --recipe fast --data " + data() + " --out " + run_dir);
  EXPECT_EQ(recipe.exit_code, 2) << recipe.all();
  EXPECT_CONTAINS(recipe.err,
                  "--recipe asks for recipe \"fast\", but the run in " + run_dir + " was trained with \"seed\"");
  const auto nothing = run_app("train --resume --data " + data() + " --out " + (copy / "none").string());
  EXPECT_EQ(nothing.exit_code, 1);
  EXPECT_CONTAINS(nothing.err, "nothing to resume (no last.s8ckpt)");
}

// --recipe fast is the base the flags change: its ingredients are in the run's configuration,
// except where a flag says otherwise.
TEST_F(AppTraining, TheFastRecipeIsTheBaseTheFlagsChange) {
  const TempDir out("fast");
  const fs::path run_dir = out / "Bob's run";
  const auto r = run_app("train --recipe fast --norm ln --epochs 1 --batch 16 --no-report --plugin-dir " +
                         std::string(S8NET_PLUGIN_DIR) + " --data " + data() + " --out \"" + run_dir.string() + "\"");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "batch 16, 1 epoch, schedule onecycle, momentum 0.95 (Nesterov)");
  // Its evaluation is a command of its own, named at the end with the run's plugin directories,
  // quoted where a shell needs it, so that it runs as pasted; the seed recipe's run names none.
  const std::string expected = "s8net eval --tta flip+shift1 --checkpoint '" + out.path().string() +
                               "/Bob'\\''s run/last.s8ckpt' --data " + data() + " --plugin-dir " + S8NET_PLUGIN_DIR;
  EXPECT_CONTAINS(r.out, "the fast recipe's evaluation (ten views of each test image): " + expected + "\n");
  const auto evaluation = run_app(expected.substr(std::string("s8net ").size()));
  EXPECT_EQ(evaluation.exit_code, 0) << evaluation.all();
  EXPECT_CONTAINS(evaluation.out, "test-time augmentation: flip+shift1 (10 evaluations per image)");
  const auto seed = run_app("train --norm ln --epochs 1 --batch 16 --no-report --data " + data() + " --out " +
                            (out / "seed").string());
  ASSERT_EQ(seed.exit_code, 0) << seed.all();
  EXPECT_EQ(seed.out.find("--tta"), std::string::npos) << seed.out;
  std::ifstream file(run_dir / "config.json");
  const nlohmann::json config = nlohmann::json::parse(file);
  EXPECT_EQ(config["recipe"], "fast");
  EXPECT_EQ(config["batch_size"], 16);
  EXPECT_EQ(config["epochs"], 1);
  EXPECT_NEAR(config["label_smoothing"].get<double>(), 0.1, 1e-7);
  EXPECT_NEAR(config["sgd"]["weight_decay"].get<double>(), 5e-4, 1e-9);
  EXPECT_EQ(config["sgd"]["decay_conv_weights_only"], true);
  EXPECT_EQ(config["schedule"]["kind"], "onecycle");
}

// config.json is what a person reads and may edit; the checkpoint holds what training continues,
// so a config.json that says otherwise is refused instead of silently ignored.
TEST_F(AppTraining, ResumeRefusesAHandEditedConfig) {
  const TempDir copy("edited");
  fs::copy(run(), copy / "run");
  const fs::path config = copy / "run" / "config.json";
  const auto text = read_file_bytes(config);
  std::string edited(text.begin(), text.end());
  const size_t at = edited.find("\"batch_size\": 16");
  ASSERT_NE(at, std::string::npos) << edited;
  edited.replace(at, std::string("\"batch_size\": 16").size(), "\"batch_size\": 8");
  write_file_atomically(config, edited);
  const auto r = run_app("train --resume --data " + data() + " --out " + (copy / "run").string());
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_CONTAINS(r.err, config.string() + " differs from the configuration in " +
                             (copy / "run" / "last.s8ckpt").string() +
                             " (batch_size: 8 in config.json, 16 in the checkpoint)");
}

TEST_F(AppTraining, BadFlagsAndFilesAreRefusedNamingThem) {
  const std::string base = "train --norm bn --data " + data() + " --out " + (*dir_ / "bad").string();
  const std::pair<std::string, std::string> cases[] = {
      {" --epochs 0", "s8net train: --epochs must be > 0, got 0"},
      {" --epochs -2", "s8net train: --epochs must be > 0, got -2"},
      {" --epochs many", "s8net train: the argument ('many') for option '--epochs' is invalid"},
      {" --batch 0", "s8net train: --batch must be > 0, got 0"},
      {" --frobnicate", "s8net train: unrecognised option '--frobnicate'"},
      {" --batch -3", "s8net train: --batch must be > 0, got -3"},
      {" --momentum 1.5", "s8net train: --momentum must be in [0, 1)"},
      {" --momentum fast", "s8net train: the argument ('fast') for option '--momentum' is invalid"},
      {" --schedule linear", "s8net train: unknown schedule 'linear' (known: seed, onecycle, cosine, step, constant)"},
      {" --lr-points 0:0.1,x", "s8net train: schedule point 'x': expected EPOCH:LR, e.g. 0:0.001,2:0.01"},
      {" --recipe slow", "s8net train: --recipe 'slow': the recipes are seed and fast"},
      {" --layout nhwc", "s8net train: unknown layout 'nhwc'"},
      {" --lr 0.5",
       "s8net train: --lr sets the onecycle, cosine, step and constant schedules; the seed schedule takes --lr-points"},
      {" --schedule cosine --lr-points 0:0.1",
       "s8net train: --lr-points is the seed schedule's; --schedule cosine takes --lr"},
      {" --schedule step --gamma inf --lr 0.1", "s8net train: schedule step: step size and gamma must be > 0"},
      {" --weight-decay inf", "s8net train: --weight-decay must be a finite number >= 0"},
      {" --schedule constant --lr 1e308",
       "s8net train: schedule constant: learning rate must be a finite number > 0 and <= 10"},
      {" --epoch 3", "s8net train: unrecognised option '--epoch'"},
  };
  for (const auto& [flags, message] : cases) {
    const auto r = run_app(base + flags);
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.all();
    EXPECT_CONTAINS(r.err, message);
  }
  EXPECT_FALSE(fs::exists(*dir_ / "bad")) << "a refused run must not create its directory";

  const auto no_data =
      run_app("train --norm bn --data " + (*dir_ / "absent").string() + " --out " + (*dir_ / "bad").string());
  EXPECT_EQ(no_data.exit_code, 1);
  EXPECT_EQ(no_data.err, "s8net train: " + (*dir_ / "absent").string() + ": no such file or directory\n");

  const TempDir broken("eval");
  auto bytes = read_file_bytes(run() + "/last.s8ckpt");
  bytes.resize(bytes.size() / 2);
  write_file_atomically(broken / "half.s8ckpt", bytes);
  const auto eval = run_app("eval --checkpoint " + (broken / "half.s8ckpt").string() + " --data " + data());
  EXPECT_EQ(eval.exit_code, 1);
  EXPECT_CONTAINS(eval.err, (broken / "half.s8ckpt").string() + ": truncated checkpoint");
  for (const char* command : {"train", "eval", "predict", "data prepare"}) {
    const auto help = run_app(std::string(command) + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_CONTAINS(help.out, "--");
  }
}

// The acceptance floor of a short real training: 2,000 images of the shared JPEG archive, seed
// recipe, 8 epochs. The figures: docs/testing.md; the floor leaves room for noise across CPUs.
TEST(EndToEnd, TrainsOnTwoThousandRealImagesAboveTheFloor) {
  const fs::path archive = S8NET_SHARED_DATA;
  if (!fs::exists(archive)) GTEST_SKIP() << archive << " is not there (the project's data set lives in ../shared)";
  const TempDir dir("e2e");
  const auto prepared = run_app("data prepare --from " + archive.string() + " --out " + (dir / "data").string());
  ASSERT_EQ(prepared.exit_code, 0) << prepared.all();
  const auto trained =
      run_app("train --norm bn --data " + (dir / "data").string() + " --out " + (dir / "run").string() +
              " --limit-train 2000 --limit-test 1000 --epochs 8 --lr-points 0:0.002,2:0.01,8:0.0005");
  ASSERT_EQ(trained.exit_code, 0) << trained.all();
  const auto metrics = metrics_of(dir / "run");
  ASSERT_EQ(metrics.size(), 8u);
  double best = 0;
  for (const auto& m : metrics) best = std::max(best, m["test_acc"].get<double>());
  std::cout << trained.out;
  EXPECT_GE(best, 35.0) << trained.out;
}

}  // namespace
