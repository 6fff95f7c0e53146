// Turns Google Benchmark JSON (bench_train, bench_norms, bench/pytorch_reference.py's and
// bench/onnxruntime_reference.js's) into markdown tables and a bar chart of BN vs GN vs LN, s8net
// beside the fastest reference when reference files are given:
//   bench_train --benchmark_out=train.json --benchmark_out_format=json
//   python3 bench/pytorch_reference.py --out pytorch.json
//   bench_report --out DIR train.json pytorch.json [ort.json] [norms.json]  -> DIR/bench.md, DIR/bench.png
// Several files of the same benchmarks (rounds) give each benchmark's median run; files whose
// context names another CPU or instruction set (bench/compare_with_pytorch.sh) get tables of their own.
#include "summary/benchmark_results.hpp"
#include "summary/summary_tables.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/report/figures.hpp>

#include <boost/program_options.hpp>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace po = boost::program_options;

int main(int argc, char** argv) {
  std::vector<std::string> files;
  std::string out;
  po::options_description options(
      "bench_report --out DIR FILE.json...: markdown table and bar chart of benchmark JSON");
  // clang-format off
  options.add_options()
      ("help,h", "show this help")
      ("out", po::value(&out)->required(), "output directory for bench.md and bench.png")
      ("json", po::value(&files)->required(), "Google Benchmark JSON files (positional)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("json", -1);
  try {
    po::variables_map values;
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(), values);
    if (values.count("help")) {
      std::cout << options << '\n';
      return 0;
    }
    po::notify(values);
  } catch (const po::error& e) {
    std::cerr << "bench_report: " << e.what() << " (see bench_report --help)\n";
    return 2;
  }
  try {
    const auto sets = s8net::bench::read_results(std::vector<fs::path>(files.begin(), files.end()));
    const std::string markdown = s8net::bench::summary_markdown(sets);
    if (markdown.empty())
      throw s8net::Error("no TrainStep, Inference or NormForward/NormBackward results in the given files");
    fs::create_directories(out);
    s8net::write_file_atomically(fs::path(out) / "bench.md", markdown);
    std::cout << markdown << "\nwritten: " << (fs::path(out) / "bench.md").string();
    if (const auto chart = s8net::bench::summary_chart(sets)) {
      s8net::report::write_png(fs::path(out) / "bench.png", *chart);
      std::cout << ", " << (fs::path(out) / "bench.png").string();
    }
    std::cout << '\n';
  } catch (const std::exception& e) {
    std::cerr << "bench_report: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
