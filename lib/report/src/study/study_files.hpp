// The text files of a study report, each built whole from the rows and cells (write_study_report
// writes them atomically).
#pragma once

#include "study_cells.hpp"

#include <s8net/study/aggregate.hpp>

#include <string>
#include <vector>

namespace s8net::study {

// One line per point in the rows' order; accuracies in percent with 2 decimals, empty cells for
// what a point that did not finish cannot have.
std::string study_csv(const std::vector<StudyRow>& rows);
// The grid, the rows (numbers unrounded, null where absent) and the summaries per cell.
std::string study_json(const Grid& grid, const std::vector<StudyRow>& rows, const std::vector<StudyCell>& cells);
// A table per measure and the points that failed or did not run, with their reasons.
std::string summary_markdown(const Grid& grid, const std::vector<StudyRow>& rows, const std::vector<StudyCell>& cells);
// The tables of summary.md, every row and the figures on one page.
std::string study_page(const Grid& grid, const std::vector<StudyRow>& rows, const std::vector<StudyCell>& cells);

// What the text files say about the grid and the statistics, so that they say it alike.
std::string describe_grid(const Grid& grid, const std::vector<StudyRow>& rows);
inline constexpr const char* kStatisticsNote =
    "n is the number of finished seeds; sd the sample standard deviation; 95% CI the confidence interval of the "
    "mean (Student's t with n - 1 degrees of freedom), a dash where n < 2.";

}  // namespace s8net::study
