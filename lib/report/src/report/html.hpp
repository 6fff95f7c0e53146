// The little HTML the reports need: escaping, tables, and one page skeleton with its style, so
// report.html and compare.html look alike and stay self-contained (no scripts, no external files
// but the PNGs beside them).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace s8net::report::html {

std::string escape(std::string_view text);

// <!DOCTYPE html> ... <body> with the shared style; a page with refresh_seconds > 0 reloads itself
// (a running training's report).
std::string page_start(std::string_view title, int refresh_seconds = 0);
std::string page_end();

class Table {
 public:
  // Columns whose class is "num" are right-aligned.
  explicit Table(std::vector<std::string> header, std::vector<bool> numeric = {});
  // Cells are text (escaped here); a highlighted row is drawn bold on green (the best epoch).
  void row(const std::vector<std::string>& cells, bool highlight = false);
  std::string str() const;

 private:
  std::vector<bool> numeric_;
  std::string html_;
};

// <figure><img src="file" alt="..."><figcaption>...</figcaption></figure>
std::string figure(std::string_view file, std::string_view caption);

}  // namespace s8net::report::html
