// Number formatting shared by messages, tables and reports.
#pragma once

#include <cstdint>
#include <string>

namespace s8net {

// 48178 -> "48,178"
std::string with_thousands(int64_t value);
// 75.3 seconds -> "1:15"; 3,700 -> "1:01:40"
std::string format_duration(double seconds);
// One number through a printf format with a single double conversion: ("%.2f%%", 97.5) -> "97.50%".
std::string format_number(const char* printf_format, double value);
// The shortest fixed-point text that reads back as exactly `value`: 0.0002 -> "0.0002",
// 1.0 / 3 -> "0.3333333333333333".
std::string round_trip_text(double value);

}  // namespace s8net
