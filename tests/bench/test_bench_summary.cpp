// bench_report's reading of Google Benchmark JSON and the tables and chart it makes of it, on
// small hand-written results whose ratios are known; its refusals of files that are not results.
#include "summary/benchmark_results.hpp"
#include "summary/summary_tables.hpp"
#include "support/app_runner.hpp"
#include "support/pictures.hpp"
#include "support/temp_dir.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using namespace s8net::bench;
using test::TempDir;

nlohmann::json entry(const std::string& name, double items_per_second) {
  return {{"name", name + "/real_time"}, {"run_name", name + "/real_time"}, {"run_type", "iteration"},
          {"items_per_second", items_per_second}, {"real_time", 1.0}};
}

// s8net: bn 2,000 img/s training at batch 32, gn 1,800, ln 2,200; PyTorch a quarter of that.
fs::path write_results(const TempDir& dir) {
  nlohmann::json ours = {{"context", {{"executable", "bench_train"}}}, {"benchmarks", nlohmann::json::array()}};
  auto bn = entry("TrainStep/bn/32", 2000);
  bn["GFLOP/s"] = 116.4;
  bn["of_sgemm"] = 0.5;
  ours["benchmarks"].push_back(bn);
  ours["benchmarks"].push_back(entry("TrainStep/gn/32", 1800));
  ours["benchmarks"].push_back(entry("TrainStep/ln/32", 2200));
  ours["benchmarks"].push_back(entry("Inference/bn/256", 6000));
  ours["benchmarks"].push_back(entry("NormForward/gn/32x8x8/128", 123456));
  ours["benchmarks"].back()["GB/s"] = 7.25;
  write_file_atomically(dir / "train.json", ours.dump());
  nlohmann::json theirs = {{"benchmarks", nlohmann::json::array()}};
  for (const char* norm : {"bn", "gn", "ln"})
    theirs["benchmarks"].push_back(entry(std::string("PyTorch/TrainStep/") + norm + "/32", 500));
  theirs["benchmarks"].push_back(entry("PyTorch/Inference/bn/256", 2000));
  write_file_atomically(dir / "pytorch.json", theirs.dump());
  return dir.path();
}

Results read_both(const TempDir& dir) {
  write_results(dir);
  return read_results({dir / "train.json", dir / "pytorch.json"});
}

// A file with one run per name: TrainStep/bn/32 at `rate`.
fs::path write_round(const TempDir& dir, const std::string& name, double rate) {
  nlohmann::json json = {{"benchmarks", nlohmann::json::array({entry("TrainStep/bn/32", rate)})}};
  write_file_atomically(dir / name, json.dump());
  return dir / name;
}

TEST(BenchSummary, ReadsImagesPerSecondAndCountersByName) {
  const TempDir dir("bench");
  const Results results = read_both(dir);
  EXPECT_EQ(results.size(), 9u);
  ASSERT_TRUE(find(results, "TrainStep/bn/32"));
  EXPECT_DOUBLE_EQ(find(results, "TrainStep/bn/32")->items_per_second, 2000);
  EXPECT_DOUBLE_EQ(find(results, "TrainStep/bn/32")->counters.at("of_sgemm"), 0.5);
  EXPECT_DOUBLE_EQ(find(results, "PyTorch/Inference/bn/256")->items_per_second, 2000);
  EXPECT_FALSE(find(results, "TrainStep/bn/128"));
}

TEST(BenchSummary, TheMedianOfRepetitionsWinsOverSingleRuns) {
  const TempDir dir("bench");
  nlohmann::json json = {{"benchmarks", nlohmann::json::array()}};
  for (double rate : {100.0, 300.0, 200.0}) json["benchmarks"].push_back(entry("TrainStep/bn/32", rate));
  for (const auto& [aggregate, rate] : {std::pair{"mean", 200.0}, std::pair{"median", 210.0}, std::pair{"stddev", 100.0}}) {
    auto a = entry("TrainStep/bn/32", rate);
    a["run_type"] = "aggregate";
    a["aggregate_name"] = aggregate;
    json["benchmarks"].push_back(a);
  }
  write_file_atomically(dir / "repeated.json", json.dump());
  EXPECT_DOUBLE_EQ(find(read_results({dir / "repeated.json"}), "TrainStep/bn/32")->items_per_second, 210);
  // Without the aggregate, the median of the file's single runs.
  for (int i = 0; i < 3; ++i) json["benchmarks"].erase(3);
  write_file_atomically(dir / "single.json", json.dump());
  EXPECT_DOUBLE_EQ(find(read_results({dir / "single.json"}), "TrainStep/bn/32")->items_per_second, 200);
}

TEST(BenchSummary, RoundsInSeveralFilesGiveTheMedianRun) {
  const TempDir dir("bench");
  const auto a = write_round(dir, "a.json", 900), b = write_round(dir, "b.json", 100), c = write_round(dir, "c.json", 500);
  EXPECT_DOUBLE_EQ(find(read_results({a, b, c}), "TrainStep/bn/32")->items_per_second, 500);
  // An even count takes the lower middle run, a real one.
  EXPECT_DOUBLE_EQ(find(read_results({a, b}), "TrainStep/bn/32")->items_per_second, 100);
  EXPECT_DOUBLE_EQ(find(read_results({a}), "TrainStep/bn/32")->items_per_second, 900);
}

TEST(BenchSummary, MarkdownHoldsTheRatiosBetweenNormsAndAgainstPyTorch) {
  const TempDir dir("bench");
  const std::string md = summary_markdown(read_both(dir));
  EXPECT_CONTAINS(md, "| training step, batch 32 | 2,000 | 1,800 | 2,200 | 0.90x | 1.10x | 116.4 (50% of sgemm) |");
  EXPECT_CONTAINS(md, "| training step, batch 32 | 2,000 | 500 | 4.00x | 1,800 | 500 | 3.60x | 2,200 | 500 | 4.40x |");
  EXPECT_CONTAINS(md, "| inference, batch 256 | 6,000 | 2,000 | 3.00x | - | - | - | - | - | - |");
  EXPECT_CONTAINS(md, "| forward 32x8x8, batch 128 | - | 123,456 (7.2) | - |");
  EXPECT_EQ(md.find("training step, batch 128"), std::string::npos) << "rows without results are left out";
}

TEST(BenchSummary, WithoutPyTorchThereIsNoComparisonTable) {
  const TempDir dir("bench");
  write_results(dir);
  const Results results = read_results({dir / "train.json"});
  EXPECT_EQ(summary_markdown(results).find("PyTorch"), std::string::npos);
  EXPECT_GT(test::pixel_variance(summary_chart(results)), 200.0);
}

TEST(BenchSummary, ChartIsThreePanelsWideAndNotBlank) {
  const TempDir dir("bench");
  const RgbImage chart = summary_chart(read_both(dir));
  EXPECT_EQ(chart.width, 1260);
  EXPECT_EQ(chart.height, 460);
  EXPECT_GT(test::pixel_variance(chart), 200.0);
}

TEST(BenchSummary, RefusesFilesThatAreNotBenchmarkResults) {
  const TempDir dir("bench");
  write_file_atomically(dir / "text.json", std::string("TrainStep/bn/32 2000"));
  write_file_atomically(dir / "other.json", std::string(R"({"runs": []})"));
  write_file_atomically(dir / "odd.json", std::string(R"({"benchmarks": [{"name": "x", "items_per_second": "many"}]})"));
  for (const char* name : {"text.json", "other.json", "odd.json", "absent.json"}) {
    try {
      read_results({dir / name});
      ADD_FAILURE() << name << " was accepted";
    } catch (const Error& e) {
      EXPECT_CONTAINS(e.what(), name);
    }
  }
}

TEST(BenchReport, WritesTheTableAndTheChart) {
  const TempDir dir("bench");
  write_results(dir);
  const auto r = test::run_program(S8NET_BENCH_REPORT, "--out " + (dir / "out").string() + " " +
                                                           (dir / "train.json").string() + " " + (dir / "pytorch.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(test::read_text(dir / "out/bench.md"), "| 4.00x |");
  test::expect_picture(dir / "out/bench.png", 1260, 460);
}

TEST(BenchReport, RefusesWithOneClearErrorAndWritesNothing) {
  const TempDir dir("bench");
  write_file_atomically(dir / "broken.json", std::string("{\"benchmarks\": [ {"));
  const auto broken = test::run_program(S8NET_BENCH_REPORT, "--out " + (dir / "out").string() + " " + (dir / "broken.json").string());
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_CONTAINS(broken.err, "broken.json: not JSON");
  write_file_atomically(dir / "empty.json", std::string(R"({"benchmarks": []})"));
  const auto empty = test::run_program(S8NET_BENCH_REPORT, "--out " + (dir / "out").string() + " " + (dir / "empty.json").string());
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_CONTAINS(empty.err, "no TrainStep");
  EXPECT_FALSE(fs::exists(dir / "out"));
  EXPECT_EQ(test::run_program(S8NET_BENCH_REPORT, "--out").exit_code, 2);
}

}  // namespace
