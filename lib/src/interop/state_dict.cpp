#include "../core/bounded_json.hpp"

#include <s8net/core/error.hpp>
#include <s8net/interop/state_dict.hpp>
#include <s8net/train/network_state.hpp>

#include <algorithm>
#include <cmath>
#include <charconv>
#include <cstring>
#include <map>
#include <sstream>
#include <string_view>

namespace s8net {
namespace {

constexpr const char* kSteps = "steps";

// s8net's layer -> the original's conv and norm modules (docs/network.md).
struct StageNames {
  std::string_view stage, conv, norm;
};
constexpr StageNames kStageNames[] = {
    {"C1", "block1.conv1", "block1.n1"},
    {"C2", "block1.conv2", "block1.n2"},
    {"c3", "block1.filter1x", ""},
    {"C3", "block2.conv1", "block2.n1"},
    {"C4", "block2.conv2", "block2.n2"},
    {"C5", "block2.conv3", "block2.n3"},
    {"c6", "block2.filter1x", ""},
    {"C7", "block3.conv1", "block3.n1"},
    {"C8", "block3.conv2", "block3.n2"},
    {"C9", "block3.conv3", "block3.n3"},
    {"c10", "flat", ""},
};
// Defined by the original after block1.conv2/n2, with their shapes, but never run.
constexpr std::string_view kUnusedConv = "block1.conv3", kUnusedNorm = "block1.n3";

std::string quoted_norm(const std::string& norm) { return "Net(norm='" + norm + "')"; }

std::string shape_text(const std::string& dtype, const std::vector<int64_t>& shape) {
  std::string text = dtype + " [";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string listed(const std::vector<std::string>& names) {
  constexpr size_t kShown = 6;
  std::string text;
  for (size_t i = 0; i < std::min(names.size(), kShown); ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += " and " + std::to_string(names.size() - kShown) + " more";
  return text;
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// Neutral value of an element of an unused layer's tensor: a norm that passes its input through.
float neutral_value(std::string_view tensor) { return tensor == "weight" || tensor == "running_var" ? 1.f : 0.f; }

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

uint64_t parse_count(const std::string& text, const std::string& what) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    throw Error(what + " is \"" + text + "\", not a whole number");
  return value;
}

}  // namespace

std::vector<StateDictEntry> original_state_dict(S8Network& network) {
  const std::string& norm = network.config().norm;
  if (std::none_of(std::begin(kStateDictNorms), std::end(kStateDictNorms), [&](const char* n) { return norm == n; }))
    throw Error("norm '" + norm + "': the original PyTorch model has only bn, gn and ln");
  const bool batch_norm = norm == "bn";
  const auto parameters = network.parameters();
  const auto state = network.state();

  std::vector<StateDictEntry> entries;
  auto add = [&](const std::string& prefix, const std::string& rename, const Parameter& p, const char* kind) {
    const std::string tensor = p.name.substr(prefix.size());
    const dnnl::memory::dims dims = p.value.dims();
    entries.push_back({rename + "." + tensor, "F32", {dims.begin(), dims.end()}, kind + p.name, 0.f});
  };
  for (const StageNames& names : kStageNames) {
    const size_t first = entries.size();
    const std::string stage(names.stage), conv(names.conv), norm_module(names.norm);
    for (const Parameter* p : parameters)
      if (starts_with(p->name, stage + ".conv.")) add(stage + ".conv.", conv, *p, "param/");
    if (!norm_module.empty()) {
      for (const Parameter* p : parameters)
        if (starts_with(p->name, stage + ".norm.")) add(stage + ".norm.", norm_module, *p, "param/");
      for (const Parameter* s : state)
        if (starts_with(s->name, stage + ".norm.")) add(stage + ".norm.", norm_module, *s, "state/");
      if (batch_norm) entries.push_back({norm_module + ".num_batches_tracked", "I64", {}, kSteps, 0.f});
    }
    if (stage != "C2") continue;
    const size_t last = entries.size();
    for (size_t i = first; i < last; ++i) {
      StateDictEntry unused = entries[i];
      const bool is_conv = starts_with(unused.name, conv + ".");
      const std::string tensor = unused.name.substr((is_conv ? conv : norm_module).size() + 1);
      unused.name = std::string(is_conv ? kUnusedConv : kUnusedNorm) + "." + tensor;
      unused.s8net_name.clear();
      unused.neutral = is_conv ? 0.f : neutral_value(tensor);
      entries.push_back(std::move(unused));
    }
  }
  const size_t mapped = static_cast<size_t>(std::count_if(entries.begin(), entries.end(), [](const StateDictEntry& e) {
    return starts_with(e.s8net_name, "param/") || starts_with(e.s8net_name, "state/");
  }));
  if (mapped != parameters.size() + state.size())
    throw Error("norm '" + norm + "': its plugin's tensors do not all map onto the original model's layers");
  return entries;
}

std::vector<std::string> differences_from_original(const std::string& norm, const NormOptions& options) {
  const NormOptions original = norm == "bn"   ? NormOptions{{"eps", 1e-5}, {"momentum", 0.1}}
                               : norm == "gn" ? NormOptions{{"groups", 2}, {"eps", 1e-5}}
                                              : NormOptions{{"eps", 1e-5}};
  std::vector<std::string> differences;
  for (const auto& [name, value] : options) {
    const auto found = original.find(name);
    if (found != original.end() && found->second == value) continue;
    std::ostringstream text;
    text << name << "=" << value;
    if (found == original.end())
      text << " (the original has no such option)";
    else
      text << " (the original has " << found->second << ")";
    differences.push_back(text.str());
  }
  return differences;
}

StateDictMetadata read_state_dict_metadata(const SafeTensorsFile& file, const std::string& source) {
  StateDictMetadata result;
  const auto value_of = [&](const char* key) -> const std::string* {
    const auto found = file.metadata.find(key);
    return found == file.metadata.end() ? nullptr : &found->second;
  };
  if (const std::string* version = value_of("s8net.format_version")) {
    const uint64_t v = parse_count(*version, source + ": metadata s8net.format_version");
    if (v > static_cast<uint64_t>(kStateDictFormatVersion))
      throw Error(source + ": written by a newer s8net (format version " + *version + "; this one reads up to " +
                  std::to_string(kStateDictFormatVersion) + ")");
  }
  if (const std::string* norm = value_of("s8net.norm")) result.norm = *norm;
  if (const std::string* options = value_of("s8net.norm_options")) {
    const auto json = parse_bounded_json(*options, source + ": metadata s8net.norm_options");
    if (!json.is_object()) throw Error(source + ": metadata s8net.norm_options is not a JSON object");
    NormOptions parsed;
    for (const auto& [key, value] : json.items()) {
      if (!value.is_number())
        throw Error(source + ": metadata s8net.norm_options: " + key + " is " + value.dump() + ", not a number");
      parsed[key] = value.get<double>();
    }
    result.norm_options = std::move(parsed);
  }
  if (const std::string* steps = value_of("s8net.training_steps"))
    result.training_steps = parse_count(*steps, source + ": metadata s8net.training_steps");
  return result;
}

SafeTensorsFile export_state_dict(Context& context, S8Network& network) {
  const std::vector<StateDictEntry> entries = original_state_dict(network);
  std::map<std::string, std::vector<float>> values;
  for (NamedValues& t : capture_tensors(context, network, nullptr)) values[t.name] = std::move(t.values);

  SafeTensorsFile file;
  for (const StateDictEntry& e : entries) {
    SafeTensor t{e.name, e.dtype, e.shape, {}};
    if (e.dtype == "I64") {
      const int64_t steps = e.s8net_name.empty() ? 0 : static_cast<int64_t>(network.training_steps());
      t.bytes = bytes_of(std::vector<int64_t>{steps});
    } else if (e.s8net_name.empty()) {
      int64_t count = 1;
      for (const int64_t d : e.shape) count *= d;
      t.bytes = bytes_of(std::vector<float>(static_cast<size_t>(count), e.neutral));
    } else {
      t.bytes = bytes_of(values.at(e.s8net_name));
    }
    file.tensors.push_back(std::move(t));
  }
  nlohmann::json options = nlohmann::json::object();
  for (const auto& [key, value] : network.config().norm_options) options[key] = value;
  file.metadata = {{"format", "pt"},
                   {"s8net.format_version", std::to_string(kStateDictFormatVersion)},
                   {"s8net.norm", network.config().norm},
                   {"s8net.norm_options", options.dump()},
                   {"s8net.training_steps", std::to_string(network.training_steps())}};
  return file;
}

Checkpoint import_state_dict(Context& context, const NormRegistry& registry, const SafeTensorsFile& file,
                             const TrainConfig& config, const std::string& source) {
  S8Network network(context, registry, network_config_of(config));
  const std::vector<StateDictEntry> entries = original_state_dict(network);
  const std::string model = "the original " + quoted_norm(config.norm);

  std::vector<std::string> extra, missing;
  for (const SafeTensor& t : file.tensors)
    if (std::none_of(entries.begin(), entries.end(), [&](const StateDictEntry& e) { return e.name == t.name; }))
      extra.push_back(t.name);
  if (!extra.empty())
    throw Error(source + ": " + listed(extra) + (extra.size() == 1 ? " is" : " are") + " not in " + model +
                "'s state_dict (a file of another model or norm?)");
  for (const StateDictEntry& e : entries)
    if (!file.find(e.name)) missing.push_back(e.name);
  if (!missing.empty())
    throw Error(source + ": no " + listed(missing) + " (" + model + " has " + (missing.size() == 1 ? "it" : "them") +
                "; a file of another norm?)");

  std::map<std::string, std::vector<float>> values;
  uint64_t steps = read_state_dict_metadata(file, source).training_steps.value_or(0);
  bool steps_read = false;
  for (const StateDictEntry& e : entries) {
    const SafeTensor& t = *file.find(e.name);
    if (t.dtype != e.dtype || t.shape != e.shape)
      throw Error(source + ": " + e.name + " is " + shape_text(t.dtype, t.shape) + "; in " + model + " it is " +
                  shape_text(e.dtype, e.shape));
    if (e.s8net_name.empty()) continue;  // an unused layer: checked, not kept
    if (e.s8net_name == kSteps) {
      int64_t count = 0;
      std::memcpy(&count, t.bytes.data(), sizeof count);
      if (count < 0) throw Error(source + ": " + e.name + " is " + std::to_string(count) + ", a negative step count");
      // Every used BatchNorm has run every step: the first one speaks for them.
      if (!steps_read) steps = static_cast<uint64_t>(count);
      steps_read = true;
      continue;
    }
    std::vector<float>& v = values[e.s8net_name];
    v.resize(t.bytes.size() / sizeof(float));
    std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
    // A NaN or an infinity makes every output NaN: a model that cannot be evaluated or trained.
    if (const auto bad = std::find_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); }); bad != v.end())
      throw Error(source + ": " + e.name + " holds " + (std::isnan(*bad) ? "NaN" : "an infinity") + " at index " +
                  std::to_string(bad - v.begin()));
  }

  Checkpoint checkpoint;
  checkpoint.config = config;
  checkpoint.training_steps = steps;
  checkpoint.best_test_accuracy = -1;  // as a new run's: its first epoch is the best so far
  checkpoint.tensors = capture_tensors(context, network, nullptr);
  std::vector<NamedValues> momentum;
  for (NamedValues& t : checkpoint.tensors) {
    t.values = std::move(values.at(t.name));
    if (starts_with(t.name, "param/"))
      momentum.push_back({"momentum/" + t.name.substr(6), std::vector<float>(t.values.size(), 0.f)});
  }
  for (NamedValues& m : momentum) checkpoint.tensors.push_back(std::move(m));
  // Loads into the network once: the same check `s8net eval` makes, here rather than there.
  restore_tensors(context, checkpoint.tensors, network, nullptr, source);
  return checkpoint;
}

}  // namespace s8net
