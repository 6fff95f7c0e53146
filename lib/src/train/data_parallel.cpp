#include <s8net/core/error.hpp>
#include <s8net/train/data_parallel.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace s8net {

uint64_t fingerprint(std::span<const uint8_t> bytes, uint64_t hash) {
  for (const uint8_t b : bytes) hash = (hash ^ b) * 0x100000001b3ULL;
  return hash;
}

std::string hex_text(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

GradientExchange::GradientExchange(Collective& ranks, std::vector<Parameter*> parameters)
    : ranks_(ranks), parameters_(std::move(parameters)) {
  size_t floats = 2;  // the loss sum and the correct count
  for (const Parameter* p : parameters_) floats += static_cast<size_t>(p->grad.size());
  buffer_.resize(floats);
}

GradientExchange::Totals GradientExchange::sum(double loss_sum, int64_t correct) {
  if (ranks_.size() == 1) return {loss_sum, correct};
  float* at = buffer_.data();
  for (const Parameter* p : parameters_) at = std::copy_n(p->grad.data(), p->grad.size(), at);
  at[0] = static_cast<float>(loss_sum);
  at[1] = static_cast<float>(correct);  // exact: a batch's count is far below 2^24
  ranks_.allreduce_sum(buffer_);
  const float* from = buffer_.data();
  for (Parameter* p : parameters_) {
    std::copy_n(from, p->grad.size(), p->grad.data());
    from += p->grad.size();
  }
  return {static_cast<double>(from[0]), static_cast<int64_t>(std::llround(from[1]))};
}

uint64_t weights_fingerprint(std::span<Parameter* const> parameters) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const Parameter* p : parameters)
    hash = fingerprint({reinterpret_cast<const uint8_t*>(p->value.data()), static_cast<size_t>(p->value.size()) * 4},
                       hash);
  return hash;
}

bool agree_on_weights_and_stop(Collective& ranks, uint64_t weights, bool stop, const std::string& when) {
  if (ranks.size() == 1) return stop;
  const std::vector<std::string> all = ranks.all_gather(hex_text(weights) + (stop ? "s" : "-"));
  bool any_stop = false;
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].compare(0, 16, all[0], 0, 16) != 0)
      throw Error("data-parallel training: the weights of rank " + std::to_string(r) + " differ from rank 0's " + when +
                  " (fingerprint " + all[r].substr(0, 16) + " against " + all[0].substr(0, 16) +
                  "); the ranks no longer train one network, so training stops here");
    any_stop = any_stop || all[r].back() == 's';
  }
  return any_stop;
}

void average_over_ranks(Collective& ranks, std::span<Parameter* const> state) {
  if (ranks.size() == 1) return;
  std::vector<float> buffer;
  for (const Parameter* p : state) buffer.insert(buffer.end(), p->value.data(), p->value.data() + p->value.size());
  ranks.allreduce_sum(buffer);
  const float scale = 1.f / static_cast<float>(ranks.size());
  const float* from = buffer.data();
  for (Parameter* p : state)
    for (int64_t i = 0; i < p->value.size(); ++i) p->value.data()[i] = *from++ * scale;
}

namespace {

std::string joined(const std::vector<RankFact>& facts) {
  std::string text;
  for (const auto& [name, value] : facts) text += name + '\n' + value + '\n';
  return text;
}

std::vector<RankFact> split(const std::string& text) {
  std::vector<RankFact> facts;
  std::istringstream lines(text);
  for (std::string name, value; std::getline(lines, name) && std::getline(lines, value);)
    facts.emplace_back(name, value);
  return facts;
}

}  // namespace

void check_ranks_agree(Collective& ranks, const std::vector<RankFact>& facts) {
  if (ranks.size() == 1) return;
  const std::vector<std::string> all = ranks.all_gather(joined(facts));
  const std::vector<RankFact> reference = split(all[0]);
  for (size_t r = 1; r < all.size(); ++r) {
    if (all[r] == all[0]) continue;
    const std::vector<RankFact> other = split(all[r]);
    for (size_t i = 0; i < std::max(reference.size(), other.size()); ++i) {
      const RankFact none{"(nothing)", "(nothing)"};
      const RankFact& a = i < reference.size() ? reference[i] : none;
      const RankFact& b = i < other.size() ? other[i] : none;
      if (a == b) continue;
      throw Error("data-parallel training: rank " + std::to_string(r) + " was started differently from rank 0: " +
                  (a.first == b.first ? a.first + " is " + b.second + " on rank " + std::to_string(r) + " but " +
                                            a.second + " on rank 0"
                                      : b.first + " on rank " + std::to_string(r) + " where rank 0 has " + a.first) +
                  "; every rank must run the same command on the same data and plugins");
    }
  }
}

}  // namespace s8net
