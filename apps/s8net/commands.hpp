// The subcommands of the s8net app and what they share.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/norm_layer.hpp>
#include <s8net/norm/registry.hpp>

#include <boost/program_options.hpp>

#include <memory>
#include <string>
#include <vector>

namespace s8net::app {

int run_summary(int argc, char** argv);
int run_plugins(int argc, char** argv);
int run_plugin(int argc, char** argv);
int run_plugin_bench(int argc, char** argv);  // s8net plugin bench, dispatched by run_plugin
int run_data(int argc, char** argv);
int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_predict(int argc, char** argv);
int run_report(int argc, char** argv);
int run_compare(int argc, char** argv);
int run_study(int argc, char** argv);
int run_export(int argc, char** argv);
int run_import(int argc, char** argv);

// Flags are spelled out: boost's default would take "--seed" for "--seeds" when only that one matches.
inline constexpr int kCommandLineStyle = boost::program_options::command_line_style::default_style &
                                         ~boost::program_options::command_line_style::allow_guessing;

// Parses a subcommand's flags; prints its help and returns false for --help. Throws
// boost::program_options errors (main turns them into one line and exit code 2). `positional`
// names the option that takes bare arguments; `values` receives what was parsed.
bool parse_command_line(int argc, char** argv, const boost::program_options::options_description& options,
                        boost::program_options::variables_map* values = nullptr,
                        const boost::program_options::positional_options_description* positional = nullptr);

// `--out "$RUN"` with RUN unset would otherwise mean "the current directory" or "nowhere": throws
// boost::program_options::error naming the first flag given an empty value.
void refuse_empty_values(const boost::program_options::variables_map& values);
// `text` as one word of a shell command: unchanged when it holds only characters no shell treats
// specially, else single-quoted, so that a printed command can be pasted as it is.
std::string shell_word(const std::string& text);

// A bare word that no flag and no positional argument takes (`--tta flip shift1`): throws
// boost::program_options::error naming it, rather than letting it pass unread.
void refuse_stray_arguments(const boost::program_options::parsed_options& parsed);

// The registry after loading --plugin-dir paths and the default search path. Every file that
// failed is reported on stderr: as an error, counted in *failure_count, when that is given (the
// plugins listing); else as a warning.
std::unique_ptr<NormRegistry> load_plugins(Context& context, const std::vector<std::string>& plugin_dirs,
                                           size_t* failure_count = nullptr);

// Refuses (s8net::Error naming it) an --out that exists unless `overwrite`, and one that is the
// same file as any of `inputs`, which the write would destroy. (What is not a regular file,
// write_file_atomically refuses.)
void check_output_file(const std::string& out, bool overwrite, const std::vector<std::string>& inputs);

// {"groups", 2}, {"eps", 1e-05} -> "eps=1e-05,groups=2", as --norm-option takes them; "the
// plugin's defaults" for none.
std::string norm_options_text(const NormOptions& options);

// "groups=2" -> {"groups", 2}; throws s8net::Error naming the bad entry.
NormOptions parse_norm_options(const std::vector<std::string>& entries);

// The network that --norm, --norm-option and --layout (in `config`) ask for. An unknown norm, or
// options its plugin refuses, is a flag error (boost::program_options::error, exit 2) naming the
// flag; a plugin that cannot make its layers with no options given is a plugin error
// (s8net::Error, exit 1).
std::unique_ptr<S8Network> network_from_flags(Context& context, const NormRegistry& registry,
                                              const NetworkConfig& config);

}  // namespace s8net::app
