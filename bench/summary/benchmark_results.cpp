#include "summary/benchmark_results.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <tuple>
#include <vector>

namespace s8net::bench {

std::string Platform::label() const {
  const std::string isa_part = isa.empty() ? "" : isa + (capped() ? " (" + isa_cap + "=" + isa + ")" : " (native)");
  return cpu.empty() || isa_part.empty() ? cpu + isa_part : cpu + ", " + isa_part;
}

namespace {

using Runs = std::map<std::string, std::vector<Measurement>>;

// By CPU, then the native instruction set (no cap) first.
struct NativeFirst {
  bool operator()(const Platform& a, const Platform& b) const {
    return std::tie(a.cpu, a.isa_cap, a.isa) < std::tie(b.cpu, b.isa_cap, b.isa);
  }
};

Platform platform_of(const nlohmann::json& json, const std::filesystem::path& file) {
  Platform platform;
  if (!json.contains("context")) return platform;
  const auto& context = json["context"];
  for (auto [key, field] :
       {std::pair{"cpu", &platform.cpu}, std::pair{"isa", &platform.isa}, std::pair{"isa_cap", &platform.isa_cap}})
    if (context.is_object() && context.contains(key)) {
      if (!context[key].is_string()) throw Error(file.string() + ": context \"" + key + "\" is not a string");
      *field = context[key].get<std::string>();
    }
  return platform;
}

struct FileRuns {
  Platform platform;
  Runs runs;
};

// The file's platform and runs by name; a name's median aggregate replaces its single runs.
FileRuns runs_of(const std::filesystem::path& file) {
  const std::vector<uint8_t> bytes = read_file_bytes(file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not JSON: " + e.what());
  }
  if (!json.is_object() || !json.contains("benchmarks") || !json["benchmarks"].is_array())
    throw Error(file.string() + ": no \"benchmarks\" list (not Google Benchmark JSON output)");
  const bool native_isa = json.contains("context") && json["context"].is_object() &&
                          json["context"].contains("native_isa") && json["context"]["native_isa"] == "true";
  Runs singles, medians;
  try {
    for (const auto& b : json["benchmarks"]) {
      const bool aggregate = b.value("run_type", "iteration") == "aggregate";
      if ((aggregate && b.value("aggregate_name", "") != "median") || !b.contains("items_per_second")) continue;
      std::string name = b.value("run_name", b.value("name", ""));
      if (const auto at = name.find("/real_time"); at != std::string::npos) name.erase(at);
      Measurement m;
      m.native_isa = native_isa;
      m.items_per_second = b["items_per_second"].get<double>();
      for (const char* counter : {"GFLOP/s", "of_sgemm", "GB/s"})
        if (b.contains(counter)) m.counters[counter] = b[counter].get<double>();
      (aggregate ? medians : singles)[name].push_back(m);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": unexpected benchmark entry: " + e.what());
  }
  for (auto& [name, runs] : medians) singles[name] = std::move(runs);
  return {platform_of(json, file), std::move(singles)};
}

}  // namespace

std::vector<ResultSet> read_results(const std::vector<std::filesystem::path>& files) {
  std::map<Platform, Runs, NativeFirst> all;
  for (const auto& file : files) {
    auto [platform, file_runs] = runs_of(file);
    Runs& runs_here = all[platform];
    for (auto& [name, runs] : file_runs) runs_here[name].insert(runs_here[name].end(), runs.begin(), runs.end());
  }
  std::vector<ResultSet> sets;
  for (auto& [platform, by_name] : all) {
    ResultSet set{platform, {}};
    for (auto& [name, runs] : by_name) {
      const auto middle = runs.begin() + static_cast<std::ptrdiff_t>((runs.size() - 1) / 2);
      std::nth_element(runs.begin(), middle, runs.end(), [](const Measurement& a, const Measurement& b) {
        return a.items_per_second < b.items_per_second;
      });
      set.results[name] = *middle;
    }
    sets.push_back(std::move(set));
  }
  return sets;
}

std::optional<Measurement> find(const Results& results, const std::string& name) {
  const auto it = results.find(name);
  if (it == results.end()) return std::nullopt;
  return it->second;
}

}  // namespace s8net::bench
