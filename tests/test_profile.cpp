// S8Network::profile and `s8net summary --profile`: every layer's ops are timed in each pass, and
// the convolutions' counted work adds up to the network's.
#include "support/app_runner.hpp"
#include "support/training.hpp"

#include <s8net/model/s8_network.hpp>

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <set>
#include <string>

namespace {

using namespace s8net;

double sum_of(const std::vector<OpTiming>& rows, const std::string& pass, bool flops) {
  double total = 0;
  for (const OpTiming& row : rows)
    if (row.pass == pass) total += flops ? row.flops : row.seconds;
  return total;
}

TEST(Profile, TimesEveryLayerInEveryPassAndCountsTheConvolutionsWork) {
  test::Plugins plugins;
  NetworkConfig config;
  config.norm = "gn";
  config.inference_chunk = 16;
  S8Network network(plugins.context, plugins.registry, config);
  const int64_t batch = 40;  // more than one inference chunk, and not a multiple of one
  const std::vector<OpTiming> rows = network.profile(batch, 2);

  const std::set<std::string> layers{"C1", "C2", "c3", "P1", "C3", "C4",  "C5",
                                     "c6", "P2", "C7", "C8", "C9", "GAP", "c10"};
  // Where the plan takes each max-pool into the 1x1 conv before it, the pool's time is the conv's.
  const std::vector<std::string> steps = network.implementation_names(16);
  const bool pools_in_the_convs = std::any_of(steps.begin(), steps.end(), [](const std::string& line) {
    return line.find("max-pool taken in") != std::string::npos;
  });
  for (const std::string pass : {"train forward", "inference"}) {
    std::set<std::string> seen;
    for (const OpTiming& row : rows)
      if (row.pass == pass) seen.insert(row.layer);
    for (const std::string& layer : layers) {
      const bool taken_in = pass == "inference" && pools_in_the_convs && (layer == "P1" || layer == "P2");
      EXPECT_EQ(seen.count(layer), taken_in ? 0u : 1u) << pass << " " << layer;
    }
    EXPECT_TRUE(seen.count("loss")) << pass;
  }
  int norms_backward = 0;
  for (const OpTiming& row : rows) {
    EXPECT_GT(row.seconds, 0) << row.pass << " " << row.layer << " " << row.op;
    EXPECT_EQ(row.flops > 0, row.op.starts_with("convolution")) << row.layer << " " << row.op;
    norms_backward += row.pass == "train backward" && row.op == "norm";
  }
  EXPECT_EQ(norms_backward, 8);  // the eight 3x3 conv layers' norms

  const double images = static_cast<double>(batch);
  EXPECT_NEAR(sum_of(rows, "train forward", true), S8Network::conv_flops_per_image(Mode::eval) * images, 1);
  EXPECT_NEAR(sum_of(rows, "train forward", true) + sum_of(rows, "train backward", true),
              S8Network::conv_flops_per_image(Mode::train) * images, 1);
  EXPECT_NEAR(sum_of(rows, "inference", true), S8Network::conv_flops_per_image(Mode::eval) * images, 1);
  EXPECT_THROW(network.profile(0, 1), Error);
  EXPECT_THROW(network.profile(8, 0), Error);
}

TEST(Profile, TheSummaryPrintsATablePerPass) {
  const auto r = test::run_app("summary --norm bn --profile --batch 8 --runs 2");
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_CONTAINS(r.out, "profile at batch 8, mean of 2 runs");
  for (const char* pass : {"\ntrain forward: ", "\ntrain backward: ", "\ninference: "}) EXPECT_CONTAINS(r.out, pass);
  EXPECT_CONTAINS(r.out, "C5     convolution backward_weights");
  EXPECT_CONTAINS(r.out, "C5     norm");
  // A batch larger than a chunk is evaluated in chunks, and the inference line says how.
  const int64_t chunk = S8Network::kInferenceImagesPerThread * omp_get_max_threads();
  const auto chunked = test::run_app("summary --norm bn --profile --runs 1 --batch " + std::to_string(chunk + 1));
  ASSERT_EQ(chunked.exit_code, 0) << chunked.all();
  EXPECT_CONTAINS(chunked.out, "images/s (in chunks of " + std::to_string(chunk) + " images)\n");
  const auto bad = test::run_app("summary --norm bn --profile --runs 0");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_CONTAINS(bad.err, "--runs must be in [1, 10000], got 0");
}

}  // namespace
