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
// Accumulators per step: 8 (of 16 AVX2 registers), as 2 pooled outputs x 4 pixels of one block of
// output channels, or 1 pooled output x 4 pixels of two blocks, where each input value then feeds
// two multiply-adds (c6: 32 -> 16 channels).
constexpr int64_t kAccumulators = 8;

#if defined(__x86_64__) || defined(__i386__)
// `Pooled` neighbouring pooled outputs of `Blocks` blocks of 8 output channels of one image. `x` is
// the image's input, `pixel_offsets` the 4 pixels of each pooled output within a channel block,
// `scale`/`shift` the image's map (per input channel) when Mapped, `weight` the first block's
// packed weights. Carries the target itself: the OpenMP region that calls it is compiled for the
// baseline.
template <bool Mapped, int64_t Pooled, int64_t Blocks>
__attribute__((target("avx2,fma"))) inline void pooled_outputs(const float* x, int64_t block_stride,
                                                               const int64_t (&pixel_offsets)[4 * Pooled],
                                                               int64_t in_channels, const float* scale,
                                                               const float* shift, const float* weight,
                                                               const float* bias, float* y, int64_t out_block_stride) {
  constexpr int64_t kPixels = 4 * Pooled;
  __m256 acc[Blocks][kPixels];
  for (int64_t b = 0; b < Blocks; ++b) {
    const __m256 bias_b = _mm256_loadu_ps(bias + b * kLanes);
    for (int64_t p = 0; p < kPixels; ++p) acc[b][p] = bias_b;
  }
  alignas(32) float mapped[kPixels][kLanes];
  for (int64_t block = 0; block < in_channels / kLanes; ++block) {
    const float* in = x + block * block_stride;
    if constexpr (Mapped) {
      const __m256 a = _mm256_loadu_ps(scale + block * kLanes), s = _mm256_loadu_ps(shift + block * kLanes);
      for (int64_t p = 0; p < kPixels; ++p)
        _mm256_store_ps(mapped[p], _mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(in + pixel_offsets[p]), a, s),
                                                 _mm256_setzero_ps()));
    }
    for (int64_t lane = 0; lane < kLanes; ++lane) {
      __m256 w[Blocks];
      for (int64_t b = 0; b < Blocks; ++b)
        w[b] = _mm256_loadu_ps(weight + (b * in_channels + block * kLanes + lane) * kLanes);
      for (int64_t p = 0; p < kPixels; ++p) {
        const __m256 value = _mm256_broadcast_ss(Mapped ? &mapped[p][lane] : in + pixel_offsets[p] + lane);
        for (int64_t b = 0; b < Blocks; ++b) acc[b][p] = _mm256_fmadd_ps(value, w[b], acc[b][p]);
      }
    }
  }
  for (int64_t b = 0; b < Blocks; ++b)
    for (int64_t j = 0; j < Pooled; ++j)
      _mm256_storeu_ps(y + b * out_block_stride + j * kLanes,
                       _mm256_max_ps(_mm256_max_ps(acc[b][4 * j], acc[b][4 * j + 1]),
                                     _mm256_max_ps(acc[b][4 * j + 2], acc[b][4 * j + 3])));
}

// Every pooled row of one image, `Blocks` output blocks at a time.
template <bool Mapped, int64_t Blocks>
__attribute__((target("avx2,fma"))) void pooled_image(const PooledConv1x1Shape& s, const float* x, const float* scale,
                                                      const float* shift, const float* weight, const float* bias,
                                                      float* y) {
  constexpr int64_t kPooled = kAccumulators / (4 * Blocks);
  const int64_t width = s.width, pooled_h = s.height / 2, pooled_w = s.width / 2;
  const int64_t block_stride = s.height * width * kLanes, out_block_stride = pooled_h * pooled_w * kLanes;
  for (int64_t oh = 0; oh < pooled_h; ++oh)
    for (int64_t ob = 0; ob < s.out_channels / kLanes; ob += Blocks) {
      const float* w = weight + ob * s.in_channels * kLanes;
      const float* b = bias + ob * kLanes;
      float* out = y + ob * out_block_stride + oh * pooled_w * kLanes;
      const int64_t top = 2 * oh * width * kLanes, bottom = top + width * kLanes;
      const auto window = [&](int64_t ow, int64_t* offsets) {
        const int64_t left = 2 * ow * kLanes;
        offsets[0] = top + left, offsets[1] = top + left + kLanes;
        offsets[2] = bottom + left, offsets[3] = bottom + left + kLanes;
      };
      int64_t ow = 0;
      for (; ow + kPooled <= pooled_w; ow += kPooled) {
        int64_t offsets[4 * kPooled];
        for (int64_t j = 0; j < kPooled; ++j) window(ow + j, offsets + 4 * j);
        pooled_outputs<Mapped, kPooled, Blocks>(x, block_stride, offsets, s.in_channels, scale, shift, w, b,
                                                out + ow * kLanes, out_block_stride);
      }
      for (; ow < pooled_w; ++ow) {
        int64_t offsets[4];
        window(ow, offsets);
        pooled_outputs<Mapped, 1, Blocks>(x, block_stride, offsets, s.in_channels, scale, shift, w, b,
                                          out + ow * kLanes, out_block_stride);
      }
    }
}
#endif

std::string shape_text(const PooledConv1x1Shape& s) {
  return std::to_string(s.batch) + "x" + std::to_string(s.in_channels) + "x" + std::to_string(s.height) + "x" +
         std::to_string(s.width) + " -> " + std::to_string(s.out_channels) + " channels";
}

}  // namespace

bool PooledConv1x1::fits(const PooledConv1x1Shape& s) {
  return s.batch > 0 && s.height > 0 && s.width > 0 && s.in_channels > 0 && s.out_channels > 0 &&
         s.in_channels % kLanes == 0 && s.out_channels % kLanes == 0 && s.height % 2 == 0 && s.width % 2 == 0;
}

PooledConv1x1::PooledConv1x1(const PooledConv1x1Shape& shape) : shape_(shape) {
  const auto& s = shape_;
  if (!fits(s))
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
  const bool mapped = x.scale != nullptr, pairs = s.out_channels % (2 * kLanes) == 0;
  const auto image = mapped ? (pairs ? pooled_image<true, 2> : pooled_image<true, 1>)
                            : (pairs ? pooled_image<false, 2> : pooled_image<false, 1>);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < s.batch; ++n)
    image(s, x.x + n * in_image, mapped ? x.scale + n * s.in_channels : nullptr,
          mapped ? x.shift + n * s.in_channels : nullptr, packed_weight_.data(), bias_.data(), y + n * out_image);
#else
  (void)y;
#endif
}

}  // namespace s8net
