#include "epoch_table.hpp"

#include <s8net/core/format.hpp>

#include <cmath>
#include <cstdio>

namespace s8net::app {

std::string epoch_table_header(bool validation) {
  char line[220];
  std::snprintf(line, sizeof line, "%5s %10s %7s %7s %10s %15s %9s %9s %15s %9s", "epoch", "LR", "time", "img/s",
                "train loss", "train correct", "train acc", "test loss", "test correct", "test acc");
  return validation ? std::string(line) + "   val acc" : std::string(line);
}

std::string epoch_table_row(const EpochMetrics& m, bool new_best) {
  char line[200];
  std::snprintf(line, sizeof line, "%5lld %10.6f %6.1fs %7s %10.4f %15s %8.2f%% %9.4f %15s %8.2f%%%s",
                static_cast<long long>(m.epoch), m.learning_rate, m.seconds,
                with_thousands(std::llround(m.train_images_per_second())).c_str(), m.train_loss,
                (with_thousands(m.train_correct) + "/" + with_thousands(m.train_total)).c_str(), m.train_accuracy(),
                m.test_loss, (with_thousands(m.test_correct) + "/" + with_thousands(m.test_total)).c_str(),
                m.test_accuracy(), new_best ? "  *" : "");
  if (!m.has_validation()) return line;
  // The best mark stays at the end of the line, after the accuracy it was chosen on.
  std::string text(line);
  const bool marked = text.ends_with("  *");
  if (marked) text.resize(text.size() - 3);
  char validation[32];
  std::snprintf(validation, sizeof validation, " %8.2f%%", m.val_accuracy());
  return text + validation + (marked ? "  *" : "");
}

}  // namespace s8net::app
