#include "summary/benchmark_results.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace s8net::bench {

namespace {

using Runs = std::map<std::string, std::vector<Measurement>>;

// The file's runs by name; a name's median aggregate replaces its single runs.
Runs runs_of(const std::filesystem::path& file) {
  const std::vector<uint8_t> bytes = read_file_bytes(file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not JSON: " + e.what());
  }
  if (!json.is_object() || !json.contains("benchmarks") || !json["benchmarks"].is_array())
    throw Error(file.string() + ": no \"benchmarks\" list (not Google Benchmark JSON output)");
  Runs singles, medians;
  try {
    for (const auto& b : json["benchmarks"]) {
      const bool aggregate = b.value("run_type", "iteration") == "aggregate";
      if ((aggregate && b.value("aggregate_name", "") != "median") || !b.contains("items_per_second")) continue;
      std::string name = b.value("run_name", b.value("name", ""));
      if (const auto at = name.find("/real_time"); at != std::string::npos) name.erase(at);
      Measurement m;
      m.items_per_second = b["items_per_second"].get<double>();
      for (const char* counter : {"GFLOP/s", "of_sgemm", "GB/s"})
        if (b.contains(counter)) m.counters[counter] = b[counter].get<double>();
      (aggregate ? medians : singles)[name].push_back(m);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": unexpected benchmark entry: " + e.what());
  }
  for (auto& [name, runs] : medians) singles[name] = std::move(runs);
  return singles;
}

}  // namespace

Results read_results(const std::vector<std::filesystem::path>& files) {
  Runs all;
  for (const auto& file : files)
    for (auto& [name, runs] : runs_of(file)) all[name].insert(all[name].end(), runs.begin(), runs.end());
  Results results;
  for (auto& [name, runs] : all) {
    const auto middle = runs.begin() + static_cast<std::ptrdiff_t>((runs.size() - 1) / 2);
    std::nth_element(runs.begin(), middle, runs.end(),
                     [](const Measurement& a, const Measurement& b) { return a.items_per_second < b.items_per_second; });
    results[name] = *middle;
  }
  return results;
}

std::optional<Measurement> find(const Results& results, const std::string& name) {
  const auto it = results.find(name);
  if (it == results.end()) return std::nullopt;
  return it->second;
}

}  // namespace s8net::bench
