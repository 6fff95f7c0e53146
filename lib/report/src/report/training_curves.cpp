#include "plot.hpp"

#include <s8net/report/figures.hpp>

namespace s8net::report {

RgbImage draw_training_curves(std::span<const EpochMetrics> history, int64_t planned_epochs, const std::string& title) {
  Canvas canvas(1260, 460);
  const double top = draw_figure_title(canvas, title);
  std::vector<double> epochs, lr, train_loss, test_loss, train_acc, test_acc;
  for (const EpochMetrics& m : history) {
    epochs.push_back(static_cast<double>(m.epoch));
    lr.push_back(m.learning_rate);
    train_loss.push_back(m.train_loss);
    test_loss.push_back(m.test_loss);
    train_acc.push_back(m.train_accuracy());
    test_acc.push_back(m.test_accuracy());
  }
  const auto epochs_axis = static_cast<double>(planned_epochs);
  const double panel_width = canvas.width() / 3.0, panel_height = canvas.height() - top;
  auto panel = [&](int i) { return Rect{panel_width * i, top, panel_width, panel_height}; };
  const Series lr_series[] = {{"learning rate", epochs, lr, series_colour(0)}};
  draw_line_plot(canvas, panel(0),
                 {.title = "Learning rate",
                  .x_label = "epoch",
                  .y_label = "learning rate",
                  .y_low = 0.0,
                  .x_low = 0.0,
                  .x_high = epochs_axis,
                  .legend = false},
                 lr_series);
  auto train_and_test = [&](int i, const char* panel_title, const char* y_label, const std::vector<double>& train,
                            const std::vector<double>& test) {
    const Series series[] = {{"train", epochs, train, series_colour(0)}, {"test", epochs, test, series_colour(1)}};
    draw_line_plot(canvas, panel(i),
                   {.title = panel_title, .x_label = "epoch", .y_label = y_label, .x_low = 0.0, .x_high = epochs_axis},
                   series);
  };
  train_and_test(1, "Loss", "negative log-likelihood", train_loss, test_loss);
  train_and_test(2, "Accuracy", "accuracy (%)", train_acc, test_acc);
  return canvas.to_rgb();
}

}  // namespace s8net::report
