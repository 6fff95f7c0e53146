// Where the test-only plugins of tests/plugins land: one directory per case under
// S8NET_TEST_PLUGIN_DIR, each holding exactly one file.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace s8net::test {

inline std::filesystem::path test_plugin_dir(const std::string& test_case) {
  return std::filesystem::path(S8NET_TEST_PLUGIN_DIR) / test_case;
}

// The one file of a case's directory.
inline std::filesystem::path only_file_in(const std::string& test_case) {
  for (const auto& entry : std::filesystem::directory_iterator(test_plugin_dir(test_case))) return entry.path();
  ADD_FAILURE() << "no file in " << test_plugin_dir(test_case);
  return {};
}

}  // namespace s8net::test
