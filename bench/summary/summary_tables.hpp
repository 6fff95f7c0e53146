// Benchmark results as markdown (the tables of docs/performance.md) and as bar charts, one table
// per platform (CPU and instruction set) the results were measured on.
#pragma once

#include "summary/benchmark_results.hpp"

#include <s8net/data/image_codec.hpp>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace s8net::bench {

// A way of running the network that s8net is compared with, and the prefix of its benchmark
// names: "PyTorch-frozen/" + "Inference/bn/256".
struct Reference {
  const char* prefix;
  const char* label;
};

// PyTorch eager, PyTorch channels_last, PyTorch frozen (TorchScript), ONNX Runtime.
std::span<const Reference> references();

// The reference's name as the set's tables show it: "(native ISA)" added where the set is capped
// but a result of the reference ran at the CPU's own instruction set (Measurement::native_isa).
std::string reference_label(const Reference& reference, const ResultSet& set);

struct Fastest {
  std::string label;  // reference_label of the winner
  Measurement measurement;
};

// The reference with the most images/s at `name` ("TrainStep/bn/32") among those in `results`;
// nullopt when none ran it. A tie goes to the one listed first in references().
std::optional<Fastest> fastest_reference(const ResultSet& set, const std::string& name);

// Per result set: "### Whole network" (bn, gn, ln side by side with gn/bn, ln/bn and bn's
// GFLOP/s), "### s8net vs the fastest reference" (each case beside the fastest reference, named,
// and every reference's figure) and "### Norm kernels alone", when those results are present;
// each heading ends in the set's platform label when it has one.
std::string summary_markdown(const std::vector<ResultSet>& sets);

// Per result set, one row of panels: training at batch 32 and 128 and inference at batch 256, BN vs
// GN vs LN, s8net beside the fastest reference when references are present. Rows stack top to
// bottom; nullopt when no set has TrainStep or Inference results.
std::optional<RgbImage> summary_chart(const std::vector<ResultSet>& sets);

}  // namespace s8net::bench
