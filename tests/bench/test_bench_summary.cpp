// bench_report's reading of Google Benchmark JSON and the tables and chart it makes of it, on
// small hand-written results whose ratios are known: the fastest reference per case and its name,
// one table per CPU and instruction set; its refusals of files that are not results.
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
  return {{"name", name + "/real_time"},
          {"run_name", name + "/real_time"},
          {"run_type", "iteration"},
          {"items_per_second", items_per_second},
          {"real_time", 1.0}};
}

nlohmann::json results_file(const std::vector<std::pair<std::string, double>>& runs, nlohmann::json context = {}) {
  nlohmann::json json = {{"context", context.is_null() ? nlohmann::json::object() : context},
                         {"benchmarks", nlohmann::json::array()}};
  for (const auto& [name, rate] : runs) json["benchmarks"].push_back(entry(name, rate));
  return json;
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

// The one result set of files that do not name their platform.
Results only_set(const std::vector<ResultSet>& sets) {
  EXPECT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets.at(0).platform, Platform{});
  return sets.at(0).results;
}

Results read_both(const TempDir& dir) {
  write_results(dir);
  return only_set(read_results({dir / "train.json", dir / "pytorch.json"}));
}

// A file with one run per name: TrainStep/bn/32 at `rate`.
fs::path write_round(const TempDir& dir, const std::string& name, double rate, nlohmann::json context = {}) {
  write_file_atomically(dir / name, results_file({{"TrainStep/bn/32", rate}}, context).dump());
  return dir / name;
}

const nlohmann::json kNative = {{"cpu", "AMD EPYC 9R14"}, {"isa", "AVX-512"}};
const nlohmann::json kCapped = {{"cpu", "AMD EPYC 9R14"}, {"isa", "AVX2"}, {"isa_cap", "ONEDNN_MAX_CPU_ISA"}};

// Inference at batch 256 by every reference, a different one fastest for each norm: ONNX Runtime
// for bn, PyTorch channels_last for gn, frozen TorchScript for ln; training by the two eager ones.
ResultSet every_reference() {
  Results r;
  const auto put = [&](const std::string& name, double rate) { r[name] = Measurement{rate, {}}; };
  for (const auto& [norm, ours, eager, channels_last, frozen, ort] :
       {std::tuple{"bn", 6000.0, 2000.0, 1800.0, 3000.0, 3500.0},
        std::tuple{"gn", 4000.0, 1000.0, 2500.0, 2000.0, 900.0},
        std::tuple{"ln", 4500.0, 1500.0, 1600.0, 1800.0, 1700.0}}) {
    const std::string name = std::string("Inference/") + norm + "/256";
    put(name, ours);
    put("PyTorch/" + name, eager);
    put("PyTorch-channels_last/" + name, channels_last);
    put("PyTorch-frozen/" + name, frozen);
    put("OnnxRuntime/" + name, ort);
  }
  put("TrainStep/bn/32", 2000);
  put("PyTorch/TrainStep/bn/32", 500);
  put("PyTorch-channels_last/TrainStep/bn/32", 800);
  return {Platform{}, r};
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
  for (const auto& [aggregate, rate] :
       {std::pair{"mean", 200.0}, std::pair{"median", 210.0}, std::pair{"stddev", 100.0}}) {
    auto a = entry("TrainStep/bn/32", rate);
    a["run_type"] = "aggregate";
    a["aggregate_name"] = aggregate;
    json["benchmarks"].push_back(a);
  }
  write_file_atomically(dir / "repeated.json", json.dump());
  EXPECT_DOUBLE_EQ(find(only_set(read_results({dir / "repeated.json"})), "TrainStep/bn/32")->items_per_second, 210);
  // Without the aggregate, the median of the file's single runs.
  for (int i = 0; i < 3; ++i) json["benchmarks"].erase(3);
  write_file_atomically(dir / "single.json", json.dump());
  EXPECT_DOUBLE_EQ(find(only_set(read_results({dir / "single.json"})), "TrainStep/bn/32")->items_per_second, 200);
}

TEST(BenchSummary, RoundsInSeveralFilesGiveTheMedianRun) {
  const TempDir dir("bench");
  const auto a = write_round(dir, "a.json", 900), b = write_round(dir, "b.json", 100),
             c = write_round(dir, "c.json", 500);
  EXPECT_DOUBLE_EQ(find(only_set(read_results({a, b, c})), "TrainStep/bn/32")->items_per_second, 500);
  // An even count takes the lower middle run, a real one.
  EXPECT_DOUBLE_EQ(find(only_set(read_results({a, b})), "TrainStep/bn/32")->items_per_second, 100);
  EXPECT_DOUBLE_EQ(find(only_set(read_results({a})), "TrainStep/bn/32")->items_per_second, 900);
}

TEST(BenchSummary, PlatformLabelsSayWhetherTheIsaWasCapped) {
  EXPECT_EQ(Platform({"AMD EPYC 9R14", "AVX-512", ""}).label(), "AMD EPYC 9R14, AVX-512 (native)");
  EXPECT_EQ(Platform({"AMD EPYC 9R14", "AVX2", "ONEDNN_MAX_CPU_ISA"}).label(),
            "AMD EPYC 9R14, AVX2 (ONEDNN_MAX_CPU_ISA=AVX2)");
  EXPECT_EQ(Platform({"", "AVX2", ""}).label(), "AVX2 (native)");
  EXPECT_EQ(Platform({"Some CPU", "", ""}).label(), "Some CPU");
  EXPECT_EQ(Platform{}.label(), "");
}

TEST(BenchSummary, RoundsOfEachIsaMakeTheirOwnSetNativeFirst) {
  const TempDir dir("bench");
  const auto capped = write_round(dir, "capped.json", 100, kCapped);
  const auto native_a = write_round(dir, "native-a.json", 900, kNative);
  const auto native_b = write_round(dir, "native-b.json", 500, kNative);
  const auto plain = write_round(dir, "plain.json", 42);
  const auto sets = read_results({capped, native_a, plain, native_b});
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].platform, Platform{});
  EXPECT_DOUBLE_EQ(find(sets[0].results, "TrainStep/bn/32")->items_per_second, 42);
  EXPECT_EQ(sets[1].platform.label(), "AMD EPYC 9R14, AVX-512 (native)");
  EXPECT_DOUBLE_EQ(find(sets[1].results, "TrainStep/bn/32")->items_per_second, 500)
      << "the lower middle of 900 and 500";
  EXPECT_EQ(sets[2].platform.label(), "AMD EPYC 9R14, AVX2 (ONEDNN_MAX_CPU_ISA=AVX2)");
  EXPECT_DOUBLE_EQ(find(sets[2].results, "TrainStep/bn/32")->items_per_second, 100) << "not mixed with the native runs";
}

TEST(BenchSummary, TheFastestReferenceIsPickedPerCaseAndNamed) {
  const ResultSet set = every_reference();
  const auto bn = fastest_reference(set, "Inference/bn/256");
  ASSERT_TRUE(bn);
  EXPECT_EQ(bn->label, "ONNX Runtime");
  EXPECT_DOUBLE_EQ(bn->measurement.items_per_second, 3500);
  EXPECT_EQ(fastest_reference(set, "Inference/gn/256")->label, "PyTorch channels_last");
  EXPECT_DOUBLE_EQ(fastest_reference(set, "Inference/gn/256")->measurement.items_per_second, 2500);
  EXPECT_EQ(fastest_reference(set, "Inference/ln/256")->label, "PyTorch frozen");
  EXPECT_EQ(fastest_reference(set, "TrainStep/bn/32")->label, "PyTorch channels_last");
  EXPECT_FALSE(fastest_reference(set, "TrainStep/gn/32")) << "no reference ran it";
  EXPECT_FALSE(fastest_reference(set, "Inference/bn/32"));
}

TEST(BenchSummary, ATieGoesToTheFirstListedReference) {
  ResultSet set = every_reference();
  set.results["PyTorch/Inference/ln/256"].items_per_second = 1800;  // as fast as frozen
  EXPECT_EQ(fastest_reference(set, "Inference/ln/256")->label, "PyTorch");
  EXPECT_EQ(references().front().label, std::string("PyTorch"));
}

TEST(BenchSummary, MarkdownSetsEachCaseAgainstTheFastestReferenceBesideEveryReference) {
  const std::string md = summary_markdown({every_reference()});
  EXPECT_CONTAINS(
      md,
      "### s8net vs the fastest reference\n\n| images/s | norm | s8net | fastest reference | s8net / fastest "
      "| PyTorch | PyTorch channels_last | PyTorch frozen | ONNX Runtime |\n");
  EXPECT_CONTAINS(
      md, "| inference, batch 256 | bn | 6,000 | 3,500 (ONNX Runtime) | 1.71x | 2,000 | 1,800 | 3,000 | 3,500 |");
  EXPECT_CONTAINS(
      md,
      "| inference, batch 256 | gn | 4,000 | 2,500 (PyTorch channels_last) | 1.60x | 1,000 | 2,500 | 2,000 | 900 |");
  EXPECT_CONTAINS(
      md, "| inference, batch 256 | ln | 4,500 | 1,800 (PyTorch frozen) | 2.50x | 1,500 | 1,600 | 1,800 | 1,700 |");
  EXPECT_CONTAINS(md,
                  "| training step, batch 32 | bn | 2,000 | 800 (PyTorch channels_last) | 2.50x | 500 | 800 | - | - |");
}

TEST(BenchSummary, MarkdownHoldsTheRatiosBetweenNormsAndAgainstPyTorch) {
  const TempDir dir("bench");
  const std::string md = summary_markdown({ResultSet{Platform{}, read_both(dir)}});
  EXPECT_CONTAINS(md, "### Whole network\n\n");
  EXPECT_CONTAINS(md, "| training step, batch 32 | 2,000 | 1,800 | 2,200 | 0.90x | 1.10x | 116.4 (50% of sgemm) |");
  EXPECT_CONTAINS(md, "| images/s | norm | s8net | fastest reference | s8net / fastest | PyTorch |\n")
      << "only the references that ran get a column";
  EXPECT_CONTAINS(md, "| training step, batch 32 | bn | 2,000 | 500 (PyTorch) | 4.00x | 500 |");
  EXPECT_CONTAINS(md, "| training step, batch 32 | ln | 2,200 | 500 (PyTorch) | 4.40x | 500 |");
  EXPECT_CONTAINS(md, "| inference, batch 256 | bn | 6,000 | 2,000 (PyTorch) | 3.00x | 2,000 |");
  EXPECT_EQ(md.find("| inference, batch 256 | gn"), std::string::npos) << "no comparison without both sides";
  EXPECT_CONTAINS(md, "| forward 32x8x8, batch 128 | - | 123,456 (7.2) | - |");
  EXPECT_EQ(md.find("training step, batch 128"), std::string::npos) << "rows without results are left out";
}

TEST(BenchSummary, EachIsaGetsItsOwnLabelledTablesAndAReferenceThatRanUncappedIsMarkedNative) {
  ResultSet native = every_reference(), capped = every_reference();
  native.platform = {"AMD EPYC 9R14", "AVX-512", ""};
  capped.platform = {"AMD EPYC 9R14", "AVX2", "ONEDNN_MAX_CPU_ISA"};
  capped.results["Inference/bn/256"].items_per_second = 5000;
  capped.results["OnnxRuntime/Inference/gn/256"].native_isa = true;
  const std::string md = summary_markdown({native, capped});
  const auto native_table = md.find("### s8net vs the fastest reference: AMD EPYC 9R14, AVX-512 (native)\n");
  const auto capped_table =
      md.find("### s8net vs the fastest reference: AMD EPYC 9R14, AVX2 (ONEDNN_MAX_CPU_ISA=AVX2)\n");
  ASSERT_NE(native_table, std::string::npos) << md;
  ASSERT_NE(capped_table, std::string::npos) << md;
  EXPECT_LT(native_table, capped_table);
  EXPECT_CONTAINS(md, "### Whole network: AMD EPYC 9R14, AVX2 (ONEDNN_MAX_CPU_ISA=AVX2)\n");
  const std::string native_part = md.substr(native_table, capped_table - native_table),
                    capped_part = md.substr(capped_table);
  EXPECT_CONTAINS(native_part, "| inference, batch 256 | bn | 6,000 | 3,500 (ONNX Runtime) | 1.71x |");
  EXPECT_EQ(native_part.find("native ISA"), std::string::npos);
  EXPECT_CONTAINS(capped_part, "| PyTorch frozen | ONNX Runtime (native ISA) |\n");
  EXPECT_CONTAINS(capped_part, "| inference, batch 256 | bn | 5,000 | 3,500 (ONNX Runtime (native ISA)) | 1.43x |");
}

TEST(BenchSummary, AReferenceCappedWithTheRestCarriesNoMark) {
  ResultSet capped = every_reference();
  capped.platform = {"AMD EPYC 9R14", "AVX2", "ONEDNN_MAX_CPU_ISA"};
  const std::string md = summary_markdown({capped});
  EXPECT_CONTAINS(md, "| PyTorch frozen | ONNX Runtime |\n");
  EXPECT_CONTAINS(md, "| inference, batch 256 | bn | 6,000 | 3,500 (ONNX Runtime) | 1.71x |");
  EXPECT_EQ(md.find("native ISA"), std::string::npos) << md;
}

TEST(BenchSummary, WithoutReferencesThereIsNoComparisonTable) {
  const TempDir dir("bench");
  write_results(dir);
  const auto sets = read_results({dir / "train.json"});
  EXPECT_EQ(summary_markdown(sets).find("fastest reference"), std::string::npos);
  const auto chart = summary_chart(sets);
  ASSERT_TRUE(chart);
  EXPECT_GT(test::pixel_variance(*chart), 200.0);
}

TEST(BenchSummary, ChartIsThreePanelsWideAndARowPerIsa) {
  const TempDir dir("bench");
  const auto one = summary_chart({ResultSet{Platform{}, read_both(dir)}});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->width, 1260);
  EXPECT_EQ(one->height, 460);
  EXPECT_GT(test::pixel_variance(*one), 200.0);
  ResultSet native = every_reference(), capped = every_reference();
  native.platform = {"AMD EPYC 9R14", "AVX-512", ""};
  capped.platform = {"AMD EPYC 9R14", "AVX2", "ONEDNN_MAX_CPU_ISA"};
  const auto two = summary_chart({native, capped});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->width, 1260);
  EXPECT_EQ(two->height, 920);
  EXPECT_EQ(two->pixels.size(), 1260u * 920u * 3u);
  EXPECT_FALSE(summary_chart({ResultSet{Platform{}, {{"NormForward/bn/32x8x8/32", Measurement{1, {}}}}}}))
      << "nothing of the whole network to chart";
}

TEST(BenchSummary, RefusesFilesThatAreNotBenchmarkResults) {
  const TempDir dir("bench");
  write_file_atomically(dir / "text.json", std::string("TrainStep/bn/32 2000"));
  write_file_atomically(dir / "other.json", std::string(R"({"runs": []})"));
  write_file_atomically(dir / "odd.json",
                        std::string(R"({"benchmarks": [{"name": "x", "items_per_second": "many"}]})"));
  write_file_atomically(dir / "odd-isa.json", std::string(R"({"context": {"isa": 512}, "benchmarks": []})"));
  for (const char* name : {"text.json", "other.json", "odd.json", "odd-isa.json", "absent.json"}) {
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
  const auto r =
      test::run_program(S8NET_BENCH_REPORT, "--out " + (dir / "out").string() + " " + (dir / "train.json").string() +
                                                " " + (dir / "pytorch.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(test::read_text(dir / "out/bench.md"), "| 500 (PyTorch) | 4.00x |");
  test::expect_picture(dir / "out/bench.png", 1260, 460);
}

TEST(BenchReport, MakesATableAndAChartRowPerIsaFromTheComparisonScriptsFiles) {
  const TempDir dir("bench");
  fs::create_directories(dir / "avx512");
  fs::create_directories(dir / "avx2");
  for (const auto& [sub, context, ours] :
       {std::tuple{"avx512", kNative, 3000.0}, std::tuple{"avx2", kCapped, 2000.0}}) {
    write_file_atomically(dir / sub / "s8net.json", results_file({{"Inference/bn/256", ours}}, context).dump());
    write_file_atomically(
        dir / sub / "pytorch.json",
        results_file({{"PyTorch/Inference/bn/256", 1000}, {"PyTorch-frozen/Inference/bn/256", 1500}}, context).dump());
    // The capped set's ONNX Runtime ran uncapped and says so.
    nlohmann::json ort_context = context;
    if (context.contains("isa_cap")) ort_context["native_isa"] = "true";
    write_file_atomically(dir / sub / "ort.json",
                          results_file({{"OnnxRuntime/Inference/bn/256", 1200}}, ort_context).dump());
  }
  std::string args = "--out " + (dir / "out").string();
  for (const char* file : {"avx2/s8net.json", "avx2/pytorch.json", "avx2/ort.json", "avx512/s8net.json",
                           "avx512/pytorch.json", "avx512/ort.json"})
    args.append(" ").append((dir / file).string());
  const auto r = test::run_program(S8NET_BENCH_REPORT, args);
  ASSERT_EQ(r.exit_code, 0) << r.all();
  const std::string md = test::read_text(dir / "out/bench.md");
  EXPECT_CONTAINS(md,
                  "AVX-512 (native)\n\n| images/s | norm | s8net | fastest reference | s8net / fastest | PyTorch | "
                  "PyTorch frozen | ONNX Runtime |\n|---|---|--:|---|--:|--:|--:|--:|\n"
                  "| inference, batch 256 | bn | 3,000 | 1,500 (PyTorch frozen) | 2.00x | 1,000 | 1,500 | 1,200 |\n");
  EXPECT_CONTAINS(md,
                  "AVX2 (ONEDNN_MAX_CPU_ISA=AVX2)\n\n| images/s | norm | s8net | fastest reference | s8net / fastest | "
                  "PyTorch | PyTorch frozen | ONNX Runtime (native ISA) |\n|---|---|--:|---|--:|--:|--:|--:|\n"
                  "| inference, batch 256 | bn | 2,000 | 1,500 (PyTorch frozen) | 1.33x | 1,000 | 1,500 | 1,200 |\n");
  test::expect_picture(dir / "out/bench.png", 1260, 920);
}

TEST(BenchReport, RefusesWithOneClearErrorAndWritesNothing) {
  const TempDir dir("bench");
  write_file_atomically(dir / "broken.json", std::string("{\"benchmarks\": [ {"));
  const auto broken =
      test::run_program(S8NET_BENCH_REPORT, "--out " + (dir / "out").string() + " " + (dir / "broken.json").string());
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_CONTAINS(broken.err, "broken.json: not JSON");
  write_file_atomically(dir / "empty.json", std::string(R"({"benchmarks": []})"));
  const auto empty =
      test::run_program(S8NET_BENCH_REPORT, "--out " + (dir / "out").string() + " " + (dir / "empty.json").string());
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_CONTAINS(empty.err, "no TrainStep");
  EXPECT_FALSE(fs::exists(dir / "out"));
  EXPECT_EQ(test::run_program(S8NET_BENCH_REPORT, "--out").exit_code, 2);
}

}  // namespace
