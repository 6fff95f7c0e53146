// A 2x2 max-pool of stride 2 with its backward, on blocked activations (nChw8c, nChw16c) with
// AVX2: s8net's own, for training, where oneDNN 2.6's max-pool that keeps its arg-max runs far
// below the speed of memory (docs/performance.md). The arg-max of each output value is kept as a
// float 0-3 (the window's pixels row by row); a tie goes to the first, as in oneDNN.
#pragma once

#include <cstdint>

namespace s8net::blocked_max_pool {

struct Shape {
  int64_t batch = 0, blocks = 0, block = 0;  // block: 8 or 16 channels; blocks of them per image
  int64_t height = 0, width = 0;             // the input's, both even
};

// Whether this CPU runs it (AVX2, as WinogradConv; capped by ONEDNN_MAX_CPU_ISA).
bool available();

// y and argmax: batch x blocks x height/2 x width/2 x block.
void forward(const Shape& shape, const float* x, float* y, float* argmax);
// dx (the input's shape): dy at each window's arg-max, zero elsewhere.
void backward(const Shape& shape, const float* dy, const float* argmax, float* dx);

}  // namespace s8net::blocked_max_pool
