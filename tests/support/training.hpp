// What the trainer's tests share: the shipped plugins loaded from the build tree, an observer that
// only watches, and one that asks to stop as Ctrl-C does.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/train/trainer.hpp>

#include <cstdint>

namespace s8net::test {

struct Plugins {
  Context context;
  NormRegistry registry{context};
  Plugins() { registry.load_path(S8NET_PLUGIN_DIR); }
};

class Quiet : public TrainObserver {};

// Asks to stop once `after` batches have been trained, as Ctrl-C does between two batches.
class StopAfter : public TrainObserver {
 public:
  explicit StopAfter(int64_t after) : after_(after) {}
  void on_batch(const BatchProgress&) override { ++batches_; }
  bool stop_requested() override { return batches_ >= after_; }

 private:
  int64_t after_, batches_ = 0;
};

}  // namespace s8net::test
