// The pictures of a training run, as the original work showed them: learning-rate, loss and
// accuracy curves; the confusion matrix; misclassified test images; augmented training samples;
// the class counts. Each figure is an RGB image; write_png saves one atomically.
#pragma once

#include <s8net/data/dataset.hpp>
#include <s8net/data/image_codec.hpp>
#include <s8net/train/evaluate.hpp>
#include <s8net/train/train_config.hpp>
#include <s8net/train/trainer.hpp>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace s8net::report {

// Three panels side by side (1260 x 460): learning rate; train and test loss; train and test
// accuracy, per epoch, on an epoch axis from 0 to `planned_epochs` (a running training shows how
// far it has come).
RgbImage draw_training_curves(std::span<const EpochMetrics> history, int64_t planned_epochs, const std::string& title);

// The 10 x 10 matrix of a test evaluation: counts in the cells, shaded by a colour scale shown
// beside it, true classes down the side, predicted classes along the bottom, each class's accuracy.
RgbImage draw_confusion_matrix(const ConfusionMatrix& confusion, const std::string& title);

// Indices of the misclassified images of `test`, the most confident mistake first (ties in data
// order), at most `count`. Throws s8net::Error when `evaluation` is not of `test`.
std::vector<int64_t> surest_mistakes(const Dataset& test, const EvalResult& evaluation, size_t count);

// The `count` misclassified images of `test` the network was most sure of, enlarged to 128 px,
// each titled "true/predicted confidence%". `evaluation` must be of `test`.
RgbImage draw_misclassified(const Dataset& test, const EvalResult& evaluation, int count, const std::string& title);

// The first `count` training images of epoch 1 exactly as the network saw them (shuffled and
// augmented by `config`'s seed), enlarged to 96 px and labelled.
RgbImage draw_training_samples(const Dataset& train, const TrainConfig& config, int count);

// Images per class in the training and the test set, as grouped bars.
RgbImage draw_class_counts(const Dataset& train, const Dataset& test);

// PNG-encodes `image` and replaces `path` atomically (a page being viewed never shows half a file).
void write_png(const std::filesystem::path& path, const RgbImage& image);

}  // namespace s8net::report
