// Benchmark results as markdown (the tables of docs/performance.md) and as one bar chart.
#pragma once

#include "summary/benchmark_results.hpp"

#include <s8net/data/image_codec.hpp>

#include <string>

namespace s8net::bench {

// "### Whole network" (bn, gn, ln side by side with gn/bn, ln/bn and bn's GFLOP/s), then
// "### s8net vs PyTorch" and "### Norm kernels alone" when those results are present.
std::string summary_markdown(const Results& results);

// Training at batch 32 and 128 and inference at batch 256, BN vs GN vs LN, s8net beside PyTorch
// when PyTorch's results are present.
RgbImage summary_chart(const Results& results);

}  // namespace s8net::bench
