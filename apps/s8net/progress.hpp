// One status line on the terminal, redrawn in place (at most ten times a second). When stderr is
// not a terminal (a log file), nothing is drawn: the per-epoch lines are the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace s8net::app {

class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Redraws unless the last redraw was under 0.1 s ago (force: always).
  void show(const std::string& text, bool force = false);
  // Erases the line so normal output can follow.
  void clear();
  bool enabled() const noexcept { return enabled_; }

 private:
  bool enabled_;
  bool visible_ = false;
  std::chrono::steady_clock::time_point last_;
};

// "[#########.........]" of `width` characters for done/total.
std::string progress_bar(int64_t done, int64_t total, int width);
// "LABEL [####......] 1,024/10,000"
std::string count_progress(const std::string& label, int64_t done, int64_t total);
// A (done, total) callback (image import, evaluation) that draws count_progress on `line`.
std::function<void(int64_t, int64_t)> counting_progress(ProgressLine& line, std::string label);

}  // namespace s8net::app
