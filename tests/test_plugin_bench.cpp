// `s8net plugin bench`: the table's shape (one row per norm, layer shape and pass, then one
// training-step total per norm; the plugin first, then bn and gn), not the speed it reports.
#include "support/app_runner.hpp"
#include "support/test_plugins.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace s8net {
namespace {

using test::AppRun;

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::stringstream stream(line);
  for (std::string word; stream >> word;) words.push_back(word);
  return words;
}

bool positive_number(const std::string& text) {
  try {
    size_t used = 0;
    return std::stod(text, &used) > 0 && used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

TEST(PluginBench, TimesThePluginBesideBnAndGnAtTheNetworksShapes) {
  const std::string file = test::only_file_in("affine").string();
  const AppRun r = test::run_app("plugin bench " + file + " --repetitions 1 --warmup 0 --batch 2 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(r.err, "");
  std::vector<std::string> lines;
  std::stringstream stream(r.out);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u + 3 * 9 + 3) << r.out;
  EXPECT_TRUE(lines[0].starts_with("plugin bench: affine 1.2.3 from " + file + "; ")) << lines[0];
  EXPECT_CONTAINS(lines[0], ", batch 2, 1 threads, median of 1 after 0 warm-up");
  EXPECT_EQ(words_of(lines[1]),
            (std::vector<std::string>{"norm", "layers", "shape", "pass", "ms", "images/s", "GB/s"}));

  const std::vector<std::string> norms{"affine", "bn", "gn"};
  const std::vector<std::pair<std::string, std::string>> shapes{
      {"C1-C2", "16x32x32"}, {"C3-C5", "32x16x16"}, {"C7-C9", "32x8x8"}};
  const std::vector<std::vector<std::string>> passes{{"forward", "train"}, {"forward", "eval"}, {"backward"}};
  size_t at = 2;
  for (const std::string& norm : norms)
    for (const auto& [layers, shape] : shapes)
      for (const std::vector<std::string>& pass : passes) {
        SCOPED_TRACE(lines[at]);
        const std::vector<std::string> w = words_of(lines[at++]);
        ASSERT_EQ(w.size(), 6 + pass.size());
        EXPECT_EQ(w[0], norm);
        EXPECT_EQ(w[1], layers);
        EXPECT_EQ(w[2], shape);
        EXPECT_EQ(std::vector<std::string>(w.begin() + 3, w.begin() + 3 + static_cast<long>(pass.size())), pass);
        for (size_t i = 3 + pass.size(); i < w.size(); ++i) EXPECT_TRUE(positive_number(w[i])) << w[i];
      }
  for (const std::string& norm : norms) {
    SCOPED_TRACE(lines[at]);
    const std::vector<std::string> w = words_of(lines[at++]);
    ASSERT_EQ(w.size(), 8u);
    EXPECT_EQ(std::vector<std::string>(w.begin(), w.begin() + 6),
              (std::vector<std::string>{norm, "C1-C9", "8", "layers", "train", "step"}));
    EXPECT_TRUE(positive_number(w[6])) << w[6];
    EXPECT_TRUE(positive_number(w[7])) << w[7];
  }
}

TEST(PluginBench, BadCommandLinesAreUsageErrors) {
  const std::string file = test::only_file_in("affine").string();
  for (const std::string& arguments :
       std::vector<std::string>{"plugin bench", "plugin bench " + file + " --threads -1",
                                "plugin bench " + file + " --repetitions 0", "plugin bench " + file + " --batch x"}) {
    SCOPED_TRACE(arguments);
    const AppRun r = test::run_app(arguments);
    EXPECT_EQ(r.exit_code, 2) << r.all();
    EXPECT_EQ(r.out, "");
  }
  const AppRun missing = test::run_app("plugin bench " + file + ".missing");
  EXPECT_EQ(missing.exit_code, 1) << missing.all();
  EXPECT_CONTAINS(missing.err, file + ".missing: no such file");
}

}  // namespace
}  // namespace s8net
