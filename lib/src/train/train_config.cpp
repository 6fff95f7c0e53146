#include "../core/bounded_json.hpp"

#include <s8net/core/error.hpp>
#include <s8net/train/train_config.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string_view>
#include <utility>

namespace s8net {

using nlohmann::json;

// Enums travel as their names; an unknown name is an error, not the first enumerator.
void to_json(json& j, ScheduleKind kind) { j = name_of(kind); }
void from_json(const json& j, ScheduleKind& kind) { kind = parse_schedule_kind(j.get<std::string>()); }
void to_json(json& j, const std::optional<ActivationLayout>& layout) {
  j = layout ? json(std::string(name_of(*layout))) : json(nullptr);
}
void from_json(const json& j, std::optional<ActivationLayout>& layout) {
  layout = j.is_null() ? std::nullopt : std::optional(parse_layout(j.get<std::string>()));
}

// One list of fields per struct serves both directions; every key is required when reading.
// By hand: decay_conv_weights_only came later; a configuration without it decays every parameter.
void to_json(json& j, const SgdOptions& o) {
  j = json{{"momentum", o.momentum},
           {"weight_decay", o.weight_decay},
           {"nesterov", o.nesterov},
           {"decay_conv_weights_only", o.decay_conv_weights_only}};
}
void from_json(const json& j, SgdOptions& o) {
  j.at("momentum").get_to(o.momentum);
  j.at("weight_decay").get_to(o.weight_decay);
  j.at("nesterov").get_to(o.nesterov);
  o.decay_conv_weights_only = j.value("decay_conv_weights_only", false);
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ScheduleConfig, kind, points, learning_rate, pct_start, div_factor, final_div_factor,
                                   cycle_momentum, base_momentum, max_momentum, min_learning_rate, step_size, gamma)
// By hand: the crop and the flip came later, so a configuration without them (every run before
// them) reads as one without them.
void to_json(json& j, const AugmentOptions& o) {
  j = json{{"shift_scale_rotate_probability", o.shift_scale_rotate_probability},
           {"shift_limit", o.shift_limit},
           {"scale_limit", o.scale_limit},
           {"rotate_limit_degrees", o.rotate_limit_degrees},
           {"brightness_contrast_probability", o.brightness_contrast_probability},
           {"brightness_limit", o.brightness_limit},
           {"contrast_limit", o.contrast_limit},
           {"crop_padding", o.crop_padding},
           {"flip_probability", o.flip_probability}};
}
void from_json(const json& j, AugmentOptions& o) {
  j.at("shift_scale_rotate_probability").get_to(o.shift_scale_rotate_probability);
  j.at("shift_limit").get_to(o.shift_limit);
  j.at("scale_limit").get_to(o.scale_limit);
  j.at("rotate_limit_degrees").get_to(o.rotate_limit_degrees);
  j.at("brightness_contrast_probability").get_to(o.brightness_contrast_probability);
  j.at("brightness_limit").get_to(o.brightness_limit);
  j.at("contrast_limit").get_to(o.contrast_limit);
  o.crop_padding = j.value("crop_padding", int64_t{0});
  o.flip_probability = j.value("flip_probability", 0.0);
}

// By hand rather than by the macro: recipe, validation_images, ema_decay and label_smoothing came later, so a
// configuration without them (every run before it) still reads, as one without a validation split.
void to_json(json& j, const TrainConfig& c) {
  j = json{{"recipe", c.recipe},
           {"norm", c.norm},
           {"norm_options", c.norm_options},
           {"layout", c.layout},
           {"dropout", c.dropout},
           {"epochs", c.epochs},
           {"batch_size", c.batch_size},
           {"sgd", c.sgd},
           {"schedule", c.schedule},
           {"augment", c.augment},
           {"augment_options", c.augment_options},
           {"seed", c.seed},
           {"limit_train", c.limit_train},
           {"limit_test", c.limit_test},
           {"eval_batch_size", c.eval_batch_size},
           {"validation_images", c.validation_images},
           {"ema_decay", c.ema_decay},
           {"label_smoothing", c.label_smoothing}};
}
void from_json(const json& j, TrainConfig& c) {
  c.recipe = j.value("recipe", std::string("seed"));
  j.at("norm").get_to(c.norm);
  j.at("norm_options").get_to(c.norm_options);
  j.at("layout").get_to(c.layout);
  j.at("dropout").get_to(c.dropout);
  j.at("epochs").get_to(c.epochs);
  j.at("batch_size").get_to(c.batch_size);
  j.at("sgd").get_to(c.sgd);
  j.at("schedule").get_to(c.schedule);
  j.at("augment").get_to(c.augment);
  j.at("augment_options").get_to(c.augment_options);
  j.at("seed").get_to(c.seed);
  j.at("limit_train").get_to(c.limit_train);
  j.at("limit_test").get_to(c.limit_test);
  j.at("eval_batch_size").get_to(c.eval_batch_size);
  c.validation_images = j.value("validation_images", int64_t{0});
  c.ema_decay = j.value("ema_decay", 0.0);
  c.label_smoothing = j.value("label_smoothing", 0.f);
}

TrainConfig seed_recipe() { return TrainConfig{}; }

TrainConfig fast_recipe() {
  TrainConfig c;
  c.recipe = "fast";
  c.epochs = 36;
  c.batch_size = 64;
  c.schedule.kind = ScheduleKind::onecycle;
  c.schedule.learning_rate = 0.2;
  c.sgd.nesterov = true;
  c.sgd.weight_decay = 5e-4f;
  c.sgd.decay_conv_weights_only = true;
  c.label_smoothing = 0.1f;
  return c;
}

namespace {

// Every named recipe, with the test-time views it was chosen with (docs/recipe.md): the one list
// that --recipe and a stored configuration are checked against.
using RecipeMaker = TrainConfig (*)();
struct NamedRecipe {
  std::string_view name;
  RecipeMaker make;
  std::string_view test_time_views;
};
constexpr NamedRecipe kRecipes[] = {{"seed", seed_recipe, "none"}, {"fast", fast_recipe, "flip+shift1"}};

const NamedRecipe* named_recipe(std::string_view name) {
  for (const NamedRecipe& recipe : kRecipes)
    if (name == recipe.name) return &recipe;
  return nullptr;
}

RecipeMaker recipe_maker(std::string_view name) {
  const NamedRecipe* recipe = named_recipe(name);
  return recipe ? recipe->make : nullptr;
}

std::string unknown_recipe(std::string_view what, std::string_view name) {
  std::string known;
  for (const NamedRecipe& recipe : kRecipes) known += (known.empty() ? "" : " and ") + std::string(recipe.name);
  return std::string(what) + " '" + std::string(name) + "': the recipes are " + known;
}

}  // namespace

std::string_view recipe_test_time_views(std::string_view name) {
  const NamedRecipe* recipe = named_recipe(name);
  return recipe ? recipe->test_time_views : "none";
}

TrainConfig recipe_named(std::string_view name) {
  if (const auto make = recipe_maker(name)) return make();
  throw Error(unknown_recipe("--recipe", name));
}

void validate(const TrainConfig& c) {
  if (recipe_maker(c.recipe) == nullptr) throw Error(unknown_recipe("recipe", c.recipe));
  if (c.epochs <= 0) throw Error("--epochs must be > 0, got " + std::to_string(c.epochs));
  if (c.epochs > kMaxEpochs)
    throw Error("--epochs must be <= " + std::to_string(kMaxEpochs) + ", got " + std::to_string(c.epochs));
  if (c.batch_size <= 0) throw Error("--batch must be > 0, got " + std::to_string(c.batch_size));
  if (c.eval_batch_size <= 0) throw Error("--eval-batch must be > 0, got " + std::to_string(c.eval_batch_size));
  if (c.limit_train < 0) throw Error("--limit-train must be >= 0");
  if (c.limit_test < 0) throw Error("--limit-test must be >= 0");
  if (c.validation_images < 0) throw Error("--val must be >= 0, got " + std::to_string(c.validation_images));
  if (!(c.ema_decay == 0 || (c.ema_decay > 0 && c.ema_decay < 1)))
    throw Error("--ema must be 0 (off) or a decay in (0, 1)");
  if (!(c.dropout >= 0.f && c.dropout < 1.f)) throw Error("--dropout must be in [0, 1)");
  if (!(c.label_smoothing >= 0.f && c.label_smoothing < 1.f)) throw Error("--label-smoothing must be in [0, 1)");
  if (!(c.sgd.momentum >= 0.f && c.sgd.momentum < 1.f)) throw Error("--momentum must be in [0, 1)");
  if (!(c.sgd.weight_decay >= 0.f) || !std::isfinite(c.sgd.weight_decay))
    throw Error("--weight-decay must be a finite number >= 0");
  if (c.sgd.nesterov && c.sgd.momentum == 0.f &&
      !(c.schedule.kind == ScheduleKind::onecycle && c.schedule.cycle_momentum))
    throw Error("--nesterov needs a momentum > 0");
  validate(c.schedule);
  validate(c.augment_options);
}

TrainValidationSplit training_split(const TrainConfig& config, const Dataset& training_images) {
  Dataset used = training_images.first(config.limit_train);
  if (config.validation_images <= 0) return {std::move(used), {}};
  return hold_out_validation(used, config.validation_images);
}

std::string to_json(const TrainConfig& config) { return json(config).dump(2); }

TrainConfig train_config_from_json(std::string_view text, const std::string& source) {
  const json parsed = parse_bounded_json(text, source + ": invalid training configuration");
  TrainConfig config;
  try {
    parsed.get_to(config);
    validate(config);
  } catch (const json::exception& e) {
    throw Error(source + ": invalid training configuration: " + e.what());
  } catch (const Error& e) {
    throw Error(source + ": invalid training configuration: " + e.what());
  }
  return config;
}

namespace {

// The first field (in the order of the JSON keys) whose values differ, descending into objects.
std::optional<ConfigDifference> first_difference_in(const json& stored, const json& other, const std::string& path) {
  if (stored.is_object() && other.is_object()) {
    for (const auto& [key, value] : stored.items()) {
      const auto found = other.find(key);
      const std::string field = path.empty() ? key : path + "." + key;
      if (found == other.end()) return ConfigDifference{field, value.dump(), "nothing"};
      if (auto difference = first_difference_in(value, *found, field)) return difference;
    }
    for (const auto& [key, value] : other.items())
      if (!stored.contains(key))
        return ConfigDifference{path.empty() ? key : path + "." + key, "nothing", value.dump()};
    return std::nullopt;
  }
  if (stored == other) return std::nullopt;
  return ConfigDifference{path, stored.dump(), other.dump()};
}

}  // namespace

std::optional<ConfigDifference> first_difference(const TrainConfig& stored, const TrainConfig& other) {
  return first_difference_in(json(stored), json(other), "");
}

}  // namespace s8net
