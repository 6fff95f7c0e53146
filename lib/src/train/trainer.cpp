#include "../core/bounded_json.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/core/system_memory.hpp>
#include <s8net/data/validation_split.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/train/data_parallel.hpp>
#include <s8net/train/evaluate.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/trainer.hpp>
#include <s8net/train/weight_average.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <sstream>
#include <utility>

namespace s8net {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string gigabytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GB", bytes / 1e9);
  return text;
}

double percent(int64_t part, int64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

}  // namespace

void check_batch_fits(int64_t batch_size, int64_t training_images) {
  if (batch_size > training_images)
    throw Error("--batch " + with_thousands(batch_size) + " is more than the " + with_thousands(training_images) +
                " training images: not one batch can be filled");
}

void check_training_memory(S8Network& network, int64_t batch_size) {
  // In double: an absurd batch must be refused, not overflow into a small number.
  const double needed = static_cast<double>(network.training_bytes_per_image()) * static_cast<double>(batch_size);
  const auto available = static_cast<double>(available_memory_bytes());
  if (available > 0 && needed > available)
    throw Error("--batch " + with_thousands(batch_size) + " needs about " + gigabytes(needed) +
                " of memory to train, more than the " + gigabytes(available) + " this machine has available");
}

double EpochMetrics::train_accuracy() const noexcept { return percent(train_correct, train_total); }
double EpochMetrics::test_accuracy() const noexcept { return percent(test_correct, test_total); }
double EpochMetrics::val_accuracy() const noexcept { return percent(val_correct, val_total); }
double EpochMetrics::selection_accuracy() const noexcept { return has_validation() ? val_accuracy() : test_accuracy(); }
double EpochMetrics::train_images_per_second() const noexcept {
  return train_seconds > 0 ? static_cast<double>(train_total) / train_seconds : 0.0;
}

const EpochMetrics& best_epoch(std::span<const EpochMetrics> history) {
  if (history.empty()) throw Error("no finished epoch");
  return *std::max_element(history.begin(), history.end(), [](const EpochMetrics& a, const EpochMetrics& b) {
    return a.selection_accuracy() < b.selection_accuracy();
  });
}

namespace {

template <typename Value>
double median_over(std::span<const EpochMetrics> history, Value value) {
  std::vector<double> values;
  for (const EpochMetrics& m : history) values.push_back(value(m));
  if (values.empty()) return 0;
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  if (values.size() % 2) return *middle;
  return (*middle + *std::max_element(values.begin(), middle)) / 2;
}

}  // namespace

double median_epoch_seconds(std::span<const EpochMetrics> history) {
  return median_over(history, [](const EpochMetrics& m) { return m.seconds; });
}

double median_training_images_per_second(std::span<const EpochMetrics> history) {
  return median_over(history, [](const EpochMetrics& m) { return m.train_images_per_second(); });
}

std::string to_json_line(const EpochMetrics& m) {
  // JSON has no NaN: it would be written as null and make the run's metrics unreadable.
  for (const auto& [name, value] : {std::pair{"lr", m.learning_rate},
                                    {"seconds", m.seconds},
                                    {"train_seconds", m.train_seconds},
                                    {"train_loss", m.train_loss},
                                    {"test_loss", m.test_loss},
                                    {"val_loss", m.val_loss}})
    if (!std::isfinite(value))
      throw Error("epoch " + std::to_string(m.epoch) + ": " + name + " is not a finite number; not written to " +
                  kMetricsFile);
  nlohmann::ordered_json j = {{"epoch", m.epoch},
                              {"lr", m.learning_rate},
                              {"seconds", m.seconds},
                              {"train_seconds", m.train_seconds},
                              {"train_images_per_second", m.train_images_per_second()},
                              {"train_loss", m.train_loss},
                              {"train_correct", m.train_correct},
                              {"train_total", m.train_total},
                              {"train_acc", m.train_accuracy()},
                              {"test_loss", m.test_loss},
                              {"test_correct", m.test_correct},
                              {"test_total", m.test_total},
                              {"test_acc", m.test_accuracy()}};
  if (m.has_validation()) {
    j["val_loss"] = m.val_loss;
    j["val_correct"] = m.val_correct;
    j["val_total"] = m.val_total;
    j["val_acc"] = m.val_accuracy();
  }
  return j.dump();
}

EpochMetrics epoch_metrics_from_json(const std::string& line, const std::string& source) {
  try {
    const auto j = parse_bounded_json(line, source + ": invalid metrics line");
    EpochMetrics m;
    m.epoch = j.at("epoch").get<int64_t>();
    m.learning_rate = j.at("lr").get<double>();
    m.seconds = j.at("seconds").get<double>();
    m.train_seconds = j.at("train_seconds").get<double>();
    m.train_loss = j.at("train_loss").get<double>();
    m.train_correct = j.at("train_correct").get<int64_t>();
    m.train_total = j.at("train_total").get<int64_t>();
    m.test_loss = j.at("test_loss").get<double>();
    m.test_correct = j.at("test_correct").get<int64_t>();
    m.test_total = j.at("test_total").get<int64_t>();
    if (j.contains("val_total")) {
      m.val_loss = j.at("val_loss").get<double>();
      m.val_correct = j.at("val_correct").get<int64_t>();
      m.val_total = j.at("val_total").get<int64_t>();
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": invalid metrics line: " + e.what());
  }
}

std::vector<EpochMetrics> epoch_history_from_jsonl(const std::string& text, const std::string& source) {
  std::vector<EpochMetrics> history;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) history.push_back(epoch_metrics_from_json(line, source));
  return history;
}

Trainer::Trainer(Context& context, const NormRegistry& registry, TrainConfig config, const CifarData& data,
                 fs::path run_directory, ExistingRun existing, Collective& ranks)
    : Trainer(context, registry, std::move(config), data, std::move(run_directory), std::optional(existing), ranks) {}

Trainer::Trainer(Context& context, const NormRegistry& registry, TrainConfig config, const CifarData& data,
                 fs::path run_directory, std::optional<ExistingRun> fresh_run, Collective& ranks)
    : context_(context),
      ranks_(ranks),
      config_(std::move(config)),
      // Rank 0 alone writes the run directory.
      run_directory_(ranks.rank() == 0 ? std::move(run_directory) : fs::path()),
      test_(data.test.first(config_.limit_test)),
      augmenter_(config_.augment_options) {
  validate(config_);
  TrainValidationSplit split = training_split(config_, data.train);
  train_ = std::move(split.train);
  validation_ = std::move(split.validation);
  if (train_.size() == 0) throw Error("no training images");
  if (test_.size() == 0) throw Error("no test images");
  check_batch_fits(config_.batch_size, train_.size());
  if (config_.batch_size % ranks_.size() != 0)
    throw Error("--batch " + with_thousands(config_.batch_size) + " cannot be shared equally by " +
                std::to_string(ranks_.size()) + " ranks: give a multiple of " + std::to_string(ranks_.size()));
  if (!run_directory_.empty()) {
    lock_ = std::make_unique<RunDirectoryLock>(run_directory_);
    remove_stale_temporaries(run_directory_);
    if (fresh_run && holds_run(run_directory_)) {
      if (*fresh_run == ExistingRun::refuse)
        throw Error(run_directory_.string() +
                    ": holds another run; continue it with --resume, or replace it with --overwrite");
      remove_run_files(run_directory_);
    }
  }
  network_ = std::make_unique<S8Network>(context_, registry, network_config_of(config_), ranks_);
  check_training_memory(*network_, config_.batch_size / ranks_.size());
  optimizer_ = std::make_unique<Sgd>(network_->parameters(), config_.sgd);
  if (config_.ema_decay > 0) average_ = std::make_unique<WeightAverage>(*network_, config_.ema_decay);
  LoaderOptions loader;
  loader.batch_size = config_.batch_size;
  loader.augment = config_.augment;
  loader.seed = config_.seed;
  loader.rank = ranks_.rank();
  loader.ranks = ranks_.size();
  loader_ = std::make_unique<BatchLoader>(train_, augmenter_, loader);
  exchange_ = std::make_unique<GradientExchange>(ranks_, network_->parameters());
  if (fresh_run) check_ranks_agree(ranks_, start_facts(registry));
  if (!run_directory_.empty() && fresh_run)
    write_file_atomically(run_directory_ / kConfigFile, to_json(config_) + "\n");
}

Trainer::~Trainer() = default;

bool Trainer::ranks_agree_to_stop(bool stop, const char* after, uint64_t count) {
  // Alone, there is nothing to compare: no fingerprint, no message text on every step.
  if (ranks_.size() == 1) return stop;
  return agree_on_weights_and_stop(ranks_, weights_fingerprint(network_->parameters()), stop,
                                   std::string(after) + " " + std::to_string(count));
}

std::vector<RankFact> Trainer::start_facts(const NormRegistry& registry) const {
  if (ranks_.size() == 1) return {};
  const PluginInfo& plugin = registry.find(config_.norm);
  const auto file = read_file_bytes(plugin.file);
  uint64_t data = 0xcbf29ce484222325ULL;
  for (const Dataset* set : {&train_, &test_, &validation_}) {
    data = fingerprint(set->pixels, data);
    data = fingerprint(set->labels, data);
  }
  std::vector<RankFact> facts;
  // Field by field, so that a refusal names the field.
  const auto config = nlohmann::ordered_json::parse(to_json(config_));
  for (const auto& [key, value] : config.items()) facts.emplace_back("the configuration's " + key, value.dump());
  const std::vector<RankFact> more = {
      {"the norm plugin", plugin.name + " " + plugin.version + ", file fingerprint " + hex_text(fingerprint(file))},
      {"the data", with_thousands(train_.size()) + " training, " + with_thousands(validation_.size()) +
                       " validation, " + with_thousands(test_.size()) + " test images, fingerprint " + hex_text(data)},
      {"the activation layout", std::string(name_of(network_->layout()))},
      {"the position", "epoch " + std::to_string(epochs_done_) + ", batch " +
                           std::to_string(epoch_in_progress_.batches_done) + ", step " +
                           std::to_string(network_->training_steps())}};
  facts.insert(facts.end(), more.begin(), more.end());
  return facts;
}

std::unique_ptr<Trainer> Trainer::resume(Context& context, const NormRegistry& registry, const CifarData& data,
                                         const fs::path& run_directory, Collective& ranks) {
  const fs::path file = run_directory / kLastCheckpoint;
  if (!fs::exists(file)) throw Error(run_directory.string() + ": nothing to resume (no " + kLastCheckpoint + ")");
  const Checkpoint checkpoint = load_checkpoint(file);
  std::unique_ptr<Trainer> trainer(
      new Trainer(context, registry, checkpoint.config, data, run_directory, std::nullopt, ranks));
  restore_tensors(context, checkpoint.tensors, *trainer->network_, trainer->optimizer_.get(), file.string());
  if (trainer->average_) trainer->average_->restore(context, checkpoint.tensors, file.string());
  trainer->network_->set_training_steps(checkpoint.training_steps);
  trainer->epochs_done_ = checkpoint.epochs_done;
  trainer->epoch_in_progress_ = checkpoint.epoch_in_progress;
  trainer->best_test_accuracy_ = checkpoint.best_test_accuracy;
  trainer->best_epoch_ = checkpoint.best_epoch;
  trainer->history_ = epoch_history_from_jsonl(checkpoint.metrics_jsonl, file.string());
  check_ranks_agree(ranks, trainer->start_facts(registry));
  if (!trainer->run_directory_.empty()) trainer->reconcile_run_files(checkpoint);
  return trainer;
}

void Trainer::reconcile_run_files(const Checkpoint& last) {
  const fs::path last_file = run_directory_ / kLastCheckpoint;
  // config.json is what a person reads; the checkpoint's copy is what training continues.
  const fs::path config_file = run_directory_ / kConfigFile;
  const std::string stored = to_json(config_) + "\n";
  std::error_code error;
  if (fs::exists(config_file, error)) {
    const auto text = read_file_bytes(config_file);
    const std::string_view written(reinterpret_cast<const char*>(text.data()), text.size());
    const TrainConfig edited = train_config_from_json(written, config_file.string());
    if (const auto d = first_difference(config_, edited))
      throw Error(config_file.string() + " differs from the configuration in " + last_file.string() + " (" + d->field +
                  ": " + d->other + " in " + kConfigFile + ", " + d->stored +
                  " in the checkpoint); --resume continues the checkpoint's configuration: restore " + kConfigFile +
                  " or start a new run");
  } else {
    write_file_atomically(config_file, stored);
  }
  // A kill between two of an epoch's writes leaves metrics.jsonl an epoch behind the checkpoint.
  const fs::path metrics_file = run_directory_ / kMetricsFile;
  std::vector<uint8_t> metrics;
  if (fs::exists(metrics_file, error)) metrics = read_file_bytes(metrics_file);
  if (std::string_view(reinterpret_cast<const char*>(metrics.data()), metrics.size()) != last.metrics_jsonl)
    write_file_atomically(metrics_file, last.metrics_jsonl);
  // best.s8ckpt must hold the epoch last.s8ckpt calls best. Runs of earlier versions wrote it
  // after last.s8ckpt, so a kill or a full disk between the two could leave it behind.
  if (best_epoch_ <= 0) return;
  const fs::path best_file = run_directory_ / kBestCheckpoint;
  std::optional<int64_t> held;  // the epoch best.s8ckpt holds, if it is of this run
  try {
    const Checkpoint best = load_checkpoint(best_file);
    if (!first_difference(config_, best.config)) held = best.epochs_done;  // another run's file is no best of this one
  } catch (const Error&) {
  }
  if (held == best_epoch_) return;
  if (held && *held > epochs_done_) return;  // the epoch in progress, written ahead; it is trained again
  if (best_epoch_ == epochs_done_ && epoch_in_progress_.batches_done == 0) {
    save_checkpoint(best_file, last);  // the last checkpoint is that best epoch
    return;
  }
  // The best epoch's weights are gone: the best is what the file holds, so a better epoch to come replaces it.
  const bool usable = held && *held >= 1 && *held <= static_cast<int64_t>(history_.size());
  best_epoch_ = usable ? *held : 0;
  best_test_accuracy_ = usable ? history_[static_cast<size_t>(*held - 1)].selection_accuracy() : -1;
}

int64_t Trainer::batches_per_epoch() const noexcept { return loader_->batches_per_epoch(); }

std::optional<EpochMetrics> Trainer::train_epoch(int64_t epoch, TrainObserver& observer) {
  const auto start = Clock::now();
  const int64_t steps = loader_->batches_per_epoch();
  auto apply_schedule = [&](int64_t step) {
    const ScheduleValue v = schedule_at(config_.schedule, config_.epochs, steps, epoch, step);
    optimizer_->set_learning_rate(static_cast<float>(v.learning_rate));
    if (v.momentum) optimizer_->set_momentum(static_cast<float>(*v.momentum));
    return v.learning_rate;
  };
  EpochMetrics m;
  m.epoch = epoch + 1;
  m.learning_rate = apply_schedule(0);
  const bool per_step = changes_every_step(config_.schedule.kind);
  // A resumed epoch continues from its checkpointed batch and sums.
  const EpochProgress resumed = std::exchange(epoch_in_progress_, EpochProgress{});
  loader_->start_epoch(epoch, resumed.batches_done);
  double loss_sum = resumed.loss_sum;
  m.train_correct = resumed.train_correct;
  m.train_total = resumed.train_total;
  int64_t batch_index = resumed.batches_done;
  // Seconds spent on this epoch, by this process and before the interruption it resumes.
  const auto elapsed = [&] { return resumed.train_seconds + seconds_since(start); };
  const std::vector<Parameter*> parameters = network_->parameters();
  while (const Batch* batch = loader_->next()) {
    if (per_step) apply_schedule(batch_index);
    BatchResult r;
    if (batch->size() > 0)
      r = network_->forward_backward(batch->images, batch->labels, {batch->offset, batch->global_size});
    else  // a rank with no share of a last, small batch adds nothing to the sums
      for (Parameter* p : parameters) std::fill_n(p->grad.data(), p->grad.size(), 0.f);
    const GradientExchange::Totals totals = exchange_->sum(r.loss * static_cast<double>(batch->size()), r.correct);
    const double batch_loss = totals.loss_sum / static_cast<double>(batch->global_size);
    // Before the update: one non-finite step would poison every weight, and nothing is saved
    // mid-epoch, so the last checkpoint on disk stays the last good state.
    if (!std::isfinite(batch_loss)) throw_diverged(epoch, batch_index, steps, batch_loss);
    optimizer_->step();
    if (average_) average_->update();
    loss_sum += totals.loss_sum;
    m.train_correct += totals.correct;
    m.train_total += batch->global_size;
    ++batch_index;
    BatchProgress progress{epoch + 1,
                           config_.epochs,
                           batch_index,
                           steps,
                           m.train_total,
                           elapsed(),
                           loss_sum / static_cast<double>(m.train_total),
                           m.train_accuracy()};
    progress.batch_loss = batch_loss;
    observer.on_batch(progress);
    // Every rank stops at the same step when any rank is asked to; on the way, the ranks check
    // that the step left them with the same weights.
    const bool stop = ranks_agree_to_stop(observer.stop_requested(), "after step", network_->training_steps());
    if (batch_index < steps && stop) {
      // Kept, so that run() called again also continues from here; last.s8ckpt records it, while
      // best.s8ckpt and metrics.jsonl stay those of the last whole epoch.
      epoch_in_progress_ = {batch_index, loss_sum, m.train_correct, m.train_total, elapsed()};
      save(false);
      return std::nullopt;
    }
  }
  m.train_loss = loss_sum / static_cast<double>(m.train_total);
  m.train_seconds = elapsed();
  // What is evaluated and saved: the ranks' running statistics averaged (with synchronized
  // BatchNorm they are already equal).
  average_over_ranks(ranks_, network_->state());
  // Rank 0 alone evaluates: it alone reports and saves, and the others wait for it at the next
  // step's exchange.
  if (ranks_.rank() != 0) {
    m.seconds = elapsed();
    return m;
  }
  const AveragedWeightsInUse averaged(average_.get());
  last_evaluation_ = evaluate(*network_, test_, augmenter_, config_.eval_batch_size,
                              [&](int64_t done, int64_t total) { observer.on_evaluation(done, total); });
  m.test_loss = last_evaluation_.loss;
  m.test_correct = last_evaluation_.correct;
  m.test_total = last_evaluation_.total;
  if (validation_.size() > 0) {
    const EvalResult v = evaluate(*network_, validation_, augmenter_, config_.eval_batch_size,
                                  [&](int64_t done, int64_t total) { observer.on_evaluation(done, total); });
    m.val_loss = v.loss;
    m.val_correct = v.correct;
    m.val_total = v.total;
  }
  m.seconds = elapsed();
  return m;
}

void Trainer::throw_diverged(int64_t epoch, int64_t batch_index, int64_t batches, double loss) const {
  std::ostringstream message;
  const char* value = std::isnan(loss) ? "NaN" : loss > 0 ? "+inf" : "-inf";
  message << "training diverged: the loss is " << value << " at epoch " << epoch + 1 << ", batch " << batch_index + 1
          << " of " << batches << "; stopped before that update. ";
  if (epochs_done_ == 0 || run_directory_.empty())
    message << "No epoch had finished, so no checkpoint was written.";
  else
    message << "The last good checkpoint, after epoch " << epochs_done_
            << ", is kept: " << (run_directory_ / kLastCheckpoint).string() << " (--resume continues from it).";
  throw Error(message.str());
}

Checkpoint Trainer::make_checkpoint() {
  Checkpoint c;
  c.config = config_;
  c.epochs_done = epochs_done_;
  c.epoch_in_progress = epoch_in_progress_;
  c.best_test_accuracy = best_test_accuracy_;
  c.best_epoch = best_epoch_;
  c.training_steps = network_->training_steps();
  for (const EpochMetrics& m : history_) (c.metrics_jsonl += to_json_line(m)) += '\n';
  c.tensors = capture_tensors(context_, *network_, optimizer_.get());
  if (average_) {
    std::vector<NamedValues> averages = average_->capture(context_);
    std::move(averages.begin(), averages.end(), std::back_inserter(c.tensors));
  }
  return c;
}

void Trainer::save(bool new_best) {
  if (run_directory_.empty()) return;
  const Checkpoint checkpoint = make_checkpoint();
  // Best, then last, then metrics. Interrupted between any two, best.s8ckpt is never behind what
  // last.s8ckpt records as best (at worst it holds the epoch --resume trains again and rewrites),
  // and metrics.jsonl never runs ahead of what --resume restores; resume repairs what lags.
  if (new_best) save_checkpoint(run_directory_ / kBestCheckpoint, checkpoint);
  save_checkpoint(run_directory_ / kLastCheckpoint, checkpoint);
  write_file_atomically(run_directory_ / kMetricsFile, checkpoint.metrics_jsonl);
}

TrainStatus Trainer::run(TrainObserver& observer, std::optional<int64_t> until_epoch) {
  const int64_t last = std::min(config_.epochs, until_epoch.value_or(config_.epochs));
  while (epochs_done_ < last) {
    const std::optional<EpochMetrics> trained = train_epoch(epochs_done_, observer);
    if (!trained) return TrainStatus::stopped;
    const EpochMetrics& m = *trained;
    ++epochs_done_;
    history_.push_back(m);
    const bool new_best = m.selection_accuracy() > best_test_accuracy_;
    if (new_best) {
      best_test_accuracy_ = m.selection_accuracy();
      best_epoch_ = m.epoch;
    }
    save(new_best);
    observer.on_epoch(m, new_best);
    // Asked of every rank together, as after each step: one rank alone stopping would leave the
    // others waiting for it in the next step.
    if (epochs_done_ < last &&
        ranks_agree_to_stop(observer.stop_requested(), "after epoch", static_cast<uint64_t>(epochs_done_)))
      return TrainStatus::stopped;
  }
  return TrainStatus::finished;
}

}  // namespace s8net
