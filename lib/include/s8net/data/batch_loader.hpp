// Batches of normalized float images for the network, an epoch at a time: the order is shuffled
// from (seed, epoch), training images are augmented, and while the caller trains on one batch
// the next is prepared on a background thread.
#pragma once

#include <s8net/data/augment.hpp>
#include <s8net/data/dataset.hpp>

#include <cstdint>
#include <future>
#include <vector>

namespace s8net {

struct Batch {
  std::vector<float> images;  // size() x 3 x 32 x 32, normalized
  std::vector<int32_t> labels;
  std::vector<int64_t> indices;  // positions in the data set
  // A rank's share of a data-parallel step: images offset .. offset + size() of a global batch of
  // global_size (offset 0 and global_size == size() in one process).
  int64_t offset = 0, global_size = 0;
  int64_t size() const noexcept { return static_cast<int64_t>(labels.size()); }
};

// A permutation of [0, n) that depends only on (seed, epoch); identity when !shuffle.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = true;
  bool augment = true;
  bool prefetch = true;  // prepare batch k+1 on a background thread while the caller trains on batch k
  // Spread a batch's images over TBB's threads. Off by default: while oneDNN's OpenMP threads
  // occupy every core, TBB workers only take time from them (bench_loader measures both;
  // docs/app.md, "Training").
  bool parallel = false;
  uint64_t seed = 1;
  // Data-parallel training: this process loads share `rank` of `ranks` of every batch, the images
  // a single process would put at those positions of the same batch.
  int rank = 0, ranks = 1;
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& data, const Augmenter& augmenter, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Starts an epoch (any epoch, in any order: resuming needs no history) at batch first_batch:
  // a batch depends only on (seed, epoch, its index), so an epoch can also be resumed midway.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch (the last one may be smaller; a rank's share may then be empty), or nullptr
  // when the epoch is over. Valid until the next call.
  const Batch* next();
  int64_t batches_per_epoch() const noexcept;
  const LoaderOptions& options() const noexcept { return options_; }

 private:
  void fill(Batch& batch, int64_t batch_index) const;
  void launch(int64_t batch_index);
  void wait_pending() noexcept;

  const Dataset& data_;
  const Augmenter& augmenter_;
  LoaderOptions options_;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
  int64_t next_batch_ = 0;
  Batch current_, upcoming_;
  std::future<void> pending_;  // filling upcoming_ with batch next_batch_
};

}  // namespace s8net
