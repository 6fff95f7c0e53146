#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/data/validation_split.hpp>

#include <array>
#include <string>

namespace s8net {

TrainValidationSplit hold_out_validation(const Dataset& data, int64_t count) {
  if (count < 0) throw Error("--val must be >= 0, got " + std::to_string(count));
  std::array<int64_t, kClassCount> share{};
  for (int c = 0; c < kClassCount; ++c) share[static_cast<size_t>(c)] = count / kClassCount + (c < count % kClassCount);
  const auto available = data.class_counts();
  for (int c = 0; c < kClassCount; ++c) {
    const auto i = static_cast<size_t>(c);
    if (share[i] > 0 && share[i] >= available[i])
      throw Error("--val " + with_thousands(count) + " needs " + with_thousands(share[i]) + " " +
                  std::string(kClassNames[i]) + " images for validation, but the training images have only " +
                  with_thousands(available[i]) + " (and some must stay to train on)");
  }
  // Walking backwards, each class gives its last images until its share is met.
  std::vector<bool> held(static_cast<size_t>(data.size()), false);
  for (int64_t i = data.size() - 1; i >= 0; --i) {
    int64_t& left = share[data.labels[static_cast<size_t>(i)]];
    if (left > 0) {
      held[static_cast<size_t>(i)] = true;
      --left;
    }
  }
  TrainValidationSplit split;
  for (int64_t i = 0; i < data.size(); ++i)
    (held[static_cast<size_t>(i)] ? split.validation : split.train)
        .append(data.image(i), data.labels[static_cast<size_t>(i)]);
  return split;
}

}  // namespace s8net
