#include <s8net/ops/blocked_max_pool.hpp>

#include <s8net/ops/winograd_conv.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace s8net::blocked_max_pool {
namespace {

constexpr int64_t kLanes = 8;

#if defined(__x86_64__) || defined(__i386__)
// The window's next pixel, where it is greater than the best so far: strictly, so a tie keeps the first.
__attribute__((target("avx2"))) inline void take_if_greater(const float* p, __m256 index, __m256& best, __m256& at) {
  const __m256 value = _mm256_loadu_ps(p), greater = _mm256_cmp_ps(value, best, _CMP_GT_OQ);
  best = _mm256_blendv_ps(best, value, greater);
  at = _mm256_blendv_ps(at, index, greater);
}

// One row of outputs of one channel block: `top` and `bottom` the two input rows. Carries the
// target itself: the OpenMP region that calls it is compiled for the baseline.
__attribute__((target("avx2"))) void forward_row(const float* top, const float* bottom, int64_t outputs, int64_t block,
                                                 float* y, float* argmax) {
  const __m256 one = _mm256_set1_ps(1.f), two = _mm256_set1_ps(2.f), three = _mm256_set1_ps(3.f);
  for (int64_t o = 0; o < outputs; ++o)
    for (int64_t lane = 0; lane < block; lane += kLanes) {
      const float* left = top + 2 * o * block + lane;
      const float* lower = bottom + 2 * o * block + lane;
      __m256 best = _mm256_loadu_ps(left), at = _mm256_setzero_ps();
      take_if_greater(left + block, one, best, at);
      take_if_greater(lower, two, best, at);
      take_if_greater(lower + block, three, best, at);
      _mm256_storeu_ps(y + o * block + lane, best);
      _mm256_storeu_ps(argmax + o * block + lane, at);
    }
}

__attribute__((target("avx2"))) void backward_row(const float* dy, const float* argmax, int64_t outputs, int64_t block,
                                                  float* top, float* bottom) {
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t o = 0; o < outputs; ++o)
    for (int64_t lane = 0; lane < block; lane += kLanes) {
      const __m256 g = _mm256_loadu_ps(dy + o * block + lane), at = _mm256_loadu_ps(argmax + o * block + lane);
      float* const targets[4] = {top + 2 * o * block + lane, top + (2 * o + 1) * block + lane,
                                 bottom + 2 * o * block + lane, bottom + (2 * o + 1) * block + lane};
      for (int k = 0; k < 4; ++k) {
        const __m256 here = _mm256_cmp_ps(at, _mm256_set1_ps(static_cast<float>(k)), _CMP_EQ_OQ);
        _mm256_storeu_ps(targets[k], _mm256_blendv_ps(zero, g, here));
      }
    }
}
#endif

}  // namespace

bool available() { return WinogradConv::available(); }

void forward(const Shape& s, const float* x, float* y, float* argmax) {
#if defined(__x86_64__) || defined(__i386__)
  const int64_t out_h = s.height / 2, out_w = s.width / 2, row = s.width * s.block, out_row = out_w * s.block;
  const int64_t rows = s.batch * s.blocks * out_h;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* top = x + 2 * r * row;  // output row r of a plane reads input rows 2r and 2r + 1
    forward_row(top, top + row, out_w, s.block, y + r * out_row, argmax + r * out_row);
  }
#else
  (void)s, (void)x, (void)y, (void)argmax;
#endif
}

void backward(const Shape& s, const float* dy, const float* argmax, float* dx) {
#if defined(__x86_64__) || defined(__i386__)
  const int64_t out_h = s.height / 2, out_w = s.width / 2, row = s.width * s.block, out_row = out_w * s.block;
  const int64_t rows = s.batch * s.blocks * out_h;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* top = dx + 2 * r * row;
    backward_row(dy + r * out_row, argmax + r * out_row, out_w, s.block, top, top + row);
  }
#else
  (void)s, (void)dy, (void)argmax, (void)dx;
#endif
}

}  // namespace s8net::blocked_max_pool
