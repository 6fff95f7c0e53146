// The flags that define a training run, in one table: `s8net train` takes all of them, `s8net
// study` all but the grid's own (norm, batch, seed), which it takes as lists.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/train/train_config.hpp>

#include <boost/program_options.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace s8net::app {

// Every flag of the table, in its order: what --resume compares with the stored configuration.
std::span<const char* const> train_flag_names();

enum class TrainFlags { all, without_grid };
void add_train_flags(boost::program_options::options_description& options, TrainFlags which);

// The --recipe a configuration starts from; an unknown name is a flag error (exit 2).
TrainConfig recipe_of(const boost::program_options::variables_map& values);

// Applies every flag of `which` that was given, or only `only_flag`. Throws s8net::Error or
// boost::program_options::error for a value that does not parse.
void apply_train_flags(const boost::program_options::variables_map& values, TrainConfig& config, TrainFlags which,
                       const char* only_flag = nullptr);

// The command-line tokens of the table's flags as given ("--epochs", "2", ...), leaving out `except`.
std::vector<std::string> train_flag_tokens(const boost::program_options::parsed_options& parsed,
                                           std::span<const char* const> except);

// "7" -> 7; "-1", "x" and values past 2^64 - 1 are refused naming --seed.
uint64_t parse_seed(const std::string& text);

// What can be checked without the data: the norm and its options, and whether a batch of this
// size fits in memory. A bad option or batch is a flag error (boost::program_options::error,
// exit 2); a plugin that cannot make its layers is a plugin error (s8net::Error, exit 1).
void check_before_loading(Context& context, const NormRegistry& registry, const TrainConfig& config);

}  // namespace s8net::app
