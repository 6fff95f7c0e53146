#include "study_files.hpp"
#include "study_metrics.hpp"

#include <s8net/core/format.hpp>

namespace s8net::study {
namespace {

// RFC 4180: a field holding a separator, a quote or a line break is quoted, its quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string optional_percent(const std::optional<double>& value) { return value ? percent(*value) : ""; }

}  // namespace

std::string study_csv(const std::vector<StudyRow>& rows) {
  std::string csv =
      "norm,batch,seed,status,reason,lr,epochs,final_test_acc,best_val_acc,test_at_best_val,test_tta_acc,train_img_s,"
      "wall_s\n";
  for (const StudyRow& row : rows) {
    const bool finished = row.status == PointOutcome::Status::finished;
    const std::vector<std::string> fields = {csv_field(row.point.norm),
                                             std::to_string(row.point.batch),
                                             std::to_string(row.point.seed),
                                             name_of(row.status),
                                             csv_field(row.reason),
                                             finished ? format_number("%.6g", row.learning_rate) : "",
                                             finished ? std::to_string(row.epochs) : "",
                                             finished ? percent(row.final_test_accuracy) : "",
                                             optional_percent(row.best_val_accuracy),
                                             optional_percent(row.test_at_best_val),
                                             optional_percent(row.test_with_views),
                                             finished ? format_number("%.1f", row.train_images_per_second) : "",
                                             format_number("%.1f", row.wall_seconds)};
    for (size_t i = 0; i < fields.size(); ++i) csv += (i ? "," : "") + fields[i];
    csv += "\n";
  }
  return csv;
}

}  // namespace s8net::study
