// The network as the original S8 work's PyTorch model names it: the state_dict of its
// Net(norm='bn'|'gn'|'ln'), both ways, through a safetensors file.
//
// Layer names: C1, C2 = block1.conv1/n1, conv2/n2; c3 = block1.filter1x; C3-C5 =
// block2.conv1-3/n1-3; c6 = block2.filter1x; C7-C9 = block3.conv1-3/n1-3; c10 = flat. Conv
// weights are OIHW in both. The original also defines block1.conv3 and block1.n3 but never runs
// them: they are exported with neutral values (conv weight and bias 0; norm weight 1, bias 0,
// running_mean 0, running_var 1, num_batches_tracked 0, what PyTorch gives a layer it never ran)
// and, on import, must be present and well-shaped but are ignored. BatchNorm layers carry
// num_batches_tracked (int64, shape []), which is s8net's count of training steps.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/interop/safetensors.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/train/checkpoint.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace s8net {

class NormRegistry;

// The norms the original model has.
inline constexpr const char* kStateDictNorms[] = {"bn", "gn", "ln"};
// "s8net.format_version" in the metadata of an exported file.
inline constexpr int kStateDictFormatVersion = 1;

struct StateDictEntry {
  std::string name;            // "block1.conv1.weight"
  std::string dtype;           // "F32", or "I64" for num_batches_tracked
  std::vector<int64_t> shape;  // PyTorch's: [16, 3, 3, 3], [16], [] ...
  // Where the value lives in s8net: "param/C1.conv.weight", "state/C1.norm.running_mean"
  // (checkpoint names); "steps" for num_batches_tracked; empty for the unused block1 layers.
  std::string s8net_name;
  float neutral = 0;  // the value of every element of an unused layer
};

// Every entry of the original model's state_dict for the network's norm, block by block. Throws
// s8net::Error naming the norm when it is not one of kStateDictNorms.
std::vector<StateDictEntry> original_state_dict(S8Network& network);

// The norm options where the network computes otherwise than the original's layer (BatchNorm2d
// eps 1e-5 momentum 0.1, GroupNorm with 2 groups, LayerNorm as 1 group, eps 1e-5): "groups=4
// (the original has 2)". PyTorch loads such weights into Net(norm) but evaluates them differently.
std::vector<std::string> differences_from_original(const std::string& norm, const NormOptions& options);

// What an exported file's metadata says about the network (all empty for a file from elsewhere).
struct StateDictMetadata {
  std::optional<std::string> norm;
  std::optional<NormOptions> norm_options;
  std::optional<uint64_t> training_steps;
};
// Throws s8net::Error naming `source` for a newer s8net.format_version or a malformed s8net.* value.
StateDictMetadata read_state_dict_metadata(const SafeTensorsFile& file, const std::string& source);

// The network's weights, statistics and training-step count under the original's names, with
// the norm, its options and the step count in the metadata.
SafeTensorsFile export_state_dict(Context& context, S8Network& network);

// A checkpoint of `config` at epoch 0 holding the file's weights: what a run of that
// configuration would have before its first step, but with these weights (and zero momentum), so
// that `s8net train --resume` fine-tunes it. Throws s8net::Error naming `source` and the tensor
// for any tensor missing, extra, of another dtype or another shape than the original model's.
Checkpoint import_state_dict(Context& context, const NormRegistry& registry, const SafeTensorsFile& file,
                             const TrainConfig& config, const std::string& source);

}  // namespace s8net
