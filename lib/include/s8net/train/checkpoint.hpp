// Checkpoint files: everything needed to evaluate a model or resume its training exactly.
//
// Layout (little-endian): "S8NETCKP", u32 format version, u32 0, u64 header length, the header
// (JSON: training configuration, progress, tensor names and sizes), the tensors' float32 values
// one after another in plain layout (nchw/oihw), then a CRC-32 of every byte before it. A file
// is written to a temporary name and renamed, so the previous checkpoint survives a crash.
#pragma once

#include <s8net/train/train_config.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace s8net {

struct NamedValues {
  std::string name;  // "param/C1.conv.weight", "state/C1.norm.running_mean", "momentum/..."
  std::vector<float> values;
};

// How far an interrupted epoch got: the checkpoint of a run stopped between two batches (Ctrl-C)
// continues exactly there. All zero for a checkpoint written at the end of an epoch.
struct EpochProgress {
  int64_t batches_done = 0;
  double loss_sum = 0;  // sum over the images trained so far of their loss
  int64_t train_correct = 0, train_total = 0;
  double train_seconds = 0;
};

struct Checkpoint {
  TrainConfig config;
  int64_t epochs_done = 0;
  EpochProgress epoch_in_progress;  // of epoch epochs_done + 1
  double best_test_accuracy = 0;    // percent, of the selection accuracy (validation when the run has a split)
  int64_t best_epoch = 0;
  uint64_t training_steps = 0;  // keys the dropout masks
  std::string metrics_jsonl;    // the run's metrics so far, one JSON object per line
  std::vector<NamedValues> tensors;

  const NamedValues* find(const std::string& name) const noexcept;
};

// Far more than a checkpoint of this network holds (its tensors take well under a megabyte; a
// plugin's own tensors and a long run's metrics come on top), and a bound on what reading one
// may take: /dev/zero given as a checkpoint is refused once it has given this much.
inline constexpr int64_t kMaxCheckpointBytes = int64_t{256} << 20;

// Throws s8net::Error naming the file, keeping what was there, for a checkpoint of more than
// kMaxCheckpointBytes (which load_checkpoint() would refuse).
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);
// Throws s8net::Error naming the file: more than kMaxCheckpointBytes, not a checkpoint, newer
// format, truncated, checksum mismatch, invalid header.
Checkpoint load_checkpoint(const std::filesystem::path& path);
// The same from a checkpoint file's bytes, `name` naming them in errors.
Checkpoint parse_checkpoint(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace s8net
