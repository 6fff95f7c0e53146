#include "html.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/format.hpp>
#include <s8net/report/figures.hpp>
#include <s8net/report/run_report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace s8net::report {
namespace {

namespace fs = std::filesystem;

// A running training's page reloads itself this often (an epoch takes about half a minute).
constexpr int kRefreshSeconds = 30;
constexpr int kMisclassifiedShown = 20;
constexpr int kSamplesShown = 32;

std::string percent(double value) { return format_number("%.2f%%", value); }

std::string card(const std::string& value, const std::string& label) {
  return "<div class=\"card\"><div class=\"value\">" + html::escape(value) + "</div><div class=\"label\">" +
         html::escape(label) + "</div></div>\n";
}

std::string schedule_text(const ScheduleConfig& s) {
  switch (s.kind) {
    case ScheduleKind::seed:
      return "seed: linear over epoch:LR points " + format_schedule_points(s.points) + ", constant within an epoch";
    case ScheduleKind::onecycle:
      return "onecycle: max LR " + format_number("%g", s.learning_rate) + ", rising for " +
             format_number("%g", 100 * s.pct_start) + "% of the steps, div factor " +
             format_number("%g", s.div_factor) + ", final div factor " + format_number("%g", s.final_div_factor) +
             (s.cycle_momentum ? ", momentum cycled " + format_number("%g", s.max_momentum) + " -> " +
                                     format_number("%g", s.base_momentum)
                               : std::string());
    case ScheduleKind::cosine:
      return "cosine: " + format_number("%g", s.learning_rate) + " -> " + format_number("%g", s.min_learning_rate);
    case ScheduleKind::step:
      return "step: " + format_number("%g", s.learning_rate) + ", times " + format_number("%g", s.gamma) + " every " +
             std::to_string(s.step_size) + " epochs";
    case ScheduleKind::constant:
      return "constant: " + format_number("%g", s.learning_rate);
  }
  return name_of(s.kind);
}

std::string augmentation_text(const TrainConfig& c) {
  if (!c.augment) return "off (normalization only)";
  const AugmentOptions& a = c.augment_options;
  return "shift-scale-rotate with p " + format_number("%g", a.shift_scale_rotate_probability) + " (shift up to " +
         format_number("%g", 100 * a.shift_limit) + "%, scale +-" + format_number("%g", 100 * a.scale_limit) +
         "%, rotation up to " + format_number("%g", a.rotate_limit_degrees) + " degrees); brightness/contrast with p " +
         format_number("%g", a.brightness_contrast_probability) + " (brightness +-" +
         format_number("%g", a.brightness_limit) + ", contrast +-" + format_number("%g", a.contrast_limit) + ")" +
         (a.crop_padding > 0 ? "; random crop with padding " + std::to_string(a.crop_padding) : "") +
         (a.flip_probability > 0 ? "; horizontal flip with p " + format_number("%g", a.flip_probability) : "");
}

std::string epoch_table(const std::vector<EpochMetrics>& history) {
  const bool validation = !history.empty() && history.back().has_validation();
  std::vector<std::string> columns = {"epoch",     "LR",        "time",         "train loss", "train correct",
                                      "train acc", "test loss", "test correct", "test acc"};
  if (validation) columns.insert(columns.end(), {"val loss", "val acc"});
  html::Table table(columns, std::vector<bool>(columns.size(), true));
  const EpochMetrics* best = history.empty() ? nullptr : &best_epoch(history);
  for (const EpochMetrics* m = history.data(); m != history.data() + history.size(); ++m) {
    std::vector<std::string> row = {std::to_string(m->epoch),
                                    format_number("%.6f", m->learning_rate),
                                    format_number("%.1f s", m->seconds),
                                    format_number("%.4f", m->train_loss),
                                    with_thousands(m->train_correct) + "/" + with_thousands(m->train_total),
                                    percent(m->train_accuracy()),
                                    format_number("%.4f", m->test_loss),
                                    with_thousands(m->test_correct) + "/" + with_thousands(m->test_total),
                                    percent(m->test_accuracy())};
    if (validation) row.insert(row.end(), {format_number("%.4f", m->val_loss), percent(m->val_accuracy())});
    table.row(row, m == best);
  }
  return table.str();
}

std::string results_cards(const RunSnapshot& run) {
  if (run.history.empty()) return "<p>No epoch finished yet.</p>\n";
  const EpochMetrics& last = run.history.back();
  const EpochMetrics& best = best_epoch(run.history);
  double seconds = 0;
  for (const EpochMetrics& m : run.history) seconds += m.seconds;
  return "<div class=\"cards\">\n" +
         card(percent(last.test_accuracy()), "test accuracy, epoch " + std::to_string(last.epoch)) +
         (best.has_validation()
              ? card(percent(best.test_accuracy()), "test accuracy of the best epoch on validation (epoch " +
                                                        std::to_string(best.epoch) + ", validation " +
                                                        percent(best.val_accuracy()) + ", best.s8ckpt)")
              : card(percent(best.test_accuracy()),
                     "best test accuracy (epoch " + std::to_string(best.epoch) + ", best.s8ckpt)")) +
         card(percent(last.train_accuracy()), "training accuracy, epoch " + std::to_string(last.epoch)) +
         card(format_number("%.4f", last.test_loss), "test loss") +
         card(format_number("%.1f s", median_epoch_seconds(run.history)), "epoch time (median)") +
         card(with_thousands(std::llround(median_training_images_per_second(run.history))) + " img/s",
              "training throughput (median epoch)") +
         card(format_duration(seconds), "time so far") + "</div>\n";
}

std::string model_table(const RunSnapshot& run) {
  html::Table table({"layer", "op", "output", "params"}, {false, false, true, true});
  for (const LayerSummary& l : run.layers)
    table.row({l.name, l.op,
               std::to_string(l.output[0]) + " x " + std::to_string(l.output[1]) + " x " + std::to_string(l.output[2]),
               with_thousands(l.params)});
  table.row({"total", "", "", with_thousands(run.parameter_count)}, true);
  return table.str();
}

std::string settings_table(const RunSnapshot& run) {
  html::Table table({"setting", "value"});
  for (const auto& [name, value] : describe(run.config)) table.row({name, value});
  if (!run.norm_origin.empty()) table.row({"plugin", run.norm_origin});
  if (!run.layout.empty()) table.row({"activation layout used", run.layout});
  return table.str();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> describe(const TrainConfig& c) {
  std::string norm = c.norm;
  for (const auto& [option, value] : c.norm_options) norm += " " + option + "=" + format_number("%g", value);
  std::vector<std::pair<std::string, std::string>> rows = {
      {"base recipe", c.recipe},
      {"normalization", norm},
      {"epochs", std::to_string(c.epochs)},
      {"batch size", std::to_string(c.batch_size)},
      {"learning rate", schedule_text(c.schedule)},
      {"optimizer", "SGD, momentum " + format_number("%g", c.sgd.momentum) + (c.sgd.nesterov ? " (Nesterov)" : "") +
                        ", weight decay " + format_number("%g", c.sgd.weight_decay) +
                        (c.sgd.decay_conv_weights_only ? " (convolution weights only)" : "")},
      {"weight average",
       c.ema_decay > 0 ? "EMA with decay " + format_number("%g", c.ema_decay) + " (evaluated and saved)" : "off"},
      {"augmentation", augmentation_text(c)},
      {"label smoothing", c.label_smoothing > 0 ? format_number("%g", c.label_smoothing) : "off"},
      {"dropout", format_number("%g", c.dropout) + " after each max-pool"},
      {"seed", std::to_string(c.seed)},
      {"training images", c.limit_train > 0 ? "the first " + with_thousands(c.limit_train) : "all"},
      {"test images", c.limit_test > 0 ? "the first " + with_thousands(c.limit_test) : "all"},
      {"layout requested", c.layout ? std::string(name_of(*c.layout)) : "auto (the widest all-JIT block on this CPU)"}};
  return rows;
}

std::string run_name_of(const fs::path& directory) {
  const fs::path normal = directory.lexically_normal();
  return (normal.filename().empty() ? normal.parent_path() : normal).filename().string();
}

void add_network_summary(RunSnapshot& run, const S8Network& network) {
  run.layers = network.summary();
  run.parameter_count = network.parameter_count();
  run.norm_origin = network.norm_origin();
  run.layout = std::string(name_of(network.layout()));
}

RunSnapshot snapshot_of(Trainer& trainer, std::string name) {
  RunSnapshot run;
  run.name = std::move(name);
  run.config = trainer.config();
  run.history = trainer.history();
  run.epochs_done = trainer.epochs_done();
  add_network_summary(run, trainer.network());
  run.train = &trainer.train_data();
  run.test = &trainer.test_data();
  if (!trainer.last_evaluation().predictions.empty() && !run.history.empty()) {
    run.evaluation = &trainer.last_evaluation();
    run.evaluated = "epoch " + std::to_string(run.history.back().epoch);
  }
  return run;
}

std::vector<fs::path> write_run_report(const fs::path& directory, const RunSnapshot& run) {
  s8net::create_directories(directory);
  std::vector<fs::path> written;
  auto save = [&](const char* file, const RgbImage& image) {
    write_png(directory / file, image);
    written.push_back(directory / file);
  };
  const bool running = run.epochs_done < run.config.epochs;
  const std::string progress = std::to_string(run.epochs_done) + " of " + std::to_string(run.config.epochs) + " epochs";

  std::string page = html::page_start("s8net run " + run.name, running ? kRefreshSeconds : 0);
  page += "<h1>s8net run " + html::escape(run.name) + "</h1>\n<p class=\"subtitle\">" + html::escape(run.config.norm) +
          " on CIFAR-10, " + html::escape(progress) +
          (running ? " (training: this page reloads every " + std::to_string(kRefreshSeconds) + " s)" : ", finished") +
          (run.parameter_count ? ", " + with_thousands(run.parameter_count) + " parameters" : "") + "</p>\n";
  page += "<h2>Results</h2>\n" + results_cards(run);

  std::string curves_title = run.name == run.config.norm ? run.name : run.name + " (" + run.config.norm + ")";
  curves_title += ", " + progress;
  if (!run.history.empty())
    curves_title += ": test accuracy " + percent(run.history.back().test_accuracy()) + ", best " +
                    percent(best_epoch(run.history).test_accuracy()) + " (epoch " +
                    std::to_string(best_epoch(run.history).epoch) +
                    (run.history.back().has_validation() ? ", chosen on validation)" : ")");
  save(kCurvesFile, draw_training_curves(run.history, run.config.epochs, curves_title));
  page += html::figure(kCurvesFile, "Learning rate, loss and accuracy per epoch");
  page += "<h2>Epochs</h2>\n" + epoch_table(run.history);

  if (run.evaluation && run.test) {
    page += "<h2>Test set, " + html::escape(run.evaluated) + "</h2>\n";
    save(kConfusionFile, draw_confusion_matrix(run.evaluation->confusion, "Confusion matrix: " + run.name + ", " +
                                                                              run.evaluated + ", test accuracy " +
                                                                              percent(run.evaluation->accuracy())));
    page += html::figure(kConfusionFile, "Confusion matrix of the test set (rows: true class, columns: predicted)");
    save(kMisclassifiedFile,
         draw_misclassified(*run.test, *run.evaluation, kMisclassifiedShown, run.name + ", " + run.evaluated));
    page += html::figure(kMisclassifiedFile, "Misclassified test images the network was surest of");
  }
  if (run.train && run.test) {
    page += "<h2>Data</h2>\n";
    if (run.redraw_data_pictures || !fs::exists(directory / kClassCountsFile) ||
        !fs::exists(directory / kSamplesFile)) {
      save(kClassCountsFile, draw_class_counts(*run.train, *run.test));
      save(kSamplesFile, draw_training_samples(*run.train, run.config, kSamplesShown));
    }
    page += html::figure(kClassCountsFile, "Images per class");
    page += html::figure(kSamplesFile, "The first training images of epoch 1, augmented as the network saw them");
  }
  page += "<h2>Configuration</h2>\n" + settings_table(run);
  if (!run.layers.empty()) page += "<h2>Model</h2>\n" + model_table(run);
  page += html::page_end();
  write_file_atomically(directory / kReportFile, page);
  written.push_back(directory / kReportFile);
  return written;
}

}  // namespace s8net::report
