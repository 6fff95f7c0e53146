#include "html.hpp"
#include "plot.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/report/bar_figure.hpp>
#include <s8net/report/compare.hpp>
#include <s8net/report/figures.hpp>
#include <s8net/report/run_report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

namespace s8net::report {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& file) {
  const std::vector<uint8_t> bytes = read_file_bytes(file);
  return {bytes.begin(), bytes.end()};
}

}  // namespace

RunRecord load_run(const fs::path& directory) {
  const std::string name = directory.string();
  if (!fs::exists(directory)) throw Error(name + ": no such directory");
  if (!fs::is_directory(directory)) throw Error(name + ": not a directory (expected an s8net run directory)");
  for (const char* file : {kConfigFile, kMetricsFile})
    if (!fs::exists(directory / file))
      throw Error(name + ": not an s8net run directory (no " + file + "; s8net train --out writes one)");
  RunRecord run;
  run.directory = directory;
  run.config = train_config_from_json(read_text(directory / kConfigFile), (directory / kConfigFile).string());
  run.history = epoch_history_from_jsonl(read_text(directory / kMetricsFile), (directory / kMetricsFile).string());
  if (run.history.empty()) throw Error((directory / kMetricsFile).string() + ": no finished epoch yet");
  run.label = run.config.norm;
  return run;
}

void label_runs(std::vector<RunRecord>& runs) {
  std::map<std::string, int> per_norm;
  std::map<std::pair<std::string, std::string>, int> per_norm_and_recipe;
  for (const RunRecord& r : runs) {
    ++per_norm[r.config.norm];
    ++per_norm_and_recipe[{r.config.norm, r.config.recipe}];
  }
  // Runs of one norm are told apart by their recipe when that alone differs, else by directory.
  for (RunRecord& r : runs) {
    if (per_norm[r.config.norm] == 1)
      r.label = r.config.norm;
    else if (per_norm_and_recipe[{r.config.norm, r.config.recipe}] == 1)
      r.label = r.config.norm + " (" + r.config.recipe + " recipe)";
    else
      r.label = r.config.norm + " (" + run_name_of(r.directory) + ")";
  }
}

CompareAxis parse_compare_axis(const std::string& name) {
  if (name == "epochs") return CompareAxis::epochs;
  if (name == "minutes") return CompareAxis::minutes;
  throw Error("unknown x-axis '" + name + "' (known: epochs, minutes)");
}

std::vector<double> cumulative_minutes(std::span<const EpochMetrics> history) {
  std::vector<double> minutes;
  double seconds = 0;
  for (const EpochMetrics& m : history) minutes.push_back((seconds += m.seconds) / 60);
  return minutes;
}

std::vector<CurveStyle> curve_styles(std::span<const RunRecord> runs) {
  std::map<std::string, size_t> norm_colour, runs_of_norm;
  for (const RunRecord& r : runs) {
    norm_colour.emplace(r.config.norm, norm_colour.size());
    ++runs_of_norm[r.config.norm];
  }
  const bool paired = std::ranges::all_of(runs_of_norm, [](const auto& entry) { return entry.second <= 2; }) &&
                      norm_colour.size() < runs.size();
  std::vector<CurveStyle> styles;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!paired) {
      styles.push_back({i, false});
      continue;
    }
    const std::string& norm = runs[i].config.norm;
    styles.push_back({norm_colour[norm], seen[norm]++ > 0});
  }
  return styles;
}

RgbImage draw_comparison_curves(std::span<const RunRecord> runs, CompareAxis axis) {
  Canvas canvas(1260, 480);
  // Beyond three runs the names no longer fit the title; the legends name them.
  std::string names;
  if (runs.size() > 3)
    names = std::to_string(runs.size()) + " runs";
  else
    for (const RunRecord& r : runs) names += (names.empty() ? "" : " vs ") + r.label;
  const bool by_minutes = axis == CompareAxis::minutes;
  const double top = draw_figure_title(
      canvas, std::string("Test loss and accuracy per ") + (by_minutes ? "minute" : "epoch") + ": " + names);
  std::vector<Series> loss, accuracy;
  const std::vector<CurveStyle> styles = curve_styles(runs);
  for (size_t i = 0; i < runs.size(); ++i) {
    Series l{runs[i].label, {}, {}, series_colour(styles[i].colour), styles[i].dashed}, a = l;
    const std::vector<double> minutes = cumulative_minutes(runs[i].history);
    for (size_t e = 0; e < runs[i].history.size(); ++e) {
      const EpochMetrics& m = runs[i].history[e];
      const double x = by_minutes ? minutes[e] : static_cast<double>(m.epoch);
      l.x.push_back(x), l.y.push_back(m.test_loss);
      a.x.push_back(x), a.y.push_back(m.test_accuracy());
    }
    loss.push_back(std::move(l));
    accuracy.push_back(std::move(a));
  }
  const double half = canvas.width() / 2.0, height = canvas.height() - top;
  const char* x_label = by_minutes ? "minutes (training and evaluation)" : "epoch";
  draw_line_plot(canvas, {0, top, half, height},
                 {.title = "Test loss", .x_label = x_label, .y_label = "negative log-likelihood", .x_low = 0.0}, loss);
  draw_line_plot(canvas, {half, top, half, height},
                 {.title = "Test accuracy", .x_label = x_label, .y_label = "accuracy (%)", .x_low = 0.0}, accuracy);
  return canvas.to_rgb();
}

RgbImage draw_comparison_bars(std::span<const RunRecord> runs) {
  BarPanel accuracy{"Test accuracy", "accuracy (%)", {}, {"last epoch", "best epoch"}, {{}, {}}, [](double v) {
                      return format_number("%.2f", v);
                    }};
  BarPanel speed{"Training throughput (median epoch)", "images per second", {}, {"training"}, {{}}, {}};
  for (const RunRecord& r : runs) {
    accuracy.categories.push_back(r.label);
    speed.categories.push_back(r.label);
    accuracy.values[0].push_back(r.history.back().test_accuracy());
    accuracy.values[1].push_back(best_epoch(r.history).test_accuracy());
    speed.values[0].push_back(median_training_images_per_second(r.history));
  }
  const BarPanel panels[] = {accuracy, speed};
  return draw_bar_figure("Final results", panels);
}

std::vector<fs::path> write_comparison(std::span<const RunRecord> runs, const fs::path& directory, CompareAxis axis) {
  if (runs.empty()) throw Error("compare: no runs given");
  s8net::create_directories(directory);
  write_png(directory / kCompareCurvesFile, draw_comparison_curves(runs, axis));
  write_png(directory / kCompareBarsFile, draw_comparison_bars(runs));

  html::Table results({"run", "directory", "epochs", "test acc", "test acc of the best epoch", "train acc", "test loss",
                       "epoch time (median)", "training img/s (median epoch)"},
                      {false, false, true, true, true, true, true, true, true});
  for (const RunRecord& r : runs) {
    const EpochMetrics& last = r.history.back();
    results.row(std::vector<std::string>{
        r.label, r.directory.string(), std::to_string(last.epoch) + "/" + std::to_string(r.config.epochs),
        format_number("%.2f%%", last.test_accuracy()),
        format_number("%.2f%%", best_epoch(r.history).test_accuracy()) + " (epoch " +
            std::to_string(best_epoch(r.history).epoch) +
            (last.has_validation() ? ", chosen on validation)" : ", chosen on test)"),
        format_number("%.2f%%", last.train_accuracy()), format_number("%.4f", last.test_loss),
        format_number("%.1f s", median_epoch_seconds(r.history)),
        with_thousands(std::llround(median_training_images_per_second(r.history)))});
  }
  // Settings side by side; a row whose values differ between runs is what the comparison varies.
  std::vector<std::string> header = {"setting"};
  for (const RunRecord& r : runs) header.push_back(r.label);
  html::Table settings(header);
  std::vector<std::vector<std::pair<std::string, std::string>>> described;
  for (const RunRecord& r : runs) described.push_back(describe(r.config));
  for (size_t row = 0; row < described[0].size(); ++row) {
    std::vector<std::string> cells = {described[0][row].first};
    bool differs = false;
    for (const auto& rows : described) {
      cells.push_back(rows[row].second);
      differs |= cells.back() != cells[1];
    }
    settings.row(cells, differs);
  }

  std::string page = html::page_start("s8net comparison");
  page += "<h1>s8net comparison</h1>\n<p class=\"subtitle\">" + std::to_string(runs.size()) +
          " runs; accuracies on the test set; epoch time and training throughput are medians over the epochs (an epoch "
          "slowed by other work on a shared machine does not move them)</p>\n";
  page += "<h2>Final results</h2>\n" + results.str();
  page += html::figure(kCompareCurvesFile, "Test loss and test accuracy per epoch");
  page += html::figure(kCompareBarsFile, "Final and best test accuracy; training throughput");
  page += "<h2>Settings</h2>\n<p>Rows that differ between the runs are highlighted.</p>\n" + settings.str();
  page += html::page_end();
  write_file_atomically(directory / kCompareFile, page);
  return {directory / kCompareCurvesFile, directory / kCompareBarsFile, directory / kCompareFile};
}

}  // namespace s8net::report
