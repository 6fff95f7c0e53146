// What the subcommands share: flag parsing, plugin loading, norm options.
#include "commands.hpp"

#include <s8net/core/error.hpp>
#include <s8net/norm/plugin_search.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <string_view>

namespace po = boost::program_options;

namespace s8net::app {

void refuse_empty_values(const po::variables_map& values) {
  for (const auto& [name, value] : values) {
    if (value.defaulted()) continue;
    bool empty = false;
    if (const auto* text = boost::any_cast<std::string>(&value.value())) empty = text->empty();
    if (const auto* list = boost::any_cast<std::vector<std::string>>(&value.value()))
      empty = std::any_of(list->begin(), list->end(), [](const std::string& s) { return s.empty(); });
    if (empty) throw po::error("--" + name + " is empty (an unset shell variable?)");
  }
}

namespace {

// A plugin is code that runs as the user: a file or directory that anyone may write to lets anyone
// choose that code.
void warn_about_writable_plugins(const NormRegistry& registry) {
  std::set<std::filesystem::path> warned;
  for (const PluginInfo& plugin : registry.plugins())
    for (const std::filesystem::path& path : {plugin.file, plugin.file.parent_path()}) {
      struct stat status {};
      if (::stat(path.c_str(), &status) != 0 || (status.st_mode & S_IWOTH) == 0 || !warned.insert(path).second)
        continue;
      std::cerr << "warning: " << path.string() << " is writable by every user, so anyone can change the plugin code "
                << "s8net runs (plugin '" << plugin.name << "'); remove that permission: chmod o-w " << path.string()
                << '\n';
    }
}

}  // namespace

std::string shell_word(const std::string& text) {
  const auto plain = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("_-./:=+,@%").find(c) != std::string_view::npos;
  };
  if (!text.empty() && std::all_of(text.begin(), text.end(), plain)) return text;
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

void refuse_stray_arguments(const po::parsed_options& parsed) {
  // Without a positional description Boost keeps a bare word as an option without a name, and
  // store() drops it: `--tta flip shift1` would evaluate flip alone without a word.
  for (const po::option& option : parsed.options)
    if (option.string_key.empty() && !option.original_tokens.empty())
      throw po::error("unexpected argument '" + option.original_tokens.front() + "': every value belongs to a flag");
}

bool parse_command_line(int argc, char** argv, const po::options_description& options, po::variables_map* values,
                        const po::positional_options_description* positional) {
  po::variables_map parsed;
  po::variables_map& into = values ? *values : parsed;
  po::command_line_parser parser(argc, argv);
  parser.options(options).style(kCommandLineStyle);
  if (positional) parser.positional(*positional);
  const po::parsed_options parsed_options = [&] {
    try {
      return parser.run();
    } catch (const po::too_many_positional_options_error&) {
      // Boost's message names no word: find the first one past those the command takes.
      po::command_line_parser bare(argc, argv);
      bare.options(options).style(kCommandLineStyle);
      const unsigned taken = positional->max_total_count();
      unsigned seen = 0;
      for (const po::option& option : bare.run().options)
        if (option.string_key.empty() && !option.original_tokens.empty() && seen++ == taken)
          throw po::error("unexpected argument '" + option.original_tokens.front() + "' (this command takes " +
                          std::to_string(taken) + (taken == 1 ? " argument" : " arguments") + " without a flag)");
      throw;
    }
  }();
  refuse_stray_arguments(parsed_options);
  po::store(parsed_options, into);
  if (into.count("help")) {
    std::cout << options << '\n';
    return false;
  }
  refuse_empty_values(into);
  po::notify(into);
  return true;
}

std::unique_ptr<NormRegistry> load_plugins(Context& context, const std::vector<std::string>& plugin_dirs,
                                           size_t* failure_count) {
  auto registry = std::make_unique<NormRegistry>(context);
  const std::vector<std::filesystem::path> explicit_paths(plugin_dirs.begin(), plugin_dirs.end());
  const auto failures = load_plugin_search_path(*registry, explicit_paths);
  // Listing plugins, a file that does not load is the answer's error; elsewhere the command may
  // well go on with the plugins that did load, but the user must learn why one is missing.
  const char* level = failure_count != nullptr ? "error: " : "warning: plugin not loaded: ";
  for (const auto& failure : failures) std::cerr << level << failure.reason << '\n';
  if (failure_count != nullptr) *failure_count = failures.size();
  warn_about_writable_plugins(*registry);
  return registry;
}

void check_output_file(const std::string& out, bool overwrite, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  for (const std::string& input : inputs)
    if (fs::equivalent(out, input, ec)) throw Error(out + " is " + input + ", the input: write to another file");
  if (!overwrite) throw Error(out + " exists: give --overwrite to replace it");
}

std::string norm_options_text(const NormOptions& options) {
  std::string text;
  for (const auto& [name, value] : options) {
    char number[32];
    std::snprintf(number, sizeof number, "%g", value);
    text += (text.empty() ? "" : ",") + name + "=" + number;
  }
  return text.empty() ? "the plugin's defaults" : text;
}

NormOptions parse_norm_options(const std::vector<std::string>& entries) {
  NormOptions options;
  for (const std::string& entry : entries) {
    const size_t equals = entry.find('=');
    double value = 0;
    const char* first = equals == std::string::npos ? nullptr : entry.data() + equals + 1;
    const char* last = entry.data() + entry.size();
    const auto parsed =
        first ? std::from_chars(first, last, value) : std::from_chars_result{last, std::errc::invalid_argument};
    if (equals == 0 || first == nullptr || first == last || parsed.ec != std::errc() || parsed.ptr != last)
      throw Error("--norm-option '" + entry + "': expected NAME=NUMBER, e.g. groups=2");
    if (!options.emplace(entry.substr(0, equals), value).second)
      throw Error("--norm-option '" + entry + "': " + entry.substr(0, equals) + " is given twice");
  }
  return options;
}

std::unique_ptr<S8Network> network_from_flags(Context& context, const NormRegistry& registry,
                                              const NetworkConfig& config) {
  try {
    check_norm_options(registry.find(config.norm), config.norm_options);
  } catch (const Error& e) {
    throw po::error(std::string(e.what()).starts_with("--") ? e.what() : "--norm " + config.norm + ": " + e.what());
  }
  // A plugin may refuse declared values in create() (groups that do not divide the channels): with
  // options given, that is their fault; without, the plugin's own.
  try {
    return std::make_unique<S8Network>(context, registry, config);
  } catch (const Error& e) {
    if (config.norm_options.empty()) throw;
    throw po::error("--norm-option " + norm_options_text(config.norm_options) + ": " + e.what());
  }
}

}  // namespace s8net::app
