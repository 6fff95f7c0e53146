// What a faster recipe is made of, each against a hand-computed reference: the weights' moving
// average (EMA) and its place in training, checkpoints and --resume; label smoothing in the
// training loss; test-time averaging over flipped and shifted views; the named recipes; and configurations of earlier
// versions, which know none of them.
#include "support/error_of.hpp"
#include "support/reference.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"
#include "support/training.hpp"

#include <s8net/norm/registry.hpp>
#include <s8net/train/evaluate.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/trainer.hpp>
#include <s8net/train/weight_average.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::error_of;
using test::Plugins;
using test::Quiet;
using test::StopAfter;
using test::TempDir;

NetworkConfig network_config(const std::string& norm, uint64_t seed) {
  NetworkConfig config;
  config.norm = norm;
  config.seed = seed;
  return config;
}

std::vector<float> values_of(const Parameter& p) { return {p.value.data(), p.value.data() + p.value.size()}; }

TEST(WeightAverage, DecayWarmsUpToTheGivenOne) {
  EXPECT_DOUBLE_EQ(WeightAverage::decay_at(0.999, 0), 0.1);
  EXPECT_DOUBLE_EQ(WeightAverage::decay_at(0.999, 10), 11.0 / 20);
  EXPECT_DOUBLE_EQ(WeightAverage::decay_at(0.999, 1'000'000), 0.999);
  EXPECT_DOUBLE_EQ(WeightAverage::decay_at(0.5, 100), 0.5);
}

// average = d * average + (1 - d) * value for a parameter and a norm statistic; swapping twice
// gives both back; the checkpoint form restores into another average.
TEST(WeightAverage, FollowsTheFormulaSwapsAndRoundTrips) {
  Plugins plugins;
  S8Network network(plugins.context, plugins.registry, network_config("bn", 1));
  WeightAverage average(network, 0.9);
  Parameter& weight = *network.parameters()[0];
  Parameter& mean = *network.state()[0];
  const std::vector<float> weight0 = values_of(weight), mean0 = values_of(mean);
  for (Parameter* p : {&weight, &mean})
    for (int64_t i = 0; i < p->value.size(); ++i) p->value.data()[i] += 1.f;
  network.set_training_steps(1000);  // past the warm-up: d = 0.9
  average.update();
  const std::vector<NamedValues> saved = average.capture(plugins.context);
  EXPECT_EQ(saved.front().name, "average/param/" + weight.name);

  average.swap_with_network();  // the network now holds the average: value0 + 0.1
  for (const auto& [p, start] : {std::pair{&weight, &weight0}, std::pair{&mean, &mean0}})
    for (int64_t i = 0; i < p->value.size(); ++i)
      ASSERT_NEAR(p->value.data()[i], (*start)[static_cast<size_t>(i)] + 0.1f, 1e-6) << p->name << " " << i;
  average.swap_with_network();  // back: value0 + 1
  for (int64_t i = 0; i < weight.value.size(); ++i)
    ASSERT_EQ(weight.value.data()[i], weight0[static_cast<size_t>(i)] + 1.f);

  WeightAverage restored(network, 0.9);
  restored.restore(plugins.context, saved, "saved");
  restored.swap_with_network();
  for (int64_t i = 0; i < weight.value.size(); ++i)
    ASSERT_NEAR(weight.value.data()[i], weight0[static_cast<size_t>(i)] + 0.1f, 1e-6);

  std::vector<NamedValues> missing(saved.begin() + 1, saved.end());
  EXPECT_EQ(error_of([&] { restored.restore(plugins.context, missing, "c.s8ckpt"); }),
            "c.s8ckpt: no average/param/" + weight.name + " (a run trained without --ema?)");
  EXPECT_EQ(error_of([&] { WeightAverage(network, 1.0); }),
            "the weight average's decay must be in (0, 1), got 1.000000");
}

TrainConfig fast_ingredients_config() {
  TrainConfig c = seed_recipe();
  c.epochs = 3;
  c.batch_size = 16;
  c.eval_batch_size = 20;
  c.schedule.kind = ScheduleKind::onecycle;
  c.schedule.learning_rate = 0.05;
  c.sgd.nesterov = true;
  c.sgd.weight_decay = 5e-4f;
  c.sgd.decay_conv_weights_only = true;
  c.augment_options.crop_padding = 4;
  c.augment_options.flip_probability = 0.5;
  c.ema_decay = 0.9;
  c.label_smoothing = 0.1f;
  c.seed = 5;
  return c;
}

// The training step's loss is the cross-entropy against the smoothed targets of its own
// log-probabilities, and smoothing changes the gradients SGD gets; evaluation stays plain NLL.
TEST(FastIngredients, LabelSmoothingIsTheTrainingLossAndChangesTheGradients) {
  Plugins plugins;
  const std::vector<float> images = test::random_normal(8 * S8Network::kImageValues, 11);
  const std::vector<int32_t> labels{0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<std::vector<float>> first_grad;
  for (const float smoothing : {0.f, 0.1f}) {
    NetworkConfig config = network_config("gn", 3);
    config.label_smoothing = smoothing;
    S8Network network(plugins.context, plugins.registry, config);
    const double loss = network.forward_backward(images, labels).loss;
    const std::vector<double> log_p(network.log_probabilities().begin(), network.log_probabilities().end());
    EXPECT_NEAR(loss, test::smoothed_cross_entropy_reference(log_p, labels, 10, smoothing), 1e-5) << smoothing;
    const Parameter& head = *network.parameters().back();
    std::vector<float> grad(head.grad.data(), head.grad.data() + head.grad.size());
    if (first_grad.empty())
      first_grad.push_back(grad);
    else
      EXPECT_NE(grad, first_grad.front());
    const double eval_loss = network.evaluate(images, labels).loss;
    const std::vector<double> eval_log_p(network.log_probabilities().begin(), network.log_probabilities().end());
    EXPECT_NEAR(eval_loss, test::nll_reference(eval_log_p, labels, 10), 1e-5) << smoothing;
  }
}

TEST(Recipes, FastIsNamedAndDiffersFromSeedInItsIngredients) {
  EXPECT_EQ(recipe_named("seed").recipe, "seed");
  EXPECT_FALSE(first_difference(recipe_named("seed"), seed_recipe()));
  const TrainConfig fast = recipe_named("fast");
  EXPECT_EQ(fast.recipe, "fast");
  EXPECT_FALSE(first_difference(fast, fast_recipe()));
  EXPECT_GT(fast.label_smoothing, 0.f);
  EXPECT_EQ(fast.schedule.kind, ScheduleKind::onecycle);
  EXPECT_TRUE(fast.sgd.nesterov && fast.sgd.decay_conv_weights_only);
  // The original augmentation is kept (docs/recipe.md): crop and flip did no better on validation.
  EXPECT_EQ(fast.augment_options.shift_scale_rotate_probability, 0.5);
  EXPECT_EQ(fast.augment_options.brightness_contrast_probability, 0.5);
  EXPECT_EQ(fast.augment_options.crop_padding, 0);
  EXPECT_EQ(fast.augment_options.flip_probability, 0);
  EXPECT_NO_THROW(validate(fast));
  EXPECT_EQ(error_of([] { recipe_named("slow"); }), "--recipe 'slow': the recipes are seed and fast");
  // Each recipe's evaluation: fast was chosen with ten views (docs/recipe.md), seed with none.
  EXPECT_EQ(recipe_test_time_views("fast"), "flip+shift1");
  EXPECT_EQ(parse_test_time_augmentation(std::string(recipe_test_time_views("fast"))).views(), 10);
  EXPECT_EQ(recipe_test_time_views("seed"), "none");
  EXPECT_EQ(recipe_test_time_views("slow"), "none");
}

// Interrupted in the middle of epoch 2 and resumed, a run with every new ingredient ends with the
// uninterrupted run's weights, momentum, averages and metrics, bit for bit.
TEST(FastIngredients, ResumeEndsWithTheUninterruptedRunBitForBit) {
  Plugins plugins;
  const CifarData data = test::random_cifar(72, 40, 3);
  const TempDir whole("train"), split("train");
  Quiet quiet;
  Trainer uninterrupted(plugins.context, plugins.registry, fast_ingredients_config(), data, whole.path());
  uninterrupted.run(quiet);
  {
    Trainer first(plugins.context, plugins.registry, fast_ingredients_config(), data, split.path());
    StopAfter stop(7);
    ASSERT_EQ(first.run(stop), TrainStatus::stopped);
  }
  const auto resumed = Trainer::resume(plugins.context, plugins.registry, data, split.path());
  ASSERT_EQ(resumed->run(quiet), TrainStatus::finished);

  const Checkpoint expected = load_checkpoint(whole / kLastCheckpoint);
  const Checkpoint actual = load_checkpoint(split / kLastCheckpoint);
  ASSERT_EQ(actual.tensors.size(), expected.tensors.size());
  size_t averaged = 0;
  for (size_t k = 0; k < expected.tensors.size(); ++k) {
    EXPECT_EQ(actual.tensors[k].name, expected.tensors[k].name);
    EXPECT_EQ(actual.tensors[k].values, expected.tensors[k].values) << expected.tensors[k].name;
    averaged += expected.tensors[k].name.starts_with(kAveragePrefix);
  }
  EXPECT_EQ(averaged, uninterrupted.network().parameters().size() + uninterrupted.network().state().size());
  ASSERT_EQ(resumed->history().size(), uninterrupted.history().size());
  for (size_t e = 0; e < uninterrupted.history().size(); ++e) {
    EXPECT_EQ(resumed->history()[e].train_loss, uninterrupted.history()[e].train_loss);
    EXPECT_EQ(resumed->history()[e].test_loss, uninterrupted.history()[e].test_loss);
  }
}

// The trainer evaluates the average, and a checkpoint hands the average on: a network loaded from
// it evaluates to the trainer's last test result, and its weights are the checkpoint's averages,
// not the raw weights SGD trained.
TEST(FastIngredients, TheAverageIsWhatIsEvaluatedAndLoaded) {
  Plugins plugins;
  const CifarData data = test::random_cifar(48, 20, 7);
  const TempDir dir("train");
  Quiet quiet;
  TrainConfig config = fast_ingredients_config();
  config.epochs = 2;
  Trainer trainer(plugins.context, plugins.registry, config, data, dir.path());
  trainer.run(quiet);
  const Checkpoint last = load_checkpoint(dir / kLastCheckpoint);
  const auto loaded = network_from_checkpoint(plugins.context, plugins.registry, last, "last");
  const std::vector<NamedValues> weights = capture_tensors(plugins.context, *loaded, nullptr);
  for (const NamedValues& w : weights) {
    const NamedValues* average = last.find(kAveragePrefix + w.name);
    ASSERT_NE(average, nullptr) << w.name;
    EXPECT_EQ(w.values, average->values) << w.name;
    EXPECT_NE(w.values, last.find(w.name)->values) << w.name << ": the raw weights, not the average";
  }
  const EvalResult r = evaluate(*loaded, data.test, Augmenter(config.augment_options), 20);
  EXPECT_EQ(r.correct, trainer.history().back().test_correct);
  EXPECT_DOUBLE_EQ(r.loss, trainer.history().back().test_loss);
}

// The image as a view sees it, computed here pixel by pixel: moved by (dx, dy) with reflect-101 at
// the border, then mirrored when `flip`.
std::vector<float> view_of(std::span<const float> image, int dx, int dy, bool flip) {
  const auto reflect = [](int i) { return i < 0 ? -i : i > 31 ? 62 - i : i; };
  std::vector<float> out(kImageBytes);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        const int seen_x = flip ? 31 - x : x;
        out[static_cast<size_t>(c * 1024 + y * 32 + x)] =
            image[static_cast<size_t>(c * 1024 + reflect(y - dy) * 32 + reflect(seen_x - dx))];
      }
  return out;
}

// The test-time averaged evaluation against one computed here: every view of each image through
// the network, probabilities averaged in double. The views of flip+shift2: the image and it moved
// 2 pixels left, right, up and down, each also mirrored.
TEST(TestTimeAugmentation, AveragesTheProbabilitiesOfEveryViewOfEachImage) {
  Plugins plugins;
  S8Network network(plugins.context, plugins.registry, network_config("gn", 3));
  const CifarData data = test::random_cifar(1, 24, 9);
  const Augmenter augmenter;
  const int64_t n = data.test.size();
  std::vector<float> images(static_cast<size_t>(n * kImageBytes));
  std::vector<int32_t> labels(data.test.labels.begin(), data.test.labels.end());
  for (int64_t i = 0; i < n; ++i)
    augmenter.apply(data.test.image(i), false, 0,
                    std::span(images).subspan(static_cast<size_t>(i * kImageBytes), kImageBytes));
  const auto reference = [&](const std::vector<std::array<int, 3>>& views) {
    std::vector<double> p(static_cast<size_t>(n * kClassCount));
    for (const auto& [dx, dy, flip] : views) {
      std::vector<float> seen;
      for (int64_t i = 0; i < n; ++i) {
        const std::vector<float> one =
            view_of(std::span(images).subspan(static_cast<size_t>(i * kImageBytes), kImageBytes), dx, dy, flip != 0);
        seen.insert(seen.end(), one.begin(), one.end());
      }
      network.evaluate(seen, labels);
      for (size_t at = 0; at < p.size(); ++at)
        p[at] += std::exp(static_cast<double>(network.log_probabilities()[at])) / static_cast<double>(views.size());
    }
    EvalResult r;
    for (int64_t i = 0; i < n; ++i) {
      const double* row = p.data() + i * kClassCount;
      const auto best = static_cast<uint8_t>(std::max_element(row, row + kClassCount) - row);
      const int32_t label = labels[static_cast<size_t>(i)];
      r.loss -= std::log(row[label]) / static_cast<double>(n);
      r.predictions.push_back(best);
      r.correct += best == label;
    }
    return r;
  };
  const auto expect_like = [&](const TestTimeAugmentation& tta, const EvalResult& expected) {
    const EvalResult r = evaluate(network, data.test, augmenter, 10, {}, tta);
    EXPECT_NEAR(r.loss, expected.loss, 1e-5) << name_of(tta);
    EXPECT_EQ(r.correct, expected.correct) << name_of(tta);
    EXPECT_EQ(r.predictions, expected.predictions) << name_of(tta);
    return r;
  };
  const EvalResult flip = expect_like({.flip = true}, reference({{0, 0, 0}, {0, 0, 1}}));
  const EvalResult shifted = expect_like({.flip = true, .shift = 2}, reference({{0, 0, 0},
                                                                                {0, 0, 1},
                                                                                {-2, 0, 0},
                                                                                {-2, 0, 1},
                                                                                {2, 0, 0},
                                                                                {2, 0, 1},
                                                                                {0, -2, 0},
                                                                                {0, -2, 1},
                                                                                {0, 2, 0},
                                                                                {0, 2, 1}}));
  expect_like({.shift = 1}, reference({{0, 0, 0}, {-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}}));
  // Each adds something: no test image is symmetric or flat.
  const EvalResult plain = evaluate(network, data.test, augmenter, 10);
  EXPECT_GT(std::abs(plain.loss - flip.loss), 1e-4);
  EXPECT_GT(std::abs(flip.loss - shifted.loss), 1e-4);
}

TEST(TestTimeAugmentation, NamesRoundTripAndAnythingElseIsRefusedWithTheList) {
  for (const std::string name : {"none", "flip", "shift1", "flip+shift1", "flip+shift8", "shift8"})
    EXPECT_EQ(name_of(parse_test_time_augmentation(name)), name);
  EXPECT_EQ(parse_test_time_augmentation("flip+shift3"), (TestTimeAugmentation{.flip = true, .shift = 3}));
  EXPECT_EQ(parse_test_time_augmentation("flip+shift3").views(), 10);
  EXPECT_EQ(parse_test_time_augmentation("shift3").views(), 5);
  EXPECT_EQ(parse_test_time_augmentation("flip").views(), 2);
  EXPECT_EQ(parse_test_time_augmentation("none").views(), 1);
  for (const std::string bad : {"crop", "", "flip+", "flipshift1", "shift0", "shift9", "shift12", "shift1+flip",
                                "flip+shift", "FLIP", "flip+none", "none+flip"})
    EXPECT_EQ(
        error_of([&] { parse_test_time_augmentation(bad); }),
        "unknown test-time augmentation '" + bad + "' (known: none, flip, shiftN, flip+shiftN with N from 1 to 8)")
        << bad;
}

// A configuration written before the crop, the flip, the EMA and the decay groups existed reads as
// one without them, so earlier runs still resume; a new one round-trips them.
TEST(TrainConfigJson, EarlierConfigurationsReadWithoutTheNewIngredients) {
  nlohmann::json old = nlohmann::json::parse(to_json(seed_recipe()));
  old.erase("ema_decay");
  old.erase("label_smoothing");
  old.erase("recipe");
  old["sgd"].erase("decay_conv_weights_only");
  old["augment_options"].erase("crop_padding");
  old["augment_options"].erase("flip_probability");
  const TrainConfig read = train_config_from_json(old.dump(), "old/config.json");
  EXPECT_EQ(read.ema_decay, 0);
  EXPECT_EQ(read.label_smoothing, 0.f);
  EXPECT_EQ(read.recipe, "seed");
  EXPECT_FALSE(read.sgd.decay_conv_weights_only);
  EXPECT_EQ(read.augment_options.crop_padding, 0);
  EXPECT_EQ(read.augment_options.flip_probability, 0);
  EXPECT_FALSE(first_difference(read, seed_recipe()));

  const TrainConfig fast = fast_ingredients_config();
  const TrainConfig back = train_config_from_json(to_json(fast), "x");
  EXPECT_EQ(to_json(back), to_json(fast));
  TrainConfig bad = fast;
  bad.ema_decay = 1;
  EXPECT_EQ(error_of([&] { validate(bad); }), "--ema must be 0 (off) or a decay in (0, 1)");
  bad = fast;
  bad.augment_options.crop_padding = 40;
  EXPECT_EQ(error_of([&] { validate(bad); }), "--crop-padding must be in [0, 16], got 40");
  bad = fast;
  bad.augment_options.flip_probability = -0.5;
  EXPECT_EQ(error_of([&] { validate(bad); }), "--flip must be a probability in [0, 1]");
  bad = fast;
  bad.label_smoothing = 1.f;
  EXPECT_EQ(error_of([&] { validate(bad); }), "--label-smoothing must be in [0, 1)");
}

}  // namespace
