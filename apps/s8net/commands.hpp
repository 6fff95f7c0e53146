// The subcommands of the s8net app and what they share.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/norm/norm_layer.hpp>
#include <s8net/norm/registry.hpp>

#include <boost/program_options.hpp>

#include <memory>
#include <string>
#include <vector>

namespace s8net::app {

int run_summary(int argc, char** argv);
int run_plugins(int argc, char** argv);

// Parses a subcommand's flags; prints its help and returns false for --help. Throws
// boost::program_options errors (main turns them into one line and exit code 2).
bool parse_command_line(int argc, char** argv, const boost::program_options::options_description& options);

// The registry after loading --plugin-dir paths and the default search path. Failures are
// printed to stderr when print_failures.
std::unique_ptr<NormRegistry> load_plugins(Context& context, const std::vector<std::string>& plugin_dirs,
                                           bool print_failures);

// "groups=2" -> {"groups", 2}; throws s8net::Error naming the bad entry.
NormOptions parse_norm_options(const std::vector<std::string>& entries);

}  // namespace s8net::app
