// s8net import: the original PyTorch model's weights (a safetensors state_dict) as a checkpoint.
//
// The checkpoint is a run at epoch 0: the training configuration is the recipe with this
// command's train flags, as `s8net train` would store it, and the weights are the file's instead
// of the seed's. Fine-tuning is then `s8net train --resume` of a run directory whose last.s8ckpt
// is that checkpoint: --resume continues a stored configuration unchanged, so the configuration
// is chosen here, once, like a new run chooses it with its flags.
#include "commands.hpp"
#include "train_flags.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/interop/state_dict.hpp>
#include <s8net/train/checkpoint.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

// The norm and its options: the flags', checked against what an exported file's metadata says.
TrainConfig import_config(const po::variables_map& values, const StateDictMetadata& metadata, const std::string& file,
                          const NormRegistry& registry) {
  const auto in_the_original = [](const std::string& norm) {
    return std::any_of(std::begin(kStateDictNorms), std::end(kStateDictNorms),
                       [&norm](const char* n) { return norm == n; });
  };
  TrainConfig config = recipe_of(values);
  if (metadata.norm && !in_the_original(*metadata.norm))
    throw Error(file + ": its metadata s8net.norm is '" + *metadata.norm +
                "', but the original PyTorch model has only bn, gn and ln");
  if (metadata.norm) config.norm = *metadata.norm;
  if (metadata.norm_options) config.norm_options = *metadata.norm_options;
  try {
    apply_train_flags(values, config, TrainFlags::all);
    validate(config);
  } catch (const Error& e) {
    throw po::error(e.what());
  }
  if (!metadata.norm && !values.count("norm"))
    throw po::error("the option '--norm' is required: " + file + " does not say which norm (bn, gn or ln) it holds");
  if (metadata.norm && config.norm != *metadata.norm)
    throw po::error("--norm " + config.norm + ", but " + file + " holds a '" + *metadata.norm +
                    "' network (its metadata s8net.norm): leave --norm out or give " + *metadata.norm);
  if (!in_the_original(config.norm))
    throw po::error("--norm " + config.norm + ": the original PyTorch model has only bn, gn and ln");
  if (metadata.norm_options) {
    const PluginInfo& plugin = registry.find(config.norm);
    if (without_defaults(plugin, config.norm_options) != without_defaults(plugin, *metadata.norm_options))
      throw po::error("--norm-option asks for " + norm_options_text(config.norm_options) + ", but " + file +
                      " was trained with " + norm_options_text(*metadata.norm_options) +
                      " (its metadata s8net.norm_options): leave --norm-option out");
  }
  return config;
}

}  // namespace

int run_import(int argc, char** argv) {
  std::string file, out;
  std::vector<std::string> plugin_dirs;
  bool overwrite = false;
  po::options_description options(
      "s8net import: a safetensors state_dict of the original PyTorch model (Net(norm=...)) as a checkpoint\n"
      "usage: s8net import FILE.safetensors [--norm bn|gn|ln] --out CHECKPOINT.s8ckpt [train flags]\n"
      "(--norm only for a file whose metadata does not name its norm)\n"
      "The checkpoint is a run at epoch 0 with these weights: s8net eval, predict and report --checkpoint take it;\n"
      "to fine-tune, write it as RUN/last.s8ckpt and run s8net train --resume --data DATA --out RUN, which\n"
      "trains with the configuration given here (the recipe, changed by the train flags below)");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("file", po::value(&file)->required(), "the safetensors file (positional)")
      ("out", po::value(&out)->required(), "the checkpoint to write (.s8ckpt)")
      ("overwrite", po::bool_switch(&overwrite), "replace --out if it exists")
      ("plugin-dir", po::value(&plugin_dirs)->composing(), "extra plugin directory or file (repeatable)");
  // clang-format on
  add_train_flags(options, TrainFlags::all);
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map values;
  if (!parse_command_line(argc, argv, options, &values, &positional)) return 0;
  check_output_file(out, overwrite, {file});

  const SafeTensorsFile tensors = load_safetensors(file);
  Context context;
  const auto registry = load_plugins(context, plugin_dirs);
  const TrainConfig config = import_config(values, read_state_dict_metadata(tensors, file), file, *registry);
  const Checkpoint checkpoint = import_state_dict(context, *registry, tensors, config, file);
  const std::filesystem::path parent = std::filesystem::path(out).parent_path();
  if (!parent.empty()) s8net::create_directories(parent);
  save_checkpoint(out, checkpoint);
  std::printf(
      "%s: Net(norm='%s') from %s, %s training steps; a checkpoint at epoch 0 (batch %lld, %lld epoch%s, seed %llu)\n",
      out.c_str(), config.norm.c_str(), file.c_str(),
      with_thousands(static_cast<int64_t>(checkpoint.training_steps)).c_str(),
      static_cast<long long>(config.batch_size), static_cast<long long>(config.epochs), config.epochs == 1 ? "" : "s",
      static_cast<unsigned long long>(config.seed));
  return 0;
}

}  // namespace s8net::app
