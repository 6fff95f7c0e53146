// What the trainer does differently when several processes (ranks) train one network on shares of
// each batch: the gradients summed over the ranks in one buffer per step, the ranks' weights
// checked to be identical, the norms' running statistics averaged before they are evaluated or
// saved, and the ranks' configurations, plugins and data checked to agree before anything trains.
#pragma once

#include <s8net/core/parameter.hpp>
#include <s8net/norm/collective.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace s8net {

// 64-bit FNV-1a of bytes, continuing from `hash`: a fingerprint, not a cryptographic hash.
uint64_t fingerprint(std::span<const uint8_t> bytes, uint64_t hash = 0xcbf29ce484222325ULL);
std::string hex_text(uint64_t value);

// One step's sums over the ranks: every parameter's gradient, this rank's loss sum and correct
// count, all in one allreduce.
class GradientExchange {
 public:
  GradientExchange(Collective& ranks, std::vector<Parameter*> parameters);

  struct Totals {
    double loss_sum = 0;  // sum over the global batch of each image's loss
    int64_t correct = 0;
  };
  // Replaces every gradient by its sum over the ranks; returns the global batch's totals.
  Totals sum(double loss_sum, int64_t correct);

 private:
  Collective& ranks_;
  std::vector<Parameter*> parameters_;
  std::vector<float> buffer_;
};

// Fingerprint of the parameters' values (bit patterns, so any difference counts).
uint64_t weights_fingerprint(std::span<Parameter* const> parameters);

// All ranks learn whether the fingerprints agree and whether any rank asks to stop. Throws
// s8net::Error on every rank, naming the first rank whose weights differ from rank 0's, when
// they do not agree. `when` says where training stands ("after step 12").
bool agree_on_weights_and_stop(Collective& ranks, uint64_t weights, bool stop, const std::string& when);

// Replaces each state tensor (running statistics) by its mean over the ranks: without
// synchronized BatchNorm each rank's statistics are those of its own shares.
void average_over_ranks(Collective& ranks, std::span<Parameter* const> state);

// A fact a rank states about itself before training (its configuration, a plugin's fingerprint,
// the data's): name and value.
using RankFact = std::pair<std::string, std::string>;
// Throws s8net::Error on every rank when a rank states another list of facts than rank 0, naming
// the rank, the first fact that differs and both values.
void check_ranks_agree(Collective& ranks, const std::vector<RankFact>& facts);

}  // namespace s8net
