// s8net export: a checkpoint's network in a file another framework loads. Each format is one row
// of kFormats; --format picks the row.
#include "commands.hpp"

#include <s8net/core/format.hpp>
#include <s8net/interop/state_dict.hpp>
#include <s8net/onnx/onnx_export.hpp>
#include <s8net/train/network_state.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

struct ExportFlags {
  bool include_preprocessing = false;
};

// Writes the network to `out` and returns what to tell the user about the file.
using FormatWriter = std::string (*)(Context&, S8Network&, const std::filesystem::path& out, const ExportFlags&);

std::string write_safetensors(Context& context, S8Network& network, const std::filesystem::path& out,
                              const ExportFlags&) {
  const SafeTensorsFile file = export_state_dict(context, network);
  save_safetensors(out, file);
  return std::to_string(file.tensors.size()) + " tensors, the state_dict of the original PyTorch Net(norm='" +
         network.config().norm + "') (load it with load_state_dict(..., strict=True))";
}

std::string write_onnx(Context& context, S8Network& network, const std::filesystem::path& out,
                       const ExportFlags& flags) {
  OnnxExportOptions options;
  options.include_preprocessing = flags.include_preprocessing;
  const OnnxModel model = save_onnx(out, context, network, options);
  const std::string input = flags.include_preprocessing ? "input \"images\" uint8 [N, 32, 32, 3]"
                                                        : "input \"input\" float [N, 3, 32, 32], normalized";
  return "ONNX opset " + std::to_string(kOnnxOpset) + ", " + std::to_string(model.nodes) + " nodes, " + input +
         ", output \"log_probabilities\" [N, 10]";
}

struct ExportFormat {
  const char* name;
  FormatWriter write;
  bool takes_preprocessing;
  // The file is the original PyTorch model's state_dict, so PyTorch computes with its own norm
  // settings; an ONNX graph carries s8net's own.
  bool for_the_original_model;
};
constexpr ExportFormat kFormats[] = {{"safetensors", write_safetensors, false, true},
                                     {"onnx", write_onnx, true, false}};

std::string format_names() {
  std::string names;
  for (const ExportFormat& f : kFormats) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

}  // namespace

int run_export(int argc, char** argv) {
  std::string checkpoint_path, format, out;
  std::vector<std::string> plugin_dirs;
  bool overwrite = false;
  ExportFlags flags;
  po::options_description options("s8net export: write a checkpoint's network for another framework");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint_path)->required(), "a .s8ckpt file written by s8net train or s8net import")
      ("format", po::value(&format), ("output format: " + format_names() + " (default: onnx for an --out ending in .onnx, else safetensors)").c_str())
      ("out", po::value(&out)->required(), "the file to write")
      ("overwrite", po::bool_switch(&overwrite), "replace --out if it exists")
      ("include-preprocessing", po::bool_switch(&flags.include_preprocessing),
       "onnx: the model takes uint8 RGB images [N, 32, 32, 3] and normalizes them itself")
      ("plugin-dir", po::value(&plugin_dirs)->composing(), "extra plugin directory or file (repeatable)");
  // clang-format on
  if (!parse_command_line(argc, argv, options)) return 0;
  if (format.empty()) {
    std::string extension = std::filesystem::path(out).extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    format = extension == ".onnx" ? "onnx" : "safetensors";
  }
  const ExportFormat* chosen = nullptr;
  for (const ExportFormat& f : kFormats)
    if (format == f.name) chosen = &f;
  if (chosen == nullptr) throw po::error("--format '" + format + "': the accepted formats are " + format_names());
  if (flags.include_preprocessing && !chosen->takes_preprocessing)
    throw po::error("--include-preprocessing: only with --format onnx");
  check_output_file(out, overwrite, {checkpoint_path});

  Context context;
  const auto registry = load_plugins(context, plugin_dirs);
  const Checkpoint checkpoint = load_checkpoint(checkpoint_path);
  const auto network = network_from_checkpoint(context, *registry, checkpoint, checkpoint_path);
  const auto differences = chosen->for_the_original_model
                               ? differences_from_original(network->config().norm, network->config().norm_options)
                               : std::vector<std::string>{};
  for (const std::string& difference : differences)
    std::fprintf(stderr,
                 "warning: %s: %s; PyTorch's Net(norm='%s') loads the weights but computes otherwise unless its "
                 "norm layers are set the same way\n",
                 checkpoint_path.c_str(), difference.c_str(), network->config().norm.c_str());
  const std::string what = chosen->write(context, *network, out, flags);
  std::printf("%s: %s; %s parameters, %s training steps\n", out.c_str(), what.c_str(),
              with_thousands(network->parameter_count()).c_str(),
              with_thousands(static_cast<int64_t>(network->training_steps())).c_str());
  return 0;
}

}  // namespace s8net::app
