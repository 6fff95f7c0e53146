// Snippets of the project's README.md, so that tests run what a reader copies from it.
#pragma once

#include "support/app_runner.hpp"

#include <filesystem>
#include <string>

namespace s8net::test {

inline std::string readme_text() { return text_of(std::filesystem::path(S8NET_SOURCE_DIR) / "README.md"); }

// The body of the first ```<language> fenced block after the line `heading` ("" if none).
inline std::string readme_block_after(const std::string& heading, const std::string& language) {
  const std::string readme = readme_text();
  const size_t section = readme.find("\n" + heading + "\n");
  if (section == std::string::npos) return {};
  const std::string fence = "\n```" + language + "\n";
  const size_t open = readme.find(fence, section);
  if (open == std::string::npos) return {};
  const size_t body = open + fence.size();
  const size_t close = readme.find("\n```", body - 1);
  return close == std::string::npos ? std::string() : readme.substr(body, close + 1 - body);
}

// The first line of README.md that starts with `start` ("" if none).
inline std::string readme_line_starting(const std::string& start) {
  const std::string readme = readme_text();
  const size_t at = readme.find("\n" + start);
  if (at == std::string::npos) return {};
  const size_t end = readme.find('\n', at + 1);
  return readme.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

}  // namespace s8net::test
