// Grids of enlarged CIFAR images with a caption above each: misclassified test images and
// augmented training samples.
#include "canvas.hpp"
#include "plot.hpp"

#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/batch_loader.hpp>
#include <s8net/report/figures.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace s8net::report {
namespace {

struct GridImage {
  std::vector<uint8_t> planar;  // 3 x 32 x 32
  std::string caption;
  Colour colour = colours::text;
};

RgbImage draw_grid(const std::string& title, const std::string& subtitle, const std::vector<GridImage>& images,
                   int columns, int side, double column_width, Font caption_font) {
  const int rows = std::max<int>(
      1, static_cast<int>((images.size() + static_cast<size_t>(columns) - 1) / static_cast<size_t>(columns)));
  const double caption_height = caption_font.size + 10, row_height = side + caption_height + 12, margin = 16;
  const int width = static_cast<int>(std::lround(2 * margin + column_width * columns));
  const int height = static_cast<int>(std::lround(44 + (subtitle.empty() ? 0 : 22) + row_height * rows + margin));
  Canvas canvas(width, height);
  const double top = draw_figure_title(canvas, title, subtitle) + 10;
  const double left = (canvas.width() - column_width * columns) / 2;
  for (size_t i = 0; i < images.size(); ++i) {
    const double x = left + column_width * static_cast<double>(i % static_cast<size_t>(columns));
    const double y = top + row_height * static_cast<double>(i / static_cast<size_t>(columns));
    canvas.text(canvas.fit_text(images[i].caption, column_width - 4, caption_font), x + column_width / 2, y + 2,
                HAlign::centre, VAlign::top, caption_font, images[i].colour);
    const Rect picture{x + (column_width - side) / 2, y + caption_height, static_cast<double>(side),
                       static_cast<double>(side)};
    canvas.image(images[i].planar, static_cast<int>(kImageSide), picture);
    canvas.outline({picture.x - 0.5, picture.y - 0.5, picture.width + 1, picture.height + 1}, Colour::rgb(0xbbbbbb));
  }
  return canvas.to_rgb();
}

std::string class_name(int label) { return std::string(kClassNames[static_cast<size_t>(label)]); }

// One decimal: a confident mistake at 99.6% must not read "100%".
std::string confidence_text(float probability) {
  return format_number("%.1f%%", 100.0 * static_cast<double>(probability));
}

}  // namespace

std::vector<int64_t> surest_mistakes(const Dataset& test, const EvalResult& evaluation, size_t count) {
  if (static_cast<int64_t>(evaluation.predictions.size()) != test.size() ||
      evaluation.confidences.size() != evaluation.predictions.size())
    throw Error("misclassified images: the evaluation has " + std::to_string(evaluation.predictions.size()) +
                " predictions for " + std::to_string(test.size()) + " test images");
  std::vector<int64_t> wrong;
  for (int64_t i = 0; i < test.size(); ++i)
    if (evaluation.predictions[static_cast<size_t>(i)] != test.labels[static_cast<size_t>(i)]) wrong.push_back(i);
  // The most confident mistakes show what the network has really got wrong (or where a label is
  // doubtful) better than the first ones in the file.
  std::stable_sort(wrong.begin(), wrong.end(), [&](int64_t a, int64_t b) {
    return evaluation.confidences[static_cast<size_t>(a)] > evaluation.confidences[static_cast<size_t>(b)];
  });
  if (wrong.size() > count) wrong.resize(count);
  return wrong;
}

RgbImage draw_misclassified(const Dataset& test, const EvalResult& evaluation, int count, const std::string& title) {
  const std::vector<int64_t> shown = surest_mistakes(test, evaluation, static_cast<size_t>(std::max(count, 0)));
  const int64_t mistakes = evaluation.total - evaluation.correct;
  std::vector<GridImage> images;
  for (const int64_t i : shown) {
    const auto image = test.image(i);
    images.push_back({std::vector<uint8_t>(image.begin(), image.end()),
                      class_name(test.labels[static_cast<size_t>(i)]) + "/" +
                          class_name(evaluation.predictions[static_cast<size_t>(i)]) + " " +
                          confidence_text(evaluation.confidences[static_cast<size_t>(i)])});
  }
  return draw_grid(title.empty() ? "Misclassified test images" : "Misclassified test images: " + title,
                   "the " + std::to_string(shown.size()) + " the network was surest of, out of " +
                       with_thousands(mistakes) + " mistakes on the test set (true/predicted, confidence)",
                   images, 5, 128, 184, {12, false});
}

RgbImage draw_training_samples(const Dataset& train, const TrainConfig& config, int count) {
  if (train.size() == 0 || count <= 0) throw Error("training samples: no images to show");
  const Augmenter augmenter(config.augment_options);
  LoaderOptions options;
  options.batch_size = std::min<int64_t>(count, train.size());
  options.augment = config.augment;
  options.seed = config.seed;
  options.prefetch = false;
  BatchLoader loader(train, augmenter, options);
  loader.start_epoch(0);
  const Batch& batch = *loader.next();
  const Normalization& n = augmenter.normalization();
  std::vector<GridImage> images;
  for (int64_t i = 0; i < batch.size(); ++i) {
    GridImage image{std::vector<uint8_t>(static_cast<size_t>(kImageBytes)),
                    class_name(batch.labels[static_cast<size_t>(i)])};
    // Back from the normalized floats the network gets to displayable pixels.
    for (int64_t j = 0; j < kImageBytes; ++j) {
      const auto c = static_cast<size_t>(j / kImagePlane);
      const float v = batch.images[static_cast<size_t>(i * kImageBytes + j)] * n.std[c] + n.mean[c];
      image.planar[static_cast<size_t>(j)] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
    }
    images.push_back(std::move(image));
  }
  return draw_grid("Training samples as the network saw them in epoch 1",
                   std::string("the first ") + std::to_string(images.size()) + " of the shuffled epoch, " +
                       (config.augment ? "augmented (seed " + std::to_string(config.seed) + ")" : "not augmented"),
                   images, 8, 96, 112, {12, false});
}

}  // namespace s8net::report
