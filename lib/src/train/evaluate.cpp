#include <s8net/data/batch_loader.hpp>
#include <s8net/train/evaluate.hpp>

#include <s8net/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

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

std::string name_of(const TestTimeAugmentation& tta) {
  const std::string shift = tta.shift > 0 ? "shift" + std::to_string(tta.shift) : "";
  if (tta.flip) return shift.empty() ? "flip" : "flip+" + shift;
  return shift.empty() ? "none" : shift;
}

TestTimeAugmentation parse_test_time_augmentation(const std::string& name) {
  const auto unknown = [&] {
    return Error("unknown test-time augmentation '" + name +
                 "' (known: none, flip, shiftN, flip+shiftN with N from 1 to " + std::to_string(kMaxTestTimeShift) +
                 ")");
  };
  TestTimeAugmentation tta;
  if (name == "none") return tta;
  std::string_view rest = name;
  if (rest.starts_with("flip")) {
    tta.flip = true;
    rest.remove_prefix(4);
    if (rest.empty()) return tta;
    if (!rest.starts_with('+')) throw unknown();
    rest.remove_prefix(1);
  }
  static_assert(kMaxTestTimeShift <= 9, "a name holds the shift as one digit");
  if (!rest.starts_with("shift") || rest.size() != 6 || rest[5] < '1' || rest[5] > '0' + kMaxTestTimeShift)
    throw unknown();
  tta.shift = rest[5] - '0';
  return tta;
}

namespace {

// One view of an image: moved by (dx, dy), then mirrored when `flip`.
struct View {
  bool flip = false;
  int64_t dx = 0, dy = 0;
};

// The views of `tta` in a fixed order, the image itself first.
std::vector<View> views_of(const TestTimeAugmentation& tta) {
  std::vector<View> positions{{}};
  if (tta.shift > 0)
    for (const auto& [dx, dy] : {std::pair{-1, 0}, {1, 0}, {0, -1}, {0, 1}})
      positions.push_back({false, dx * tta.shift, dy * tta.shift});
  std::vector<View> views;
  for (const View& at : positions) {
    views.push_back(at);
    if (tta.flip) views.push_back({true, at.dx, at.dy});
  }
  return views;
}

// Each image of `images` as `view` sees it, into `out`.
void render(std::span<const float> images, const View& view, std::vector<float>& out) {
  out.resize(images.size());
  constexpr auto image_values = static_cast<size_t>(kImageBytes);
  for (size_t at = 0; at < images.size(); at += image_values) {
    const std::span<float> to = std::span(out).subspan(at, image_values);
    translate(images.subspan(at, image_values), view.dx, view.dy, to);
    if (view.flip) flip_horizontally(to);
  }
}

// log(e^x + e^y) element by element into `sum`, from the larger of the two so that neither
// exponential underflows to a log of zero.
void add_probabilities(std::vector<float>& sum, std::span<const float> log_p) {
  for (size_t i = 0; i < sum.size(); ++i) {
    const double x = sum[i], y = log_p[i], high = std::max(x, y);
    sum[i] = static_cast<float>(high + std::log(std::exp(x - high) + std::exp(y - high)));
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
  const std::vector<View> views = views_of(tta);
  const float log_views = static_cast<float>(std::log(static_cast<double>(views.size())));
  std::vector<float> averaged, seen;
  while (const Batch* batch = loader.next()) {
    const BatchResult r = network.evaluate(batch->images, batch->labels);
    std::span<const float> log_p = network.log_probabilities();
    double batch_loss = r.loss * static_cast<double>(batch->size());
    if (views.size() > 1) {
      averaged.assign(log_p.begin(), log_p.end());
      for (size_t v = 1; v < views.size(); ++v) {
        render(batch->images, views[v], seen);
        network.evaluate(seen, batch->labels);
        add_probabilities(averaged, network.log_probabilities());
      }
      for (float& value : averaged) value -= log_views;
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
