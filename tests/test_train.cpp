// The trainer, its run directory and checkpoints: a resumed run ends with exactly the weights of
// an uninterrupted one; checkpoints round-trip and refuse damage naming the file.
#include "support/error_of.hpp"
#include "support/synthetic_data.hpp"
#include "support/temp_dir.hpp"
#include "support/training.hpp"

#include <s8net/norm/registry.hpp>
#include <s8net/train/network_state.hpp>
#include <s8net/train/trainer.hpp>

#include <gtest/gtest.h>
#include <boost/crc.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace s8net {
// Readable parameter names in CTest's listing.
void PrintTo(ScheduleKind kind, std::ostream* out) { *out << name_of(kind); }
}  // namespace s8net

namespace {

namespace fs = std::filesystem;
using namespace s8net;
using test::error_of;
using test::Plugins;
using test::Quiet;
using test::StopAfter;
using test::TempDir;

TrainConfig tiny_config(ScheduleKind schedule) {
  TrainConfig c = seed_recipe();
  c.epochs = 3;
  c.batch_size = 16;
  c.eval_batch_size = 20;
  c.schedule.kind = schedule;
  c.schedule.learning_rate = 0.02;
  c.seed = 11;
  return c;
}

std::vector<NamedValues> final_tensors(Trainer& trainer, Context& context) {
  return capture_tensors(context, trainer.network(), nullptr);
}

// Same final weights and statistics, and the same metrics apart from the timings.
void expect_same_run(Trainer& resumed, Trainer& uninterrupted, Context& context) {
  const auto expected = final_tensors(uninterrupted, context);
  const auto actual = final_tensors(resumed, context);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(actual[k].name, expected[k].name);
    EXPECT_EQ(actual[k].values, expected[k].values) << expected[k].name;
  }
  ASSERT_EQ(resumed.history().size(), uninterrupted.history().size());
  for (size_t e = 0; e < uninterrupted.history().size(); ++e) {
    EXPECT_EQ(resumed.history()[e].train_loss, uninterrupted.history()[e].train_loss);
    EXPECT_EQ(resumed.history()[e].train_correct, uninterrupted.history()[e].train_correct);
    EXPECT_EQ(resumed.history()[e].test_correct, uninterrupted.history()[e].test_correct);
    EXPECT_EQ(resumed.history()[e].learning_rate, uninterrupted.history()[e].learning_rate);
  }
}

class Resume : public ::testing::TestWithParam<ScheduleKind> {
 protected:
  // The run both tests compare with: the same configuration, never interrupted.
  Trainer& uninterrupted() {
    uninterrupted_ =
        std::make_unique<Trainer>(plugins_.context, plugins_.registry, tiny_config(GetParam()), data_, whole_.path());
    uninterrupted_->run(quiet_);
    return *uninterrupted_;
  }
  // A fresh run of that configuration in split_.
  Trainer first_part() {
    return Trainer(plugins_.context, plugins_.registry, tiny_config(GetParam()), data_, split_.path());
  }

  Plugins plugins_;
  const CifarData data_ = test::random_cifar(72, 40, 3);  // 4 full batches and one of 8
  const TempDir whole_{"train"}, split_{"train"};
  Quiet quiet_;
  std::unique_ptr<Trainer> uninterrupted_;
};

TEST_P(Resume, EndsWithTheWeightsOfAnUninterruptedRun) {
  {
    Trainer first = first_part();
    first.run(quiet_, 1);
    EXPECT_EQ(first.epochs_done(), 1);
  }
  const auto resumed = Trainer::resume(plugins_.context, plugins_.registry, data_, split_.path());
  EXPECT_EQ(resumed->epochs_done(), 1);
  resumed->run(quiet_);
  EXPECT_EQ(resumed->epochs_done(), 3);
  expect_same_run(*resumed, uninterrupted(), plugins_.context);
}

// Stopped after batch 2 of epoch 2: last.s8ckpt holds that point, metrics.jsonl only epoch 1, and
// the resumed run trains batches 3-5 of epoch 2 and ends exactly as an uninterrupted one.
TEST_P(Resume, ContinuesAnEpochStoppedBetweenTwoBatches) {
  {
    Trainer first = first_part();
    StopAfter stop(7);
    EXPECT_EQ(first.run(stop), TrainStatus::stopped);
    EXPECT_EQ(first.epochs_done(), 1);
    EXPECT_EQ(first.epoch_in_progress().batches_done, 2);
  }
  const Checkpoint saved = load_checkpoint(split_ / kLastCheckpoint);
  EXPECT_EQ(saved.epochs_done, 1);
  EXPECT_EQ(saved.epoch_in_progress.batches_done, 2);
  EXPECT_EQ(saved.epoch_in_progress.train_total, 32);
  std::ifstream metrics(split_ / kMetricsFile);
  EXPECT_EQ(std::count(std::istreambuf_iterator<char>(metrics), {}, '\n'), 1);

  const auto resumed = Trainer::resume(plugins_.context, plugins_.registry, data_, split_.path());
  EXPECT_EQ(resumed->epoch_in_progress().batches_done, 2);
  EXPECT_EQ(resumed->run(quiet_), TrainStatus::finished);
  expect_same_run(*resumed, uninterrupted(), plugins_.context);
}

INSTANTIATE_TEST_SUITE_P(Schedules, Resume, ::testing::Values(ScheduleKind::seed, ScheduleKind::onecycle),
                         [](const auto& p) { return std::string(name_of(p.param)); });

TEST(Trainer, WritesTheRunDirectory) {
  Plugins plugins;
  const TempDir dir("train");
  TrainConfig config = tiny_config(ScheduleKind::seed);
  config.epochs = 2;
  Quiet quiet;
  Trainer trainer(plugins.context, plugins.registry, config, test::random_cifar(40, 20, 4), dir.path());
  trainer.run(quiet);
  for (const char* name : {kConfigFile, kMetricsFile, kLastCheckpoint, kBestCheckpoint})
    EXPECT_TRUE(fs::exists(dir / name)) << name;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << "temporary file left: " << entry.path();

  std::ifstream metrics(dir / kMetricsFile);
  std::string line;
  int64_t epoch = 0;
  while (std::getline(metrics, line)) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"epoch", "lr", "seconds", "train_loss", "train_acc", "test_loss", "test_acc"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    EXPECT_EQ(j["epoch"], ++epoch);
    EXPECT_EQ(j["train_total"], 40);
    EXPECT_EQ(j["test_total"], 20);
    EXPECT_DOUBLE_EQ(j["test_acc"].get<double>(), 100.0 * j["test_correct"].get<double>() / 20);
  }
  EXPECT_EQ(epoch, 2);
  std::stringstream text;
  text << std::ifstream(dir / kConfigFile).rdbuf();
  const TrainConfig saved = train_config_from_json(text.str(), "config.json");
  EXPECT_EQ(saved.epochs, 2);
  EXPECT_EQ(saved.batch_size, 16);
  EXPECT_EQ(saved.seed, 11u);
  EXPECT_FLOAT_EQ(saved.sgd.momentum, 0.95f);

  const Checkpoint last = load_checkpoint(dir / kLastCheckpoint);
  EXPECT_EQ(last.epochs_done, 2);
  EXPECT_EQ(last.training_steps, 6u);  // 3 batches of 16, 16, 8 per epoch
  EXPECT_EQ(last.config.norm, "bn");
  EXPECT_NE(last.find("state/C1.norm.running_mean"), nullptr);
  EXPECT_NE(last.find("momentum/c10.conv.weight"), nullptr);
  // The checkpoint evaluates to what the trainer measured after its last epoch.
  const auto network = network_from_checkpoint(plugins.context, plugins.registry, last, "last");
  const CifarData data = test::random_cifar(40, 20, 4);
  const Augmenter augmenter;
  std::vector<float> images(static_cast<size_t>(20 * kImageBytes));
  std::vector<int32_t> labels(20);
  for (int64_t i = 0; i < 20; ++i) {
    augmenter.apply(data.test.image(i), false, 0,
                    std::span(images).subspan(static_cast<size_t>(i * kImageBytes), kImageBytes));
    labels[static_cast<size_t>(i)] = data.test.labels[static_cast<size_t>(i)];
  }
  EXPECT_EQ(network->evaluate(images, labels).correct, trainer.history().back().test_correct);
}

TEST(Trainer, ResumeWithoutACheckpointIsRefused) {
  Plugins plugins;
  const TempDir dir("train");
  EXPECT_EQ(
      error_of([&] { Trainer::resume(plugins.context, plugins.registry, test::random_cifar(10, 10), dir.path()); }),
      dir.path().string() + ": nothing to resume (no last.s8ckpt)");
}

// JSON has no NaN: written, it would come back as null and make the whole run unreadable.
TEST(Trainer, MetricsWithANonFiniteNumberAreRefusedNotWritten) {
  EpochMetrics m;
  m.epoch = 3;
  m.train_total = m.test_total = 1;
  EXPECT_NO_THROW(to_json_line(m));
  m.test_loss = std::nan("");
  EXPECT_EQ(error_of([&] { to_json_line(m); }),
            "epoch 3: test_loss is not a finite number; not written to metrics.jsonl");
  m.test_loss = 0;
  m.learning_rate = std::numeric_limits<double>::infinity();
  EXPECT_EQ(error_of([&] { to_json_line(m); }), "epoch 3: lr is not a finite number; not written to metrics.jsonl");
}

// Where two configurations differ, as --resume reports it.
TEST(TrainConfig, FirstDifferenceNamesTheFieldAndBothValues) {
  const TrainConfig stored = seed_recipe();
  EXPECT_FALSE(first_difference(stored, stored));
  TrainConfig other = stored;
  other.sgd.momentum = 0.5f;
  other.epochs = 3;
  const auto d = first_difference(stored, other);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->field, "epochs");
  EXPECT_EQ(d->stored, "20");
  EXPECT_EQ(d->other, "3");
  other.epochs = stored.epochs;
  EXPECT_EQ(first_difference(stored, other)->field, "sgd.momentum");
}

TEST(TrainConfig, RoundTripsThroughJsonAndNamesBadValues) {
  TrainConfig c = seed_recipe();
  c.norm = "gn";
  c.norm_options = {{"groups", 4}};
  c.layout = ActivationLayout::nchw;
  c.schedule.kind = ScheduleKind::onecycle;
  c.sgd.nesterov = true;
  c.limit_train = 123;
  const TrainConfig back = train_config_from_json(to_json(c), "x");
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.norm_options.at("groups"), 4);
  c.epochs = 0;
  EXPECT_EQ(error_of([&] { validate(c); }), "--epochs must be > 0, got 0");
  EXPECT_NE(error_of([&] {
              train_config_from_json("{\"norm\": 1}", "run/config.json");
            }).find("run/config.json: invalid training configuration"),
            std::string::npos);
}

class CheckpointFile : public ::testing::Test {
 protected:
  void SetUp() override {
    checkpoint_.epochs_done = 4;
    checkpoint_.training_steps = 99;
    checkpoint_.metrics_jsonl = "{\"epoch\":1}\n";
    checkpoint_.tensors = {{"param/a", {1.f, 2.f, 3.f}}, {"state/b", {-1.f}}};
    save_checkpoint(file_, checkpoint_);
  }
  std::vector<uint8_t> bytes() const { return read_file_bytes(file_); }
  // A real checkpoint's signature, format and reserved word, then `header` and its length:
  // the start of a checkpoint file with any header, values and checksum left to the test.
  std::vector<uint8_t> with_header(const std::string& header) const {
    const std::vector<uint8_t> valid = bytes();
    std::vector<uint8_t> b;
    b.reserve(16 + 8 + header.size() + 32);  // room for what the test appends (and no GCC 12 -Warray-bounds)
    b.assign(valid.begin(), valid.begin() + 16);
    const uint64_t size = header.size();
    b.insert(b.end(), reinterpret_cast<const uint8_t*>(&size), reinterpret_cast<const uint8_t*>(&size) + 8);
    b.insert(b.end(), header.begin(), header.end());
    return b;
  }
  // The CRC-32 a whole checkpoint ends with, so that the loader reads on past the checksum test.
  static void append_checksum(std::vector<uint8_t>& b) {
    boost::crc_32_type crc;
    crc.process_bytes(b.data(), b.size());
    const uint32_t checksum = crc.checksum();
    b.insert(b.end(), reinterpret_cast<const uint8_t*>(&checksum), reinterpret_cast<const uint8_t*>(&checksum) + 4);
  }
  void write(const std::vector<uint8_t>& b) const {
    std::ofstream(file_, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  TempDir dir_{"checkpoint"};
  fs::path file_ = dir_ / "c.s8ckpt";
  std::string name_ = file_.string();
  Checkpoint checkpoint_;
};

TEST_F(CheckpointFile, RoundTrips) {
  const Checkpoint back = load_checkpoint(file_);
  EXPECT_EQ(back.epochs_done, 4);
  EXPECT_EQ(back.training_steps, 99u);
  EXPECT_EQ(back.metrics_jsonl, checkpoint_.metrics_jsonl);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].values, (std::vector<float>{1.f, 2.f, 3.f}));
  EXPECT_EQ(back.find("state/b")->values, std::vector<float>{-1.f});
}

// A checkpoint that load_checkpoint() would refuse is not written: the one before stays.
TEST_F(CheckpointFile, KeepsThePreviousFileRatherThanWriteOneTooLargeToRead) {
  const auto before = bytes();
  Checkpoint large = checkpoint_;
  large.tensors.push_back({"param/huge", std::vector<float>(static_cast<size_t>(kMaxCheckpointBytes / 4))});
  EXPECT_EQ(error_of([&] { save_checkpoint(file_, large); }),
            name_ + ": the checkpoint would take 256 MiB, more than a checkpoint may have (256 MiB)");
  EXPECT_EQ(bytes(), before);
}

TEST_F(CheckpointFile, RefusesDamageNamingTheFile) {
  auto b = bytes();
  b[b.size() - 8] ^= 0x10;  // a bit of the last float
  write(b);
  EXPECT_EQ(error_of([&] { load_checkpoint(file_); }), name_ + ": checkpoint checksum mismatch: the file is damaged");

  b = bytes();
  b.resize(b.size() - 5);
  write(b);
  EXPECT_EQ(error_of([&] { load_checkpoint(file_); }).substr(0, name_.size() + 22), name_ + ": truncated checkpoint");

  b[0] = 'X';
  write(b);
  EXPECT_EQ(error_of([&] { load_checkpoint(file_); }), name_ + ": not an s8net checkpoint (no S8NETCKP signature)");

  save_checkpoint(file_, checkpoint_);
  b = bytes();
  b[8] = 2;
  write(b);
  EXPECT_EQ(error_of([&] { load_checkpoint(file_); }), name_ + ": checkpoint format 2, this s8net reads format 1");

  b.resize(10);  // the signature, then less than the rest of the header
  write(b);
  EXPECT_EQ(error_of([&] { load_checkpoint(file_); }),
            name_ + ": truncated checkpoint (10 bytes, less than its header)");
  b.resize(7);
  write(b);
  EXPECT_EQ(error_of([&] { load_checkpoint(file_); }), name_ + ": not an s8net checkpoint (no S8NETCKP signature)");
}

// A header that lists more values than the file could hold (found while writing the checkpoint
// fuzz target: the loader allocated them first) is refused before any allocation.
TEST_F(CheckpointFile, RefusesAHeaderListingMoreValuesThanTheFileHolds) {
  std::vector<uint8_t> b = with_header(
      R"({"tensors":[{"name":"param/a","count":3},{"name":"param/huge","count":1000000000000000}],"epochs_done":0})");
  b.resize(b.size() + 16);
  EXPECT_EQ(error_of([&] { parse_checkpoint(b, "huge.s8ckpt"); }),
            "huge.s8ckpt: truncated checkpoint (its header lists more values than the file holds)");
}

// Whole and checksummed, but without the training configuration: refused naming the file, not
// with a bare JSON library message.
TEST_F(CheckpointFile, RefusesAHeaderWithoutItsConfiguration) {
  std::vector<uint8_t> b = with_header(
      R"({"tensors":[],"epochs_done":0,"best_test_accuracy":0,"best_epoch":0,"training_steps":0,"metrics_jsonl":""})");
  append_checksum(b);
  EXPECT_EQ(error_of([&] { parse_checkpoint(b, "bare.s8ckpt"); }),
            "bare.s8ckpt: damaged checkpoint header: no training configuration");
}

// A configuration nested tens of thousands of levels deep, whole and checksummed, used to
// overflow the stack once the header was serialized again; the parser now stops at the limit.
TEST_F(CheckpointFile, RefusesAHeaderNestedDeeperThanTheLimit) {
  const int levels = 70'000;
  std::vector<uint8_t> b =
      with_header(R"({"tensors":[],"config":)" + std::string(levels, '[') + std::string(levels, ']') + "}");
  append_checksum(b);
  EXPECT_EQ(error_of([&] { parse_checkpoint(b, "deep.s8ckpt"); }),
            "deep.s8ckpt: damaged checkpoint header: JSON nested deeper than 64 levels");
  // 64 levels are still read (and then refused for what they hold, not for their depth).
  const std::string at_limit = R"({"x":)" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_EQ(error_of([&] { train_config_from_json(at_limit, "c.json"); }).find("nested"), std::string::npos);
  const std::string past_limit = R"({"x":)" + std::string(64, '[') + std::string(64, ']') + "}";
  EXPECT_EQ(error_of([&] { train_config_from_json(past_limit, "c.json"); }),
            "c.json: invalid training configuration: JSON nested deeper than 64 levels");
}

// The largest length a header can claim is reported as the file's, not overflowed into a small number.
TEST_F(CheckpointFile, RefusesAHeaderLongerThanTheFile) {
  std::vector<uint8_t> b = with_header("{}");
  const uint64_t claimed = UINT64_MAX;
  std::memcpy(b.data() + 16, &claimed, 8);
  EXPECT_EQ(error_of([&] { parse_checkpoint(b, "long.s8ckpt"); }),
            "long.s8ckpt: truncated checkpoint (26 bytes, its header claims 18446744073709551615 bytes after the "
            "24-byte prefix)");
}

TEST_F(CheckpointFile, ANetworkRefusesACheckpointOfAnotherShape) {
  Plugins plugins;
  S8Network network(plugins.context, plugins.registry, NetworkConfig{});
  EXPECT_EQ(error_of([&] { restore_tensors(plugins.context, checkpoint_.tensors, network, nullptr, "c.s8ckpt"); }),
            "c.s8ckpt: no param/C1.conv.weight (a checkpoint of another network?)");
}

}  // namespace
