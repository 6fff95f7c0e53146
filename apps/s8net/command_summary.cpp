// s8net summary: the network's layers, output shapes and parameter counts for a norm; with
// --profile, where a training step and an evaluation spend their time, per layer and op.
#include "commands.hpp"

#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/registry.hpp>

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

std::string shape_text(const Dims& dims) {
  return std::to_string(dims[0]) + " x " + std::to_string(dims[1]) + " x " + std::to_string(dims[2]);
}

// One table per pass: each (layer, op) row's time, its share of the pass, and the convolutions'
// GFLOP/s; then the pass's total and images per second.
void print_profile(const std::vector<OpTiming>& rows, int64_t batch, int runs, int64_t inference_chunk) {
  std::printf("\nprofile at batch %lld, mean of %d runs, each step timed alone (milliseconds per batch):\n",
              static_cast<long long>(batch), runs);
  for (const char* pass : {"train forward", "train backward", "inference"}) {
    double total = 0;
    for (const OpTiming& row : rows)
      if (row.pass == pass) total += row.seconds;
    const bool chunked = std::string_view(pass) == "inference" && inference_chunk < batch;
    std::printf("\n%s: %.3f ms, %s images/s%s\n", pass, total * 1e3,
                with_thousands(static_cast<int64_t>(static_cast<double>(batch) / total)).c_str(),
                chunked ? (" (in chunks of " + std::to_string(inference_chunk) + " images)").c_str() : "");
    std::printf("  %-6s %-32s %9s %7s %9s\n", "layer", "op", "ms", "share", "GFLOP/s");
    for (const OpTiming& row : rows) {
      if (row.pass != pass) continue;
      const std::string rate = row.flops > 0 ? format_number("%.1f", row.flops / row.seconds * 1e-9) : "";
      std::printf("  %-6s %-32s %9.3f %6.1f%% %9s\n", row.layer.c_str(), row.op.c_str(), row.seconds * 1e3,
                  100 * row.seconds / total, rate.c_str());
    }
  }
}

}  // namespace

int run_summary(int argc, char** argv) {
  std::string norm;
  std::vector<std::string> norm_options, plugin_dirs;
  std::string layout = "auto";
  bool implementations = false, profile = false;
  int64_t batch = 32;
  int runs = 20;
  po::options_description options("s8net summary: layers, output shapes and parameters of the S8 network");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("norm", po::value(&norm)->required(), "normalization plugin name (bn, gn, ln, ...)")
      ("norm-option", po::value(&norm_options)->composing(), "a norm option NAME=VALUE (repeatable), e.g. groups=2")
      ("layout", po::value(&layout)->default_value("auto"), "activation layout: auto, nchw, nChw8c or nChw16c")
      ("implementations", po::bool_switch(&implementations), "also list the oneDNN kernel of every op at batch 32")
      ("profile", po::bool_switch(&profile), "also time every op of a training step and of an evaluation, per layer (ONEDNN_MAX_CPU_ISA=AVX2 profiles as on an AVX2 CPU)")
      ("batch", po::value(&batch)->default_value(32), "--profile: batch size")
      ("runs", po::value(&runs)->default_value(20), "--profile: runs to average, after one warm-up")
      ("plugin-dir", po::value(&plugin_dirs)->composing(), "extra plugin directory or file (repeatable)");
  // clang-format on
  if (!parse_command_line(argc, argv, options)) return 0;
  if (batch <= 0 || batch > 4096) throw po::error("--batch must be in [1, 4096], got " + std::to_string(batch));
  if (runs <= 0 || runs > 10000) throw po::error("--runs must be in [1, 10000], got " + std::to_string(runs));

  NetworkConfig config;
  config.norm = norm;
  try {
    config.norm_options = parse_norm_options(norm_options);
    if (layout != "auto") config.layout = parse_layout(layout);
  } catch (const Error& e) {
    throw po::error(e.what());  // a bad flag value: exit code 2, as in every command
  }
  Context context;
  const auto registry = load_plugins(context, plugin_dirs);
  const std::unique_ptr<S8Network> built = network_from_flags(context, *registry, config);
  S8Network& network = *built;

  std::string layouts(name_of(network.layout()));
  if (network.inference_layout() != network.layout())
    layouts += " (evaluation in " + std::string(name_of(network.inference_layout())) + ")";
  std::printf("S8 network with norm '%s' (%s), activations in %s\n", norm.c_str(), network.norm_origin().c_str(),
              layouts.c_str());
  std::printf("%-6s %-28s %-14s %10s\n", "layer", "op", "output", "params");
  std::printf("%s\n", std::string(61, '-').c_str());
  for (const LayerSummary& row : network.summary())
    std::printf("%-6s %-28s %-14s %10s\n", row.name.c_str(), row.op.c_str(), shape_text(row.output).c_str(),
                with_thousands(row.params).c_str());
  std::printf("%s\n", std::string(61, '-').c_str());
  std::printf("Total params: %s\n", with_thousands(network.parameter_count()).c_str());
  if (implementations) {
    std::printf("\nkernels at batch 32 (evaluation: the plan for %lld images at a time):\n",
                static_cast<long long>(network.inference_chunk_for(32)));
    for (const std::string& line : network.implementation_names(32)) std::printf("  %s\n", line.c_str());
  }
  if (profile) print_profile(network.profile(batch, runs), batch, runs, network.inference_chunk());
  return 0;
}

}  // namespace s8net::app
