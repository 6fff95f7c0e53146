#include <s8net/core/error.hpp>
#include <s8net/core/random.hpp>
#include <s8net/data/augment.hpp>
#include <s8net/data/dataset.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <string>

namespace s8net {
namespace {

// Reflect-101 (OpenCV's default border): ... 2 1 | 0 1 2 ... 31 | 30 29 ...
inline int64_t reflect101(int64_t i, int64_t n) noexcept {
  const int64_t period = 2 * n - 2;
  i = std::abs(i) % period;
  return i < n ? i : period - i;
}

void check_image_spans(size_t in, size_t out) {
  if (in != static_cast<size_t>(kImageBytes) || out != static_cast<size_t>(kImageBytes))
    throw Error("augment: expected 3,072-value images, got " + std::to_string(in) + " in and " + std::to_string(out) +
                " out");
}

}  // namespace

void shift_scale_rotate(std::span<const uint8_t> image, const AffineTransform& t, std::span<float> out) {
  check_image_spans(image.size(), out.size());
  const double theta = t.angle_degrees * std::numbers::pi / 180.0;
  const double a = t.scale * std::cos(theta), b = t.scale * std::sin(theta);
  const double centre = (kImageSide - 1) / 2.0;
  // Forward map (OpenCV's getRotationMatrix2D plus the shift): dst = A src + c.
  const double cx = (1 - a) * centre - b * centre + t.shift_x * kImageSide;
  const double cy = b * centre + (1 - a) * centre + t.shift_y * kImageSide;
  // Inverse of A = [[a, b], [-b, a]] is [[a, -b], [b, a]] / (a^2 + b^2).
  const double det = a * a + b * b;
  const double ia = a / det, ib = b / det;
  for (int64_t y = 0; y < kImageSide; ++y) {
    for (int64_t x = 0; x < kImageSide; ++x) {
      const double u = static_cast<double>(x) - cx, v = static_cast<double>(y) - cy;
      const double sx = ia * u - ib * v, sy = ib * u + ia * v;
      const double fx0 = std::floor(sx), fy0 = std::floor(sy);
      const double fx = sx - fx0, fy = sy - fy0;
      const int64_t x0 = static_cast<int64_t>(fx0), y0 = static_cast<int64_t>(fy0);
      const int64_t xa = reflect101(x0, kImageSide), xb = reflect101(x0 + 1, kImageSide);
      const int64_t ya = reflect101(y0, kImageSide) * kImageSide, yb = reflect101(y0 + 1, kImageSide) * kImageSide;
      const double w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      for (int64_t c = 0; c < 3; ++c) {
        const uint8_t* plane = image.data() + c * kImagePlane;
        out[static_cast<size_t>(c * kImagePlane + y * kImageSide + x)] = static_cast<float>(
            w00 * plane[ya + xa] + w01 * plane[ya + xb] + w10 * plane[yb + xa] + w11 * plane[yb + xb]);
      }
    }
  }
}

void crop_padded(std::span<const float> image, int64_t padding, const CropOffset& offset, std::span<float> out) {
  if (image.size() != static_cast<size_t>(kImageBytes) || out.size() != static_cast<size_t>(kImageBytes))
    throw Error("crop: expected 3,072-value images");
  const int64_t dx = offset.x - padding, dy = offset.y - padding;
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t y = 0; y < kImageSide; ++y) {
      for (int64_t x = 0; x < kImageSide; ++x) {
        const int64_t sx = x + dx, sy = y + dy;
        const bool inside = sx >= 0 && sx < kImageSide && sy >= 0 && sy < kImageSide;
        out[static_cast<size_t>(c * kImagePlane + y * kImageSide + x)] =
            inside ? image[static_cast<size_t>(c * kImagePlane + sy * kImageSide + sx)] : 0.f;
      }
    }
  }
}

void flip_horizontally(std::span<float> image) {
  if (image.size() != static_cast<size_t>(kImageBytes)) throw Error("flip: expected 3,072 values");
  for (int64_t row = 0; row < 3 * kImageSide; ++row) {
    float* line = image.data() + row * kImageSide;
    std::reverse(line, line + kImageSide);
  }
}

void translate(std::span<const float> image, int64_t dx, int64_t dy, std::span<float> out) {
  if (image.size() != static_cast<size_t>(kImageBytes) || out.size() != static_cast<size_t>(kImageBytes))
    throw Error("translate: expected 3,072-value images");
  for (int64_t c = 0; c < 3; ++c) {
    const float* plane = image.data() + c * kImagePlane;
    for (int64_t y = 0; y < kImageSide; ++y) {
      const float* row = plane + reflect101(y - dy, kImageSide) * kImageSide;
      float* to = out.data() + c * kImagePlane + y * kImageSide;
      for (int64_t x = 0; x < kImageSide; ++x) to[x] = row[reflect101(x - dx, kImageSide)];
    }
  }
}

void brightness_contrast(std::span<float> image, const BrightnessContrast& adjust) {
  const float alpha = static_cast<float>(adjust.alpha), offset = static_cast<float>(adjust.beta * 255.0);
  for (float& v : image) v = std::clamp(alpha * v + offset, 0.f, 255.f);
}

void normalize(std::span<float> image, const Normalization& normalization) {
  if (image.size() != static_cast<size_t>(kImageBytes)) throw Error("normalize: expected 3,072 values");
  for (size_t c = 0; c < 3; ++c) {
    const float scale = 1.f / (255.f * normalization.std[c]), offset = normalization.mean[c] / normalization.std[c];
    for (float& v : image.subspan(c * kImagePlane, kImagePlane)) v = v * scale - offset;
  }
}

void validate(const AugmentOptions& o) {
  const auto probability = [](double p, const char* name) {
    if (!(p >= 0 && p <= 1)) throw Error(std::string(name) + " must be a probability in [0, 1]");
  };
  const auto limit = [](double v, const char* name) {
    if (!(v >= 0 && std::isfinite(v)))
      throw Error(std::string("augmentation: ") + name + " must be a finite number >= 0");
  };
  probability(o.shift_scale_rotate_probability, "--shift-scale-rotate");
  probability(o.brightness_contrast_probability, "--brightness-contrast");
  probability(o.flip_probability, "--flip");
  limit(o.shift_limit, "the shift limit");
  limit(o.scale_limit, "the scale limit");
  limit(o.rotate_limit_degrees, "the rotation limit");
  limit(o.brightness_limit, "the brightness limit");
  limit(o.contrast_limit, "the contrast limit");
  if (o.crop_padding < 0 || o.crop_padding > kMaxCropPadding)
    throw Error("--crop-padding must be in [0, " + std::to_string(kMaxCropPadding) + "], got " +
                std::to_string(o.crop_padding));
}

Augmenter::Augmenter(AugmentOptions options, Normalization normalization)
    : options_(options), normalization_(normalization) {
  validate(options_);
  for (const float s : normalization_.std)
    if (!(s > 0.f)) throw Error("normalization: every std must be > 0");
}

AugmentDraw Augmenter::draw(uint64_t key) const {
  KeyedRandom random(key);
  // A fixed number of draws whatever is applied, so adding an option later keeps old streams.
  const double p_affine = random.uniform();
  const AffineTransform affine{random.uniform(-options_.rotate_limit_degrees, options_.rotate_limit_degrees),
                               random.uniform(1 - options_.scale_limit, 1 + options_.scale_limit),
                               random.uniform(-options_.shift_limit, options_.shift_limit),
                               random.uniform(-options_.shift_limit, options_.shift_limit)};
  const double p_colour = random.uniform();
  const BrightnessContrast colour{random.uniform(1 - options_.contrast_limit, 1 + options_.contrast_limit),
                                  random.uniform(-options_.brightness_limit, options_.brightness_limit)};
  // Drawn after the original recipe's draws, so its streams stay as they were.
  const double p_flip = random.uniform();
  const uint64_t crop_positions = static_cast<uint64_t>(2 * options_.crop_padding + 1);
  const CropOffset crop{static_cast<int64_t>(random.below(crop_positions)),
                        static_cast<int64_t>(random.below(crop_positions))};
  AugmentDraw result;
  if (p_affine < options_.shift_scale_rotate_probability) result.affine = affine;
  if (options_.crop_padding > 0) result.crop = crop;
  result.flip = p_flip < options_.flip_probability;
  if (p_colour < options_.brightness_contrast_probability) result.brightness_contrast = colour;
  return result;
}

void Augmenter::apply(std::span<const uint8_t> image, bool augment, uint64_t key, std::span<float> out) const {
  check_image_spans(image.size(), out.size());
  const AugmentDraw d = augment ? draw(key) : AugmentDraw{};
  if (d.affine)
    shift_scale_rotate(image, *d.affine, out);
  else
    std::transform(image.begin(), image.end(), out.begin(), [](uint8_t v) { return static_cast<float>(v); });
  if (d.crop) {
    std::array<float, kImageBytes> whole;
    std::copy(out.begin(), out.end(), whole.begin());
    crop_padded(whole, options_.crop_padding, *d.crop, out);
  }
  if (d.flip) flip_horizontally(out);
  if (d.brightness_contrast) brightness_contrast(out, *d.brightness_contrast);
  normalize(out, normalization_);
}

}  // namespace s8net
