#include <s8net/core/error.hpp>
#include <s8net/ops/pooled_conv1x1.hpp>
#include <s8net/ops/winograd_conv.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <string>

namespace s8net {
namespace {

constexpr int64_t kLanes = 8;
// Pooled outputs computed together: their 4 pixels each give 8 accumulators, one weight load
// feeding 8 multiply-adds.
constexpr int64_t kPooledPerStep = 2;
constexpr int64_t kPixelsPerStep = 4 * kPooledPerStep;

#if defined(__x86_64__) || defined(__i386__)
// One row of pooled outputs of one block of 8 output channels for one image. `x` is the image's
// input, `rows` the two input rows' offsets within a channel block, `scale`/`shift` the image's
// map (per input channel) when Mapped. Carries the target itself: the OpenMP region that calls it
// is compiled for the baseline.
template <bool Mapped, int64_t Pooled>
__attribute__((target("avx2,fma"))) inline void pooled_outputs(const float* x, int64_t block_stride,
                                                               const int64_t (&pixel_offsets)[4 * Pooled],
                                                               int64_t in_channels, const float* scale,
                                                               const float* shift, const float* weight,
                                                               const float* bias, float* y) {
  constexpr int64_t kPixels = 4 * Pooled;
  __m256 acc[kPixels];
  const __m256 b = _mm256_loadu_ps(bias);
  for (int64_t p = 0; p < kPixels; ++p) acc[p] = b;
  alignas(32) float mapped[kPixels][kLanes];
  for (int64_t block = 0; block < in_channels / kLanes; ++block) {
    const float* in = x + block * block_stride;
    const float* w = weight + block * kLanes * kLanes;
    if constexpr (Mapped) {
      const __m256 a = _mm256_loadu_ps(scale + block * kLanes), s = _mm256_loadu_ps(shift + block * kLanes);
      for (int64_t p = 0; p < kPixels; ++p)
        _mm256_store_ps(mapped[p], _mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(in + pixel_offsets[p]), a, s),
                                                 _mm256_setzero_ps()));
    }
    for (int64_t lane = 0; lane < kLanes; ++lane) {
      const __m256 w_lane = _mm256_loadu_ps(w + lane * kLanes);
      for (int64_t p = 0; p < kPixels; ++p) {
        const float* value = Mapped ? &mapped[p][lane] : in + pixel_offsets[p] + lane;
        acc[p] = _mm256_fmadd_ps(_mm256_broadcast_ss(value), w_lane, acc[p]);
      }
    }
  }
  for (int64_t j = 0; j < Pooled; ++j)
    _mm256_storeu_ps(y + j * kLanes, _mm256_max_ps(_mm256_max_ps(acc[4 * j], acc[4 * j + 1]),
                                                   _mm256_max_ps(acc[4 * j + 2], acc[4 * j + 3])));
}

template <bool Mapped>
__attribute__((target("avx2,fma"))) void pooled_image(const PooledConv1x1Shape& s, const float* x, const float* scale,
                                                      const float* shift, const float* weight, const float* bias,
                                                      float* y) {
  const int64_t width = s.width, pooled_h = s.height / 2, pooled_w = s.width / 2;
  const int64_t block_stride = s.height * width * kLanes, out_block_stride = pooled_h * pooled_w * kLanes;
  for (int64_t oh = 0; oh < pooled_h; ++oh)
    for (int64_t ob = 0; ob < s.out_channels / kLanes; ++ob) {
      const float* w = weight + ob * s.in_channels * kLanes;
      const float* b = bias + ob * kLanes;
      float* out = y + ob * out_block_stride + oh * pooled_w * kLanes;
      const int64_t top = 2 * oh * width * kLanes, bottom = top + width * kLanes;
      int64_t ow = 0;
      for (; ow + kPooledPerStep <= pooled_w; ow += kPooledPerStep) {
        int64_t offsets[kPixelsPerStep];
        for (int64_t j = 0; j < kPooledPerStep; ++j) {
          const int64_t left = 2 * (ow + j) * kLanes;
          offsets[4 * j] = top + left, offsets[4 * j + 1] = top + left + kLanes;
          offsets[4 * j + 2] = bottom + left, offsets[4 * j + 3] = bottom + left + kLanes;
        }
        pooled_outputs<Mapped, kPooledPerStep>(x, block_stride, offsets, s.in_channels, scale, shift, w, b,
                                               out + ow * kLanes);
      }
      for (; ow < pooled_w; ++ow) {
        const int64_t left = 2 * ow * kLanes;
        const int64_t offsets[4] = {top + left, top + left + kLanes, bottom + left, bottom + left + kLanes};
        pooled_outputs<Mapped, 1>(x, block_stride, offsets, s.in_channels, scale, shift, w, b, out + ow * kLanes);
      }
    }
}
#endif

std::string shape_text(const PooledConv1x1Shape& s) {
  return std::to_string(s.batch) + "x" + std::to_string(s.in_channels) + "x" + std::to_string(s.height) + "x" +
         std::to_string(s.width) + " -> " + std::to_string(s.out_channels) + " channels";
}

}  // namespace

PooledConv1x1::PooledConv1x1(const PooledConv1x1Shape& shape) : shape_(shape) {
  const auto& s = shape_;
  if (s.batch <= 0 || s.height <= 0 || s.width <= 0 || s.in_channels <= 0 || s.out_channels <= 0 ||
      s.in_channels % kLanes != 0 || s.out_channels % kLanes != 0 || s.height % 2 != 0 || s.width % 2 != 0)
    throw Error(
        "pooled 1x1 conv: needs positive, even height and width and channel counts that are multiples of 8, "
        "got " +
        shape_text(s));
  if (!available()) throw Error("pooled 1x1 conv: this CPU (or ONEDNN_MAX_CPU_ISA) offers no AVX2 with FMA");
  packed_weight_.assign(static_cast<size_t>(s.in_channels * s.out_channels), 0.f);
  bias_.assign(static_cast<size_t>(s.out_channels), 0.f);
}

bool PooledConv1x1::available() { return WinogradConv::available(); }

void PooledConv1x1::load(const std::vector<float>& weight, const std::vector<float>& bias) {
  const int64_t in = shape_.in_channels, out = shape_.out_channels;
  if (weight.size() != static_cast<size_t>(in * out) || bias.size() != static_cast<size_t>(out))
    throw Error("pooled 1x1 conv: weights of " + std::to_string(weight.size()) + " values and a bias of " +
                std::to_string(bias.size()) + " for " + shape_text(shape_));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i)
      packed_weight_[static_cast<size_t>((o / kLanes * in + i) * kLanes + o % kLanes)] =
          weight[static_cast<size_t>(o * in + i)];
  bias_ = bias;
}

void PooledConv1x1::load(Context& context, const ConvWeights& weights) {
  const ConvSpec& spec = weights.spec();
  if (spec.kernel != 1 || spec.in_channels != shape_.in_channels || spec.out_channels != shape_.out_channels)
    throw Error("pooled 1x1 conv: the weights of " + spec.name + " (" + std::to_string(spec.kernel) + "x" +
                std::to_string(spec.kernel) + ", " + std::to_string(spec.in_channels) + " -> " +
                std::to_string(spec.out_channels) + ") do not fit " + shape_text(shape_));
  load(to_plain(context, weights.weight.value), to_plain(context, weights.bias.value));
}

void PooledConv1x1::forward(const MappedPlanes& x, float* y) const {
  if (x.x == nullptr || y == nullptr) throw Error("pooled 1x1 conv: null input or output");
  if ((x.scale == nullptr) != (x.shift == nullptr))
    throw Error("pooled 1x1 conv: an input's map needs both its scale and its shift");
#if defined(__x86_64__) || defined(__i386__)
  const auto& s = shape_;
  const int64_t in_image = s.in_channels * s.height * s.width, out_image = s.out_channels * s.height * s.width / 4;
  const bool mapped = x.scale != nullptr;
  const auto image = mapped ? pooled_image<true> : pooled_image<false>;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < s.batch; ++n)
    image(s, x.x + n * in_image, mapped ? x.scale + n * s.in_channels : nullptr,
          mapped ? x.shift + n * s.in_channels : nullptr, packed_weight_.data(), bias_.data(), y + n * out_image);
#else
  (void)y;
#endif
}

}  // namespace s8net
