// Google Benchmark JSON (bench_train, bench_norms, bench/pytorch_reference.py) read into one
// table of images per second and counters, by benchmark name.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace s8net::bench {

struct Measurement {
  double items_per_second = 0;
  std::map<std::string, double> counters;  // GFLOP/s, of_sgemm, GB/s
};

// Names without the "/real_time" suffix: "TrainStep/bn/32", "PyTorch/Inference/ln/256".
using Results = std::map<std::string, Measurement>;

// Per benchmark name, the run with the median images/s among every run of that name in the
// files (for an even count the lower middle one, so its counters belong to it). A file's
// "median" aggregate (--benchmark_repetitions) stands for that file's runs of the name. Rounds of
// the same binaries run in turn with another's (bench/compare_with_pytorch.sh) so give ratios the
// machine's drift moves less. Throws s8net::Error naming a file that is not Google Benchmark JSON.
Results read_results(const std::vector<std::filesystem::path>& files);

std::optional<Measurement> find(const Results& results, const std::string& name);

}  // namespace s8net::bench
