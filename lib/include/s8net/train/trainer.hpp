// The training loop: epochs of shuffled, augmented batches (the next one prepared while the
// network trains), the schedule applied per epoch or per step, a test evaluation after each
// epoch, and a run directory holding
//   config.json       the training configuration
//   metrics.jsonl     one JSON object per epoch
//   last.s8ckpt       the latest epoch's checkpoint (what --resume continues from)
//   best.s8ckpt       the checkpoint of the best epoch so far: best validation accuracy when the
//                     run holds out a validation split (--val), else best test accuracy
// Every file is replaced atomically, so a run killed at any moment can be resumed.
#pragma once

#include <s8net/data/augment.hpp>
#include <s8net/data/batch_loader.hpp>
#include <s8net/data/dataset.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/collective.hpp>
#include <s8net/train/checkpoint.hpp>
#include <s8net/train/evaluate.hpp>
#include <s8net/train/run_directory.hpp>
#include <s8net/train/sgd.hpp>
#include <s8net/train/train_config.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace s8net {

struct EpochMetrics {
  int64_t epoch = 0;  // 1-based, as the table shows it
  double learning_rate = 0;
  double seconds = 0;        // training and evaluation
  double train_seconds = 0;  // the training part alone
  double train_loss = 0;
  int64_t train_correct = 0, train_total = 0;
  double test_loss = 0;
  int64_t test_correct = 0, test_total = 0;
  double val_loss = 0;  // the validation split's, when the run holds one out (val_total > 0)
  int64_t val_correct = 0, val_total = 0;

  double train_accuracy() const noexcept;  // percent
  double test_accuracy() const noexcept;
  double val_accuracy() const noexcept;
  bool has_validation() const noexcept { return val_total > 0; }
  // What the best epoch is chosen on: validation accuracy when there is a validation split, else
  // test accuracy (the original recipe has no validation split).
  double selection_accuracy() const noexcept;
  double train_images_per_second() const noexcept;
};

std::string to_json_line(const EpochMetrics& metrics);

EpochMetrics epoch_metrics_from_json(const std::string& line, const std::string& source);
// Every non-empty line of a metrics.jsonl text (a run's file, or a checkpoint's copy of it).
std::vector<EpochMetrics> epoch_history_from_jsonl(const std::string& text, const std::string& source);

// The epoch of the highest selection accuracy (the first of equals); `history` must not be empty.
const EpochMetrics& best_epoch(std::span<const EpochMetrics> history);
// Medians over the epochs: an epoch slowed by other work on a shared machine does not move them.
double median_epoch_seconds(std::span<const EpochMetrics> history);
double median_training_images_per_second(std::span<const EpochMetrics> history);

struct BatchProgress {
  int64_t epoch = 0, epochs = 0;   // epoch 1-based
  int64_t batch = 0, batches = 0;  // batches done in this epoch
  int64_t images = 0;              // images done in this epoch
  double seconds = 0;              // since the epoch started
  double loss = 0, accuracy = 0;   // running means over the epoch so far (accuracy in percent)
  double batch_loss = 0;           // this step's mean loss over its whole (global) batch
};

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_batch(const BatchProgress&) {}
  virtual void on_evaluation(int64_t /*done*/, int64_t /*total*/) {}
  virtual void on_epoch(const EpochMetrics&, bool /*new_best*/) {}
  // Asked after every batch and every epoch; true makes the trainer checkpoint where it stands
  // and return (a Ctrl-C handler sets it).
  virtual bool stop_requested() { return false; }
};

enum class TrainStatus { finished, stopped };

class NormRegistry;
class WeightAverage;
class GradientExchange;

inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kLastCheckpoint = "last.s8ckpt";
inline constexpr const char* kBestCheckpoint = "best.s8ckpt";

// What a new run does with a run directory that already holds another run's files.
enum class ExistingRun { refuse, replace };

// Throws s8net::Error naming --batch when no batch of that size can be filled from the training
// images, or when training it needs more memory than this machine has available.
void check_batch_fits(int64_t batch_size, int64_t training_images);
void check_training_memory(S8Network& network, int64_t batch_size);

// Data-parallel training (docs/data-parallel.md): every rank constructs a Trainer with the same
// arguments and its Collective. Each trains its share of every batch; the gradients are summed over
// the ranks every step, so the ranks keep identical weights (checked every step) and R ranks train
// what one process does at the same global batch. Rank 0 alone evaluates and writes the run
// directory; the other ranks write nothing. Before anything trains, ranks started with another
// configuration, plugin or data are refused, on every rank, naming the difference.
class Trainer {
 public:
  // A new run; writes config.json into run_directory (created if needed) unless it is empty. The
  // directory is locked for the trainer's lifetime (see run_directory.hpp): a second training of
  // it is refused, and so is a directory holding another run unless `existing` says replace.
  // With several ranks, --batch must be a multiple of their number.
  Trainer(Context& context, const NormRegistry& registry, TrainConfig config, const CifarData& data,
          std::filesystem::path run_directory, ExistingRun existing = ExistingRun::refuse,
          Collective& ranks = single_process());
  // Continues the run in run_directory from its last checkpoint, with the configuration saved
  // there. Refuses a config.json that disagrees with it; repairs a metrics.jsonl or best.s8ckpt
  // that an interruption between an epoch's writes left behind. Every rank reads the checkpoint
  // (a directory all ranks see), with any number of ranks.
  static std::unique_ptr<Trainer> resume(Context& context, const NormRegistry& registry, const CifarData& data,
                                         const std::filesystem::path& run_directory,
                                         Collective& ranks = single_process());
  ~Trainer();

  // Trains up to `until_epoch` epochs in total (default: the configuration's), checkpointing
  // after each. When the observer asks to stop, the current batch finishes, last.s8ckpt records
  // the position within the epoch (resume() continues exactly there) and run returns stopped.
  // Throws s8net::Error on a non-finite loss, leaving the last checkpoint intact.
  TrainStatus run(TrainObserver& observer, std::optional<int64_t> until_epoch = std::nullopt);

  const TrainConfig& config() const noexcept { return config_; }
  S8Network& network() noexcept { return *network_; }
  const std::vector<EpochMetrics>& history() const noexcept { return history_; }
  int64_t epochs_done() const noexcept { return epochs_done_; }
  // Where an epoch stopped midway stands (all zero between epochs).
  const EpochProgress& epoch_in_progress() const noexcept { return epoch_in_progress_; }
  int64_t train_size() const noexcept { return train_.size(); }
  int64_t test_size() const noexcept { return test_.size(); }
  int64_t validation_size() const noexcept { return validation_.size(); }
  const Dataset& train_data() const noexcept { return train_; }
  const Dataset& test_data() const noexcept { return test_; }
  // The test evaluation of the latest epoch this process trained (empty before the first).
  const EvalResult& last_evaluation() const noexcept { return last_evaluation_; }
  int64_t batches_per_epoch() const noexcept;

 private:
  // fresh_run: how a new run treats an existing one; empty when resuming.
  Trainer(Context& context, const NormRegistry& registry, TrainConfig config, const CifarData& data,
          std::filesystem::path run_directory, std::optional<ExistingRun> fresh_run, Collective& ranks);
  // What every rank must agree on before training: configuration, plugin, data, layout, position.
  std::vector<std::pair<std::string, std::string>> start_facts(const NormRegistry& registry) const;
  // Whether any rank asked to stop, once the ranks checked they hold the same weights ("after
  // step 12" names the point in a refusal); alone, just `stop`.
  bool ranks_agree_to_stop(bool stop, const char* after, uint64_t count);
  void reconcile_run_files(const Checkpoint& last);
  // The epoch's metrics, or nothing when the observer asked to stop before its last batch.
  std::optional<EpochMetrics> train_epoch(int64_t epoch, TrainObserver& observer);
  // A non-finite loss: throws s8net::Error naming epoch and batch (0-based here, 1-based in the
  // message) and the last good checkpoint, which stays as it is.
  [[noreturn]] void throw_diverged(int64_t epoch, int64_t batch_index, int64_t batches, double loss) const;
  Checkpoint make_checkpoint();
  void save(bool new_best);

  Context& context_;
  Collective& ranks_;
  TrainConfig config_;
  std::filesystem::path run_directory_;
  std::unique_ptr<RunDirectoryLock> lock_;
  Dataset train_, test_, validation_;
  Augmenter augmenter_;
  std::unique_ptr<S8Network> network_;
  std::unique_ptr<Sgd> optimizer_;
  std::unique_ptr<WeightAverage> average_;  // with --ema: what is evaluated and saved for inference
  std::unique_ptr<BatchLoader> loader_;
  std::unique_ptr<GradientExchange> exchange_;
  std::vector<EpochMetrics> history_;
  EvalResult last_evaluation_;
  int64_t epochs_done_ = 0;
  EpochProgress epoch_in_progress_;  // where the next train_epoch starts (resumed midway)
  double best_test_accuracy_ = -1;   // of the selection accuracy (see EpochMetrics)
  int64_t best_epoch_ = 0;
};

}  // namespace s8net
