// Data-parallel training without MPI: ranks simulated in one process (plugin_check's
// SimulatedRanks). A global batch split over 2 ranks, each loading its share and summing its
// gradients with the others', gives one process's gradients for GroupNorm, LayerNorm and
// synchronized BatchNorm, and measurably not for per-rank BatchNorm; the loader's shares make up
// the whole batch; ranks with other weights or another start are refused, naming the difference.
#include "support/synthetic_data.hpp"

#include <s8net/core/error.hpp>
#include <s8net/data/batch_loader.hpp>
#include <s8net/model/s8_network.hpp>
#include <s8net/norm/registry.hpp>
#include <s8net/plugin_check/simulated_ranks.hpp>
#include <s8net/train/data_parallel.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace s8net {
namespace {

constexpr int64_t kImageValues = 3 * 32 * 32;
constexpr int64_t kBatch = 8;
constexpr int kRanks = 2;

struct Step {
  double loss = 0;                        // over the global batch
  std::vector<std::vector<float>> grads;  // per parameter, summed over the ranks
};

std::vector<std::vector<float>> grads_of(S8Network& network) {
  std::vector<std::vector<float>> grads;
  for (const Parameter* p : network.parameters()) grads.emplace_back(p->grad.data(), p->grad.data() + p->grad.size());
  return grads;
}

// The largest |a - b| over a parameter, relative to that parameter's largest |a|, or to a
// thousandth of the largest gradient of all for a parameter whose gradient is (nearly) zero: a conv
// bias before BatchNorm, which the normalization cancels, has only rounding noise for a gradient.
double largest_relative_difference(const Step& a, const Step& b) {
  double overall = 0;
  for (const auto& g : a.grads)
    for (const float v : g) overall = std::max(overall, static_cast<double>(std::abs(v)));
  double worst = 0;
  for (size_t t = 0; t < a.grads.size(); ++t) {
    double scale = 1e-3 * overall, difference = 0;
    for (size_t i = 0; i < a.grads[t].size(); ++i) {
      scale = std::max(scale, static_cast<double>(std::abs(a.grads[t][i])));
      difference = std::max(difference, static_cast<double>(std::abs(a.grads[t][i] - b.grads[t][i])));
    }
    worst = std::max(worst, difference / scale);
  }
  return worst;
}

class DataParallel : public ::testing::TestWithParam<std::pair<std::string, NormOptions>> {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<NormRegistry>(context_);
    for (const auto& failure : registry_->load_path(S8NET_PLUGIN_DIR)) ADD_FAILURE() << failure.reason;
    std::mt19937 generator(3);
    std::normal_distribution<float> normal(0.f, 1.f);
    images_.resize(static_cast<size_t>(kBatch * kImageValues));
    for (float& v : images_) v = normal(generator);
    for (int64_t i = 0; i < kBatch; ++i) labels_.push_back(static_cast<int32_t>(i % 10));
  }

  NetworkConfig config(bool options = true) const {
    NetworkConfig c;
    c.norm = GetParam().first;
    if (options) c.norm_options = GetParam().second;
    c.seed = 11;
    c.dropout = 0.2f;  // high, so that a mask keyed by the wrong position shows
    return c;
  }

  Step one_process(bool options = true) {
    S8Network network(context_, *registry_, config(options));
    const BatchResult r = network.forward_backward(images_, labels_);
    return {r.loss, grads_of(network)};
  }

  Step over_ranks() {
    SimulatedRanks ranks(kRanks);
    std::vector<std::unique_ptr<S8Network>> networks;
    for (int r = 0; r < kRanks; ++r)
      networks.push_back(std::make_unique<S8Network>(context_, *registry_, config(), ranks.rank(r)));
    std::vector<double> loss_sums(kRanks);
    ranks.run([&](int r) {
      const int64_t first = kBatch * r / kRanks, count = kBatch * (r + 1) / kRanks - first;
      const auto images = std::span(images_).subspan(static_cast<size_t>(first * kImageValues),
                                                     static_cast<size_t>(count * kImageValues));
      const auto labels = std::span(labels_).subspan(static_cast<size_t>(first), static_cast<size_t>(count));
      S8Network& network = *networks[static_cast<size_t>(r)];
      const BatchResult result = network.forward_backward(images, labels, {first, kBatch});
      GradientExchange exchange(ranks.rank(r), network.parameters());
      loss_sums[static_cast<size_t>(r)] =
          exchange.sum(result.loss * static_cast<double>(count), result.correct).loss_sum;
    });
    EXPECT_EQ(loss_sums[0], loss_sums[1]) << "every rank gets the same sums";
    EXPECT_EQ(grads_of(*networks[0]), grads_of(*networks[1])) << "every rank gets the same gradients";
    return {loss_sums[0] / kBatch, grads_of(*networks[0])};
  }

  Context context_;
  std::unique_ptr<NormRegistry> registry_;
  std::vector<float> images_;
  std::vector<int32_t> labels_;
};

TEST_P(DataParallel, TwoRanksSumToOneProcesssGradientsExceptForBatchNormWithoutSync) {
  const Step whole = one_process();
  const Step split = over_ranks();
  const double difference = largest_relative_difference(whole, split);
  const bool per_rank_statistics = GetParam().first == "bn" && GetParam().second.empty();
  if (per_rank_statistics) {
    // Each rank normalizes its 4 images alone: another function of the batch.
    EXPECT_GT(difference, 1e-2);
    EXPECT_GT(std::abs(split.loss - whole.loss), 1e-4);
  } else if (GetParam().first == "bn") {
    // Synchronized BatchNorm computes its gradient with sums of its own (oneDNN's in one process
    // without sync): the rounding of those two ways is the tolerance.
    const double rounding = largest_relative_difference(whole, one_process(false));
    EXPECT_LT(difference, std::max(2e-4, 3 * rounding)) << "rounding " << rounding;
    EXPECT_NEAR(split.loss, whole.loss, 1e-5 * whole.loss);
    std::cout << "bn sync=1 in one process against oneDNN's bn: " << rounding << "\n";
  } else {
    EXPECT_LT(difference, 2e-4);
    EXPECT_NEAR(split.loss, whole.loss, 1e-5 * whole.loss);
  }
  std::cout << GetParam().first << (per_rank_statistics ? "" : " (whole batch)")
            << ": largest relative gradient difference from one process " << difference << ", loss " << split.loss
            << " against " << whole.loss << "\n";
}

std::string norm_case_name(const ::testing::TestParamInfo<DataParallel::ParamType>& info) {
  return info.param.first + (info.param.second.empty() ? "" : "_sync");
}

INSTANTIATE_TEST_SUITE_P(Norms, DataParallel,
                         ::testing::Values(std::pair<std::string, NormOptions>{"gn", {}},
                                           std::pair<std::string, NormOptions>{"ln", {}},
                                           std::pair<std::string, NormOptions>{"bn", {{"sync", 1}}},
                                           std::pair<std::string, NormOptions>{"bn", {}}),
                         norm_case_name);

TEST(DataParallelLoader, TheRanksSharesMakeUpEachWholeBatchWhateverTheirNumber) {
  const Dataset data = test::random_dataset(23, 5);  // the last batch of 5 is smaller
  const Augmenter augmenter(AugmentOptions{});
  LoaderOptions options;
  options.batch_size = 6;
  options.prefetch = false;
  BatchLoader whole(data, augmenter, options);
  whole.start_epoch(2);
  std::vector<std::vector<float>> images;
  std::vector<std::vector<int64_t>> indices;
  while (const Batch* b = whole.next()) {
    images.push_back(b->images);
    indices.push_back(b->indices);
  }
  for (const int ranks : {2, 3, 4}) {
    std::vector<std::vector<float>> joined_images(images.size());
    std::vector<std::vector<int64_t>> joined_indices(images.size());
    for (int rank = 0; rank < ranks; ++rank) {
      LoaderOptions share = options;
      share.rank = rank;
      share.ranks = ranks;
      BatchLoader loader(data, augmenter, share);
      loader.start_epoch(2);
      for (size_t k = 0; const Batch* b = loader.next(); ++k) {
        EXPECT_EQ(b->offset, static_cast<int64_t>(joined_indices[k].size())) << ranks << " ranks, batch " << k;
        EXPECT_EQ(b->global_size, static_cast<int64_t>(indices[k].size()));
        joined_images[k].insert(joined_images[k].end(), b->images.begin(), b->images.end());
        joined_indices[k].insert(joined_indices[k].end(), b->indices.begin(), b->indices.end());
      }
    }
    EXPECT_EQ(joined_indices, indices) << ranks << " ranks";
    EXPECT_EQ(joined_images, images) << ranks << " ranks: augmentation keyed by the image, not by the rank";
  }
  LoaderOptions wrong = options;
  wrong.rank = 2;
  wrong.ranks = 2;
  EXPECT_THROW(BatchLoader(data, augmenter, wrong), Error);
}

TEST(DataParallelChecks, RanksStartedDifferentlyAreRefusedOnEveryRankNamingTheDifference) {
  SimulatedRanks ranks(3);
  std::vector<std::string> errors(3);
  ranks.run([&](int r) {
    const std::vector<RankFact> facts = {{"the configuration", "batch 32"},
                                         {"the norm plugin", r == 2 ? "bn 0.1.1" : "bn 0.1.0"}};
    try {
      check_ranks_agree(ranks.rank(r), facts);
    } catch (const Error& e) {
      errors[static_cast<size_t>(r)] = e.what();
    }
  });
  for (const std::string& e : errors)
    EXPECT_EQ(e,
              "data-parallel training: rank 2 was started differently from rank 0: the norm plugin is bn 0.1.1 on "
              "rank 2 but bn 0.1.0 on rank 0; every rank must run the same command on the same data and plugins");
  ranks.run([&](int r) { EXPECT_NO_THROW(check_ranks_agree(ranks.rank(r), {{"the data", "same"}})); });
}

TEST(DataParallelChecks, RanksWhoseWeightsDifferStopNamingTheRankAndAStopAskedOnOneRankStopsAll) {
  SimulatedRanks ranks(2);
  std::vector<bool> stops(2);
  ranks.run([&](int r) { stops[static_cast<size_t>(r)] = agree_on_weights_and_stop(ranks.rank(r), 42, r == 1, "x"); });
  EXPECT_EQ(stops, std::vector<bool>({true, true}));
  std::vector<std::string> errors(2);
  ranks.run([&](int r) {
    try {
      agree_on_weights_and_stop(ranks.rank(r), r == 0 ? 42 : 43, false, "after step 7");
    } catch (const Error& e) {
      errors[static_cast<size_t>(r)] = e.what();
    }
  });
  for (const std::string& e : errors) {
    EXPECT_NE(e.find("the weights of rank 1 differ from rank 0's after step 7"), std::string::npos) << e;
  }
}

TEST(DataParallelChecks, RunningStatisticsAreAveragedOverTheRanks) {
  SimulatedRanks ranks(2);
  Context context;
  std::vector<std::vector<float>> values = {{1.f, 2.f}, {3.f, 6.f}};
  ranks.run([&](int r) {
    const dnnl::memory::desc desc({2}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::x);
    Parameter p{"running_mean", Tensor(desc, context.engine(), values[static_cast<size_t>(r)].data()), {}};
    Parameter* state[] = {&p};
    average_over_ranks(ranks.rank(r), state);
  });
  EXPECT_EQ(values[0], std::vector<float>({2.f, 4.f}));
  EXPECT_EQ(values[1], std::vector<float>({2.f, 4.f}));
}

}  // namespace
}  // namespace s8net
