// The statistics of one (norm, batch) cell of a study over its finished seeds: what the tables
// and figures of the study report show.
#pragma once

#include <s8net/study/aggregate.hpp>

#include <optional>
#include <string>
#include <vector>

namespace s8net::study {

struct StudyCell {
  std::string norm;
  int64_t batch = 0;
  Summary final_test;                       // percent
  std::optional<Summary> test_at_best_val;  // percent; over the seeds that held out a validation split
  std::optional<Summary> test_with_views;   // percent; over the seeds evaluated with the study's --tta views
  Summary train_images_per_second;
  std::vector<double> mean_test_accuracy_per_epoch;  // over the seeds that reached each epoch
};

// The cells in the grid's order (norm-major, then batch); a cell without a finished point has
// count 0 everywhere.
std::vector<StudyCell> cells_of(const Grid& grid, const std::vector<StudyRow>& rows);

bool any_validation(const std::vector<StudyCell>& cells);
bool any_test_time_views(const std::vector<StudyCell>& cells);

}  // namespace s8net::study
