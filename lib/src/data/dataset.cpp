#include <s8net/data/dataset.hpp>

#include <algorithm>

namespace s8net {

int class_index(std::string_view name) noexcept {
  const auto found = std::find(kClassNames.begin(), kClassNames.end(), name);
  return found == kClassNames.end() ? -1 : static_cast<int>(found - kClassNames.begin());
}

void Dataset::append(std::span<const uint8_t> image, uint8_t label) {
  pixels.insert(pixels.end(), image.begin(), image.end());
  labels.push_back(label);
}

Dataset Dataset::first(int64_t n) const {
  if (n <= 0 || n >= size()) return *this;
  Dataset subset;
  subset.pixels.assign(pixels.begin(), pixels.begin() + n * kImageBytes);
  subset.labels.assign(labels.begin(), labels.begin() + n);
  return subset;
}

std::array<int64_t, kClassCount> Dataset::class_counts() const noexcept {
  std::array<int64_t, kClassCount> counts{};
  for (const uint8_t label : labels) ++counts[label];
  return counts;
}

}  // namespace s8net
