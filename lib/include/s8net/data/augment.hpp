// The original recipe's augmentation of training images (docs/recipe.md), and the per-channel normalization every image gets:
//   with p 0.5 shift-scale-rotate (bilinear, reflect-101 border), with p 0.5 brightness/contrast
//   (pixel' = alpha * pixel + beta * 255, clipped to [0, 255]), then (pixel / 255 - mean) / std.
// Every draw is a pure function of a 64-bit key, so an image's augmentation does not depend on
// which thread prepares it or on the batch size.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace s8net {

struct AugmentOptions {
  double shift_scale_rotate_probability = 0.5;
  double shift_limit = 0.09;         // shift in [-limit, limit] of the image size, x and y
  double scale_limit = 0.09;         // scale in [1 - limit, 1 + limit]
  double rotate_limit_degrees = 7;   // angle in [-limit, limit]
  double brightness_contrast_probability = 0.5;
  double brightness_limit = 0.2;     // beta in [-limit, limit]
  double contrast_limit = 0.2;       // alpha in [1 - limit, 1 + limit]
};

struct Normalization {
  std::array<float, 3> mean = {0.4914f, 0.4822f, 0.4465f};
  std::array<float, 3> std = {0.247f, 0.243f, 0.261f};
};

// OpenCV's getRotationMatrix2D about the pixel grid's centre (15.5, 15.5), then a shift: a
// positive angle turns the picture counter-clockwise as displayed.
struct AffineTransform {
  double angle_degrees = 0;
  double scale = 1;
  double shift_x = 0;  // fraction of the width, positive moves the picture right
  double shift_y = 0;  // fraction of the height, positive moves it down
};

struct BrightnessContrast {
  double alpha = 1;  // contrast
  double beta = 0;   // brightness, in units of the full range 255
};

// What one key draws.
struct AugmentDraw {
  std::optional<AffineTransform> affine;
  std::optional<BrightnessContrast> brightness_contrast;
};

// Planar 3x32x32 uint8 image -> planar floats in [0, 255], warped: out(x, y) = in(M^-1 (x, y)).
void shift_scale_rotate(std::span<const uint8_t> image, const AffineTransform& transform, std::span<float> out);
void brightness_contrast(std::span<float> image, const BrightnessContrast& adjust);
// [0, 255] -> normalized, per channel plane.
void normalize(std::span<float> image, const Normalization& normalization);

class Augmenter {
 public:
  explicit Augmenter(AugmentOptions options = {}, Normalization normalization = {});

  AugmentDraw draw(uint64_t key) const;
  // Augments (when `augment`) with the draw of `key`, then normalizes into `out` (3,072 floats).
  void apply(std::span<const uint8_t> image, bool augment, uint64_t key, std::span<float> out) const;
  const AugmentOptions& options() const noexcept { return options_; }
  const Normalization& normalization() const noexcept { return normalization_; }

 private:
  AugmentOptions options_;
  Normalization normalization_;
};

}  // namespace s8net
