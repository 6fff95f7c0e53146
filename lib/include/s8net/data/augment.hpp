// The augmentation of training images, and the per-channel normalization every image gets. In order:
//   shift-scale-rotate (bilinear, reflect-101 border), with p 0.5 in the original recipe
//     (docs/recipe.md);
//   a random crop of the image padded by `crop_padding` black pixels on every side, back to 32x32
//     (torchvision's RandomCrop(32, padding)), off in the original recipe;
//   a horizontal flip with `flip_probability` (RandomHorizontalFlip), off in the original recipe;
//   brightness/contrast (pixel' = alpha * pixel + beta * 255, clipped to [0, 255]), with p 0.5 in
//     the original recipe;
//   then (pixel / 255 - mean) / std.
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
  double shift_limit = 0.09;        // shift in [-limit, limit] of the image size, x and y
  double scale_limit = 0.09;        // scale in [1 - limit, 1 + limit]
  double rotate_limit_degrees = 7;  // angle in [-limit, limit]
  double brightness_contrast_probability = 0.5;
  double brightness_limit = 0.2;  // beta in [-limit, limit]
  double contrast_limit = 0.2;    // alpha in [1 - limit, 1 + limit]
  int64_t crop_padding = 0;       // 0: no crop
  double flip_probability = 0;
};

// The largest padding a crop takes: past it, most of a 32x32 crop would be padding.
inline constexpr int64_t kMaxCropPadding = 16;

// Throws s8net::Error naming the option when a probability is outside [0, 1], a limit negative,
// or the padding outside [0, kMaxCropPadding]; an option a train flag sets is named by the flag.
void validate(const AugmentOptions& options);

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

// Where a crop of the padded image starts: offsets in [0, 2 * padding] from its top-left corner,
// so (padding, padding) is the image itself.
struct CropOffset {
  int64_t x = 0, y = 0;
};

struct BrightnessContrast {
  double alpha = 1;  // contrast
  double beta = 0;   // brightness, in units of the full range 255
};

// What one key draws.
struct AugmentDraw {
  std::optional<AffineTransform> affine;
  std::optional<CropOffset> crop;
  bool flip = false;
  std::optional<BrightnessContrast> brightness_contrast;
};

// Planar 3x32x32 uint8 image -> planar floats in [0, 255], warped: out(x, y) = in(M^-1 (x, y)).
void shift_scale_rotate(std::span<const uint8_t> image, const AffineTransform& transform, std::span<float> out);
// Planar 3x32x32 floats: out(x, y) = in(x + offset.x - padding, y + offset.y - padding), 0 outside.
void crop_padded(std::span<const float> image, int64_t padding, const CropOffset& offset, std::span<float> out);
// Planar 3x32x32 floats, mirrored left to right in place.
void flip_horizontally(std::span<float> image);
// Planar 3x32x32 floats moved by (dx, dy) pixels: out(x, y) = in(x - dx, y - dy), the border filled by
// reflection (reflect-101, as the shift-scale-rotate's).
void translate(std::span<const float> image, int64_t dx, int64_t dy, std::span<float> out);
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
