// Turns Google Benchmark JSON (bench_train, bench_norms, and bench/pytorch_reference.py's) into
// a markdown table and a bar chart of BN vs GN vs LN, s8net beside PyTorch when its file is given:
//   bench_train --benchmark_out=train.json --benchmark_out_format=json
//   python3 bench/pytorch_reference.py --out pytorch.json
//   bench_report --out DIR train.json pytorch.json [norms.json]   -> DIR/bench.md, DIR/bench.png
#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/report/bar_figure.hpp>
#include <s8net/report/figures.hpp>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;
using s8net::with_thousands;

constexpr const char* kNorms[] = {"bn", "gn", "ln"};

struct Measurement {
  double items_per_second = 0;
  std::map<std::string, double> counters;  // GFLOP/s, of_sgemm, GB/s ...
};

// name without "/real_time" -> measurement; the median aggregate wins over single runs.
using Results = std::map<std::string, Measurement>;

void read_results(const fs::path& file, Results& results) {
  const std::vector<uint8_t> bytes = s8net::read_file_bytes(file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    throw s8net::Error(file.string() + ": not JSON: " + e.what());
  }
  if (!json.contains("benchmarks") || !json["benchmarks"].is_array())
    throw s8net::Error(file.string() + ": no \"benchmarks\" list (not Google Benchmark JSON output)");
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
}

std::optional<Measurement> find(const Results& results, const std::string& name) {
  const auto it = results.find(name);
  if (it == results.end()) return std::nullopt;
  return it->second;
}

std::string ratio(double a, double b) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2fx", b > 0 ? a / b : 0.0);
  return text;
}

std::string rate(const std::optional<Measurement>& m) { return m ? with_thousands(std::llround(m->items_per_second)) : "-"; }

struct Row {
  std::string label, name;  // "training step, batch 32", "TrainStep/%s/32"
};

const std::vector<Row>& network_rows() {
  static const std::vector<Row> rows = {{"training step, batch 32", "TrainStep/%s/32"},
                                        {"training step, batch 128", "TrainStep/%s/128"},
                                        {"inference, batch 32", "Inference/%s/32"},
                                        {"inference, batch 128", "Inference/%s/128"},
                                        {"inference, batch 256", "Inference/%s/256"}};
  return rows;
}

std::string name_for(const std::string& pattern, const char* norm) {
  char text[128];
  std::snprintf(text, sizeof text, pattern.c_str(), norm);
  return text;
}

std::string norms_table(const Results& r) {
  std::string md = "| images/s | bn | gn | ln | gn / bn | ln / bn | bn GFLOP/s (of sgemm) |\n|---|--:|--:|--:|--:|--:|--:|\n";
  for (const Row& row : network_rows()) {
    const auto bn = find(r, name_for(row.name, "bn")), gn = find(r, name_for(row.name, "gn")),
               ln = find(r, name_for(row.name, "ln"));
    if (!bn && !gn && !ln) continue;
    std::string flops = "-";
    if (bn && bn->counters.count("GFLOP/s")) {
      char text[64];
      std::snprintf(text, sizeof text, "%.1f (%.0f%%)", bn->counters.at("GFLOP/s"), 100 * bn->counters.at("of_sgemm"));
      flops = text;
    }
    md += "| " + row.label + " | " + rate(bn) + " | " + rate(gn) + " | " + rate(ln) + " | " +
          (bn && gn ? ratio(gn->items_per_second, bn->items_per_second) : "-") + " | " +
          (bn && ln ? ratio(ln->items_per_second, bn->items_per_second) : "-") + " | " + flops + " |\n";
  }
  return md;
}

std::string pytorch_table(const Results& r) {
  std::string md = "| images/s | s8net bn | PyTorch bn | | s8net gn | PyTorch gn | | s8net ln | PyTorch ln | |\n"
                   "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
  bool any = false;
  for (const Row& row : network_rows()) {
    std::string line = "| " + row.label;
    bool here = false;
    for (const char* norm : kNorms) {
      const auto ours = find(r, name_for(row.name, norm)), theirs = find(r, "PyTorch/" + name_for(row.name, norm));
      here |= ours && theirs;
      line += " | " + rate(ours) + " | " + rate(theirs) + " | " +
              (ours && theirs ? ratio(ours->items_per_second, theirs->items_per_second) : "-");
    }
    if (here) md += line + " |\n", any = true;
  }
  return any ? md : "";
}

std::string kernels_table(const Results& r) {
  std::string md = "| norm kernel | bn | gn | ln |\n|---|--:|--:|--:|\n";
  bool any = false;
  for (const char* pass : {"NormForward", "NormBackward"})
    for (const char* shape : {"16x32x32", "32x16x16", "32x8x8"})
      for (const char* batch : {"32", "128"}) {
        std::string line = std::string("| ") + (pass[4] == 'F' ? "forward " : "backward ") + shape + ", batch " + batch;
        bool here = false;
        for (const char* norm : kNorms) {
          const auto m = find(r, std::string(pass) + "/" + norm + "/" + shape + "/" + batch);
          here |= m.has_value();
          char text[64] = "-";
          if (m) std::snprintf(text, sizeof text, "%s img/s, %.1f GB/s", with_thousands(std::llround(m->items_per_second)).c_str(),
                               m->counters.count("GB/s") ? m->counters.at("GB/s") : 0.0);
          line += std::string(" | ") + text;
        }
        if (here) md += line + " |\n", any = true;
      }
  return any ? md : "";
}

s8net::RgbImage chart(const Results& r) {
  const bool pytorch = !pytorch_table(r).empty();
  std::vector<s8net::report::BarPanel> panels;
  for (const Row& row : {network_rows()[0], network_rows()[1], network_rows()[4]}) {
    s8net::report::BarPanel panel{row.label, "images per second", {"bn", "gn", "ln"}, {"s8net"}, {{}}, {}};
    if (pytorch) panel.series.push_back("PyTorch 1.13"), panel.values.emplace_back();
    for (const char* norm : kNorms) {
      panel.values[0].push_back(find(r, name_for(row.name, norm)).value_or(Measurement{}).items_per_second);
      if (pytorch)
        panel.values[1].push_back(find(r, "PyTorch/" + name_for(row.name, norm)).value_or(Measurement{}).items_per_second);
    }
    panels.push_back(std::move(panel));
  }
  return s8net::report::draw_bar_figure(pytorch ? "BN vs GN vs LN: s8net and PyTorch on the same machine, same run"
                                                 : "BN vs GN vs LN throughput",
                                         panels);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  std::string out;
  po::options_description options("bench_report --out DIR FILE.json...: markdown table and bar chart of benchmark JSON");
  options.add_options()("help,h", "show this help")("out", po::value(&out)->required(), "output directory")(
      "json", po::value(&files)->required(), "Google Benchmark JSON files (positional)");
  po::positional_options_description positional;
  positional.add("json", -1);
  try {
    po::variables_map values;
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(), values);
    if (values.count("help")) {
      std::cout << options << '\n';
      return 0;
    }
    po::notify(values);
  } catch (const po::error& e) {
    std::cerr << "bench_report: " << e.what() << " (see bench_report --help)\n";
    return 2;
  }
  try {
    Results results;
    for (const std::string& file : files) read_results(file, results);
    std::string md = "### Whole network\n\n" + norms_table(results);
    if (const std::string t = pytorch_table(results); !t.empty()) md += "\n### s8net vs PyTorch\n\n" + t;
    if (const std::string t = kernels_table(results); !t.empty()) md += "\n### Norm kernels alone\n\n" + t;
    fs::create_directories(out);
    s8net::write_file_atomically(fs::path(out) / "bench.md", md);
    s8net::report::write_png(fs::path(out) / "bench.png", chart(results));
    std::cout << md << "\nwritten: " << (fs::path(out) / "bench.md").string() << ", " << (fs::path(out) / "bench.png").string()
              << '\n';
  } catch (const std::exception& e) {
    std::cerr << "bench_report: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
