// s8net plugin check FILE.so: the conformance checks of one plugin file, one line per check as it
// finishes, then a summary. Exit 0 when nothing failed, 1 otherwise, 2 for a bad command line.
#include "commands.hpp"

#include <s8net/norm/conformance.hpp>

#include <cstring>
#include <iostream>

namespace po = boost::program_options;

namespace s8net::app {
namespace {

constexpr const char* kUsage =
    "usage: s8net plugin check FILE.so [--seed N]\n"
    "  check a normalization plugin file against the ABI: loading, forward, gradients against finite\n"
    "  differences, training vs evaluation, state round trip, determinism and buffer bounds\n";

int run_check(int argc, char** argv) {
  std::string file;
  ConformanceOptions conformance;
  po::options_description options("s8net plugin check FILE.so: check a normalization plugin against the ABI");
  options.add_options()("help,h", "show this help")(
      "seed", po::value(&conformance.seed)->default_value(conformance.seed), "seed of the random inputs")(
      "file", po::value(&file), "the plugin's shared library (also the bare argument)");
  po::positional_options_description positional;
  positional.add("file", 1);
  if (!parse_command_line(argc, argv, options, nullptr, &positional)) return 0;
  if (file.empty()) throw po::error("no plugin file given: s8net plugin check FILE.so");

  Context context;
  // Each line is flushed: a slow check (or one that crashes the process) shows where it stands.
  const std::vector<CheckResult> results = check_plugin(
      file, context, conformance, [](const CheckResult& result) { std::cout << format_result(result) << std::endl; });
  size_t counts[3] = {0, 0, 0};
  for (const CheckResult& result : results) ++counts[static_cast<size_t>(result.outcome)];
  const size_t passed = counts[static_cast<size_t>(CheckResult::Outcome::pass)];
  const size_t failed = counts[static_cast<size_t>(CheckResult::Outcome::fail)];
  const size_t skipped = counts[static_cast<size_t>(CheckResult::Outcome::skip)];
  std::cout << "plugin check " << file << ": " << passed << " passed, " << failed << " failed, " << skipped
            << " skipped" << std::endl;
  return failed == 0 ? 0 : 1;
}

}  // namespace

int run_plugin(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::cout << kUsage;
    return 0;
  }
  if (argc < 2 || std::strcmp(argv[1], "check") != 0) {
    if (argc >= 2) std::cerr << "s8net plugin: unknown action '" << argv[1] << "'\n";
    std::cerr << kUsage;
    return 2;
  }
  return run_check(argc - 1, argv + 1);
}

}  // namespace s8net::app
