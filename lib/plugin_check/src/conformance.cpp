// The conformance run: load, then every check on every case the plugin declares, in a fixed order
// so that two runs of one seed print the same report.
#include "conformance_checks.hpp"

#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/norm/plugin_descriptor.hpp>
#include <s8net/norm/plugin_file.hpp>
#include <s8net/norm/plugin_instance.hpp>
#include <s8net/norm/plugin_sdk.hpp>
#include <s8net/plugin_check/conformance.hpp>

#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace s8net {
namespace fs = std::filesystem;

namespace {

using conformance::Case;
using conformance::Plugin;
using Outcome = CheckResult::Outcome;

// The checks of one case, in report order, sharing one signature so that they fit a table: each
// returns the detail of its PASS line ("" for most).
using CaseCheck = std::string (*)(const Plugin&, const Case&, const ConformanceOptions&);
using PlainCheck = void (*)(const Plugin&, const Case&, const ConformanceOptions&);
template <PlainCheck Check>
std::string without_detail(const Plugin& plugin, const Case& c, const ConformanceOptions& options) {
  Check(plugin, c, options);
  return {};
}
const std::pair<const char*, CaseCheck> kCaseChecks[] = {
    {"forward", without_detail<conformance::check_forward>},
    {"gradients", conformance::check_gradients},
    {"train vs eval", without_detail<conformance::check_train_vs_eval>},
    {"eval per sample", without_detail<conformance::check_eval_per_sample>},
    {"state round trip", without_detail<conformance::check_state_round_trip>},
    {"determinism", without_detail<conformance::check_determinism>},
    {"bounds", without_detail<conformance::check_bounds>},
    {"eval affine", without_detail<conformance::check_eval_affine>},
    {"eval affine from moments", without_detail<conformance::check_eval_affine_from_moments>},
    {"ranks", conformance::check_ranks},
};
constexpr s8net_layout kLayouts[] = {S8NET_LAYOUT_NCHW, S8NET_LAYOUT_NCHW8C, S8NET_LAYOUT_NCHW16C};

// "gn 0.1.0, ABI 1.1, layouts nchw nChw8c nChw16c, fuses ReLU; created with groups=4"
std::string describe(const PluginInfo& info, const std::map<std::string, double>& options) {
  const s8net_norm_plugin& d = *info.descriptor;
  std::string text = info.name + " " + info.version + ", ABI " + abi_text(d.abi_version) + ", layouts";
  for (const s8net_layout layout : kLayouts)
    if ((d.layouts & sdk::layout_mask(layout)) != 0) text.append(" ").append(sdk::layout_name(layout));
  if ((d.flags & S8NET_NORM_FLAG_FUSES_RELU) != 0) text += ", fuses ReLU";
  if (eval_affine_entry(d) != nullptr) text += ", evaluates as an affine map (folds into a conv)";
  if (eval_affine_from_moments_entry(d) != nullptr) text += ", evaluates as an affine map of the moments";
  if (!options.empty()) {
    text += "; created with";
    for (const auto& [name, value] : options) text += " " + name + "=" + format_number("%g", value);
  }
  return text;
}

// Runs one check, turning whatever it throws into a FAIL (a plugin call that failed as the checker
// words it); what it returns (if anything) is the PASS line's detail.
template <class F>
CheckResult run_check(std::string name, F&& check) {
  try {
    if constexpr (std::is_void_v<decltype(check())>) {
      check();
      return {std::move(name), Outcome::pass, {}};
    } else {
      std::string detail = check();  // before name is moved: check() may throw
      return {std::move(name), Outcome::pass, std::move(detail)};
    }
  } catch (const PluginCallError& e) {
    return {std::move(name), Outcome::fail, conformance::call_failure(e)};
  } catch (const std::exception& e) {
    return {std::move(name), Outcome::fail, e.what()};
  }
}

// "" if create() accepts the configuration, else why it refused. Only a refusal of the
// configuration (invalid argument, unsupported) is a reason to skip; other statuses are failures
// the checks themselves will report.
std::string refusal(const Plugin& plugin, int64_t channels, bool relu, std::span<const s8net_option_value> options) {
  try {
    const PluginInstance probe(plugin, channels, relu, options);
  } catch (const PluginCallError& e) {
    if (e.status() == S8NET_ERROR_INVALID_ARGUMENT || e.status() == S8NET_ERROR_UNSUPPORTED)
      return std::string("create(") + std::to_string(channels) + " channels" + (relu ? ", fused ReLU" : "") +
             ") refused: " + status_name(e.status()) + ": " + e.reason();
  }
  return {};
}

class Run {
 public:
  Run(const ConformanceOptions& options, const std::function<void(const CheckResult&)>& on_result)
      : options_(options), on_result_(on_result) {
    for (const auto& [name, value] : options_.norm_options) norm_options_.push_back({name.c_str(), value});
  }

  void report(CheckResult result) {
    if (on_result_) on_result_(result);
    results_.push_back(std::move(result));
  }

  void skip_all(const std::string& why) {
    report({"tensors", Outcome::skip, why});
    for (const auto& [name, check] : kCaseChecks) report({name, Outcome::skip, why});
  }

  void check_all(const Plugin& plugin) {
    std::set<int64_t> channel_counts;
    for (const ConformanceShape& shape : options_.shapes) {
      if (!channel_counts.insert(shape.c).second) continue;
      const std::string name = std::string("tensors C=") + std::to_string(shape.c);
      if (const std::string why = refusal(plugin, shape.c, false, norm_options_); !why.empty())
        report({name, Outcome::skip, why});
      else
        report(run_check(name, [&] { conformance::check_tensors(plugin, shape.c, norm_options_); }));
    }

    // eval_affine and eval_affine_from_moments are optional (the load line says which the plugin offers).
    std::vector<std::pair<const char*, CaseCheck>> checks;
    const bool offers_eval_affine = eval_affine_entry(*plugin->descriptor) != nullptr;
    const bool offers_from_moments = eval_affine_from_moments_entry(*plugin->descriptor) != nullptr;
    for (const auto& entry : kCaseChecks) {
      if (entry.second == without_detail<conformance::check_eval_affine> && !offers_eval_affine) continue;
      if (entry.second == without_detail<conformance::check_eval_affine_from_moments> && !offers_from_moments) continue;
      checks.push_back(entry);
    }

    std::vector<bool> relu_variants{false};
    if ((plugin->descriptor->flags & S8NET_NORM_FLAG_FUSES_RELU) != 0) relu_variants.push_back(true);
    bool any_checked = false;
    uint32_t index = 0;
    for (const s8net_layout layout : kLayouts) {
      if ((plugin->descriptor->layouts & sdk::layout_mask(layout)) == 0) continue;
      for (const ConformanceShape& shape : options_.shapes)
        for (const bool relu : relu_variants) {
          const Case c{layout, shape, relu, case_seed(index++), norm_options_};
          if (const std::string why = refusal(plugin, shape.c, relu, norm_options_); !why.empty()) {
            for (const auto& [name, check] : checks) report({std::string(name) + " " + c.label(), Outcome::skip, why});
            continue;
          }
          any_checked = true;
          for (const auto& [name, check] : checks) {
            const CaseCheck run = check;  // a lambda may not capture a structured binding before clang 16
            report(run_check(std::string(name) + " " + c.label(), [&] { return run(plugin, c, options_); }));
          }
        }
    }
    // Skipping everything would otherwise pass a plugin nothing was checked on.
    if (!any_checked) report({"shapes", Outcome::fail, "create() refused every configuration tried"});
  }

  std::vector<CheckResult> take() { return std::move(results_); }

 private:
  // Each case its own inputs, all following from the one seed.
  uint32_t case_seed(uint32_t index) const {
    std::seed_seq sequence{options_.seed, index};
    uint32_t seed = 0;
    sequence.generate(&seed, &seed + 1);
    return seed;
  }

  const ConformanceOptions& options_;
  std::vector<s8net_option_value> norm_options_;  // options_.norm_options as create() takes them
  const std::function<void(const CheckResult&)>& on_result_;
  std::vector<CheckResult> results_;
};

}  // namespace

std::vector<CheckResult> check_plugin(const fs::path& file, Context& context, const ConformanceOptions& options,
                                      const std::function<void(const CheckResult&)>& on_result) {
  require_readable_file(file);
  Run run(options, on_result);
  Plugin plugin;
  try {
    plugin = load_plugin_file(file, context);
  } catch (const std::exception& e) {
    run.report({"load", Outcome::fail, e.what()});
    run.skip_all("the plugin did not load");
    return run.take();
  }
  try {
    check_norm_options(*plugin, options.norm_options);
  } catch (const Error& e) {
    throw RefusedNormOption(e.what());
  }
  run.report({"load", Outcome::pass, describe(*plugin, options.norm_options)});
  run.check_all(plugin);
  return run.take();
}

const char* outcome_name(CheckResult::Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::pass:
      return "PASS";
    case Outcome::fail:
      return "FAIL";
    case Outcome::skip:
      return "SKIP";
  }
  return "?";
}

std::string format_result(const CheckResult& result) {
  std::string line = std::string(outcome_name(result.outcome)) + "  " + result.name;
  if (!result.detail.empty()) line.append(": ").append(result.detail);
  return line;
}

}  // namespace s8net
