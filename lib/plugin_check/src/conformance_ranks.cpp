// The "ranks" check: a case's batch split over simulated ranks (plugin ABI 1.2's collective),
// compared with the whole batch on one instance and with each share normalized alone.
#include "conformance_checks.hpp"

#include <s8net/core/format.hpp>
#include <s8net/plugin_check/simulated_ranks.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace s8net::conformance {
namespace {

constexpr int kRanks = 2;

// What one training forward and backward of a batch leaves, logical and in double.
struct Outcome {
  std::vector<double> y, dx;
  std::vector<std::vector<double>> grads, state;
};

std::vector<double> logical(const s8net_tensor_desc& desc, const GuardedBuffer& buffer) {
  std::vector<double> values(logical_size(desc));
  for_each_element(desc, [&](size_t i, size_t offset) { values[i] = buffer.data()[offset]; });
  return values;
}

std::vector<std::vector<double>> widened(const std::vector<std::vector<float>>& arrays) {
  std::vector<std::vector<double>> out;
  for (const auto& a : arrays) out.emplace_back(a.begin(), a.end());
  return out;
}

// Samples [first, first + count) of the case, on an instance whose ranks are `ranks`, with the
// parameters and inputs every instance of this case gets.
Outcome train_share(const Plugin& plugin, const Case& c, int64_t first, int64_t count, const Collective& ranks) {
  PluginInstance instance(plugin, c.shape.c, c.relu, c.options, {}, ranks);
  std::mt19937 generator(c.seed);
  randomize_parameters(instance, generator);
  const Inputs in = make_inputs(c, generator);
  const size_t per_sample = static_cast<size_t>(c.shape.c * c.shape.h * c.shape.w);
  const auto begin = static_cast<std::ptrdiff_t>(static_cast<size_t>(first) * per_sample);
  const auto end = begin + static_cast<std::ptrdiff_t>(static_cast<size_t>(count) * per_sample);
  s8net_tensor_desc desc = c.desc();
  desc.n = count;
  const GuardedBuffer x = to_layout(desc, std::vector<double>(in.x.begin() + begin, in.x.begin() + end));
  const GuardedBuffer dy = to_layout(desc, std::vector<double>(in.dy.begin() + begin, in.dy.begin() + end));
  GuardedBuffer y(x.size()), dx(x.size());
  instance.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data());
  instance.backward(desc, x.data(), y.data(), dy.data(), dx.data());
  return {logical(desc, y), logical(desc, dx), widened(copy_grads(views(instance, S8NET_NORM_PARAMETERS))),
          widened(copy_data(views(instance, S8NET_NORM_STATE)))};
}

// The shares, concatenated in rank order; parameter gradients summed (the trainer sums them over
// the ranks); state as rank 0 holds it.
Outcome joined(const std::vector<Outcome>& shares) {
  Outcome all = shares.front();
  for (size_t r = 1; r < shares.size(); ++r) {
    all.y.insert(all.y.end(), shares[r].y.begin(), shares[r].y.end());
    all.dx.insert(all.dx.end(), shares[r].dx.begin(), shares[r].dx.end());
    for (size_t t = 0; t < all.grads.size() && t < shares[r].grads.size(); ++t)
      for (size_t i = 0; i < all.grads[t].size() && i < shares[r].grads[t].size(); ++i)
        all.grads[t][i] += shares[r].grads[t][i];
  }
  return all;
}

// "" when every value agrees within a float tolerance, else the first that does not.
std::string difference(const std::vector<double>& a, const std::vector<double>& b, const std::string& name) {
  if (a.size() != b.size())
    return name + " has " + std::to_string(b.size()) + " values, not " + std::to_string(a.size());
  double scale = 1;
  for (const double v : a) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < a.size(); ++i)
    if (!(std::abs(a[i] - b[i]) <= 1e-4 * std::abs(a[i]) + 1e-5 * scale))
      return name + "[" + std::to_string(i) + "] " + format_number("%.7g", b[i]) + " against " +
             format_number("%.7g", a[i]);
  return {};
}

std::string difference(const Outcome& expected, const Outcome& got) {
  if (auto d = difference(expected.y, got.y, "y"); !d.empty()) return d;
  if (auto d = difference(expected.dx, got.dx, "dx"); !d.empty()) return d;
  for (size_t t = 0; t < expected.grads.size(); ++t)
    if (auto d = difference(expected.grads[t], got.grads.at(t), "parameter " + std::to_string(t) + " grad (summed)");
        !d.empty())
      return d;
  for (size_t t = 0; t < expected.state.size(); ++t)
    if (auto d = difference(expected.state[t], got.state.at(t), "state " + std::to_string(t)); !d.empty()) return d;
  return {};
}

}  // namespace

std::string check_ranks(const Plugin& plugin, const Case& c, const ConformanceOptions&) {
  const int64_t n = c.shape.n;
  if (n < kRanks) return "not run: fewer samples than ranks";
  const auto first_of = [&](int r) { return n * r / kRanks; };
  const auto count_of = [&](int r) { return first_of(r + 1) - first_of(r); };

  std::vector<Outcome> synchronized(kRanks), alone;
  SimulatedRanks ranks(kRanks);
  ranks.run([&](int r) {
    synchronized[static_cast<size_t>(r)] = train_share(plugin, c, first_of(r), count_of(r), ranks.rank(r));
  });
  for (int r = 0; r < kRanks; ++r) alone.push_back(train_share(plugin, c, first_of(r), count_of(r), single_process()));
  const Outcome whole = train_share(plugin, c, 0, n, single_process());

  const Outcome split = joined(synchronized);
  const std::string from_whole = difference(whole, split);
  if (from_whole.empty()) return "2 simulated ranks compute what one instance does on the whole batch";
  const std::string from_alone = difference(joined(alone), split);
  if (from_alone.empty())
    return "each of 2 simulated ranks normalizes its own share (no synchronization; the whole batch differs: " +
           from_whole + ")";
  throw Failure("over 2 simulated ranks, the result is neither the whole batch's (" + from_whole +
                ") nor each share's alone (" + from_alone + ")");
}

}  // namespace s8net::conformance
