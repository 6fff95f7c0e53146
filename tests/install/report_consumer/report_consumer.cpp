// Uses libs8net_report as a project outside the s8net tree would: a bar figure of two runs' final
// accuracies, written as a PNG and read back with the core's decoder.
//   report_consumer OUTPUT.png
#include <s8net/data/image_codec.hpp>
#include <s8net/report/bar_figure.hpp>
#include <s8net/report/figures.hpp>

#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: report_consumer OUTPUT.png\n");
    return 2;
  }
  const s8net::report::BarPanel panels[] = {
      {"Final test accuracy", "accuracy (%)", {"bn", "gn"}, {"final"}, {{71.5, 69.25}}, {}}};
  const s8net::RgbImage figure = s8net::report::draw_bar_figure("Two runs", panels, 640, 360);
  s8net::report::write_png(argv[1], figure);

  std::ifstream file(argv[1], std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const s8net::RgbImage read = s8net::decode_image(bytes, argv[1]);
  std::printf("figure %dx%d, %zu bytes\n", read.width, read.height, bytes.size());
  return read.width == 640 && read.height == 360 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "report_consumer: %s\n", e.what());
  return 1;
}
