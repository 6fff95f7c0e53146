// The measures the study report tabulates per (norm, batch) cell, with the words that say where
// each number comes from, shared by summary.md, study.json and study.html so that they agree.
#pragma once

#include "study_cells.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace s8net::study {

struct CellMetric {
  std::string key;     // in study.json and study.csv: "final_test_acc"
  std::string title;   // a table's heading
  std::string source;  // which split and which epoch the number is taken from
  std::function<std::optional<Summary>(const StudyCell&)> summary_of;
  std::function<std::string(double)> format;
};

// Final test accuracy and training throughput, test accuracy at the best validation epoch when
// any run held out a validation split, and with test-time views when any run was evaluated so.
std::vector<CellMetric> metrics_of(const std::vector<StudyCell>& cells);

// The cells of a summary table: n, mean, sd, 95% CI ("[low, high]"); a dash where a cell has too
// few values for the number (no mean without a run, no spread without two).
struct SummaryCells {
  std::string count, mean, standard_deviation, interval;
};
SummaryCells summary_cells(const std::optional<Summary>& summary, const std::function<std::string(double)>& format);

std::string percent(double value);  // 72.004 -> "72.00"

}  // namespace s8net::study
