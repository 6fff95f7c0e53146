#include "progress.hpp"

#include <s8net/core/format.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace s8net::app {

ProgressLine::ProgressLine() : enabled_(::isatty(STDERR_FILENO) == 1) {}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::show(const std::string& text, bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && visible_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  visible_ = true;
}

void ProgressLine::clear() {
  if (!enabled_ || !visible_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  visible_ = false;
}

std::string progress_bar(int64_t done, int64_t total, int width) {
  const int filled = total > 0 ? static_cast<int>(std::clamp<int64_t>(done * width / total, 0, width)) : 0;
  std::string bar(static_cast<size_t>(width) + 2, '.');
  bar.front() = '[';
  bar.back() = ']';
  std::fill_n(bar.begin() + 1, filled, '#');
  return bar;
}

std::string count_progress(const std::string& label, int64_t done, int64_t total) {
  return label + " " + progress_bar(done, total, 30) + " " + with_thousands(done) + "/" + with_thousands(total);
}

std::function<void(int64_t, int64_t)> counting_progress(ProgressLine& line, std::string label) {
  return
      [&line, label = std::move(label)](int64_t done, int64_t total) { line.show(count_progress(label, done, total)); };
}

}  // namespace s8net::app
