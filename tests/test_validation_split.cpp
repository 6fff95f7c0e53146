// The validation split (--val): held out of training, balanced over the classes, the same for
// every seed, evaluated every epoch, and the split best.s8ckpt is chosen on.
#include "support/app_runner.hpp"
#include "support/error_of.hpp"
#include "support/run_metrics.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"

#include <s8net/data/cifar_binary.hpp>
#include <s8net/data/validation_split.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/trainer.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::error_of;
using test::metrics_of;
using test::run_app;
using test::TempDir;

// Labels 0..9 repeating, image i filled with the value i, so an image is recognisable by its pixels.
Dataset numbered(int64_t count) {
  Dataset d;
  for (int64_t i = 0; i < count; ++i)
    d.append(std::vector<uint8_t>(kImageBytes, static_cast<uint8_t>(i)), static_cast<uint8_t>(i % kClassCount));
  return d;
}

TEST(ValidationSplit, HoldsOutTheLastImagesOfEachClassInBalance) {
  const Dataset data = numbered(100);  // 10 of each class
  const TrainValidationSplit split = hold_out_validation(data, 23);
  EXPECT_EQ(split.validation.size(), 23);
  EXPECT_EQ(split.train.size(), 77);
  // 2 of each class, one more of classes 0-2: the last ones, 90-99 and 80-89 and 70-72, in order.
  std::vector<int> held;
  for (int64_t i = 0; i < split.validation.size(); ++i) held.push_back(split.validation.image(i)[0]);
  std::vector<int> expected;
  for (int i = 70; i < 73; ++i) expected.push_back(i);
  for (int i = 80; i < 100; ++i) expected.push_back(i);
  EXPECT_EQ(held, expected);
  const auto counts = split.validation.class_counts();
  for (int c = 0; c < kClassCount; ++c) EXPECT_EQ(counts[static_cast<size_t>(c)], c < 3 ? 3 : 2) << c;
  // The training images are the rest, in their order: 0..69 and 73..79.
  EXPECT_EQ(split.train.image(0)[0], 0);
  EXPECT_EQ(split.train.image(69)[0], 69);
  EXPECT_EQ(split.train.image(70)[0], 73);
}

TEST(ValidationSplit, NoneIsTheWholeSetAndTooManyIsRefused) {
  const Dataset data = numbered(50);
  EXPECT_EQ(hold_out_validation(data, 0).train.pixels, data.pixels);
  EXPECT_EQ(hold_out_validation(data, 0).validation.size(), 0);
  EXPECT_EQ(error_of([&] { hold_out_validation(data, 50); }),
            "--val 50 needs 5 airplane images for validation, but the training images have only 5 (and some must "
            "stay to train on)");
  EXPECT_EQ(error_of([&] { hold_out_validation(data, -1); }), "--val must be >= 0, got -1");
}

// The first epoch of the highest value of `key`.
int64_t best_by(const std::vector<nlohmann::json>& metrics, const char* key) {
  size_t best = 0;
  for (size_t e = 1; e < metrics.size(); ++e)
    if (metrics[e][key].get<double>() > metrics[best][key].get<double>()) best = e;
  return metrics[best]["epoch"].get<int64_t>();
}

TEST(ValidationSplit, ARunEvaluatesItEveryEpochAndChoosesBestOnIt) {
  const TempDir dir("validation");
  write_cifar_binary(test::random_cifar(400, 100, 12), dir / "data");
  const auto r = run_app("train --norm bn --epochs 6 --batch 16 --val 100 --seed 2 --no-report --data " +
                         (dir / "data").string() + " --out " + (dir / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "300 training, 100 validation, 100 test images");
  EXPECT_CONTAINS(r.out, "test acc   val acc");
  EXPECT_CONTAINS(r.out, "best validation accuracy ");
  const auto metrics = metrics_of(dir / "run");
  ASSERT_EQ(metrics.size(), 6u);
  for (const auto& m : metrics) {
    EXPECT_EQ(m["val_total"].get<int64_t>(), 100) << m.dump();
    EXPECT_NEAR(m["val_acc"].get<double>(), m["val_correct"].get<double>(), 1e-9) << m.dump();  // of 100 images
    EXPECT_TRUE(m.contains("val_loss")) << m.dump();
  }
  const int64_t on_validation = best_by(metrics, "val_acc"), on_test = best_by(metrics, "test_acc");
  // The fixture's seed makes the two choices differ, so that this test tells them apart.
  ASSERT_NE(on_validation, on_test) << "pick another seed: validation and test agree on the best epoch";
  EXPECT_EQ(load_checkpoint(dir / "run" / kBestCheckpoint).epochs_done, on_validation);
  EXPECT_EQ(load_checkpoint(dir / "run" / kLastCheckpoint).config.validation_images, 100);

  // s8net eval --split validation evaluates the same held-out images: the last epoch's figures.
  const auto eval = run_app("eval --split validation --checkpoint " + (dir / "run" / kLastCheckpoint).string() +
                            " --data " + (dir / "data").string());
  ASSERT_EQ(eval.exit_code, 0) << eval.all();
  const std::string correct = std::to_string(metrics.back()["val_correct"].get<int64_t>());
  EXPECT_CONTAINS(eval.out, "(" + correct + "/100)");
  EXPECT_CONTAINS(eval.out, "validation loss ");
  const auto without = run_app("eval --split validation --checkpoint " + (dir / "run" / kLastCheckpoint).string() +
                               " --data " + (dir / "data").string() + " --limit-test 5");
  EXPECT_EQ(without.exit_code, 2);
  EXPECT_CONTAINS(without.err, "--limit-test applies to --split test only");
}

// A configuration from before --val (no validation_images key) reads as one without a split.
TEST(ValidationSplit, AnOlderConfigurationHasNone) {
  nlohmann::json config = nlohmann::json::parse(to_json(seed_recipe()));
  config.erase("validation_images");
  EXPECT_EQ(train_config_from_json(config.dump(), "old.json").validation_images, 0);
}

}  // namespace
