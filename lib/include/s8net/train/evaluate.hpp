// Evaluation of a network on a data set: loss, accuracy, per-class accuracy, confusion matrix
// and each image's prediction (for reports of misclassified images).
#pragma once

#include <s8net/data/augment.hpp>
#include <s8net/data/dataset.hpp>
#include <s8net/model/s8_network.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace s8net {

using ConfusionMatrix = std::array<std::array<int64_t, kClassCount>, kClassCount>;  // [true][predicted]

int64_t class_count(const ConfusionMatrix& confusion, int label) noexcept;    // images of that class
double class_accuracy(const ConfusionMatrix& confusion, int label) noexcept;  // percent of them right

struct EvalResult {
  double loss = 0;  // mean negative log-likelihood
  int64_t correct = 0;
  int64_t total = 0;
  std::vector<uint8_t> predictions;  // per image, in data order
  std::vector<float> confidences;    // per image: the probability the network gave its prediction
  ConfusionMatrix confusion{};

  double accuracy() const noexcept;                 // percent
  double class_accuracy(int label) const noexcept;  // percent of that class's images
  int64_t class_count(int label) const noexcept;    // images of that class
};

// What an evaluation averages for each image: the class probabilities of every view of it. The
// views are the image itself and, with `shift` > 0, the image moved `shift` pixels left, right, up
// and down (reflect-101 border, as the shift-scale-rotate augmentation fills it); with `flip`, each
// of those and its mirror image. Each view costs one evaluation.
struct TestTimeAugmentation {
  bool flip = false;
  int64_t shift = 0;  // pixels, 0 (no shifted views) to kMaxTestTimeShift

  int64_t views() const noexcept { return (flip ? 2 : 1) * (shift > 0 ? 5 : 1); }
  bool operator==(const TestTimeAugmentation&) const = default;
};
inline constexpr int64_t kMaxTestTimeShift = 8;
// "none", "flip", "shift2", "flip+shift1": the names parse_test_time_augmentation reads.
std::string name_of(const TestTimeAugmentation& tta);
TestTimeAugmentation parse_test_time_augmentation(const std::string& name);  // throws s8net::Error listing the names

// Normalized (never augmented) images in order, `batch_size` at a time; progress(done, total)
// after each batch when given.
EvalResult evaluate(S8Network& network, const Dataset& data, const Augmenter& augmenter, int64_t batch_size,
                    const std::function<void(int64_t, int64_t)>& progress = {}, TestTimeAugmentation tta = {});

}  // namespace s8net
