// The original recipe's augmentation (docs/recipe.md) and the batch loader: exact geometry on test patterns, the
// brightness and normalization formulas (and network_input's, from interleaved RGB bytes), the draw distributions, and
// reproducibility from the seed.
#include "support/error_of.hpp"
#include "support/synthetic_data.hpp"

#include <s8net/data/augment.hpp>
#include <s8net/data/batch_loader.hpp>
#include <s8net/data/network_input.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

namespace {

using namespace s8net;

float at(const std::vector<float>& image, int64_t c, int64_t x, int64_t y) {
  return image[static_cast<size_t>(c * kImagePlane + y * kImageSide + x)];
}

std::vector<uint8_t> pattern(uint32_t seed) { return test::random_dataset(1, seed).pixels; }

std::vector<float> warped(const std::vector<uint8_t>& image, const AffineTransform& t) {
  std::vector<float> out(kImageBytes);
  shift_scale_rotate(image, t, out);
  return out;
}

TEST(ShiftScaleRotate, IdentityCopiesTheImage) {
  const auto image = pattern(1);
  const auto out = warped(image, {});
  for (size_t i = 0; i < image.size(); ++i) ASSERT_EQ(out[i], image[i]) << i;
}

TEST(ShiftScaleRotate, NinetyDegreesTurnsCounterClockwiseAboutTheCentre) {
  // About the pixel grid's centre a quarter turn maps pixels onto pixels: out(x, y) = in(31 - y, x),
  // so the top-right corner moves to the top-left.
  const auto image = pattern(2);
  const auto out = warped(image, {90, 1, 0, 0});
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < kImageSide; ++y)
      for (int64_t x = 0; x < kImageSide; ++x)
        ASSERT_NEAR(at(out, c, x, y), image[static_cast<size_t>(c * kImagePlane + x * kImageSide + (31 - y))], 1e-3)
            << c << " " << x << " " << y;
}

TEST(ShiftScaleRotate, ShiftMovesRightAndDownWithReflect101Borders) {
  const auto image = pattern(3);
  const auto out = warped(image, {0, 1, 2.0 / 32, -1.0 / 32});  // 2 right, 1 up
  auto in = [&](int64_t c, int64_t x, int64_t y) {
    return static_cast<float>(image[static_cast<size_t>(c * kImagePlane + y * kImageSide + x)]);
  };
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < kImageSide; ++y) {
      // Reflect-101 mirrors about the edge pixel: column -1 is column 1, row 32 is row 30.
      const int64_t sy = y + 1 <= 31 ? y + 1 : 30;
      EXPECT_FLOAT_EQ(at(out, c, 0, y), in(c, 2, sy));
      EXPECT_FLOAT_EQ(at(out, c, 1, y), in(c, 1, sy));
      for (int64_t x = 2; x < kImageSide; ++x) ASSERT_FLOAT_EQ(at(out, c, x, y), in(c, x - 2, sy));
    }
}

TEST(ShiftScaleRotate, ScalingInterpolatesBilinearly) {
  // Bilinear interpolation reproduces a linear ramp exactly: zooming in by 2 about the centre
  // samples the ramp at centre + (p - centre) / 2.
  std::vector<uint8_t> ramp(kImageBytes);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < kImageSide; ++y)
      for (int64_t x = 0; x < kImageSide; ++x)
        ramp[static_cast<size_t>(c * kImagePlane + y * kImageSide + x)] = static_cast<uint8_t>(4 * x + 2 * y + c);
  const auto out = warped(ramp, {0, 2, 0, 0});
  for (int64_t y = 0; y < kImageSide; ++y)
    for (int64_t x = 0; x < kImageSide; ++x) {
      const double sx = 15.5 + (static_cast<double>(x) - 15.5) / 2, sy = 15.5 + (static_cast<double>(y) - 15.5) / 2;
      ASSERT_NEAR(at(out, 1, x, y), 4 * sx + 2 * sy + 1, 1e-3) << x << " " << y;
    }
}

TEST(BrightnessContrast, IsAlphaTimesPixelPlusBetaTimes255Clipped) {
  std::vector<float> image = {0.f, 100.f, 200.f, 250.f};
  brightness_contrast(image, {1.1, 0.1});
  EXPECT_FLOAT_EQ(image[0], 25.5f);
  EXPECT_FLOAT_EQ(image[1], 135.5f);
  EXPECT_FLOAT_EQ(image[2], 245.5f);
  EXPECT_FLOAT_EQ(image[3], 255.f);
  std::vector<float> dark = {10.f};
  brightness_contrast(dark, {0.8, -0.2});
  EXPECT_FLOAT_EQ(dark[0], 0.f);
}

TEST(Normalize, UsesSpecsMeanAndStdPerChannel) {
  std::vector<float> image(kImageBytes, 127.5f);
  normalize(image, Normalization{});
  EXPECT_NEAR(image[0], (0.5 - 0.4914) / 0.247, 1e-5);
  EXPECT_NEAR(image[kImagePlane], (0.5 - 0.4822) / 0.243, 1e-5);
  EXPECT_NEAR(image[2 * kImagePlane + 5], (0.5 - 0.4465) / 0.261, 1e-5);
}

TEST(Augmenter, DrawsFollowSpecsProbabilitiesAndRanges) {
  const Augmenter augmenter;
  int affine = 0, colour = 0;
  double smallest_angle = 0, largest_angle = 0;
  constexpr int kDraws = 20000;
  for (int k = 0; k < kDraws; ++k) {
    const AugmentDraw d = augmenter.draw(static_cast<uint64_t>(k));
    if (d.affine) {
      ++affine;
      EXPECT_LE(std::abs(d.affine->angle_degrees), 7.0);
      EXPECT_LE(std::abs(d.affine->scale - 1), 0.09);
      EXPECT_LE(std::abs(d.affine->shift_x), 0.09);
      EXPECT_LE(std::abs(d.affine->shift_y), 0.09);
      smallest_angle = std::min(smallest_angle, d.affine->angle_degrees);
      largest_angle = std::max(largest_angle, d.affine->angle_degrees);
    }
    if (d.brightness_contrast) {
      ++colour;
      EXPECT_LE(std::abs(d.brightness_contrast->alpha - 1), 0.2);
      EXPECT_LE(std::abs(d.brightness_contrast->beta), 0.2);
    }
  }
  // p = 0.5 each: 20,000 draws put the count within 1.5% of half with overwhelming probability.
  EXPECT_NEAR(affine, kDraws / 2, kDraws * 0.015);
  EXPECT_NEAR(colour, kDraws / 2, kDraws * 0.015);
  EXPECT_LT(smallest_angle, -6.9);
  EXPECT_GT(largest_angle, 6.9);
}

// A planar image whose value names its position: channel * 10,000 + y * 100 + x.
std::vector<float> position_image() {
  std::vector<float> image(static_cast<size_t>(kImageBytes));
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < kImageSide; ++y)
      for (int64_t x = 0; x < kImageSide; ++x)
        image[static_cast<size_t>(c * kImagePlane + y * kImageSide + x)] = static_cast<float>(c * 10000 + y * 100 + x);
  return image;
}

// torchvision's RandomCrop(32, padding=4): the window of the zero-padded 40x40 image starting at
// (offset.x, offset.y). (4, 4) is the image itself; (0, 0) moves it 4 pixels right and down.
TEST(Crop, TakesTheWindowOfTheZeroPaddedImage) {
  const std::vector<float> image = position_image();
  std::vector<float> out(image.size());
  crop_padded(image, 4, {4, 4}, out);
  EXPECT_EQ(out, image);
  crop_padded(image, 4, {0, 0}, out);
  EXPECT_EQ(at(out, 0, 10, 3), 0.f);  // above the image: padding
  EXPECT_EQ(at(out, 1, 3, 10), 0.f);  // left of it
  EXPECT_EQ(at(out, 1, 4, 4), at(image, 1, 0, 0));
  EXPECT_EQ(at(out, 2, 31, 31), at(image, 2, 27, 27));
  crop_padded(image, 4, {8, 5}, out);  // 4 left, 1 up
  EXPECT_EQ(at(out, 0, 0, 0), at(image, 0, 4, 1));
  EXPECT_EQ(at(out, 2, 27, 30), at(image, 2, 31, 31));
  EXPECT_EQ(at(out, 2, 27, 31), 0.f);  // below the image
  EXPECT_EQ(at(out, 2, 28, 30), 0.f);  // right of it
  std::vector<float> wrong(10);
  EXPECT_EQ(test::error_of([&] { crop_padded(wrong, 4, {0, 0}, out); }), "crop: expected 3,072-value images");
}

TEST(Flip, MirrorsEveryRowOfEveryChannel) {
  std::vector<float> image = position_image();
  flip_horizontally(image);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < kImageSide; y += 7)
      for (int64_t x = 0; x < kImageSide; ++x) EXPECT_EQ(at(image, c, x, y), c * 10000 + y * 100 + (31 - x));
  flip_horizontally(image);
  EXPECT_EQ(image, position_image());
}

// Moved 2 right and 1 up: out(x, y) = in(x - 2, y + 1), the columns left of the picture and the
// row below it filled by reflect-101 (column -1 is column 1, row 32 is row 30).
TEST(Translate, MovesThePictureAndReflectsItAtTheBorder) {
  const std::vector<float> image = position_image();
  std::vector<float> out(kImageBytes);
  translate(image, 2, -1, out);
  EXPECT_EQ(at(out, 0, 2, 0), at(image, 0, 0, 1));
  EXPECT_EQ(at(out, 1, 31, 30), at(image, 1, 29, 31));
  EXPECT_EQ(at(out, 2, 0, 5), at(image, 2, 2, 6));     // column -2 is column 2
  EXPECT_EQ(at(out, 2, 1, 5), at(image, 2, 1, 6));     // column -1 is column 1
  EXPECT_EQ(at(out, 0, 10, 31), at(image, 0, 8, 30));  // row 32 is row 30
  EXPECT_EQ(at(out, 0, 0, 31), 30 * 100 + 2);
  translate(image, 0, 0, out);
  EXPECT_EQ(out, image);
  std::vector<float> wrong(10);
  EXPECT_EQ(test::error_of([&] { translate(wrong, 1, 0, out); }), "translate: expected 3,072-value images");
}

// Crop offsets cover [0, 2 * padding] evenly, flips come with their probability, and the original
// recipe's draws of a key are the same with the crop and the flip switched on.
TEST(Augmenter, CropAndFlipDrawsFollowTheirOptionsAndKeepTheOriginalDraws) {
  AugmentOptions options;
  options.crop_padding = 4;
  options.flip_probability = 0.5;
  const Augmenter augmenter(options), original;
  std::array<int, 9> xs{}, ys{};
  int flips = 0;
  constexpr int kDraws = 20000;
  for (int k = 0; k < kDraws; ++k) {
    const AugmentDraw d = augmenter.draw(static_cast<uint64_t>(k));
    ASSERT_TRUE(d.crop);
    ASSERT_LE(d.crop->x, 8);
    ASSERT_LE(d.crop->y, 8);
    ++xs[static_cast<size_t>(d.crop->x)];
    ++ys[static_cast<size_t>(d.crop->y)];
    flips += d.flip;
    const AugmentDraw o = original.draw(static_cast<uint64_t>(k));
    EXPECT_FALSE(o.crop);
    EXPECT_FALSE(o.flip);
    ASSERT_EQ(d.affine.has_value(), o.affine.has_value());
    if (d.affine) {
      EXPECT_EQ(d.affine->angle_degrees, o.affine->angle_degrees);
    }
    ASSERT_EQ(d.brightness_contrast.has_value(), o.brightness_contrast.has_value());
    if (d.brightness_contrast) {
      EXPECT_EQ(d.brightness_contrast->beta, o.brightness_contrast->beta);
    }
  }
  // 20,000 / 9 = 2,222 per offset; 5 standard deviations are about 220.
  for (const int n : xs) EXPECT_NEAR(n, kDraws / 9, 250);
  for (const int n : ys) EXPECT_NEAR(n, kDraws / 9, 250);
  EXPECT_NEAR(flips, kDraws / 2, kDraws * 0.015);
}

// apply() runs crop, then flip, then normalization, exactly as the functions do one by one.
TEST(Augmenter, AppliesCropThenFlipThenNormalization) {
  AugmentOptions options;
  options.shift_scale_rotate_probability = 0;
  options.brightness_contrast_probability = 0;
  options.crop_padding = 3;
  options.flip_probability = 1;
  const Augmenter augmenter(options);
  std::vector<uint8_t> image(static_cast<size_t>(kImageBytes));
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>((i * 37) % 251);
  for (const uint64_t key : {1u, 2u, 3u}) {
    const AugmentDraw d = augmenter.draw(key);
    ASSERT_TRUE(d.crop && d.flip);
    std::vector<float> whole(image.begin(), image.end()), expected(image.size());
    crop_padded(whole, 3, *d.crop, expected);
    flip_horizontally(expected);
    normalize(expected, augmenter.normalization());
    std::vector<float> out(image.size());
    augmenter.apply(image, true, key, out);
    EXPECT_EQ(out, expected) << "key " << key;
  }
}

TEST(Augmenter, RefusesOptionsOutOfRange) {
  AugmentOptions options;
  options.crop_padding = 17;
  EXPECT_EQ(test::error_of([&] { const Augmenter made(options); }), "--crop-padding must be in [0, 16], got 17");
  options = {};
  options.flip_probability = 1.5;
  EXPECT_EQ(test::error_of([&] { const Augmenter made(options); }), "--flip must be a probability in [0, 1]");
  options = {};
  options.shift_limit = -0.1;
  EXPECT_EQ(test::error_of([&] { const Augmenter made(options); }),
            "augmentation: the shift limit must be a finite number >= 0");
}

TEST(Augmenter, SameKeySameImageAndTestImagesAreOnlyNormalized) {
  const Augmenter augmenter;
  const auto image = pattern(4);
  std::vector<float> a(kImageBytes), b(kImageBytes), c(kImageBytes), plain(kImageBytes);
  augmenter.apply(image, true, 42, a);
  augmenter.apply(image, true, 42, b);
  EXPECT_EQ(a, b);
  int differing = 0;
  for (uint64_t key = 43; key < 53; ++key) {
    augmenter.apply(image, true, key, c);
    differing += c != a;
  }
  EXPECT_GE(differing, 7);  // each of 10 keys matches key 42's "no change at all" with p 1/4
  augmenter.apply(image, false, 42, plain);
  std::vector<float> expected(image.begin(), image.end());
  normalize(expected, Normalization{});
  EXPECT_EQ(plain, expected);
}

// Values worked out by hand from (pixel / 255 - mean) / std with CIFAR-10's mean and std.
TEST(NetworkInput, TurnsInterleavedRgbBytesIntoNormalizedPlanes) {
  std::vector<uint8_t> rgb(2 * kImageBytes, 0);
  const auto set_pixel = [&](int64_t image, int64_t x, int64_t y, std::array<uint8_t, 3> value) {
    for (size_t c = 0; c < 3; ++c)
      rgb[static_cast<size_t>(image * kImageBytes + 3 * (y * kImageSide + x)) + c] = value[c];
  };
  set_pixel(0, 0, 0, {255, 0, 128});
  set_pixel(0, 31, 0, {10, 20, 30});
  set_pixel(1, 1, 2, {0, 255, 51});
  const std::vector<float> input = network_input(rgb);
  ASSERT_EQ(input.size(), rgb.size());
  const auto value = [&](int64_t image, int64_t c, int64_t x, int64_t y) {
    return input[static_cast<size_t>(image * kImageBytes + c * kImagePlane + y * kImageSide + x)];
  };
  EXPECT_NEAR(value(0, 0, 0, 0), 2.0591093f, 1e-5f);   // (1 - 0.4914) / 0.247
  EXPECT_NEAR(value(0, 1, 0, 0), -1.9843621f, 1e-5f);  // (0 - 0.4822) / 0.243
  EXPECT_NEAR(value(0, 2, 0, 0), 0.2124934f, 1e-5f);   // (128 / 255 - 0.4465) / 0.261
  EXPECT_NEAR(value(0, 0, 31, 0), -1.8307057f, 1e-5f);
  EXPECT_NEAR(value(0, 1, 31, 0), -1.6615993f, 1e-5f);
  EXPECT_NEAR(value(0, 2, 31, 0), -1.2599730f, 1e-5f);
  EXPECT_NEAR(value(1, 0, 1, 2), -1.9894737f, 1e-5f);
  EXPECT_NEAR(value(1, 1, 1, 2), 2.1308642f, 1e-5f);
  EXPECT_NEAR(value(1, 2, 1, 2), -0.9444444f, 1e-5f);    // (0.2 - 0.4465) / 0.261
  EXPECT_NEAR(value(1, 1, 31, 31), -1.9843621f, 1e-5f);  // a black pixel
}

TEST(NetworkInput, MatchesWhatTheTrainingPipelineFeedsForTheSameImage) {
  const std::vector<uint8_t> planar = pattern(3);
  std::vector<uint8_t> interleaved(kImageBytes);
  for (size_t p = 0; p < static_cast<size_t>(kImagePlane); ++p)
    for (size_t c = 0; c < 3; ++c) interleaved[3 * p + c] = planar[c * kImagePlane + p];
  std::vector<float> expected(kImageBytes);
  Augmenter().apply(planar, false, 0, expected);
  EXPECT_EQ(network_input(interleaved), expected);
}

TEST(NetworkInput, RefusesAPartialImage) {
  const std::vector<uint8_t> partial(kImageBytes + 5);
  EXPECT_EQ(test::error_of([&] { network_input(partial); }),
            "network_input: 3,077 bytes is not a whole number of 32x32 RGB images (3,072 bytes each)");
}

TEST(EpochOrder, IsASeededPermutationThatChangesEveryEpoch) {
  const auto a = epoch_order(1000, 7, 3, true);
  EXPECT_EQ(a, epoch_order(1000, 7, 3, true));
  EXPECT_NE(a, epoch_order(1000, 7, 4, true));
  EXPECT_NE(a, epoch_order(1000, 8, 3, true));
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 1000u);
  const auto plain = epoch_order(5, 7, 3, false);
  EXPECT_EQ(plain, (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

std::vector<Batch> epoch_batches(const Dataset& data, LoaderOptions options, int64_t epoch) {
  const Augmenter augmenter;
  BatchLoader loader(data, augmenter, options);
  loader.start_epoch(epoch);
  std::vector<Batch> batches;
  while (const Batch* b = loader.next()) batches.push_back(*b);
  return batches;
}

TEST(BatchLoader, GivesTheSameBatchesWhateverTheThreading) {
  const Dataset data = test::random_dataset(100, 5);
  LoaderOptions options;
  options.batch_size = 32;
  options.seed = 9;
  const auto reference = epoch_batches(data, options, 2);
  ASSERT_EQ(reference.size(), 4u);  // 32 + 32 + 32 + 4
  EXPECT_EQ(reference.back().size(), 4);
  for (const auto& [prefetch, parallel] : {std::pair{false, false}, {false, true}, {true, true}}) {
    options.prefetch = prefetch;
    options.parallel = parallel;
    const auto batches = epoch_batches(data, options, 2);
    ASSERT_EQ(batches.size(), reference.size());
    for (size_t k = 0; k < batches.size(); ++k) {
      EXPECT_EQ(batches[k].images, reference[k].images) << "batch " << k;
      EXPECT_EQ(batches[k].labels, reference[k].labels);
    }
  }
  // Labels follow the images, and every image appears once.
  std::set<int64_t> seen;
  for (const Batch& b : reference)
    for (int64_t i = 0; i < b.size(); ++i) {
      seen.insert(b.indices[static_cast<size_t>(i)]);
      EXPECT_EQ(b.labels[static_cast<size_t>(i)], data.labels[static_cast<size_t>(b.indices[static_cast<size_t>(i)])]);
    }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_NE(epoch_batches(data, options, 3)[0].images, reference[0].images);
}

TEST(BatchLoader, RefusesAnEmptyDataSetAndABadBatchSize) {
  const Augmenter augmenter;
  const Dataset empty;
  EXPECT_EQ(test::error_of([&] { BatchLoader(empty, augmenter, {}); }), "no images to load");
  const Dataset data = test::random_dataset(3, 1);
  LoaderOptions options;
  options.batch_size = 0;
  EXPECT_EQ(test::error_of([&] { BatchLoader(data, augmenter, options); }), "batch size must be > 0, got 0");
}

}  // namespace
