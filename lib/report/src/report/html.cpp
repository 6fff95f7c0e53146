#include "html.hpp"

namespace s8net::report::html {
namespace {

constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 24px auto; max-width: 1300px; color: #222; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.subtitle { color: #666; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 16px; min-width: 150px; }
.card .value { font-size: 22px; font-weight: bold; } .card .label { color: #666; font-size: 13px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { padding: 4px 12px; border-bottom: 1px solid #eee; text-align: left; }
th { background: #f4f6f8; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #eaf4ea; font-weight: bold; }
figure { margin: 16px 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #666; font-size: 13px; }
code { background: #f4f6f8; padding: 1px 4px; border-radius: 3px; }
)";

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string page_start(std::string_view title, int refresh_seconds) {
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  if (refresh_seconds > 0)
    page += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">\n";
  page += "<title>" + escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  return page;
}

std::string page_end() { return "</body>\n</html>\n"; }

Table::Table(std::vector<std::string> header, std::vector<bool> numeric) : numeric_(std::move(numeric)) {
  numeric_.resize(header.size(), false);
  html_ = "<table>\n<tr>";
  for (size_t i = 0; i < header.size(); ++i)
    html_ += std::string(numeric_[i] ? "<th class=\"num\">" : "<th>") + escape(header[i]) + "</th>";
  html_ += "</tr>\n";
}

void Table::row(const std::vector<std::string>& cells, bool highlight) {
  html_ += highlight ? "<tr class=\"best\">" : "<tr>";
  for (size_t i = 0; i < cells.size(); ++i)
    html_ +=
        std::string(i < numeric_.size() && numeric_[i] ? "<td class=\"num\">" : "<td>") + escape(cells[i]) + "</td>";
  html_ += "</tr>\n";
}

std::string Table::str() const { return html_ + "</table>\n"; }

std::string figure(std::string_view file, std::string_view caption) {
  return "<figure><img src=\"" + escape(file) + "\" alt=\"" + escape(caption) + "\"><figcaption>" + escape(caption) +
         "</figcaption></figure>\n";
}

}  // namespace s8net::report::html
