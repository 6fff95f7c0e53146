#include <s8net/core/format.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace s8net {

std::string with_thousands(int64_t value) {
  const bool negative = value < 0;
  const std::string digits = std::to_string(negative ? -value : value);
  std::string out = negative ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_duration(double seconds) {
  const auto total = static_cast<long>(std::lround(std::max(0.0, seconds)));
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  return text;
}

std::string format_number(const char* printf_format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, printf_format, value);
  return text;
}

std::string round_trip_text(double value) {
  // Fixed notation, as a person writes rates ("0.0002", not "2e-04"); still the shortest that reads back.
  char text[400];
  return {text, std::to_chars(text, text + sizeof text, value, std::chars_format::fixed).ptr};
}

}  // namespace s8net
