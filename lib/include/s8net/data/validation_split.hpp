// A validation split held out of the training images, for choosing checkpoints and settings
// without looking at the test set. It is balanced over the classes and depends on nothing but
// the data and its size, so every seed of a study validates on the same images.
#pragma once

#include <s8net/data/dataset.hpp>

#include <cstdint>

namespace s8net {

struct TrainValidationSplit {
  Dataset train;       // the images trained on, in their original order
  Dataset validation;  // the images held out, in their original order
};

// Holds out `count` images: count / 10 of each class (the first count % 10 classes one more),
// the last ones of each class in the data's order. Throws s8net::Error naming --val when a class
// has too few images to give its share and keep one to train on.
TrainValidationSplit hold_out_validation(const Dataset& data, int64_t count);

}  // namespace s8net
