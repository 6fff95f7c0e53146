#include "summary/summary_tables.hpp"

#include <s8net/core/format.hpp>
#include <s8net/report/bar_figure.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

namespace s8net::bench {
namespace {

constexpr const char* kNorms[] = {"bn", "gn", "ln"};
constexpr const char* kPyTorch = "PyTorch/";

struct Row {
  const char* label;
  const char* pattern;  // the benchmark name with %s for the norm
};
constexpr Row kNetworkRows[] = {{"training step, batch 32", "TrainStep/%s/32"},
                                {"training step, batch 128", "TrainStep/%s/128"},
                                {"inference, batch 32", "Inference/%s/32"},
                                {"inference, batch 128", "Inference/%s/128"},
                                {"inference, batch 256", "Inference/%s/256"}};
constexpr Row kChartRows[] = {kNetworkRows[0], kNetworkRows[1], kNetworkRows[4]};

std::string name_for(const Row& row, const char* norm) {
  char text[128];
  std::snprintf(text, sizeof text, row.pattern, norm);
  return text;
}

std::string ratio(const std::optional<Measurement>& a, const std::optional<Measurement>& b) {
  if (!a || !b || b->items_per_second <= 0) return "-";
  return format_number("%.2fx", a->items_per_second / b->items_per_second);
}

std::string rate(const std::optional<Measurement>& m) {
  return m ? with_thousands(std::llround(m->items_per_second)) : "-";
}

std::string gflops(const std::optional<Measurement>& m) {
  if (!m || !m->counters.count("GFLOP/s") || !m->counters.count("of_sgemm")) return "-";
  return format_number("%.1f", m->counters.at("GFLOP/s")) + " (" +
         format_number("%.0f%%", 100 * m->counters.at("of_sgemm")) + " of sgemm)";
}

std::string network_table(const Results& r) {
  std::string md = "| images/s | bn | gn | ln | gn / bn | ln / bn | bn GFLOP/s |\n|---|--:|--:|--:|--:|--:|--:|\n";
  bool any = false;
  for (const Row& row : kNetworkRows) {
    const auto bn = find(r, name_for(row, "bn")), gn = find(r, name_for(row, "gn")), ln = find(r, name_for(row, "ln"));
    if (!bn && !gn && !ln) continue;
    any = true;
    md += std::string("| ") + row.label + " | " + rate(bn) + " | " + rate(gn) + " | " + rate(ln) + " | " +
          ratio(gn, bn) + " | " + ratio(ln, bn) + " | " + gflops(bn) + " |\n";
  }
  return any ? md : "";
}

std::string pytorch_table(const Results& r) {
  std::string md = "| images/s | s8net bn | PyTorch bn | ratio | s8net gn | PyTorch gn | ratio | s8net ln | PyTorch ln | ratio |\n"
                   "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
  bool any = false;
  for (const Row& row : kNetworkRows) {
    std::string line = std::string("| ") + row.label;
    bool both = false;
    for (const char* norm : kNorms) {
      const auto ours = find(r, name_for(row, norm)), theirs = find(r, kPyTorch + name_for(row, norm));
      both |= ours && theirs;
      line += " | " + rate(ours) + " | " + rate(theirs) + " | " + ratio(ours, theirs);
    }
    if (both) md += line + " |\n", any = true;
  }
  return any ? md : "";
}

std::string kernels_table(const Results& r) {
  std::string md = "| norm kernel, images/s (GB/s) | bn | gn | ln |\n|---|--:|--:|--:|\n";
  bool any = false;
  for (const char* pass : {"NormForward", "NormBackward"})
    for (const char* shape : {"16x32x32", "32x16x16", "32x8x8"})
      for (const char* batch : {"32", "128"}) {
        std::string line = std::string("| ") + (pass == std::string("NormForward") ? "forward " : "backward ") + shape +
                           ", batch " + batch;
        bool here = false;
        for (const char* norm : kNorms) {
          const auto m = find(r, std::string(pass) + "/" + norm + "/" + shape + "/" + batch);
          here |= m.has_value();
          std::string cell = rate(m);
          if (m && m->counters.count("GB/s")) cell += " (" + format_number("%.1f", m->counters.at("GB/s")) + ")";
          line += " | " + cell;
        }
        if (here) md += line + " |\n", any = true;
      }
  return any ? md : "";
}

}  // namespace

std::string summary_markdown(const Results& results) {
  std::string md;
  for (const auto& [heading, table] : {std::pair{"### Whole network\n\n", network_table(results)},
                                       std::pair{"### s8net vs PyTorch\n\n", pytorch_table(results)},
                                       std::pair{"### Norm kernels alone\n\n", kernels_table(results)}})
    if (!table.empty()) {
      if (!md.empty()) md += '\n';
      md.append(heading).append(table);
    }
  return md;
}

RgbImage summary_chart(const Results& results) {
  const bool pytorch = !pytorch_table(results).empty();
  std::vector<report::BarPanel> panels;
  for (const Row& row : kChartRows) {
    report::BarPanel panel{row.label, "images per second", {"bn", "gn", "ln"}, {"s8net"}, {{}}, {}};
    if (pytorch) panel.series.push_back("PyTorch 1.13"), panel.values.emplace_back();
    for (const char* norm : kNorms) {
      panel.values[0].push_back(find(results, name_for(row, norm)).value_or(Measurement{}).items_per_second);
      if (pytorch)
        panel.values[1].push_back(find(results, kPyTorch + name_for(row, norm)).value_or(Measurement{}).items_per_second);
    }
    panels.push_back(std::move(panel));
  }
  return report::draw_bar_figure(
      pytorch ? "BN vs GN vs LN: s8net and PyTorch 1.13 timed in turns on the same machine" : "BN vs GN vs LN throughput", panels);
}

}  // namespace s8net::bench
