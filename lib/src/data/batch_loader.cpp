#include <s8net/core/error.hpp>
#include <s8net/core/random.hpp>
#include <s8net/data/batch_loader.hpp>

#include <tbb/parallel_for.h>

#include <algorithm>
#include <numeric>

namespace s8net {
namespace {

constexpr uint64_t kShuffleStream = 0x53485546464c45ULL;  // "SHUFFLE"
constexpr uint64_t kAugmentStream = 0x4155474d454e54ULL;  // "AUGMENT"

}  // namespace

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle) return order;
  // Fisher-Yates with our own generator: std::shuffle's result differs between standard libraries.
  KeyedRandom random(combine_keys(combine_keys(seed, kShuffleStream), static_cast<uint64_t>(epoch)));
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[random.below(static_cast<uint64_t>(i + 1))]);
  return order;
}

BatchLoader::BatchLoader(const Dataset& data, const Augmenter& augmenter, LoaderOptions options)
    : data_(data), augmenter_(augmenter), options_(options) {
  if (options_.batch_size <= 0) throw Error("batch size must be > 0, got " + std::to_string(options_.batch_size));
  if (data_.size() == 0) throw Error("no images to load");
  if (options_.ranks < 1 || options_.rank < 0 || options_.rank >= options_.ranks)
    throw Error("rank " + std::to_string(options_.rank) + " of " + std::to_string(options_.ranks) + " does not exist");
}

BatchLoader::~BatchLoader() { wait_pending(); }

int64_t BatchLoader::batches_per_epoch() const noexcept {
  // Not (n + b - 1) / b, which overflows for a batch near the largest int64.
  return data_.size() / options_.batch_size + (data_.size() % options_.batch_size != 0);
}

void BatchLoader::wait_pending() noexcept {
  if (pending_.valid()) pending_.wait();
}

void BatchLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  wait_pending();
  if (pending_.valid()) pending_.get();
  epoch_ = epoch;
  order_ = epoch_order(data_.size(), options_.seed, epoch, options_.shuffle);
  next_batch_ = std::clamp<int64_t>(first_batch, 0, batches_per_epoch());
  launch(next_batch_);
}

void BatchLoader::fill(Batch& batch, int64_t batch_index) const {
  const int64_t global_begin = batch_index * options_.batch_size;
  const int64_t global_count = std::min(options_.batch_size, data_.size() - global_begin);
  // This rank's share: consecutive positions of the global batch, in rank order.
  batch.offset = global_count * options_.rank / options_.ranks;
  batch.global_size = global_count;
  const int64_t begin = global_begin + batch.offset;
  const int64_t count = global_count * (options_.rank + 1) / options_.ranks - batch.offset;
  batch.images.resize(static_cast<size_t>(count * kImageBytes));
  batch.labels.resize(static_cast<size_t>(count));
  batch.indices.assign(order_.begin() + begin, order_.begin() + begin + count);
  const uint64_t epoch_key = combine_keys(combine_keys(options_.seed, kAugmentStream), static_cast<uint64_t>(epoch_));
  auto prepare = [&](int64_t i) {
    const int64_t index = batch.indices[static_cast<size_t>(i)];
    batch.labels[static_cast<size_t>(i)] = data_.labels[static_cast<size_t>(index)];
    augmenter_.apply(data_.image(index), options_.augment, combine_keys(epoch_key, static_cast<uint64_t>(index)),
                     std::span(batch.images).subspan(static_cast<size_t>(i * kImageBytes), kImageBytes));
  };
  if (options_.parallel)
    tbb::parallel_for(int64_t{0}, count, prepare);
  else
    for (int64_t i = 0; i < count; ++i) prepare(i);
}

void BatchLoader::launch(int64_t batch_index) {
  if (batch_index >= batches_per_epoch()) return;
  if (options_.prefetch)
    pending_ = std::async(std::launch::async, [this, batch_index] { fill(upcoming_, batch_index); });
  else
    fill(upcoming_, batch_index);
}

const Batch* BatchLoader::next() {
  if (order_.empty()) throw Error("BatchLoader::next() before start_epoch()");
  if (next_batch_ >= batches_per_epoch()) return nullptr;
  if (pending_.valid()) pending_.get();  // rethrows a failure of the background fill
  std::swap(current_, upcoming_);
  ++next_batch_;
  launch(next_batch_);
  return &current_;
}

}  // namespace s8net
