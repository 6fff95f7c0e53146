// s8net predict: the most likely classes of PNG or JPEG images, with a checkpoint.
#include "commands.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/data/augment.hpp>
#include <s8net/data/dataset.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/train/network_state.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace s8net::app {

namespace {

// A file name as one line of output: control characters (a newline in a name) as \xHH.
std::string one_line(const std::string& name) {
  std::string text;
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      text += c;
      continue;
    }
    char escaped[8];
    std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
    text += escaped;
  }
  return text;
}

}  // namespace

int run_predict(int argc, char** argv) {
  std::string checkpoint_path;
  std::vector<std::string> images, plugin_dirs;
  int top = 3;
  po::options_description options(
      "s8net predict: top classes of images (PNG or JPEG; other sizes than 32x32 are shrunk or grown to it)\n"
      "usage: s8net predict --checkpoint FILE IMAGE...");
  // clang-format off
  options.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint_path)->required(), "a .s8ckpt file written by s8net train")
      ("image", po::value(&images)->required(), "image files (the bare arguments)")
      ("top", po::value(&top)->default_value(3), "how many classes to show per image (1-10)")
      ("plugin-dir", po::value(&plugin_dirs)->composing(), "extra plugin directory or file (repeatable)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("image", -1);
  if (!parse_command_line(argc, argv, options, nullptr, &positional)) return 0;
  if (top < 1 || top > kClassCount) throw po::error("--top must be in 1-10, got " + std::to_string(top));

  // Every image is decoded before the network is built: a bad file fails fast and alone.
  std::vector<float> batch(images.size() * kImageBytes);
  const Checkpoint checkpoint = load_checkpoint(checkpoint_path);
  const Augmenter augmenter(checkpoint.config.augment_options);
  for (size_t i = 0; i < images.size(); ++i) {
    const RgbImage image = resize_area(
        decode_image(read_file_bytes(images[i], kMaxImageFileBytes, "an image"), images[i]), kImageSide, kImageSide);
    augmenter.apply(to_planar(image), false, 0, std::span(batch).subspan(i * kImageBytes, kImageBytes));
  }
  Context context;
  const auto registry = load_plugins(context, plugin_dirs);
  const auto network = network_from_checkpoint(context, *registry, checkpoint, checkpoint_path);
  const std::vector<int32_t> no_labels(images.size(), 0);  // evaluate() wants labels; the loss is ignored
  network->evaluate(batch, no_labels);
  const auto log_p = network->log_probabilities();
  for (size_t i = 0; i < images.size(); ++i) {
    const float* row = log_p.data() + i * kClassCount;
    std::vector<int> order(kClassCount);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](int a, int b) { return row[a] > row[b]; });
    std::printf("%s:", one_line(images[i]).c_str());
    for (int k = 0; k < top; ++k)
      std::printf("%s %s %.1f%%", k ? "," : "",
                  std::string(kClassNames[static_cast<size_t>(order[static_cast<size_t>(k)])]).c_str(),
                  100.0 * std::exp(static_cast<double>(row[order[static_cast<size_t>(k)]])));
    std::printf("\n");
  }
  return 0;
}

}  // namespace s8net::app
