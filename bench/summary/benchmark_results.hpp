// Google Benchmark JSON (bench_train, bench_norms, bench/pytorch_reference.py,
// bench/onnxruntime_reference.js) read into tables of images per second and counters by benchmark
// name, one table per CPU and instruction set the files were measured on.
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
  // Ran at the CPU's own instruction set although its platform is capped: its file's context
  // says "native_isa": "true" (bench/compare_with_pytorch.sh, where ONNX Runtime could not be
  // capped).
  bool native_isa = false;
};

// Names without the "/real_time" suffix: "TrainStep/bn/32", "PyTorch-frozen/Inference/ln/256".
using Results = std::map<std::string, Measurement>;

// Where a file's runs were measured, from the "cpu", "isa" and "isa_cap" entries of its JSON
// context (bench/compare_with_pytorch.sh sets them through --benchmark_context); all empty for a
// file without them. isa_cap names the environment variable that capped the instruction set to
// `isa` (ONEDNN_MAX_CPU_ISA), empty when the CPU ran its own.
struct Platform {
  std::string cpu, isa, isa_cap;

  bool operator==(const Platform&) const = default;
  bool capped() const { return !isa_cap.empty(); }
  // "AMD EPYC, AVX-512 (native)", "AMD EPYC, AVX2 (ONEDNN_MAX_CPU_ISA=AVX2)"; "" for a file
  // without a context of its platform.
  std::string label() const;
};

struct ResultSet {
  Platform platform;
  Results results;
};

// Per platform, and in it per benchmark name, the run with the median images/s among every run of
// that name in the files (for an even count the lower middle one, so its counters belong to it).
// A file's "median" aggregate (--benchmark_repetitions) stands for that file's runs of the name.
// Rounds of the same binaries run in turn with another's (bench/compare_with_pytorch.sh) so give
// ratios the machine's drift moves less. The sets come by CPU, the native instruction set before
// capped ones. Throws s8net::Error naming a file that is not Google Benchmark JSON.
std::vector<ResultSet> read_results(const std::vector<std::filesystem::path>& files);

std::optional<Measurement> find(const Results& results, const std::string& name);

}  // namespace s8net::bench
