#include "../core/bounded_json.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/train/checkpoint.hpp>

#include <boost/crc.hpp>
#include <nlohmann/json.hpp>

#include <cstring>

namespace s8net {
namespace {

using nlohmann::json;

constexpr char kMagic[8] = {'S', '8', 'N', 'E', 'T', 'C', 'K', 'P'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kPrefixBytes = 8 + 4 + 4 + 8;

template <typename T>
void put(std::vector<uint8_t>& out, T value) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

template <typename T>
T get(std::span<const uint8_t> in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(T));
  return value;
}

uint32_t crc32_of(const uint8_t* data, size_t size) {
  boost::crc_32_type crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

}  // namespace

const NamedValues* Checkpoint::find(const std::string& name) const noexcept {
  for (const NamedValues& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c) {
  json tensors = json::array();
  size_t floats = 0;
  for (const NamedValues& t : c.tensors) {
    tensors.push_back({{"name", t.name}, {"count", t.values.size()}});
    floats += t.values.size();
  }
  const std::string header = json{
      {"config", json::parse(to_json(c.config))},
      {"epochs_done", c.epochs_done},
      {"epoch_in_progress",
       {{"batches_done", c.epoch_in_progress.batches_done},
        {"loss_sum", c.epoch_in_progress.loss_sum},
        {"train_correct", c.epoch_in_progress.train_correct},
        {"train_total", c.epoch_in_progress.train_total},
        {"train_seconds", c.epoch_in_progress.train_seconds}}},
      {"best_test_accuracy", c.best_test_accuracy},
      {"best_epoch", c.best_epoch},
      {"training_steps", c.training_steps},
      {"metrics_jsonl", c.metrics_jsonl},
      {"tensors", tensors}}.dump();
  std::vector<uint8_t> bytes;
  bytes.reserve(kPrefixBytes + header.size() + floats * sizeof(float) + 4);
  bytes.insert(bytes.end(), kMagic, kMagic + 8);
  put<uint32_t>(bytes, kFormatVersion);
  put<uint32_t>(bytes, 0);
  put<uint64_t>(bytes, header.size());
  bytes.insert(bytes.end(), header.begin(), header.end());
  for (const NamedValues& t : c.tensors) {
    const auto* raw = reinterpret_cast<const uint8_t*>(t.values.data());
    bytes.insert(bytes.end(), raw, raw + t.values.size() * sizeof(float));
  }
  put<uint32_t>(bytes, crc32_of(bytes.data(), bytes.size()));
  if (static_cast<int64_t>(bytes.size()) > kMaxCheckpointBytes)
    throw Error(path.string() + ": the checkpoint would take " + std::to_string(bytes.size() >> 20) +
                " MiB, more than a checkpoint may have (" + std::to_string(kMaxCheckpointBytes >> 20) + " MiB)");
  write_file_atomically(path, bytes);
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  return parse_checkpoint(read_file_bytes(path, kMaxCheckpointBytes, "a checkpoint"), path.string());
}

Checkpoint parse_checkpoint(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, 8) != 0)
    throw Error(name + ": not an s8net checkpoint (no S8NETCKP signature)");
  if (bytes.size() < kPrefixBytes)
    throw Error(name + ": truncated checkpoint (" + std::to_string(bytes.size()) + " bytes, less than its header)");
  const auto version = get<uint32_t>(bytes, 8);
  if (version != kFormatVersion)
    throw Error(name + ": checkpoint format " + std::to_string(version) + ", this s8net reads format " +
                std::to_string(kFormatVersion));
  const auto header_size = get<uint64_t>(bytes, 16);
  if (header_size > bytes.size() - kPrefixBytes)
    throw Error(name + ": truncated checkpoint (" + std::to_string(bytes.size()) + " bytes, its header claims " +
                std::to_string(header_size) + " bytes after the " + std::to_string(kPrefixBytes) + "-byte prefix)");
  const std::string_view header_text(reinterpret_cast<const char*>(bytes.data()) + kPrefixBytes, header_size);
  const json header = parse_bounded_json(header_text, name + ": damaged checkpoint header");
  Checkpoint c;
  size_t floats = 0;
  // What the file can hold at most: a header claiming more is refused before anything is allocated.
  const size_t room = (bytes.size() - kPrefixBytes - header_size) / sizeof(float);
  try {
    std::vector<std::pair<std::string, size_t>> sizes;
    for (const json& t : header.at("tensors")) {
      sizes.emplace_back(t.at("name").get<std::string>(), t.at("count").get<size_t>());
      if (sizes.back().second > room - std::min(room, floats))
        throw Error(name + ": truncated checkpoint (its header lists more values than the file holds)");
      floats += sizes.back().second;
    }
    for (auto& [tensor, count] : sizes) c.tensors.push_back({std::move(tensor), std::vector<float>(count)});
    c.epochs_done = header.at("epochs_done").get<int64_t>();
    if (const auto partial = header.find("epoch_in_progress"); partial != header.end()) {
      EpochProgress& p = c.epoch_in_progress;
      p.batches_done = partial->at("batches_done").get<int64_t>();
      p.loss_sum = partial->at("loss_sum").get<double>();
      p.train_correct = partial->at("train_correct").get<int64_t>();
      p.train_total = partial->at("train_total").get<int64_t>();
      p.train_seconds = partial->at("train_seconds").get<double>();
    }
    c.best_test_accuracy = header.at("best_test_accuracy").get<double>();
    c.best_epoch = header.at("best_epoch").get<int64_t>();
    c.training_steps = header.at("training_steps").get<uint64_t>();
    c.metrics_jsonl = header.at("metrics_jsonl").get<std::string>();
  } catch (const json::exception& e) {
    throw Error(name + ": damaged checkpoint header: " + e.what());
  }
  const size_t expected = kPrefixBytes + header_size + floats * sizeof(float) + 4;
  if (bytes.size() != expected)
    throw Error(name + ": " + (bytes.size() < expected ? "truncated" : "oversized") + " checkpoint (" +
                std::to_string(bytes.size()) + " bytes, expected " + std::to_string(expected) + ")");
  if (crc32_of(bytes.data(), bytes.size() - 4) != get<uint32_t>(bytes, bytes.size() - 4))
    throw Error(name + ": checkpoint checksum mismatch: the file is damaged");
  const auto config = header.find("config");
  if (config == header.end()) throw Error(name + ": damaged checkpoint header: no training configuration");
  c.config = train_config_from_json(config->dump(), name);
  size_t offset = kPrefixBytes + header_size;
  for (NamedValues& t : c.tensors) {
    std::memcpy(t.values.data(), bytes.data() + offset, t.values.size() * sizeof(float));
    offset += t.values.size() * sizeof(float);
  }
  return c;
}

}  // namespace s8net
