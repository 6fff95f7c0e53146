#include <s8net/core/error.hpp>
#include <s8net/norm/registry.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>
#include <string>

namespace s8net {
namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", value);
  return text;
}

}  // namespace

void check_norm_options(const PluginInfo& plugin, const std::map<std::string, double>& options) {
  const std::span<const s8net_norm_option> known(plugin.descriptor->options, plugin.descriptor->option_count);
  for (const auto& [name, value] : options) {
    const s8net_norm_option* option = nullptr;
    for (const s8net_norm_option& k : known)
      if (k.name != nullptr && name == k.name) option = &k;
    const std::string given = "--norm-option " + name + "=" + number(value);
    if (option == nullptr) {
      std::string accepted;
      for (const s8net_norm_option& k : known)
        accepted += (accepted.empty() ? "" : ", ") + std::string(k.name ? k.name : "?");
      throw Error(given + ": norm '" + plugin.name + "' has no option '" + name +
                  "' (it accepts: " + (accepted.empty() ? std::string("none") : accepted) + ")");
    }
    if (!(value >= option->min_value && value <= option->max_value) ||
        (option->is_integer && value != std::floor(value)))
      throw Error(given + ": out of range for norm '" + plugin.name +
                  "': " + (option->is_integer ? "an integer " : "") + "in [" + number(option->min_value) + ", " +
                  number(option->max_value) + "]");
  }
}

std::map<std::string, double> without_defaults(const PluginInfo& plugin, const std::map<std::string, double>& options) {
  const std::span<const s8net_norm_option> known(plugin.descriptor->options, plugin.descriptor->option_count);
  std::map<std::string, double> kept;
  for (const auto& option : options) {
    const auto declared = std::find_if(known.begin(), known.end(), [&option](const s8net_norm_option& k) {
      return k.name != nullptr && option.first == k.name;
    });
    if (declared == known.end() || option.second != declared->default_value) kept.insert(option);
  }
  return kept;
}

}  // namespace s8net
