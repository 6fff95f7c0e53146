// The conformance checker plugin authors run (`s8net plugin check FILE.so`; target
// s8net::plugin_check, not part of libs8net): loads one plugin file and drives it through the C ABI
// alone, checking what plugin_api.h promises and what the host relies on but cannot verify while
// training (gradients, bounds, state, determinism).
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/core/error.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace s8net {

struct CheckResult {
  enum class Outcome { pass, fail, skip };
  std::string name;  // "load", "gradients nChw16c 3x16x4x4 relu" ...
  Outcome outcome = Outcome::pass;
  std::string detail;  // why it failed or was skipped; empty for a pass
};

struct ConformanceShape {
  int64_t n = 0, c = 0, h = 0, w = 0;
};

struct ConformanceOptions {
  uint32_t seed = 1;  // of every random input: the same seed checks the same numbers
  // Small, so that finite differences over every entry stay quick. Even channel counts (GroupNorm's
  // default is 2 groups), one of them below a block and one not a multiple of 8 or 16, so the
  // blocked layouts get a padded last block.
  std::vector<ConformanceShape> shapes = {{2, 4, 3, 5}, {3, 16, 4, 4}, {2, 12, 3, 3}};
  // Central differences: float outputs limit how small the step can be before rounding dominates.
  double step = 1e-2;
  // An analytic gradient g passes against finite differences d when
  // |g - d| <= relative * |d| + absolute * max(1, largest |d| of that tensor).
  double relative_tolerance = 2e-2;
  double absolute_tolerance = 2e-3;
  // A central difference whose step straddles a kink of the plugin's own function (a threshold, a
  // clip) is no evidence against its gradient. An entry that misses is excused as such a kink when
  // its one-sided slopes, left and right (each second-order, from points 0, step/2 and step on its
  // side), disagree beyond the tolerance above and the analytic gradient agrees with one of them.
  // Excused entries are counted on the PASS line; more than this fraction of a case's compared
  // entries (dx and every parameter together) fails the check.
  double max_kink_fraction = 0.05;
  // Given to every create() (--norm-option NAME=VALUE); options not named keep their defaults.
  std::map<std::string, double> norm_options;
};

// What check_plugin throws when norm_options names an option the plugin does not declare, or a
// value outside its declared range: a mistake of the command line, not of the plugin.
class RefusedNormOption : public Error {
 public:
  using Error::Error;
};

// Runs every check on the plugin in `file`, calling on_result as each one finishes. A plugin that
// does not load fails "load" and every other check is skipped. Throws s8net::Error (naming the
// file) when the file is missing or unreadable, and RefusedNormOption before any result when the
// plugin does not accept options.norm_options: then there is nothing to check.
std::vector<CheckResult> check_plugin(const std::filesystem::path& file, Context& context,
                                      const ConformanceOptions& options = {},
                                      const std::function<void(const CheckResult&)>& on_result = {});

// "PASS", "FAIL", "SKIP".
const char* outcome_name(CheckResult::Outcome outcome) noexcept;

// One report line: "PASS  forward nchw 2x4x3x5", "FAIL  gradients nchw 2x4x3x5: dx[17] = ...".
std::string format_result(const CheckResult& result);

}  // namespace s8net
