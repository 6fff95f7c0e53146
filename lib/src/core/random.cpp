#include <s8net/core/random.hpp>

namespace s8net {

uint64_t mix64(uint64_t key) noexcept {
  uint64_t z = key + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

float uniform_from_key(uint64_t key) noexcept {
  return static_cast<float>(mix64(key) >> 40) * 0x1.0p-24f;  // 24 random bits: exact in a float
}

uint64_t combine_keys(uint64_t a, uint64_t b) noexcept { return mix64(a ^ mix64(b + 0x632be59bd9b4e019ULL)); }

}  // namespace s8net
