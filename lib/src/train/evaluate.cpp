#include <s8net/data/batch_loader.hpp>
#include <s8net/train/evaluate.hpp>

#include <s8net/core/error.hpp>

#include <algorithm>
#include <cmath>

namespace s8net {

double EvalResult::accuracy() const noexcept {
  return total ? 100.0 * static_cast<double>(correct) / static_cast<double>(total) : 0.0;
}

int64_t class_count(const ConfusionMatrix& confusion, int label) noexcept {
  int64_t count = 0;
  for (const int64_t n : confusion[static_cast<size_t>(label)]) count += n;
  return count;
}

double class_accuracy(const ConfusionMatrix& confusion, int label) noexcept {
  const int64_t count = class_count(confusion, label);
  return count ? 100.0 * static_cast<double>(confusion[static_cast<size_t>(label)][static_cast<size_t>(label)]) /
                     static_cast<double>(count)
               : 0.0;
}

int64_t EvalResult::class_count(int label) const noexcept { return s8net::class_count(confusion, label); }

double EvalResult::class_accuracy(int label) const noexcept { return s8net::class_accuracy(confusion, label); }

const char* name_of(TestTimeAugmentation tta) noexcept { return tta == TestTimeAugmentation::flip ? "flip" : "none"; }

TestTimeAugmentation parse_test_time_augmentation(const std::string& name) {
  if (name == "none") return TestTimeAugmentation::none;
  if (name == "flip") return TestTimeAugmentation::flip;
  throw Error("unknown test-time augmentation '" + name + "' (known: none, flip)");
}

namespace {

// The log of the mean of the probabilities of `a` and `b`, row by row, into `a`: log((e^x + e^y) / 2)
// computed from the larger of the two so that neither exponential underflows to a log of zero.
void average_probabilities(std::vector<float>& a, std::span<const float> b) {
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i], high = std::max(x, y);
    a[i] = static_cast<float>(high + std::log((std::exp(x - high) + std::exp(y - high)) / 2));
  }
}

}  // namespace

EvalResult evaluate(S8Network& network, const Dataset& data, const Augmenter& augmenter, int64_t batch_size,
                    const std::function<void(int64_t, int64_t)>& progress, TestTimeAugmentation tta) {
  LoaderOptions options;
  options.batch_size = batch_size;
  options.shuffle = false;
  options.augment = false;
  BatchLoader loader(data, augmenter, options);
  loader.start_epoch(0);
  EvalResult result;
  result.predictions.resize(static_cast<size_t>(data.size()));
  result.confidences.resize(static_cast<size_t>(data.size()));
  double loss_sum = 0;
  std::vector<float> averaged, mirrored;
  while (const Batch* batch = loader.next()) {
    const BatchResult r = network.evaluate(batch->images, batch->labels);
    std::span<const float> log_p = network.log_probabilities();
    double batch_loss = r.loss * static_cast<double>(batch->size());
    if (tta == TestTimeAugmentation::flip) {
      averaged.assign(log_p.begin(), log_p.end());
      mirrored.assign(batch->images.begin(), batch->images.end());
      constexpr auto image_values = static_cast<size_t>(kImageBytes);
      for (size_t at = 0; at < mirrored.size(); at += image_values)
        flip_horizontally(std::span(mirrored).subspan(at, image_values));
      network.evaluate(mirrored, batch->labels);
      average_probabilities(averaged, network.log_probabilities());
      log_p = averaged;
      batch_loss = 0;
      for (int64_t i = 0; i < batch->size(); ++i)
        batch_loss -= log_p[static_cast<size_t>(i * kClassCount + batch->labels[static_cast<size_t>(i)])];
    }
    loss_sum += batch_loss;
    for (int64_t i = 0; i < batch->size(); ++i) {
      const float* row = log_p.data() + i * kClassCount;
      const auto predicted = static_cast<uint8_t>(std::max_element(row, row + kClassCount) - row);
      const int32_t label = batch->labels[static_cast<size_t>(i)];
      const auto index = static_cast<size_t>(batch->indices[static_cast<size_t>(i)]);
      result.predictions[index] = predicted;
      result.confidences[index] = std::exp(row[predicted]);
      ++result.confusion[static_cast<size_t>(label)][predicted];
      result.correct += predicted == label;
    }
    result.total += batch->size();
    if (progress) progress(result.total, data.size());
  }
  result.loss = result.total ? loss_sum / static_cast<double>(result.total) : 0.0;
  return result;
}

}  // namespace s8net
