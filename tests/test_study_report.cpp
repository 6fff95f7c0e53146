// A study's aggregate: the statistics over seeds against hand-computed values, and the report of
// a study directory made up here (2 norms x 2 batch sizes x 2 seeds, one point failed).
#include "support/error_of.hpp"
#include "support/pictures.hpp"
#include "support/temp_dir.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/report/study_figures.hpp>
#include <s8net/study/aggregate.hpp>
#include <s8net/train/train_config.hpp>
#include <s8net/train/trainer.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using namespace s8net::study;
using test::error_of;
using test::expect_picture;
using test::read_text;
using test::TempDir;

// Student's t quantiles t(0.975, dof) from the published tables.
constexpr double kT1 = 12.706204736174707, kT2 = 4.302652729911275;

TEST(Summarize, OneValueHasNoSpread) {
  const Summary s = summarize({71.5});
  EXPECT_EQ(s.count, 1);
  EXPECT_DOUBLE_EQ(s.mean, 71.5);
  EXPECT_DOUBLE_EQ(s.standard_deviation, 0);
  EXPECT_DOUBLE_EQ(s.interval_low, 71.5);
  EXPECT_DOUBLE_EQ(s.interval_high, 71.5);
  EXPECT_EQ(summarize({}).count, 0);
}

TEST(Summarize, TwoValues) {
  // {70, 74}: mean 72; squares about the mean 4 + 4 = 8 over n - 1 = 1: sd = sqrt(8) = 2.8284...;
  // standard error sd / sqrt(2) = 2; half-width t(0.975, 1) * 2 = 25.4124...
  const Summary s = summarize({70, 74});
  EXPECT_EQ(s.count, 2);
  EXPECT_DOUBLE_EQ(s.mean, 72);
  EXPECT_NEAR(s.standard_deviation, std::sqrt(8.0), 1e-12);
  EXPECT_NEAR(s.interval_low, 72 - kT1 * 2, 1e-9);
  EXPECT_NEAR(s.interval_high, 72 + kT1 * 2, 1e-9);
}

TEST(Summarize, ThreeValues) {
  // {70, 72, 74}: mean 72; squares 4 + 0 + 4 = 8 over n - 1 = 2: sd = 2; standard error
  // 2 / sqrt(3) = 1.1547...; half-width t(0.975, 2) * 1.1547... = 4.9683: [67.0317, 76.9683].
  const Summary s = summarize({70, 72, 74});
  EXPECT_EQ(s.count, 3);
  EXPECT_DOUBLE_EQ(s.mean, 72);
  EXPECT_NEAR(s.standard_deviation, 2, 1e-12);
  EXPECT_NEAR(s.interval_high - s.mean, kT2 * 2 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(s.interval_low, 67.0317245763125, 1e-9);
  EXPECT_NEAR(s.interval_high, 76.9682754236875, 1e-9);
}

// The made-up study: the final test accuracy of a point is its cell's base -2 for seed 1 and +2
// for seed 2; epoch 2 has the best validation accuracy and a test accuracy 1 above the final one.
double final_accuracy(const GridPoint& p) {
  const double base = p.norm == "bn" ? (p.batch == 2 ? 72 : 68) : (p.batch == 2 ? 62 : 60);
  return base + (p.seed == 1 ? -2 : 2);
}

std::vector<EpochMetrics> history_of(const GridPoint& p) {
  const double final_test = final_accuracy(p);
  const double test[] = {final_test - 20, final_test + 1, final_test}, val[] = {30, 60, 55};
  std::vector<EpochMetrics> history;
  for (int e = 0; e < 3; ++e) {
    EpochMetrics m;
    m.epoch = e + 1;
    m.learning_rate = 0.01;
    m.seconds = 2;
    // 100 images/s per image of the batch: 200 at batch 2, 400 at batch 4.
    m.train_seconds = 10.0 / static_cast<double>(p.batch);
    m.train_loss = 1;
    m.train_total = 1000, m.train_correct = 500;
    m.test_loss = 1;
    m.test_total = 10000, m.test_correct = std::llround(test[e] * 100);
    m.val_loss = 1;
    m.val_total = 1000, m.val_correct = std::llround(val[e] * 10);
    history.push_back(m);
  }
  return history;
}

void write_run(const fs::path& study, const GridPoint& p) {
  TrainConfig config = seed_recipe();
  config.norm = p.norm, config.batch_size = p.batch, config.seed = p.seed, config.epochs = 3;
  config.validation_images = 1000;
  const fs::path directory = run_directory(study, p);
  fs::create_directories(directory);
  write_file_atomically(directory / kConfigFile, to_json(config));
  std::string lines;
  for (const EpochMetrics& m : history_of(p)) lines += to_json_line(m) + "\n";
  write_file_atomically(directory / kMetricsFile, lines);
}

struct MadeUpStudy {
  Grid grid{{"bn", "gn"}, {2, 4}, 2};
  std::vector<PointOutcome> outcomes;

  explicit MadeUpStudy(const fs::path& study) {
    for (const std::string& norm : grid.norms)
      for (const int64_t batch : grid.batches)
        for (uint64_t seed = 1; seed <= 2; ++seed) {
          PointOutcome outcome{{norm, batch, seed}, PointOutcome::Status::finished, "", 12.5};
          if (outcome.point.name() == "gn-b4-s2")
            outcome.status = PointOutcome::Status::failed, outcome.reason = "killed, \"signal 9\"";
          else
            write_run(study, outcome.point);
          outcomes.push_back(outcome);
        }
  }
};

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

TEST(StudyRows, ReadFromEachFinishedRunDirectory) {
  TempDir study("study");
  const MadeUpStudy made_up(study.path());
  const std::vector<StudyRow> rows = collect_rows(study.path(), made_up.outcomes);
  ASSERT_EQ(rows.size(), 8u);
  const StudyRow& first = rows[0];
  EXPECT_EQ(first.point.name(), "bn-b2-s1");
  EXPECT_EQ(first.status, PointOutcome::Status::finished);
  EXPECT_DOUBLE_EQ(first.learning_rate, 0.01);  // the seed schedule's peak
  EXPECT_EQ(first.epochs, 3);
  EXPECT_NEAR(first.final_test_accuracy, 70, 1e-9);
  ASSERT_TRUE(first.best_val_accuracy && first.test_at_best_val);
  EXPECT_NEAR(*first.best_val_accuracy, 60, 1e-9);
  EXPECT_NEAR(*first.test_at_best_val, 71, 1e-9);
  EXPECT_NEAR(first.train_images_per_second, 200, 1e-9);
  EXPECT_DOUBLE_EQ(first.wall_seconds, 12.5);
  ASSERT_EQ(first.test_accuracy_per_epoch.size(), 3u);
  EXPECT_NEAR(first.test_accuracy_per_epoch[0], 50, 1e-9);
  const StudyRow& failed = rows[7];
  EXPECT_EQ(failed.point.name(), "gn-b4-s2");
  EXPECT_EQ(failed.status, PointOutcome::Status::failed);
  EXPECT_EQ(failed.reason, "killed, \"signal 9\"");
  EXPECT_FALSE(failed.best_val_accuracy);
}

TEST(StudyRows, ErrorsNameTheFile) {
  TempDir study("study");
  const MadeUpStudy made_up(study.path());
  const fs::path metrics = run_directory(study.path(), made_up.outcomes[1].point) / kMetricsFile;
  write_file_atomically(metrics, "{\"epoch\": ");
  EXPECT_NE(error_of([&] { collect_rows(study.path(), made_up.outcomes); }).find(metrics.string()), std::string::npos);
  fs::remove(metrics);
  EXPECT_NE(error_of([&] { collect_rows(study.path(), made_up.outcomes); }).find("metrics.jsonl"), std::string::npos);

  // A run directory holding another point's run.
  const std::vector<PointOutcome> bn_b4_s1 = {made_up.outcomes[2]};
  fs::copy(run_directory(study.path(), made_up.outcomes[0].point) / kConfigFile,
           run_directory(study.path(), bn_b4_s1[0].point) / kConfigFile, fs::copy_options::overwrite_existing);
  const std::string message = error_of([&] { collect_rows(study.path(), bn_b4_s1); });
  EXPECT_NE(message.find(kConfigFile), std::string::npos) << message;
  EXPECT_NE(message.find("bn-b4-s1"), std::string::npos) << message;
}

TEST(StudyReport, TablesFiguresAndPage) {
  TempDir study("study");
  const MadeUpStudy made_up(study.path());
  const std::vector<fs::path> written =
      write_study_report(study.path(), made_up.grid, collect_rows(study.path(), made_up.outcomes));
  EXPECT_EQ(written.size(), 7u);
  for (const fs::path& file : written) EXPECT_TRUE(fs::exists(file)) << file;

  const std::string csv = read_text(study / kStudyCsvFile);
  EXPECT_EQ(
      csv.substr(0, csv.find('\n')),
      "norm,batch,seed,status,reason,lr,epochs,final_test_acc,best_val_acc,test_at_best_val,test_tta_acc,train_img_s,"
      "wall_s");
  EXPECT_NE(csv.find("\nbn,2,1,finished,,0.01,3,70.00,60.00,71.00,,200.0,12.5\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nbn,4,2,finished,,0.01,3,70.00,60.00,71.00,,400.0,12.5\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\ngn,4,1,finished,,0.01,3,58.00,60.00,59.00,,400.0,12.5\n"), std::string::npos) << csv;
  // The reason holds a comma and quotes: one quoted field, its quotes doubled.
  EXPECT_NE(csv.find("\ngn,4,2,failed,\"killed, \"\"signal 9\"\"\",,,,,,,,12.5\n"), std::string::npos) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 9);

  // bn, batch 2: final {70, 74} -> mean 72.00, sd sqrt(8) = 2.83, 72 -+ 12.7062 * 2 = [46.59, 97.41];
  // at the best validation epoch {71, 75} -> 73.00, 2.83, [47.59, 98.41]. gn, batch 4: one seed, 58.
  const std::string md = read_text(study / kStudySummaryFile);
  EXPECT_NE(md.find("| bn | 2 | 2 | 72.00 | 2.83 | [46.59, 97.41] |"), std::string::npos) << md;
  EXPECT_NE(md.find("| bn | 4 | 2 | 68.00 | 2.83 | [42.59, 93.41] |"), std::string::npos) << md;
  EXPECT_NE(md.find("| bn | 2 | 2 | 73.00 | 2.83 | [47.59, 98.41] |"), std::string::npos) << md;
  EXPECT_NE(md.find("| gn | 4 | 1 | 58.00 | – | – |"), std::string::npos) << md;
  EXPECT_NE(md.find("test split, last epoch"), std::string::npos) << md;
  EXPECT_NE(md.find("validation-split"), std::string::npos) << md;
  EXPECT_NE(md.find("- `gn-b4-s2`: killed, \"signal 9\""), std::string::npos) << md;

  const auto json = nlohmann::json::parse(read_text(study / kStudyJsonFile));
  ASSERT_EQ(json.at("rows").size(), 8u);
  EXPECT_EQ(json["rows"][7]["status"], "failed");
  EXPECT_TRUE(json["rows"][7]["final_test_acc"].is_null());
  ASSERT_EQ(json.at("summaries").size(), 4u);
  const auto& bn2 = json["summaries"][0];
  EXPECT_EQ(bn2["norm"], "bn");
  EXPECT_EQ(bn2["batch"], 2);
  EXPECT_EQ(bn2["final_test_acc"]["n"], 2);
  EXPECT_NEAR(bn2["final_test_acc"]["ci95_low"].get<double>(), 72 - kT1 * 2, 1e-9);
  EXPECT_TRUE(json["summaries"][3]["final_test_acc"]["sd"].is_null());  // gn, batch 4: one seed

  // Two accuracy panels (final, and at the best validation epoch); one throughput panel; a
  // learning-curve panel per batch size, three to a row.
  expect_picture(study / kStudyAccuracyFigure, 1260, 480);
  expect_picture(study / kStudyThroughputFigure, 760, 480);
  expect_picture(study / kStudyCurvesFigure, 1260, 380);

  const std::string page = read_text(study / kStudyPageFile);
  const std::vector<std::string> links = links_of(page);
  for (const char* file : {kStudyAccuracyFigure, kStudyThroughputFigure, kStudyCurvesFigure, kStudyCsvFile,
                           kStudyJsonFile, kStudySummaryFile})
    EXPECT_NE(std::find(links.begin(), links.end(), file), links.end()) << file;
  for (const std::string& link : links) EXPECT_TRUE(fs::exists(study / link)) << link;
  EXPECT_NE(page.find("killed, &quot;signal 9&quot;"), std::string::npos);
  EXPECT_NE(page.find("95% confidence interval"), std::string::npos);
}

// With --tta the study evaluates each finished run once more and keeps the result in the run
// directory; the rows take it only when it is a whole record of the views asked for, on the run's
// test images, whose accuracy is its counts'; the report adds its table, column and figure panel.
TEST(StudyReport, TestTimeViewsWhereEachRunRecordsThem) {
  TempDir study("study");
  MadeUpStudy made_up(study.path());
  made_up.grid.test_time_views = "flip+shift1";
  const auto write = [&](size_t outcome, const std::string& text) {
    write_file_atomically(run_directory(study.path(), made_up.outcomes[outcome].point) / kTestTimeViewsFile, text);
  };
  const auto record = [&](size_t outcome, const std::string& views, int64_t correct, int64_t total, double accuracy) {
    write(outcome,
          nlohmann::json({{"tta", views}, {"test_correct", correct}, {"test_total", total}, {"test_acc", accuracy}})
              .dump());
  };
  record(0, "flip+shift1", 7150, 10000, 71.5);  // bn-b2-s1
  record(1, "flip+shift1", 7450, 10000, 74.5);  // bn-b2-s2
  record(2, "flip", 9900, 10000, 99);           // bn-b4-s1: other views, not these
  const std::vector<StudyRow> rows = collect_rows(study.path(), made_up.outcomes, "flip+shift1");
  ASSERT_TRUE(rows[0].test_with_views && rows[1].test_with_views);
  EXPECT_DOUBLE_EQ(*rows[0].test_with_views, 71.5);
  EXPECT_FALSE(rows[2].test_with_views);
  EXPECT_FALSE(rows[3].test_with_views);                                          // none recorded
  EXPECT_FALSE(collect_rows(study.path(), made_up.outcomes)[0].test_with_views);  // not asked for

  write_study_report(study.path(), made_up.grid, rows);
  const std::string csv = read_text(study / kStudyCsvFile);
  EXPECT_NE(csv.find("\nbn,2,1,finished,,0.01,3,70.00,60.00,71.00,71.50,200.0,12.5\n"), std::string::npos) << csv;
  // {71.5, 74.5}: mean 73.00, sd 2.12, 73 -+ 12.7062 * 1.5 = [53.94, 92.06].
  const std::string md = read_text(study / kStudySummaryFile);
  EXPECT_NE(md.find("test-time views flip+shift1"), std::string::npos) << md;
  EXPECT_NE(md.find("## Test accuracy with test-time views (%)"), std::string::npos) << md;
  EXPECT_NE(md.find("| bn | 2 | 2 | 73.00 | 2.12 | [53.94, 92.06] |"), std::string::npos) << md;
  EXPECT_NE(md.find("| bn | 4 | 0 | – | – | – |"), std::string::npos) << md;
  const auto json = nlohmann::json::parse(read_text(study / kStudyJsonFile));
  EXPECT_EQ(json["grid"]["tta"], "flip+shift1");
  EXPECT_DOUBLE_EQ(json["rows"][0]["test_tta_acc"].get<double>(), 71.5);
  EXPECT_TRUE(json["rows"][2]["test_tta_acc"].is_null());
  EXPECT_EQ(json["summaries"][0]["test_tta_acc"]["n"], 2);
  // A third accuracy panel.
  expect_picture(study / kStudyAccuracyFigure, 1800, 480);

  // Nothing is taken from a record that does not hold together: the study evaluates such runs again.
  const auto taken = [&] { return collect_rows(study.path(), made_up.outcomes, "flip+shift1")[0].test_with_views; };
  EXPECT_TRUE(taken());
  for (const std::string& bad :
       {std::string("{"), std::string("[]"), std::string("{\"tta\":\"flip+shift1\"}"),
        std::string("{\"tta\":\"flip+shift1\",\"test_correct\":7150,\"test_total\":10000,\"test_acc\":\"x\"}")}) {
    write(0, bad);
    EXPECT_FALSE(taken()) << bad;
  }
  record(0, "flip+shift1", 7150, 10000, 999);  // an accuracy that is not its counts'
  EXPECT_FALSE(taken());
  record(0, "flip+shift1", 715, 1000, 71.5);  // another number of test images than the run's 10,000
  EXPECT_FALSE(taken());
  record(0, "flip+shift1", 10001, 10000, 100.01);
  EXPECT_FALSE(taken());
  record(0, "flip+shift1", -1, 10000, -0.01);
  EXPECT_FALSE(taken());
  record(0, "flip+shift1", 7150, 10000, 71.5);
  EXPECT_TRUE(taken());
}

// The left half of an image: the first of two panels.
std::vector<uint8_t> left_half(const RgbImage& image) {
  std::vector<uint8_t> half;
  const auto row = static_cast<size_t>(image.width) * 3;
  for (size_t y = 0; y < static_cast<size_t>(image.height); ++y)
    half.insert(half.end(), image.pixels.begin() + static_cast<std::ptrdiff_t>(y * row),
                image.pixels.begin() + static_cast<std::ptrdiff_t>(y * row + row / 2));
  return half;
}

// Panels of one measure share the y axis: a high value in the second panel moves the first
// panel's axis (and so its drawing); panels of different measures keep their own axes.
TEST(StudyFigures, PanelsOfOneMeasureShareTheirYAxis) {
  const report::BatchSizeLine line{"bn", {2, 8}, {60, 65}, {60, 65}, {60, 65}};
  const report::BatchSizeLine high{"gn", {2, 8}, {90, 95}, {90, 95}, {90, 95}};
  const report::BatchSizePanel alike[] = {{"final", "%", {line}}, {"views", "%", {line}}};
  const report::BatchSizePanel higher[] = {{"final", "%", {line}}, {"views", "%", {line, high}}};
  const report::BatchSizePanel other_measure[] = {{"final", "%", {line}}, {"views", "img/s", {line, high}}};
  const auto draw = [](std::span<const report::BatchSizePanel> panels) {
    return left_half(report::draw_against_batch_size("t", "", panels));
  };
  EXPECT_NE(draw(alike), draw(higher));
  EXPECT_EQ(draw(alike), draw(other_measure));
}

TEST(StudyFigures, ErrorBarsAndBatchSizesShow) {
  report::BatchSizeLine line{"bn", {2, 8, 64}, {60, 65, 62}, {60, 65, 62}, {60, 65, 62}};
  const report::BatchSizePanel without[] = {{"accuracy", "%", {line}}};
  line.low = {55, 63, 50}, line.high = {65, 67, 74};
  const report::BatchSizePanel with[] = {{"accuracy", "%", {line}}};
  const RgbImage a = report::draw_against_batch_size("t", "", without),
                 b = report::draw_against_batch_size("t", "", with);
  EXPECT_EQ(a.width, 760);
  EXPECT_GT(test::pixel_variance(a), 200.0);
  EXPECT_NE(a.pixels, b.pixels);
}

}  // namespace
