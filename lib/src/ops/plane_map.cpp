#include <s8net/core/error.hpp>
#include <s8net/ops/plane_map.hpp>
#include <s8net/ops/winograd_conv.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <string>

namespace s8net {
namespace {

constexpr int64_t kLanes = 8;

#if defined(__x86_64__) || defined(__i386__)
// One channel block of one image: `pixels` rows of 8 lanes. Carries the target itself: the
// OpenMP region that calls it is compiled for the baseline.
template <bool Add, bool MappedAddend>
__attribute__((target("avx2,fma"))) void map_unit(const float* x, const float* scale, const float* shift,
                                                  const float* addend, const float* addend_scale,
                                                  const float* addend_shift, float* y, int64_t pixels) {
  const __m256 a = _mm256_loadu_ps(scale), b = _mm256_loadu_ps(shift), zero = _mm256_setzero_ps();
  __m256 addend_a = zero, addend_b = zero;
  if constexpr (MappedAddend) addend_a = _mm256_loadu_ps(addend_scale), addend_b = _mm256_loadu_ps(addend_shift);
  for (int64_t p = 0; p < pixels * kLanes; p += kLanes) {
    __m256 value = _mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(x + p), a, b), zero);
    if constexpr (Add) {
      __m256 other = _mm256_loadu_ps(addend + p);
      if constexpr (MappedAddend) other = _mm256_max_ps(_mm256_fmadd_ps(other, addend_a, addend_b), zero);
      value = _mm256_add_ps(value, other);
    }
    _mm256_storeu_ps(y + p, value);
  }
}

// Runs of pixels summed in float before their sums go to double: short enough that float keeps the sums of
// (x - k) exact to its rounding, long enough that the double additions cost little.
constexpr int64_t kRun = 64;

__attribute__((target("avx2,fma"))) void moments_unit(const float* x, int64_t pixels, double* mean, double* m2) {
  const __m256 k = _mm256_loadu_ps(x);
  __m256d sum[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  __m256d squares[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  for (int64_t first = 0; first < pixels; first += kRun) {
    const int64_t end = std::min(pixels, first + kRun);
    __m256 run_sum = _mm256_setzero_ps(), run_squares = _mm256_setzero_ps();
    for (int64_t p = first; p < end; ++p) {
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + p * kLanes), k);
      run_sum = _mm256_add_ps(run_sum, d);
      run_squares = _mm256_fmadd_ps(d, d, run_squares);
    }
    sum[0] = _mm256_add_pd(sum[0], _mm256_cvtps_pd(_mm256_castps256_ps128(run_sum)));
    sum[1] = _mm256_add_pd(sum[1], _mm256_cvtps_pd(_mm256_extractf128_ps(run_sum, 1)));
    squares[0] = _mm256_add_pd(squares[0], _mm256_cvtps_pd(_mm256_castps256_ps128(run_squares)));
    squares[1] = _mm256_add_pd(squares[1], _mm256_cvtps_pd(_mm256_extractf128_ps(run_squares, 1)));
  }
  alignas(32) double sums[kLanes], square_sums[kLanes];
  alignas(32) float shifts[kLanes];
  _mm256_store_pd(sums, sum[0]);
  _mm256_store_pd(sums + 4, sum[1]);
  _mm256_store_pd(square_sums, squares[0]);
  _mm256_store_pd(square_sums + 4, squares[1]);
  _mm256_store_ps(shifts, k);
  const auto count = static_cast<double>(pixels);
  for (int64_t l = 0; l < kLanes; ++l) {
    mean[l] = shifts[l] + sums[l] / count;
    m2[l] = std::max(0.0, square_sums[l] - sums[l] * sums[l] / count);
  }
}
#endif

void check_shape(const PlaneMapShape& s, const char* what) {
  if (s.batch <= 0 || s.height <= 0 || s.width <= 0 || s.channels <= 0 || s.channels % kLanes != 0)
    throw Error(std::string(what) + ": needs positive sizes and a channel count that is a multiple of 8, got " +
                std::to_string(s.batch) + "x" + std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
                std::to_string(s.width));
  if (!plane_map_available())
    throw Error(std::string(what) + ": this CPU (or ONEDNN_MAX_CPU_ISA) offers no AVX2 with FMA");
}

}  // namespace

bool plane_map_available() { return WinogradConv::available(); }

void map_planes_relu(const PlaneMapShape& s, const float* x, const float* scale, const float* shift,
                     const MappedPlanes& addend, float* y) {
  check_shape(s, "plane map");
  if (x == nullptr || scale == nullptr || shift == nullptr || y == nullptr)
    throw Error("plane map: null input, map or output");
  if ((addend.scale == nullptr) != (addend.shift == nullptr))
    throw Error("plane map: an addend's map needs both its scale and its shift");
#if defined(__x86_64__) || defined(__i386__)
  const int64_t blocks = s.channels / kLanes, pixels = s.height * s.width, units = s.batch * blocks;
  const bool add = addend.x != nullptr, mapped = add && addend.scale != nullptr;
  const auto unit = mapped ? map_unit<true, true> : add ? map_unit<true, false> : map_unit<false, false>;
#pragma omp parallel for schedule(static)
  for (int64_t u = 0; u < units; ++u) {
    const int64_t image = u / blocks, channel = u % blocks * kLanes, at = u * pixels * kLanes;
    const int64_t map = image * s.channels + channel;
    unit(x + at, scale + map, shift + map, add ? addend.x + at : nullptr, mapped ? addend.scale + map : nullptr,
         mapped ? addend.shift + map : nullptr, y + at, pixels);
  }
#else
  (void)x, (void)scale, (void)shift, (void)y;
#endif
}

void plane_moments(const PlaneMapShape& s, const float* x, s8net_plane_moments* moments) {
  check_shape(s, "plane moments");
#if defined(__x86_64__) || defined(__i386__)
  const int64_t blocks = s.channels / kLanes, pixels = s.height * s.width, units = s.batch * blocks;
#pragma omp parallel for schedule(static)
  for (int64_t u = 0; u < units; ++u) {
    double mean[kLanes], m2[kLanes];
    moments_unit(x + u * pixels * kLanes, pixels, mean, m2);
    for (int64_t l = 0; l < kLanes; ++l) moments[u * kLanes + l] = {mean[l], m2[l]};
  }
#else
  (void)x, (void)moments;
#endif
}

}  // namespace s8net
