#include "summary/summary_tables.hpp"

#include <s8net/core/format.hpp>
#include <s8net/report/bar_figure.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace s8net::bench {
namespace {

constexpr const char* kNorms[] = {"bn", "gn", "ln"};

constexpr Reference kReferences[] = {{"PyTorch/", "PyTorch"},
                                     {"PyTorch-channels_last/", "PyTorch channels_last"},
                                     {"PyTorch-frozen/", "PyTorch frozen"},
                                     {"OnnxRuntime/", "ONNX Runtime"}};

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

// The references with at least one result in the set, in references() order.
std::vector<Reference> references_in(const Results& r) {
  std::vector<Reference> present;
  for (const Reference& reference : kReferences)
    if (std::any_of(r.begin(), r.end(), [&](const auto& entry) { return entry.first.starts_with(reference.prefix); }))
      present.push_back(reference);
  return present;
}

// One line per case and norm that both s8net and a reference ran: s8net, the fastest reference
// and the ratio to it, then every reference's own figure.
std::string reference_table(const ResultSet& set) {
  const std::vector<Reference> present = references_in(set.results);
  if (present.empty()) return "";
  std::string md = "| images/s | norm | s8net | fastest reference | s8net / fastest |";
  std::string rule = "|---|---|--:|---|--:|";
  for (const Reference& reference : present)
    md.append(" ").append(reference_label(reference, set)).append(" |"), rule += "--:|";
  md += "\n" + rule + "\n";
  bool any = false;
  for (const Row& row : kNetworkRows)
    for (const char* norm : kNorms) {
      const std::string name = name_for(row, norm);
      const auto ours = find(set.results, name);
      const auto fastest = fastest_reference(set, name);
      if (!ours || !fastest) continue;
      any = true;
      md += std::string("| ") + row.label + " | " + norm + " | " + rate(ours) + " | " + rate(fastest->measurement) +
            " (" + fastest->label + ") | " + ratio(ours, fastest->measurement) + " |";
      for (const Reference& reference : present)
        md.append(" ").append(rate(find(set.results, reference.prefix + name))).append(" |");
      md += "\n";
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

// Panels in a row of one set: s8net, and the fastest reference per norm where there are references.
RgbImage chart_row(const ResultSet& set) {
  const bool compared = !references_in(set.results).empty();
  std::vector<report::BarPanel> panels;
  for (const Row& row : kChartRows) {
    report::BarPanel panel{row.label, "images per second", {"bn", "gn", "ln"}, {"s8net"}, {{}}, {}};
    if (compared) panel.series.push_back("fastest reference (see bench.md)"), panel.values.emplace_back();
    for (const char* norm : kNorms) {
      const std::string name = name_for(row, norm);
      panel.values[0].push_back(find(set.results, name).value_or(Measurement{}).items_per_second);
      if (compared) {
        const auto fastest = fastest_reference(set, name);
        panel.values[1].push_back(fastest ? fastest->measurement.items_per_second : 0);
      }
    }
    panels.push_back(std::move(panel));
  }
  const std::string label = set.platform.label();
  std::string title = compared ? "BN vs GN vs LN: s8net and the fastest of PyTorch and ONNX Runtime, timed in turns"
                               : "BN vs GN vs LN throughput";
  if (!label.empty()) title += " - " + label;
  return report::draw_bar_figure(title, panels);
}

}  // namespace

std::span<const Reference> references() { return kReferences; }

std::string reference_label(const Reference& reference, const ResultSet& set) {
  std::string label = reference.label;
  const auto uncapped = [&](const auto& entry) {
    return entry.first.starts_with(reference.prefix) && entry.second.native_isa;
  };
  if (set.platform.capped() && std::any_of(set.results.begin(), set.results.end(), uncapped)) label += " (native ISA)";
  return label;
}

std::optional<Fastest> fastest_reference(const ResultSet& set, const std::string& name) {
  std::optional<Fastest> fastest;
  for (const Reference& reference : kReferences) {
    const auto m = find(set.results, reference.prefix + name);
    if (m && (!fastest || m->items_per_second > fastest->measurement.items_per_second))
      fastest = Fastest{reference_label(reference, set), *m};
  }
  return fastest;
}

std::string summary_markdown(const std::vector<ResultSet>& sets) {
  std::string md;
  for (const ResultSet& set : sets) {
    const std::string label = set.platform.label();
    const std::string suffix = label.empty() ? "\n\n" : ": " + label + "\n\n";
    for (const auto& [heading, table] : {std::pair{"### Whole network", network_table(set.results)},
                                         std::pair{"### s8net vs the fastest reference", reference_table(set)},
                                         std::pair{"### Norm kernels alone", kernels_table(set.results)}})
      if (!table.empty()) {
        if (!md.empty()) md += '\n';
        md.append(heading).append(suffix).append(table);
      }
  }
  return md;
}

std::optional<RgbImage> summary_chart(const std::vector<ResultSet>& sets) {
  std::vector<RgbImage> rows;
  for (const ResultSet& set : sets)
    if (!network_table(set.results).empty()) rows.push_back(chart_row(set));
  if (rows.empty()) return std::nullopt;
  RgbImage chart{rows.front().width, 0, {}};
  for (const RgbImage& row : rows) {
    chart.height += row.height;
    chart.pixels.insert(chart.pixels.end(), row.pixels.begin(), row.pixels.end());
  }
  return chart;
}

}  // namespace s8net::bench
