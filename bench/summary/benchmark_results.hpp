// Google Benchmark JSON (bench_train, bench_norms, bench/pytorch_reference.py) read into one
// table of images per second and counters, by benchmark name.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace s8net::bench {

struct Measurement {
  double items_per_second = 0;
  std::map<std::string, double> counters;  // GFLOP/s, of_sgemm, GB/s
};

// Names without the "/real_time" suffix: "TrainStep/bn/32", "PyTorch/Inference/ln/256".
using Results = std::map<std::string, Measurement>;

// Adds the file's benchmarks that count items to `results`. With --benchmark_repetitions the
// median aggregate replaces the single runs. Throws s8net::Error naming the file when it is not
// Google Benchmark JSON.
void read_results(const std::filesystem::path& file, Results& results);

std::optional<Measurement> find(const Results& results, const std::string& name);

}  // namespace s8net::bench
