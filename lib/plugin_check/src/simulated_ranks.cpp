#include <s8net/core/error.hpp>
#include <s8net/plugin_check/simulated_ranks.hpp>

#include <exception>
#include <thread>

namespace s8net {

class SimulatedRanks::Rank final : public Collective {
 public:
  Rank(SimulatedRanks& group, int rank, int size) : Collective(rank, size), group_(group) {}
  void allreduce_sum(std::span<float> data) override { group_.allreduce(rank(), data); }
  std::vector<std::string> all_gather(const std::string& text) override { return group_.all_gather(rank(), text); }
  std::string where() const override { return "simulated " + Collective::where(); }

 private:
  SimulatedRanks& group_;
};

SimulatedRanks::SimulatedRanks(int size, std::chrono::milliseconds patience) : patience_(patience) {
  if (size < 1) throw Error("simulated ranks: need at least one, got " + std::to_string(size));
  for (int r = 0; r < size; ++r) ranks_.push_back(std::make_unique<Rank>(*this, r, size));
  locks_.resize(static_cast<size_t>(size));
  floats_.resize(static_cast<size_t>(size));
  texts_.resize(static_cast<size_t>(size));
}

SimulatedRanks::~SimulatedRanks() = default;

Collective& SimulatedRanks::rank(int r) { return *ranks_.at(static_cast<size_t>(r)); }

void SimulatedRanks::run(const std::function<void(int)>& body) {
  {
    const std::lock_guard lock(turn_);
    arrived_ = 0;
    failed_ = false;
    ended_ = 0;
    failure_.clear();
  }
  std::vector<std::exception_ptr> errors(ranks_.size());
  std::vector<std::thread> threads;
  for (int r = 0; r < size(); ++r)
    threads.emplace_back([&, r] {
      std::unique_lock lock(turn_);
      locks_[static_cast<size_t>(r)] = &lock;
      try {
        body(r);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
        failed_ = true;
      }
      ++ended_;
      locks_[static_cast<size_t>(r)] = nullptr;
      changed_.notify_all();
    });
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

void SimulatedRanks::wait_for_others(int rank, const char* operation) {
  std::unique_lock<std::mutex>& lock = *locks_.at(static_cast<size_t>(rank));
  const uint64_t generation = generation_;
  const bool completed =
      changed_.wait_for(lock, patience_, [&] { return generation_ != generation || failed_ || ended_ > 0; });
  if (generation_ != generation) return;
  std::string why = failed_     ? "another rank failed"
                    : completed ? "a rank ended without calling it: the ranks did not all call " +
                                      std::string(operation) + " the same number of times"
                                : "the other ranks did not call it within " + std::to_string(patience_.count()) + " ms";
  failed_ = true;
  changed_.notify_all();
  throw Error("simulated rank " + std::to_string(rank) + " waited in " + operation + ": " + why);
}

void SimulatedRanks::complete(const char*) {
  arrived_ = 0;
  ++generation_;
  changed_.notify_all();
}

void SimulatedRanks::allreduce(int rank, std::span<float> data) {
  if (failed_) throw Error("simulated rank " + std::to_string(rank) + ": allreduce after another rank failed");
  floats_[static_cast<size_t>(rank)].assign(data.begin(), data.end());
  if (++arrived_ == size()) {
    for (const auto& deposit : floats_)
      if (deposit.size() != data.size()) {
        failed_ = true;
        changed_.notify_all();
        throw Error("simulated ranks called allreduce_sum_f32 with different counts (" +
                    std::to_string(floats_[0].size()) + " on rank 0, " + std::to_string(deposit.size()) +
                    " on another)");
      }
    // In rank order, as a fixed reduction order.
    std::vector<float> sum(data.size(), 0.f);
    for (const auto& deposit : floats_)
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += deposit[i];
    for (auto& deposit : floats_) deposit = sum;
    complete("allreduce_sum_f32");
  } else {
    wait_for_others(rank, "allreduce_sum_f32");
  }
  std::copy(floats_[static_cast<size_t>(rank)].begin(), floats_[static_cast<size_t>(rank)].end(), data.begin());
}

std::vector<std::string> SimulatedRanks::all_gather(int rank, const std::string& text) {
  if (failed_) throw Error("simulated rank " + std::to_string(rank) + ": all_gather after another rank failed");
  texts_[static_cast<size_t>(rank)] = text;
  // Each rank reads the texts before the next collective can replace them: the last to arrive
  // hands every rank its own copy.
  if (++arrived_ == size()) {
    gathered_ = texts_;
    complete("all_gather");
  } else {
    wait_for_others(rank, "all_gather");
  }
  return gathered_;
}

}  // namespace s8net
