// The processes (ranks) of one data-parallel training, as the trainer and the norm plugins see
// them: who this rank is, and the few collective operations a training needs. The library only
// defines the interface, so that it stays free of MPI; the app implements it with Boost.MPI, and a
// single process uses SingleProcess, where every operation is the identity.
#pragma once

#include <s8net/norm/plugin_api.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace s8net {

class Collective {
 public:
  virtual ~Collective() = default;
  Collective(const Collective&) = delete;
  Collective& operator=(const Collective&) = delete;

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }

  // Replaces data, on every rank, by its element-wise sum over the ranks. Every rank calls it
  // with the same size at the same point of the program. Throws s8net::Error on failure.
  virtual void allreduce_sum(std::span<float> data) = 0;
  // Every rank's text, in rank order, on every rank.
  virtual std::vector<std::string> all_gather(const std::string& text) = 0;
  // Where this rank runs, for messages: "rank 1 of 2 on host-a".
  virtual std::string where() const;

  // The view plugins are given (ABI 1.2's s8net_collective), valid as long as this object.
  const s8net_collective* plugin_view() const noexcept { return &view_; }

 protected:
  Collective(int rank, int size);

 private:
  int rank_, size_;
  s8net_collective view_{};
};

// One process training alone: rank 0 of 1.
class SingleProcess final : public Collective {
 public:
  SingleProcess() : Collective(0, 1) {}
  void allreduce_sum(std::span<float>) override {}
  std::vector<std::string> all_gather(const std::string& text) override { return {text}; }
};

// The process-wide single-rank collective, for callers that train alone.
Collective& single_process();

}  // namespace s8net
