// Timing one normalization layer's calls, for `s8net plugin bench`: the median of repeated timed
// runs after a warm-up, on buffers allocated and filled once.
#pragma once

#include <s8net/norm/norm_layer.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace s8net::app {

enum class NormPass { forward_train, forward_eval, backward };
const char* pass_name(NormPass pass) noexcept;  // "forward train", "forward eval", "backward"

// Bytes of the arrays one call is handed: forward reads x and writes y; backward reads x, y and dy
// and writes dx. What the call must touch at the least, if it touches each once.
double bytes_touched(NormPass pass, const s8net_tensor_desc& desc);

struct TimingPlan {
  int repetitions = 20;  // timed; the median is reported
  int warmup = 3;        // untimed, before the first timed one
  // Each timed repetition repeats the call until it has run this long, so that calls of a few
  // microseconds are not lost in the clock's and the thread pool's noise.
  double min_repetition_seconds = 2e-3;
};

// Median seconds of one call of `pass` on the layer at desc. x and dy are random, the layer has
// run a training forward before any backward.
double median_seconds_per_call(NormLayer& layer, const s8net_tensor_desc& desc, NormPass pass, const TimingPlan& plan);

}  // namespace s8net::app
