// A network to a file and back in one call each: the checkpoint carries the network's own
// configuration (norm, norm options, layout, seed, dropout) beside its weights, so loading needs
// nothing but the file and plugins. A file written by `s8net train` loads the same way.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/model/s8_network.hpp>

#include <filesystem>
#include <memory>

namespace s8net {

class NormRegistry;

// Writes a checkpoint (train/checkpoint.hpp) of the network's configuration, parameters, norm
// statistics and training-step count; no optimizer state. Atomic: the previous file survives a crash.
void save_network(const std::filesystem::path& path, Context& context, S8Network& network);

// The network the file describes, built with the registry's plugins and its values loaded. Throws
// s8net::Error naming the file: not a checkpoint, damaged, or a norm the registry does not know.
std::unique_ptr<S8Network> load_network(const std::filesystem::path& path, Context& context,
                                        const NormRegistry& registry);

}  // namespace s8net
