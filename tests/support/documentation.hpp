// Snippets of the project's documentation (README.md and docs/), so that tests run what a reader
// copies from it.
#pragma once

#include "support/app_runner.hpp"

#include <filesystem>
#include <string>

namespace s8net::test {

// The text of a documentation file, `document` relative to the source tree ("docs/library.md").
inline std::string documentation_text(const std::string& document) {
  return text_of(std::filesystem::path(S8NET_SOURCE_DIR) / document);
}

// The body of the first ```<language> fenced block after the line `heading` of `document` ("" if
// none).
inline std::string documentation_block_after(const std::string& document, const std::string& heading,
                                             const std::string& language) {
  const std::string text = "\n" + documentation_text(document);
  const size_t section = text.find("\n" + heading + "\n");
  if (section == std::string::npos) return {};
  const std::string fence = "\n```" + language + "\n";
  const size_t open = text.find(fence, section);
  if (open == std::string::npos) return {};
  const size_t body = open + fence.size();
  const size_t close = text.find("\n```", body - 1);
  return close == std::string::npos ? std::string() : text.substr(body, close + 1 - body);
}

// The first line of `document` that starts with `start` ("" if none).
inline std::string documentation_line_starting(const std::string& document, const std::string& start) {
  const std::string text = "\n" + documentation_text(document);
  const size_t at = text.find("\n" + start);
  if (at == std::string::npos) return {};
  const size_t end = text.find('\n', at + 1);
  return text.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

}  // namespace s8net::test
