// A float array for the conformance checker to hand to a plugin, inside a larger allocation whose
// guard regions hold a NaN bit pattern: a stray write before or after the array changes a guard,
// and an output the plugin never writes still holds the pattern (which is not finite).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace s8net::conformance {

// A quiet NaN with a payload no arithmetic produces, so its bits are recognisable.
inline constexpr uint32_t kPoisonBits = 0x7fc5a5a5u;
float poison() noexcept;

class GuardedBuffer {
 public:
  static constexpr size_t kGuardBytes = 4096;

  // size floats, every one (and both guards) set to the poison pattern.
  explicit GuardedBuffer(size_t size);

  float* data() noexcept { return storage_.get() + kGuardFloats; }
  const float* data() const noexcept { return storage_.get() + kGuardFloats; }
  size_t size() const noexcept { return size_; }
  std::span<float> values() noexcept { return {data(), size_}; }
  std::span<const float> values() const noexcept { return {data(), size_}; }

  // "" while both guards hold the pattern; otherwise which side of `name` was written and how far
  // from the array: "past the end of y (up to 4 bytes after it)".
  std::string guard_damage(std::string_view name) const;

  // A second buffer with the same array contents (fresh guards).
  GuardedBuffer copy() const;

  // Bitwise equality of the arrays (NaN lanes included), guards aside.
  bool same_bits(const GuardedBuffer& other) const noexcept;

 private:
  static constexpr size_t kGuardFloats = kGuardBytes / sizeof(float);
  // oneDNN-backed plugins run faster (and some kernels assume) cache-line aligned arrays; the
  // guard is a multiple of 64 bytes, so the array is aligned too.
  static constexpr size_t kAlignment = 64;
  struct Free {
    void operator()(float* p) const noexcept { std::free(p); }
  };

  size_t size_;
  std::unique_ptr<float, Free> storage_;  // guard, array, guard
};

}  // namespace s8net::conformance
