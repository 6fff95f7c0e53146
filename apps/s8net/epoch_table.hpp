// The per-epoch table with the original work's columns.
#pragma once

#include <s8net/train/trainer.hpp>

#include <string>

namespace s8net::app {

std::string epoch_table_header(bool validation);
std::string epoch_table_row(const EpochMetrics& metrics, bool new_best);

}  // namespace s8net::app
