#include "summary/benchmark_results.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>

#include <nlohmann/json.hpp>

#include <vector>

namespace s8net::bench {

void read_results(const std::filesystem::path& file, Results& results) {
  const std::vector<uint8_t> bytes = read_file_bytes(file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not JSON: " + e.what());
  }
  if (!json.is_object() || !json.contains("benchmarks") || !json["benchmarks"].is_array())
    throw Error(file.string() + ": no \"benchmarks\" list (not Google Benchmark JSON output)");
  try {
    for (const auto& b : json["benchmarks"]) {
      const bool aggregate = b.value("run_type", "iteration") == "aggregate";
      if (aggregate && b.value("aggregate_name", "") != "median") continue;
      std::string name = b.value("run_name", b.value("name", ""));
      if (const auto at = name.find("/real_time"); at != std::string::npos) name.erase(at);
      if (!b.contains("items_per_second") || (results.count(name) && !aggregate)) continue;
      Measurement m;
      m.items_per_second = b["items_per_second"].get<double>();
      for (const char* counter : {"GFLOP/s", "of_sgemm", "GB/s"})
        if (b.contains(counter)) m.counters[counter] = b[counter].get<double>();
      results[name] = m;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": unexpected benchmark entry: " + e.what());
  }
}

std::optional<Measurement> find(const Results& results, const std::string& name) {
  const auto it = results.find(name);
  if (it == results.end()) return std::nullopt;
  return it->second;
}

}  // namespace s8net::bench
