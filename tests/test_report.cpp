// The pictures and pages of a run and of a comparison: every PNG valid, of its size and not
// blank; pages linking only to files that exist; what the pictures are drawn from (axis ticks,
// the surest mistakes, confusion counts); redrawn after each epoch; refusals naming the path.
#include "support/app_runner.hpp"
#include "support/error_of.hpp"
#include "support/pictures.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"
#include "support/training.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/data/cifar_binary.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/report/axis_ticks.hpp>
#include <s8net/report/compare.hpp>
#include <s8net/report/figures.hpp>
#include <s8net/report/run_report.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/trainer.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using namespace s8net::report;
using test::expect_picture;
using test::pixel_variance;
using test::read_text;
using test::run_app;
using test::TempDir;

// Every src="..." and href="..." of a page.
std::vector<std::string> links_of(const std::string& page) {
  std::vector<std::string> links;
  for (const std::string attribute : {"src=\"", "href=\""})
    for (size_t at = page.find(attribute); at != std::string::npos; at = page.find(attribute, at + 1)) {
      const size_t begin = at + attribute.size();
      links.push_back(page.substr(begin, page.find('"', begin) - begin));
    }
  return links;
}

void expect_links_exist(const fs::path& page_file, size_t at_least) {
  const auto links = links_of(read_text(page_file));
  EXPECT_GE(links.size(), at_least) << page_file;
  for (const std::string& link : links) {
    EXPECT_EQ(link.find('/'), std::string::npos) << "not a file beside the page: " << link;
    EXPECT_TRUE(fs::exists(page_file.parent_path() / link)) << page_file << " links to missing " << link;
  }
}

std::vector<EpochMetrics> made_up_history(int epochs, double accuracy_offset = 0) {
  std::vector<EpochMetrics> history;
  for (int e = 1; e <= epochs; ++e) {
    EpochMetrics m;
    m.epoch = e;
    m.learning_rate = 0.01 / e;
    m.seconds = 27 + e % 3;
    m.train_seconds = 25;
    m.train_loss = 2.0 / e;
    m.test_loss = 1.8 / e + 0.1;
    m.train_total = 50000;
    m.test_total = 10000;
    m.train_correct = static_cast<int64_t>(50000 * std::min(0.95, 0.3 + 0.05 * e + accuracy_offset));
    m.test_correct = static_cast<int64_t>(10000 * std::min(0.95, 0.35 + 0.04 * e + accuracy_offset));
    history.push_back(m);
  }
  return history;
}

bool is_round_step(double step) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(step) + 1e-9));
  const double factor = step / magnitude;
  for (const double f : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (std::abs(factor - f) < 1e-9) return true;
  return false;
}

TEST(AxisTicks, RoundStepsCoverTheRangeWithoutWastingTheAxis) {
  const std::pair<double, double> ranges[] = {{0, 1},       {0.00013, 0.0102}, {38.5, 76.2}, {0.69, 1.68},
                                              {0, 5000},    {-3, 7},           {1, 20},      {0, 5600},
                                              {47.7, 47.7}, {1e6, 3.4e6},      {0.0, 1e-5}};
  for (const auto& [low, high] : ranges) {
    for (const int max_ticks : {3, 6, 11}) {
      SCOPED_TRACE(std::to_string(low) + ".." + std::to_string(high) + " max " + std::to_string(max_ticks));
      const AxisTicks t = nice_ticks(low, high, max_ticks);
      EXPECT_TRUE(is_round_step(t.step)) << t.step;
      EXPECT_LE(t.low, low);
      EXPECT_GE(t.high, high);
      EXPECT_LE(static_cast<int>(t.values.size()), max_ticks);
      EXPECT_GE(t.values.size(), 2u);
      EXPECT_DOUBLE_EQ(t.values.front(), t.low);
      EXPECT_NEAR(t.values.back(), t.high, t.step * 1e-9);
      if (high > low) {
        // Rounded out by less than a step at each end.
        EXPECT_GT(t.low, low - t.step);
        EXPECT_LT(t.high, high + t.step);
      }
      for (const double v : t.values) EXPECT_NEAR(std::remainder(v, t.step), 0.0, t.step * 1e-6) << v;
    }
  }
}

TEST(AxisTicks, LabelsShowTheDecimalsTheStepNeeds) {
  EXPECT_EQ(tick_label(0.0025, 0.0005), "0.0025");
  EXPECT_EQ(tick_label(0.002, 0.002), "0.002");
  EXPECT_EQ(tick_label(20, 10), "20");
  EXPECT_EQ(tick_label(2000, 500), "2,000");
  EXPECT_EQ(tick_label(0.5, 0.25), "0.50");
  EXPECT_EQ(tick_label(1.25, 0.25), "1.25");
  EXPECT_EQ(tick_label(0, 0.2), "0.0");
  EXPECT_EQ(tick_label(-1.5, 0.5), "-1.5");
}

TEST(Figures, TrainingCurvesChangeWithTheHistory) {
  const auto history = made_up_history(12);
  const RgbImage a = draw_training_curves(history, 20, "made up");
  EXPECT_EQ(a.width, 1260);
  EXPECT_EQ(a.height, 460);
  EXPECT_GT(pixel_variance(a), 200.0);
  const RgbImage b = draw_training_curves(made_up_history(12, 0.02), 20, "made up");
  EXPECT_NE(a.pixels, b.pixels);
  // One epoch, or none yet, still draws (a report right after the first epoch).
  EXPECT_GT(pixel_variance(draw_training_curves(made_up_history(1), 20, "one")), 200.0);
  EXPECT_GT(pixel_variance(draw_training_curves({}, 20, "none")), 200.0);
}

TEST(Figures, ConfusionMatrixChangesWithTheCounts) {
  ConfusionMatrix confusion{};
  for (int t = 0; t < kClassCount; ++t)
    for (int p = 0; p < kClassCount; ++p) confusion[t][p] = t == p ? 700 + 10 * t : (t + p) % 7;
  const RgbImage a = draw_confusion_matrix(confusion, "a");
  EXPECT_EQ(a.width, 900);
  EXPECT_EQ(a.height, 724);
  EXPECT_GT(pixel_variance(a), 200.0);
  confusion[3][5] = 300;
  EXPECT_NE(a.pixels, draw_confusion_matrix(confusion, "a").pixels);
  EXPECT_GT(pixel_variance(draw_confusion_matrix(ConfusionMatrix{}, "empty")), 200.0);
}

// Each test image one flat colour of its own, so the picture shows which images were drawn.
Dataset coloured_dataset(int64_t size) {
  Dataset data;
  for (int64_t i = 0; i < size; ++i) {
    std::vector<uint8_t> image(kImageBytes);
    std::fill_n(image.begin(), kImagePlane, static_cast<uint8_t>(7 * i + 3));
    std::fill_n(image.begin() + kImagePlane, kImagePlane, static_cast<uint8_t>(250 - 5 * i));
    std::fill_n(image.begin() + 2 * kImagePlane, kImagePlane, static_cast<uint8_t>(31 * i % 256));
    data.append(image, static_cast<uint8_t>(i % kClassCount));
  }
  return data;
}

int64_t pixels_of_colour(const RgbImage& picture, const Dataset& data, int64_t index) {
  const auto image = data.image(index);
  int64_t count = 0;
  for (size_t p = 0; p < picture.pixels.size(); p += 3)
    count += picture.pixels[p] == image[0] && picture.pixels[p + 1] == image[kImagePlane] &&
             picture.pixels[p + 2] == image[2 * kImagePlane];
  return count;
}

TEST(Figures, MisclassifiedShowsTheSurestMistakesEnlarged) {
  const Dataset test = coloured_dataset(30);
  EvalResult evaluation;
  evaluation.total = test.size();
  for (int64_t i = 0; i < test.size(); ++i) {
    const bool wrong = i % 3 == 0;  // images 0, 3, ..., 27: ten mistakes
    const uint8_t label = test.labels[static_cast<size_t>(i)];
    evaluation.predictions.push_back(wrong ? static_cast<uint8_t>((label + 1) % kClassCount) : label);
    evaluation.confidences.push_back(0.2f + 0.02f * static_cast<float>(i));
    evaluation.correct += !wrong;
  }
  evaluation.confidences[9] = 0.99f;   // the surest mistake
  evaluation.confidences[12] = 0.99f;  // as sure: data order breaks the tie
  EXPECT_EQ(surest_mistakes(test, evaluation, 4), (std::vector<int64_t>{9, 12, 27, 24}));
  EXPECT_EQ(surest_mistakes(test, evaluation, 100).size(), 10u);

  const RgbImage picture = draw_misclassified(test, evaluation, 3, "made up");
  EXPECT_GT(pixel_variance(picture), 200.0);
  // The three surest mistakes, each at least 96 x 96 pixels; nothing of the others.
  for (const int64_t shown : {9, 12, 27}) EXPECT_GE(pixels_of_colour(picture, test, shown), 96 * 96) << shown;
  for (const int64_t hidden : {24, 0, 1, 2}) EXPECT_EQ(pixels_of_colour(picture, test, hidden), 0) << hidden;

  evaluation.predictions.pop_back();
  EXPECT_THROW(draw_misclassified(test, evaluation, 3, ""), Error);
}

TEST(Figures, SamplesAreTheFirstImagesOfEpochOneEnlarged) {
  const Dataset train = coloured_dataset(40);
  TrainConfig config = seed_recipe();
  config.augment = false;  // flat colours stay flat: the shuffled order decides what is shown
  const RgbImage picture = draw_training_samples(train, config, 8);
  const auto order = epoch_order(train.size(), config.seed, 0, true);
  for (size_t k = 0; k < order.size(); ++k) {
    const int64_t pixels = pixels_of_colour(picture, train, order[k]);
    if (k < 8)
      EXPECT_GE(pixels, 96 * 96) << "sample " << k;
    else
      EXPECT_EQ(pixels, 0) << "image " << order[k] << " is not among the first 8";
  }
  config.augment = true;
  const RgbImage augmented = draw_training_samples(test::random_dataset(64, 5), config, 32);
  EXPECT_GT(pixel_variance(augmented), 200.0);
  EXPECT_GE(augmented.width, 8 * 96);
}

TEST(Figures, ClassCountsAndPngFilesRoundTrip) {
  const RgbImage counts = draw_class_counts(test::random_dataset(100, 1), test::random_dataset(20, 2));
  EXPECT_EQ(counts.width, 1100);
  EXPECT_EQ(counts.height, 440);
  TempDir dir("report-png");
  write_png(dir / "counts.png", counts);
  const RgbImage back = decode_image(read_file_bytes(dir / "counts.png"), "counts.png");
  EXPECT_EQ(back.width, counts.width);
  EXPECT_EQ(back.height, counts.height);
  EXPECT_EQ(back.pixels, counts.pixels);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1)
      << "a temporary file was left";
}

TEST(Comparison, LabelsByNormAndDrawsEveryRun) {
  std::vector<RunRecord> runs(3);
  const char* norms[] = {"bn", "gn", "ln"};
  for (size_t i = 0; i < runs.size(); ++i) {
    runs[i].directory = std::string("runs/") + norms[i] + "-seed1/";
    runs[i].config.norm = norms[i];
    runs[i].history = made_up_history(20, -0.02 * static_cast<double>(i));
  }
  label_runs(runs);
  EXPECT_EQ(runs[0].label, "bn");
  EXPECT_EQ(runs[2].label, "ln");
  runs[1].config.norm = "bn";
  label_runs(runs);
  EXPECT_EQ(runs[0].label, "bn (bn-seed1)");
  EXPECT_EQ(runs[1].label, "bn (gn-seed1)");
  runs[1].config.recipe = "fast";
  label_runs(runs);
  EXPECT_EQ(runs[0].label, "bn (seed recipe)");
  EXPECT_EQ(runs[1].label, "bn (fast recipe)");
  runs[1].config.recipe = "seed";
  label_runs(runs);
  EXPECT_EQ(runs[1].label, "bn (gn-seed1)");
  const RgbImage curves = draw_comparison_curves(runs);
  EXPECT_EQ(curves.width, 1260);
  EXPECT_GT(pixel_variance(curves), 200.0);
  const RgbImage bars = draw_comparison_bars(runs);
  runs[2].history.back().test_correct = 9000;
  EXPECT_NE(bars.pixels, draw_comparison_bars(runs).pixels);
  EXPECT_DOUBLE_EQ(median_epoch_seconds(runs[0].history), 28.0);  // 27, 28, 29 repeating
}

// The settings a run report and a comparison show name the recipe's extra ingredients, so that the
// original recipe and a faster one do not read alike.
TEST(RunSettings, NameTheRecipeTheCropTheFlipTheDecayGroupsTheAverageAndTheSmoothing) {
  const auto value_of = [](const TrainConfig& c, const std::string& row) {
    for (const auto& [name, value] : describe(c))
      if (name == row) return value;
    return std::string("(no row)");
  };
  TrainConfig c = seed_recipe();
  EXPECT_EQ(value_of(c, "base recipe"), "seed");
  EXPECT_EQ(value_of(c, "weight average"), "off");
  EXPECT_EQ(value_of(c, "label smoothing"), "off");
  EXPECT_EQ(value_of(fast_recipe(), "base recipe"), "fast");
  EXPECT_EQ(value_of(c, "augmentation").find("crop"), std::string::npos);
  c.augment_options.crop_padding = 4;
  c.augment_options.flip_probability = 0.5;
  c.sgd.weight_decay = 5e-4f;
  c.sgd.decay_conv_weights_only = true;
  c.ema_decay = 0.999;
  c.label_smoothing = 0.1f;
  EXPECT_EQ(value_of(c, "label smoothing"), "0.1");
  EXPECT_CONTAINS(value_of(c, "augmentation"), "; random crop with padding 4; horizontal flip with p 0.5");
  EXPECT_CONTAINS(value_of(c, "optimizer"), "weight decay 0.0005 (convolution weights only)");
  EXPECT_EQ(value_of(c, "weight average"), "EMA with decay 0.999 (evaluated and saved)");
}

// A recipe against another, norm by norm: a colour per norm, the second run of a norm dashed.
TEST(Comparison, PairsOfANormShareItsColourAndTheSecondIsDashed) {
  std::vector<RunRecord> runs(4);
  const char* norms[] = {"bn", "bn", "gn", "gn"};
  for (size_t i = 0; i < runs.size(); ++i) {
    runs[i].config.norm = norms[i];
    runs[i].history = made_up_history(5, -0.01 * static_cast<double>(i));
  }
  std::vector<CurveStyle> s = curve_styles(runs);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].colour, s[1].colour);
  EXPECT_EQ(s[2].colour, s[3].colour);
  EXPECT_NE(s[0].colour, s[2].colour);
  EXPECT_FALSE(s[0].dashed);
  EXPECT_TRUE(s[1].dashed);
  EXPECT_FALSE(s[2].dashed);
  EXPECT_TRUE(s[3].dashed);
  const RgbImage paired = draw_comparison_curves(runs);
  // A third bn run: no longer pairs, so every run gets its own solid colour.
  runs[2].config.norm = "bn";
  s = curve_styles(runs);
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s[i].colour, i);
    EXPECT_FALSE(s[i].dashed);
  }
  EXPECT_NE(draw_comparison_curves(runs).pixels, paired.pixels);
  // Runs of distinct norms: a colour each, none dashed.
  runs.resize(2);
  runs[1].config.norm = "ln";
  s = curve_styles(runs);
  EXPECT_EQ(s[0].colour, 0u);
  EXPECT_EQ(s[1].colour, 1u);
  EXPECT_FALSE(s[1].dashed);
}

TEST(Comparison, PlotsAgainstMinutesWhenAsked) {
  std::vector<RunRecord> runs(2);
  for (size_t i = 0; i < runs.size(); ++i) {
    runs[i].directory = "runs/r" + std::to_string(i);
    runs[i].config.norm = i == 0 ? "bn" : "gn";
    runs[i].history = made_up_history(4);
  }
  label_runs(runs);
  // 28, 29, 27, 28 seconds: 28/60, 57/60, 84/60, 112/60 minutes.
  const std::vector<double> minutes = cumulative_minutes(runs[0].history);
  ASSERT_EQ(minutes.size(), 4u);
  EXPECT_DOUBLE_EQ(minutes[0], 28.0 / 60);
  EXPECT_DOUBLE_EQ(minutes[3], 112.0 / 60);
  const RgbImage by_epoch = draw_comparison_curves(runs, CompareAxis::epochs);
  const RgbImage by_minute = draw_comparison_curves(runs, CompareAxis::minutes);
  EXPECT_NE(by_epoch.pixels, by_minute.pixels);
  for (EpochMetrics& m : runs[1].history) m.seconds *= 2;
  EXPECT_EQ(draw_comparison_curves(runs, CompareAxis::epochs).pixels, by_epoch.pixels);
  EXPECT_NE(draw_comparison_curves(runs, CompareAxis::minutes).pixels, by_minute.pixels);
  EXPECT_EQ(parse_compare_axis("minutes"), CompareAxis::minutes);
  EXPECT_EQ(test::error_of([] { parse_compare_axis("hours"); }), "unknown x-axis 'hours' (known: epochs, minutes)");
}

using test::Plugins;

TrainConfig tiny_config() {
  TrainConfig config = seed_recipe();
  config.epochs = 2;
  config.batch_size = 16;
  config.eval_batch_size = 16;
  return config;
}

// Writes the report after each epoch, as `s8net train` does, and keeps what it wrote.
class ReportingObserver : public TrainObserver {
 public:
  ReportingObserver(Trainer& trainer, fs::path directory) : trainer_(trainer), directory_(std::move(directory)) {}
  void on_epoch(const EpochMetrics&, bool) override {
    write_run_report(directory_, snapshot_of(trainer_, "tiny"));
    pages.push_back(read_text(directory_ / kReportFile));
    curves.push_back(read_file_bytes(directory_ / kCurvesFile));
    const ConfusionMatrix& confusion = trainer_.last_evaluation().confusion;
    int64_t sum = 0;
    for (const auto& row : confusion)
      for (const int64_t n : row) sum += n;
    confusion_sums.push_back(sum);
  }
  std::vector<std::string> pages;
  std::vector<std::vector<uint8_t>> curves;
  std::vector<int64_t> confusion_sums;

 private:
  Trainer& trainer_;
  fs::path directory_;
};

TEST(RunReport, RedrawnAfterEveryEpochWithCountsOfTheWholeTestSet) {
  Plugins plugins;
  const CifarData data = test::random_cifar(48, 37, 3);
  TempDir dir("report-epochs");
  Trainer trainer(plugins.context, plugins.registry, tiny_config(), data, dir.path());
  ReportingObserver observer(trainer, dir.path());
  trainer.run(observer);
  ASSERT_EQ(observer.pages.size(), 2u);
  EXPECT_EQ(observer.confusion_sums, (std::vector<int64_t>{37, 37}));
  // While training the page reloads itself; when finished it says so and stops.
  EXPECT_CONTAINS(observer.pages[0], "1 of 2 epochs (training: this page reloads every 30 s)");
  EXPECT_CONTAINS(observer.pages[0], "http-equiv=\"refresh\"");
  EXPECT_CONTAINS(observer.pages[1], "2 of 2 epochs, finished");
  EXPECT_EQ(observer.pages[1].find("http-equiv=\"refresh\""), std::string::npos);
  EXPECT_NE(observer.curves[0], observer.curves[1]) << "the curves were not redrawn";
  // Per class, the confusion rows hold that class's test images.
  const EvalResult& last = trainer.last_evaluation();
  const auto counts = trainer.test_data().class_counts();
  for (int c = 0; c < kClassCount; ++c) EXPECT_EQ(last.class_count(c), counts[c]) << c;
  expect_links_exist(dir / kReportFile, 5);
}

TEST(RunReport, KeepsTheDataPicturesWhenAskedNotToRedrawThem) {
  const CifarData data = test::random_cifar(24, 12, 5);
  RunSnapshot run;
  run.name = "data";
  run.config = seed_recipe();
  run.history = made_up_history(1);
  run.epochs_done = 1;
  run.train = &data.train;
  run.test = &data.test;
  TempDir dir("report-data");
  write_run_report(dir.path(), run);
  const auto samples = read_file_bytes(dir / kSamplesFile);
  // Marked so that a redraw would show: kept while present, drawn again once missing.
  write_file_atomically(dir / kClassCountsFile, std::string("kept"));
  run.redraw_data_pictures = false;
  write_run_report(dir.path(), run);
  EXPECT_EQ(read_text(dir / kClassCountsFile), "kept");
  fs::remove(dir / kSamplesFile);
  write_run_report(dir.path(), run);
  EXPECT_EQ(read_file_bytes(dir / kSamplesFile), samples);
  expect_picture(dir / kClassCountsFile, 1100, 440);
  expect_links_exist(dir / kReportFile, 3);
}

TEST(RunReport, EscapesWhatItShows) {
  RunSnapshot run;
  run.name = "<b>bold & \"quoted\"</b>";
  run.config = seed_recipe();
  run.history = made_up_history(2);
  run.epochs_done = 2;
  TempDir dir("report-escape");
  write_run_report(dir.path(), run);
  const std::string page = read_text(dir / kReportFile);
  EXPECT_CONTAINS(page, "&lt;b&gt;bold &amp; &quot;quoted&quot;&lt;/b&gt;");
  EXPECT_EQ(page.find("<b>bold"), std::string::npos);
  // Without data or an evaluation: the curves, the tables, and no links to pictures not drawn.
  expect_links_exist(dir / kReportFile, 1);
  EXPECT_FALSE(fs::exists(dir / kConfusionFile));
}

// Two finished runs of the app on tiny data, shared by the tests below.
class AppReport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("app-report");
    write_cifar_binary(test::random_cifar(48, 30, 4), *dir_ / "data");
    for (const char* seed : {"1", "2"}) {
      const auto r = run_app("train --norm bn --data " + path("data") + " --out " + path(std::string("run") + seed) +
                             " --epochs 2 --batch 16 --seed " + seed);
      ASSERT_EQ(r.exit_code, 0) << r.all();
      ASSERT_TRUE(r.out.find("report " + path(std::string("run") + seed) + "/report.html") != std::string::npos)
          << r.out;
    }
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }
  static TempDir* dir_;
};
TempDir* AppReport::dir_ = nullptr;

TEST_F(AppReport, EveryRunDirectoryGetsThePicturesAndThePage) {
  const fs::path run = path("run1");
  expect_picture(run / kCurvesFile, 1260, 460);
  expect_picture(run / kConfusionFile, 900, 724);
  expect_picture(run / kMisclassifiedFile);
  expect_picture(run / kSamplesFile);
  expect_picture(run / kClassCountsFile, 1100, 440);
  for (const char* picture : {kMisclassifiedFile, kSamplesFile}) {
    const RgbImage image = decode_image(read_file_bytes(run / picture), picture);
    EXPECT_GE(image.width, 5 * 128) << picture;
  }
  const std::string page = read_text(run / kReportFile);
  expect_links_exist(run / kReportFile, 5);
  for (const char* part :
       {"s8net run run1", "2 of 2 epochs, finished", "48,178 parameters", "train correct", "Confusion matrix",
        "seed: linear over epoch:LR points 0:0.001,2:0.01,8:0.0002,12:0.0001,20:0", "conv3x3+bn+relu",
        "<tr class=\"best\">"})
    EXPECT_CONTAINS(page, part);
  EXPECT_EQ(links_of(page).size(), 5u);
}

TEST_F(AppReport, ReportRedrawsAFinishedRunFromItsCheckpoint) {
  const fs::path out = path("redrawn");
  const auto r =
      run_app("report " + path("run1") + " --data " + path("data") + " --checkpoint best --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  for (const char* file : {kCurvesFile, kConfusionFile, kMisclassifiedFile, kSamplesFile, kClassCountsFile})
    expect_picture(out / file);
  EXPECT_CONTAINS(read_text(out / kReportFile), "Test set, best.s8ckpt (epoch ");
  expect_links_exist(out / kReportFile, 5);

  // Without data: curves and tables only.
  const fs::path bare = path("bare");
  ASSERT_EQ(run_app("report " + path("run1") + " --out " + bare.string()).exit_code, 0);
  expect_links_exist(bare / kReportFile, 1);
  EXPECT_FALSE(fs::exists(bare / kConfusionFile));

  const auto missing =
      run_app("report " + path("run1") + " --checkpoint " + path("nothing.s8ckpt") + " --out " + bare.string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_CONTAINS(missing.err, "s8net report: " + path("nothing.s8ckpt") + ": no such checkpoint");

  // Another run's directory keeps its own report.
  const std::string page_before = test::text_of(fs::path(path("run2")) / kReportFile);
  const auto into_other = run_app("report " + path("run1") + " --out " + path("run2"));
  EXPECT_EQ(into_other.exit_code, 1);
  EXPECT_CONTAINS(into_other.err, path("run2") + ": holds another run (its config.json), whose report this would " +
                                      "replace; give another --out");
  EXPECT_EQ(test::text_of(fs::path(path("run2")) / kReportFile), page_before);
  ASSERT_EQ(run_app("report " + path("run1") + " --out " + path("run1") + "/.").exit_code, 0) << "its own is fine";

  // Pictures of another norm's network beside this run's curves would describe no run.
  Checkpoint other = load_checkpoint(path("run1") + "/" + kLastCheckpoint);
  other.config.norm = "ln";
  save_checkpoint(path("ln.s8ckpt"), other);
  const auto mixed =
      run_app("report " + path("run1") + " --checkpoint " + path("ln.s8ckpt") + " --out " + bare.string());
  EXPECT_EQ(mixed.exit_code, 1);
  EXPECT_CONTAINS(mixed.err, path("ln.s8ckpt") + ": a network of norm \"ln\", but the run in " + path("run1") +
                                 " has \"bn\": give a checkpoint of this run's network");
}

TEST_F(AppReport, NoReportLeavesOnlyTheRunFiles) {
  const fs::path run = path("quiet");
  const auto r =
      run_app("train --norm ln --data " + path("data") + " --out " + run.string() + " --epochs 1 --no-report");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_TRUE(fs::exists(run / kMetricsFile));
  EXPECT_FALSE(fs::exists(run / kReportFile));
  EXPECT_FALSE(fs::exists(run / kCurvesFile));
}

TEST_F(AppReport, AReportThatCannotBeWrittenDoesNotStopTheTraining) {
  const fs::path run = path("blocked");
  fs::create_directories(run / kReportFile / "in-the-way");  // a directory where the page goes
  const auto r = run_app("train --norm bn --data " + path("data") + " --out " + run.string() + " --epochs 1");
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.err, "s8net train: warning: report not drawn: ");
  EXPECT_TRUE(fs::exists(run / kLastCheckpoint));
  EXPECT_TRUE(fs::exists(run / kMetricsFile));
}

TEST_F(AppReport, CompareDrawsRunsSideBySide) {
  const fs::path out = path("compare");
  const auto r = run_app("compare " + path("run1") + " " + path("run2") + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  // Two runs of one norm are told apart by their directories.
  EXPECT_CONTAINS(r.out, "bn (run1)");
  EXPECT_CONTAINS(r.out, "bn (run2)");
  expect_picture(out / kCompareCurvesFile, 1260, 480);
  expect_picture(out / kCompareBarsFile, 1260, 460);
  const std::string page = read_text(out / kCompareFile);
  expect_links_exist(out / kCompareFile, 2);
  EXPECT_CONTAINS(page, "<td>bn (run1)</td>");
  EXPECT_CONTAINS(page, "<td>bn (run2)</td>");
  // The seeds differ, so that settings row is highlighted.
  EXPECT_CONTAINS(page, "<tr class=\"best\"><td>seed</td><td>1</td><td>2</td></tr>");
}

TEST_F(AppReport, CompareRefusesWhatIsNotARun) {
  const fs::path not_run = path("not-a-run");
  fs::create_directories(not_run);
  const fs::path empty_run = path("empty-run");
  fs::create_directories(empty_run);
  fs::copy_file(path("run1") + "/config.json", empty_run / "config.json");
  write_file_atomically(empty_run / "metrics.jsonl", std::string_view(""));
  const fs::path bad_line = path("bad-line");
  fs::create_directories(bad_line);
  fs::copy_file(path("run1") + "/config.json", bad_line / "config.json");
  write_file_atomically(bad_line / "metrics.jsonl", std::string_view("{\"epoch\": 1}\n"));
  const std::pair<std::string, std::string> cases[] = {
      {path("absent"), path("absent") + ": no such directory"},
      {path("data") + "/test_batch.bin", path("data") + "/test_batch.bin: not a directory"},
      {not_run.string(), not_run.string() + ": not an s8net run directory (no config.json"},
      {empty_run.string(), (empty_run / "metrics.jsonl").string() + ": no finished epoch yet"},
      {bad_line.string(), (bad_line / "metrics.jsonl").string() + ": invalid metrics line"}};
  for (const auto& [dir, message] : cases) {
    const fs::path out = path("refused");
    const auto r = run_app("compare " + path("run1") + " " + dir + " --out " + out.string());
    EXPECT_EQ(r.exit_code, 1) << dir;
    EXPECT_CONTAINS(r.err, "s8net compare: " + message);
    EXPECT_FALSE(fs::exists(out)) << "nothing is written when a run is refused";
  }
  const auto no_out = run_app("compare " + path("run1"));
  EXPECT_EQ(no_out.exit_code, 2);
  EXPECT_CONTAINS(no_out.err, "--out");
  // An --out that cannot be a directory is one line naming it, before any result is printed.
  const std::string under_a_file = path("run1") + "/config.json/compare";
  const auto blocked = run_app("compare " + path("run1") + " " + path("run2") + " --out " + under_a_file);
  EXPECT_EQ(blocked.exit_code, 1);
  EXPECT_EQ(blocked.err, "s8net compare: " + under_a_file + ": cannot create the directory: Not a directory\n");
  EXPECT_EQ(blocked.out, "");
}

}  // namespace
