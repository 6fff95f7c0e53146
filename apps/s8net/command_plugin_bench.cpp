// s8net plugin bench FILE.so: how fast a normalization plugin runs at the shapes the S8 network
// gives its norm layers, in the layout the network uses on this CPU, beside bn and gn from the
// plugin search path. One table row per (norm, layers, pass); then per norm the time of all the
// network's norm layers in one training step.
#include "commands.hpp"
#include "norm_timing.hpp"
#include "progress.hpp"

#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/core/layout.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/plugin_file.hpp>

#include <omp.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

// The norm layers of the network (docs/network.md): C1-C2 at 16 channels 32x32, C3-C5 at 32 channels 16x16,
// C7-C9 at 32 channels 8x8.
struct NormShape {
  int64_t channels, side, layers;
  const char* names;
};
constexpr NormShape kNetworkNorms[] = {{16, 32, 2, "C1-C2"}, {32, 16, 3, "C3-C5"}, {32, 8, 3, "C7-C9"}};
constexpr NormPass kPasses[] = {NormPass::forward_train, NormPass::forward_eval, NormPass::backward};
// The norms every plugin is shown beside.
constexpr const char* kBaselines[] = {"bn", "gn"};

struct Benched {
  std::string norm;
  std::shared_ptr<const NormRegistry> registry;  // the one it was loaded into
};

// The layout S8Network picks here (every conv a JIT kernel), or oneDNN's preference when bn, which
// building a network takes, is not there.
ActivationLayout network_layout(Context& context, const NormRegistry& registry) {
  try {
    NetworkConfig config;
    config.norm = "bn";
    return S8Network(context, registry, config).layout();
  } catch (const Error&) {
    return choose_activation_layout(context.engine());
  }
}

std::string row(const std::string& norm, const std::string& layers, const std::string& shape, const std::string& pass,
                const std::string& ms, const std::string& images, const std::string& gbs) {
  char line[160];
  std::snprintf(line, sizeof line, "%-8s %-7s %-10s %-14s %10s %12s %8s", norm.c_str(), layers.c_str(), shape.c_str(),
                pass.c_str(), ms.c_str(), images.c_str(), gbs.c_str());
  return line;
}

int run_bench(int argc, char** argv) {
  std::string file;
  std::vector<std::string> plugin_dirs;
  int64_t batch = 32;
  int threads = 0;
  TimingPlan plan;
  po::options_description options(
      "s8net plugin bench FILE.so: time a normalization plugin at the network's shapes, beside bn and gn");
  // clang-format off
  options.add_options()("help,h", "show this help")(
      "plugin-dir", po::value(&plugin_dirs)->composing(), "where bn and gn are looked for first (repeatable)")(
      "threads", po::value(&threads)->default_value(0), "OpenMP threads (0: OpenMP's default)")(
      "batch", po::value(&batch)->default_value(batch), "images per call")(
      "repetitions", po::value(&plan.repetitions)->default_value(plan.repetitions),
      "timed repetitions per row; the median is shown")(
      "warmup", po::value(&plan.warmup)->default_value(plan.warmup), "untimed calls before them")(
      "file", po::value(&file), "the plugin's shared library (also the bare argument)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("file", 1);
  if (!parse_command_line(argc, argv, options, nullptr, &positional)) return 0;
  if (file.empty()) throw po::error("no plugin file given: s8net plugin bench FILE.so");
  if (batch < 1 || batch > 4096) throw po::error("--batch must be in [1, 4096]");
  if (threads < 0 || threads > 1024) throw po::error("--threads must be in [0, 1024]");
  if (plan.repetitions < 1 || plan.repetitions > 10000) throw po::error("--repetitions must be in [1, 10000]");
  if (plan.warmup < 0 || plan.warmup > 10000) throw po::error("--warmup must be in [0, 10000]");
  if (threads > 0) omp_set_num_threads(threads);

  Context context;
  // The plugin in a registry of its own, so that a plugin named like a baseline (a faster "gn")
  // is timed beside the shipped one rather than refused as a duplicate.
  require_readable_file(file);
  auto own = std::make_shared<NormRegistry>(context);
  const PluginInfo& plugin = own->load_file(file);
  std::shared_ptr<const NormRegistry> search = load_plugins(context, plugin_dirs);
  std::vector<Benched> benched{{plugin.name, own}};
  for (const char* baseline : kBaselines) {
    try {
      if (search->find(baseline).file != plugin.file) benched.push_back({baseline, search});
    } catch (const Error& e) {
      std::cerr << "warning: no " << baseline << " to compare with: " << e.what() << '\n';
    }
  }

  const ActivationLayout layout = network_layout(context, *search);
  std::cout << "plugin bench: " << plugin.name << " " << plugin.version << " from " << plugin.file.string() << "; "
            << name_of(layout) << ", batch " << batch << ", " << omp_get_max_threads() << " threads, median of "
            << plan.repetitions << " after " << plan.warmup << " warm-up\n"
            << row("norm", "layers", "shape", "pass", "ms", "images/s", "GB/s") << '\n';
  ProgressLine progress;
  const int64_t total = static_cast<int64_t>(benched.size() * std::size(kNetworkNorms) * std::size(kPasses));
  int64_t done = 0;
  std::vector<std::string> totals;
  for (const Benched& b : benched) {
    double step_ms[std::size(kPasses)] = {};
    for (const NormShape& shape : kNetworkNorms) {
      NormLayer layer(*b.registry, b.norm, shape.channels, {}, true, shape.names);
      const s8net_tensor_desc desc{batch, shape.channels, shape.side, shape.side, plugin_layout_of(layout)};
      for (size_t p = 0; p < std::size(kPasses); ++p) {
        progress.show(
            count_progress("timing " + b.norm + " " + shape.names + " " + pass_name(kPasses[p]), done, total));
        const double seconds = median_seconds_per_call(layer, desc, kPasses[p], plan);
        progress.clear();
        ++done;
        step_ms[p] += 1e3 * seconds * static_cast<double>(shape.layers);
        std::cout << row(b.norm, shape.names,
                         std::to_string(shape.channels) + "x" + std::to_string(shape.side) + "x" +
                             std::to_string(shape.side),
                         pass_name(kPasses[p]), format_number("%.4f", 1e3 * seconds),
                         format_number("%.0f", static_cast<double>(batch) / seconds),
                         format_number("%.2f", bytes_touched(kPasses[p], desc) / seconds * 1e-9))
                  << std::endl;
      }
    }
    // A training step runs every norm layer forward (train) and backward once.
    const double train_ms = step_ms[0] + step_ms[2];
    totals.push_back(row(b.norm, "C1-C9", "8 layers", "train step", format_number("%.4f", train_ms),
                         format_number("%.0f", static_cast<double>(batch) / train_ms * 1e3), ""));
  }
  for (const std::string& line : totals) std::cout << line << '\n';
  return 0;
}

}  // namespace

int run_plugin_bench(int argc, char** argv) { return run_bench(argc, argv); }

}  // namespace s8net::app
