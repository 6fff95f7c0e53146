#include "guarded_buffer.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <new>

namespace s8net::conformance {
namespace {

const std::array<unsigned char, 4> kPatternBytes = std::bit_cast<std::array<unsigned char, 4>>(kPoisonBits);

// Guards start at multiples of 4 bytes from the allocation, so byte i of either guard should be
// byte i % 4 of the pattern.
bool intact(const unsigned char* guard, size_t i) noexcept { return guard[i] == kPatternBytes[i % 4]; }

}  // namespace

float poison() noexcept { return std::bit_cast<float>(kPoisonBits); }

GuardedBuffer::GuardedBuffer(size_t size) : size_(size) {
  const size_t floats = 2 * kGuardFloats + size;
  const size_t bytes = (floats * sizeof(float) + kAlignment - 1) / kAlignment * kAlignment;
  storage_.reset(static_cast<float*>(std::aligned_alloc(kAlignment, bytes)));
  if (!storage_) throw std::bad_alloc();
  std::fill_n(storage_.get(), floats, poison());
}

std::string GuardedBuffer::guard_damage(std::string_view name) const {
  const auto* before = reinterpret_cast<const unsigned char*>(storage_.get());
  const auto* after = reinterpret_cast<const unsigned char*>(data() + size_);
  // The farthest damaged byte on a side: how far the plugin's indexing overran.
  for (size_t i = 0; i < kGuardBytes; ++i)
    if (!intact(before, i))
      return "before the start of " + std::string(name) + " (up to " + std::to_string(kGuardBytes - i) +
             " bytes before it)";
  for (size_t i = kGuardBytes; i-- > 0;)
    if (!intact(after, i))
      return "past the end of " + std::string(name) + " (up to " + std::to_string(i + 1) + " bytes after it)";
  return {};
}

GuardedBuffer GuardedBuffer::copy() const {
  GuardedBuffer out(size_);
  std::copy_n(data(), size_, out.data());
  return out;
}

bool GuardedBuffer::same_bits(const GuardedBuffer& other) const noexcept {
  return size_ == other.size_ && std::memcmp(data(), other.data(), size_ * sizeof(float)) == 0;
}

}  // namespace s8net::conformance
