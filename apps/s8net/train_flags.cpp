#include "train_flags.hpp"

#include "commands.hpp"

#include <s8net/core/error.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/trainer.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

// clang-format off
constexpr const char* kTrainFlagNames[] = {"norm", "norm-option", "layout", "recipe", "epochs", "batch", "schedule", "lr",
                                           "lr-points", "pct-start", "min-lr", "step-size", "gamma", "momentum",
                                           "nesterov", "weight-decay", "weight-decay-conv-only", "no-augment",
                                           "shift-scale-rotate", "brightness-contrast", "crop-padding", "flip",
                                           "ema", "label-smoothing", "dropout", "seed", "limit-train", "limit-test", "eval-batch",
                                           "val"};
// clang-format on

}  // namespace

std::span<const char* const> train_flag_names() { return kTrainFlagNames; }

void add_train_flags(po::options_description& options, TrainFlags which) {
  // clang-format off
  if (which == TrainFlags::all)
    options.add_options()("norm", po::value<std::string>(), "normalization plugin name (bn, gn, ln, ...); train needs it unless --resume")(
        "batch", po::value<int64_t>(), "batch size (seed: 32)")(
        "seed", po::value<std::string>(), "seed of weights, dropout, shuffling and augmentation (1)");
  options.add_options()
      ("recipe", po::value<std::string>()->default_value("seed"), "base recipe: seed (the original: batch 32, 20 epochs, SGD momentum 0.95, seed LR points, shift-scale-rotate) or fast (the most accurate in 15 minutes: batch 64, 36 epochs, one-cycle to 0.2, Nesterov, label smoothing 0.1, conv-only weight decay 5e-4, the seed augmentation); docs/recipe.md")
      ("norm-option", po::value<std::vector<std::string>>()->composing(), "a norm option NAME=VALUE (repeatable), e.g. groups=2")
      ("layout", po::value<std::string>(), "activation layout: auto, nchw, nChw8c or nChw16c")
      ("epochs", po::value<int64_t>(), "epochs (seed: 20)")
      ("schedule", po::value<std::string>(), "learning-rate schedule: seed, onecycle, cosine, step, constant (seed: seed)")
      ("lr", po::value<double>(), "onecycle: max LR; cosine, step, constant: base LR")
      ("lr-points", po::value<std::string>(), "seed schedule's EPOCH:LR points (seed: 0:0.001,2:0.01,8:0.0002,12:0.0001,20:0)")
      ("pct-start", po::value<double>(), "onecycle: fraction of steps spent increasing the LR (0.3)")
      ("min-lr", po::value<double>(), "cosine: final LR (0)")
      ("step-size", po::value<int64_t>(), "step: epochs between LR drops (5)")
      ("gamma", po::value<double>(), "step: LR factor at each drop (0.1)")
      ("momentum", po::value<float>(), "SGD momentum (seed: 0.95; onecycle cycles it 0.95 -> 0.85 -> 0.95)")
      ("nesterov", po::value<bool>()->implicit_value(true), "Nesterov momentum (seed: off)")
      ("weight-decay", po::value<float>(), "L2 weight decay (seed: 0)")
      ("weight-decay-conv-only", po::value<bool>()->implicit_value(true), "apply weight decay to the conv weights alone, not to biases and norm parameters (seed: off)")
      ("no-augment", po::value<bool>()->implicit_value(true)->zero_tokens(), "train without augmentation")
      ("shift-scale-rotate", po::value<double>(), "probability of the shift-scale-rotate augmentation (seed: 0.5)")
      ("brightness-contrast", po::value<double>(), "probability of the brightness/contrast augmentation (seed: 0.5)")
      ("crop-padding", po::value<int64_t>(), "random 32x32 crop of the image padded by N black pixels, 0 to 16 (seed: 0, off)")
      ("flip", po::value<double>(), "probability of a horizontal flip (seed: 0)")
      ("ema", po::value<double>(), "evaluate, select and save an exponential moving average of the weights with this decay, e.g. 0.999 (seed: 0, off)")
      ("label-smoothing", po::value<float>(), "the training loss's target puts this much mass evenly over the classes (seed: 0)")
      ("dropout", po::value<float>(), "dropout after each max-pool (seed: 0.01)")
      ("limit-train", po::value<int64_t>(), "use the first N training images (0: all)")
      ("limit-test", po::value<int64_t>(), "use the first N test images (0: all)")
      ("eval-batch", po::value<int64_t>(), "batch size of the test evaluation (256)")
      ("val", po::value<int64_t>(), "hold out N training images, balanced over the classes, as a validation split evaluated every epoch; best.s8ckpt is then chosen on validation accuracy, never on test (0: none)");
  // clang-format on
}

TrainConfig recipe_of(const po::variables_map& values) {
  try {
    return recipe_named(values["recipe"].as<std::string>());
  } catch (const Error& e) {
    throw po::error(e.what());
  }
}

uint64_t parse_seed(const std::string& text) {
  uint64_t seed = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seed);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    throw po::error("--seed '" + text + "': expected a whole number from 0 to 18446744073709551615");
  return seed;
}

void apply_train_flags(const po::variables_map& v, TrainConfig& c, TrainFlags which, const char* only_flag) {
  auto given = [&](const char* flag) {
    const bool grid_flag =
        std::strcmp(flag, "norm") == 0 || std::strcmp(flag, "batch") == 0 || std::strcmp(flag, "seed") == 0;
    if (grid_flag && which == TrainFlags::without_grid) return false;  // the study's own lists
    return v.count(flag) > 0 && !v[flag].defaulted() && (only_flag == nullptr || std::strcmp(flag, only_flag) == 0);
  };
  if (given("recipe")) c.recipe = recipe_named(v["recipe"].as<std::string>()).recipe;
  if (given("norm")) c.norm = v["norm"].as<std::string>();
  if (given("norm-option")) c.norm_options = parse_norm_options(v["norm-option"].as<std::vector<std::string>>());
  if (given("layout") && v["layout"].as<std::string>() != "auto")
    c.layout = parse_layout(v["layout"].as<std::string>());
  if (given("epochs")) c.epochs = v["epochs"].as<int64_t>();
  if (given("batch")) c.batch_size = v["batch"].as<int64_t>();
  if (given("schedule")) c.schedule.kind = parse_schedule_kind(v["schedule"].as<std::string>());
  if (given("lr")) c.schedule.learning_rate = v["lr"].as<double>();
  if (given("lr-points")) c.schedule.points = parse_schedule_points(v["lr-points"].as<std::string>());
  if (given("pct-start")) c.schedule.pct_start = v["pct-start"].as<double>();
  if (given("min-lr")) c.schedule.min_learning_rate = v["min-lr"].as<double>();
  if (given("step-size")) c.schedule.step_size = v["step-size"].as<int64_t>();
  if (given("gamma")) c.schedule.gamma = v["gamma"].as<double>();
  if (given("momentum")) c.sgd.momentum = v["momentum"].as<float>();
  if (given("nesterov")) c.sgd.nesterov = v["nesterov"].as<bool>();
  if (given("weight-decay")) c.sgd.weight_decay = v["weight-decay"].as<float>();
  if (given("weight-decay-conv-only")) c.sgd.decay_conv_weights_only = v["weight-decay-conv-only"].as<bool>();
  if (given("no-augment")) c.augment = !v["no-augment"].as<bool>();
  if (given("shift-scale-rotate"))
    c.augment_options.shift_scale_rotate_probability = v["shift-scale-rotate"].as<double>();
  if (given("brightness-contrast"))
    c.augment_options.brightness_contrast_probability = v["brightness-contrast"].as<double>();
  if (given("crop-padding")) c.augment_options.crop_padding = v["crop-padding"].as<int64_t>();
  if (given("flip")) c.augment_options.flip_probability = v["flip"].as<double>();
  if (given("ema")) c.ema_decay = v["ema"].as<double>();
  if (given("label-smoothing")) c.label_smoothing = v["label-smoothing"].as<float>();
  if (given("dropout")) c.dropout = v["dropout"].as<float>();
  if (given("seed")) c.seed = parse_seed(v["seed"].as<std::string>());
  if (given("limit-train")) c.limit_train = v["limit-train"].as<int64_t>();
  if (given("limit-test")) c.limit_test = v["limit-test"].as<int64_t>();
  if (given("eval-batch")) c.eval_batch_size = v["eval-batch"].as<int64_t>();
  if (given("val")) c.validation_images = v["val"].as<int64_t>();
  // A rate given to the schedule that does not read it would be recorded and silently unused.
  if (given("lr") && c.schedule.kind == ScheduleKind::seed)
    throw Error("--lr sets the onecycle, cosine, step and constant schedules; the seed schedule takes --lr-points");
  if (given("lr-points") && c.schedule.kind != ScheduleKind::seed)
    throw Error("--lr-points is the seed schedule's; --schedule " + std::string(name_of(c.schedule.kind)) +
                " takes --lr");
}

std::vector<std::string> train_flag_tokens(const po::parsed_options& parsed, std::span<const char* const> except) {
  std::vector<std::string> tokens;
  for (const po::option& option : parsed.options) {
    const auto is = [&](const char* name) { return option.string_key == name; };
    if (!std::any_of(std::begin(kTrainFlagNames), std::end(kTrainFlagNames), is)) continue;
    if (std::any_of(except.begin(), except.end(), is)) continue;
    tokens.insert(tokens.end(), option.original_tokens.begin(), option.original_tokens.end());
  }
  return tokens;
}

void check_before_loading(Context& context, const NormRegistry& registry, const TrainConfig& config) {
  const std::unique_ptr<S8Network> network = network_from_flags(context, registry, network_config_of(config));
  try {
    check_training_memory(*network, config.batch_size);
  } catch (const Error& e) {
    throw po::error(e.what());
  }
}

}  // namespace s8net::app
