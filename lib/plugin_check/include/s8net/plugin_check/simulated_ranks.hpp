// Several ranks of a data-parallel training simulated in one process, for checking what plugins
// and the trainer do with a Collective without MPI: each rank runs on a thread of its own, and the
// collective operations sum across those threads. Only one rank runs at a time (the others wait
// for their turn or in a collective), so ranks may share a oneDNN engine and stream.
#pragma once

#include <s8net/norm/collective.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace s8net {

class SimulatedRanks {
 public:
  // patience: how long a rank waits in a collective for the others before it fails (a plugin that
  // calls the collective on some ranks only would otherwise hang the check).
  explicit SimulatedRanks(int size, std::chrono::milliseconds patience = std::chrono::seconds(20));
  ~SimulatedRanks();
  SimulatedRanks(const SimulatedRanks&) = delete;
  SimulatedRanks& operator=(const SimulatedRanks&) = delete;

  int size() const noexcept { return static_cast<int>(ranks_.size()); }
  // Rank r's collective, valid as long as this object.
  Collective& rank(int r);

  // Runs body(r) for every rank r, each on its own thread, and returns when all have ended.
  // Rethrows the first failure (a rank's exception, or a collective the ranks did not all call
  // alike); the other ranks' collectives then fail too instead of waiting.
  void run(const std::function<void(int)>& body);

 private:
  class Rank;
  void allreduce(int rank, std::span<float> data);
  std::vector<std::string> all_gather(int rank, const std::string& text);
  // Waits, releasing the turn, until the collective of this generation completes; throws when a
  // rank failed or ended, or after patience_.
  void wait_for_others(int rank, const char* operation);
  void complete(const char* operation);

  std::chrono::milliseconds patience_;
  std::vector<std::unique_ptr<Collective>> ranks_;
  std::mutex turn_;  // held by the running rank; released while it waits
  std::condition_variable changed_;
  std::vector<std::unique_lock<std::mutex>*> locks_;  // each running rank's hold on turn_
  std::vector<std::vector<float>> floats_;            // deposited, then replaced by the sums
  std::vector<std::string> texts_, gathered_;
  int arrived_ = 0;
  uint64_t generation_ = 0;  // of completed collectives
  bool failed_ = false;
  int ended_ = 0;  // ranks whose body returned
  std::string failure_;
};

}  // namespace s8net
