// The last step of `s8net study --tta VIEWS`: each finished run's last checkpoint evaluated once on
// the test set with those test-time views, the result kept in its run directory
// (study::kTestTimeViewsFile), so that running the same study again does not evaluate it again.
#pragma once

#include "interrupt.hpp"

#include <s8net/core/context.hpp>
#include <s8net/study/aggregate.hpp>
#include <s8net/train/evaluate.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace s8net::app {

// Evaluates the finished rows that collect_rows found no record of `views` for, one after another,
// and fills in their accuracy; returns false when an interrupt stopped it (the runs done so far
// keep their files).
bool evaluate_with_views(Context& context, const std::vector<std::string>& plugin_dirs, const std::string& data_path,
                         const std::filesystem::path& study, std::vector<study::StudyRow>& rows,
                         const TestTimeAugmentation& views, const InterruptRequest& interrupt);

}  // namespace s8net::app
