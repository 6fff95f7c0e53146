// PNG import against PIL, the reference the project's data sets were made with: every fixture of
// tests/data/png_pil (each colour type and bit depth, palettes with and without tRNS, gAMA 1.0
// and sRGB tags, Adam7) decodes to exactly the pixels of Image.open(png).convert("RGB"), which
// make_fixtures.py saved beside it as a PPM.
#include <s8net/core/atomic_file.hpp>
#include <s8net/data/image_codec.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;

const fs::path kFixtures = fs::path(S8NET_SOURCE_DIR) / "tests" / "data" / "png_pil";

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  std::ifstream list(kFixtures / "cases.txt");
  for (std::string name; std::getline(list, name);)
    if (!name.empty()) names.push_back(name);
  return names;
}

// A binary PPM (P6, maxval 255) as PIL writes it: the header's three numbers, one whitespace byte, the pixels.
RgbImage read_ppm(const fs::path& file) {
  const std::vector<uint8_t> bytes = read_file_bytes(file);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::string magic;
  int maxval = 0;
  RgbImage image;
  in >> magic >> image.width >> image.height >> maxval;
  if (magic != "P6" || maxval != 255) throw std::runtime_error(file.string() + ": not an 8-bit P6 PPM");
  const auto start = static_cast<size_t>(in.tellg()) + 1;
  image.pixels.assign(bytes.begin() + static_cast<std::ptrdiff_t>(start), bytes.end());
  return image;
}

class PngAgainstPil : public ::testing::TestWithParam<std::string> {};

TEST_P(PngAgainstPil, DecodesToThePixelsOfPilsConvertRgb) {
  const std::string name = GetParam();
  const RgbImage expected = read_ppm(kFixtures / (name + ".ppm"));
  const RgbImage actual = decode_image(read_file_bytes(kFixtures / (name + ".png")), name + ".png");
  ASSERT_EQ(actual.width, expected.width);
  ASSERT_EQ(actual.height, expected.height);
  ASSERT_EQ(actual.pixels.size(), expected.pixels.size());
  for (size_t i = 0; i < expected.pixels.size(); ++i)
    ASSERT_EQ(int(actual.pixels[i]), int(expected.pixels[i]))
        << name << ": pixel (" << i / 3 % static_cast<size_t>(expected.width) << ", "
        << i / 3 / static_cast<size_t>(expected.width) << ") channel " << i % 3;
}

std::string fixture_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Fixtures, PngAgainstPil, ::testing::ValuesIn(case_names()), fixture_name);

TEST(PngAgainstPilFixtures, AreAllThere) { EXPECT_GE(case_names().size(), 20u); }

}  // namespace
