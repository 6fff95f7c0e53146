// Counter-based randomness: every value is a pure function of a 64-bit key, so results do not
// depend on thread count or scheduling, and a run resumed at epoch k draws what it would have.
#pragma once

#include <cstdint>

namespace s8net {

// SplitMix64's finaliser: a stateless 64-bit hash, so any thread can draw element i's value
// without a shared generator.
uint64_t mix64(uint64_t key) noexcept;
// A uniform float in [0, 1) from a 64-bit key.
float uniform_from_key(uint64_t key) noexcept;
// One key from several (seed, epoch, index ...): order matters.
uint64_t combine_keys(uint64_t a, uint64_t b) noexcept;

// A small SplitMix64 stream for the few draws one image's augmentation needs.
class KeyedRandom {
 public:
  explicit KeyedRandom(uint64_t key) noexcept : state_(key) {}
  uint64_t next() noexcept { return mix64(state_++); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) noexcept { return low + (high - low) * uniform(); }
  // Uniform integer in [0, bound) (bound > 0); the modulo bias is below 2^-40 for bounds < 2^24.
  uint64_t below(uint64_t bound) noexcept { return next() % bound; }

 private:
  uint64_t state_;
};

}  // namespace s8net
