// y = relu(scale[n][c] * x + shift[n][c]) (+ addend): an affine map per (image, channel) with its
// ReLU, and optionally the skip connection's add, in one pass over nChw8c activations. Inference
// applies a norm this way where the norm evaluates as a map of its input's moments (GroupNorm,
// LayerNorm, InstanceNorm, see WinogradFusion) and the op after it cannot take the map in itself (a
// 1x1 conv, a pool, the skip add): one pass instead of the norm's two and the add's one.
#pragma once

#include <s8net/norm/plugin_api.h>

#include <cstdint>

namespace s8net {

struct PlaneMapShape {
  int64_t batch = 0, channels = 0, height = 0, width = 0;  // channels: a multiple of 8
};

// Whether this CPU runs the pass (AVX2 and FMA, as WinogradConv).
bool plane_map_available();

// A tensor of the shape in nChw8c as the map of another: relu(scale * x + shift) per (image,
// channel), scale and shift batch x channels, [image * channels + channel]; scale null: x as it is.
struct MappedPlanes {
  const float* x = nullptr;
  const float* scale = nullptr;
  const float* shift = nullptr;
};

// y = relu(scale * x + shift) + addend, addend (may have no x) mapped itself where it has a scale;
// y may be x or addend.x. Threads: OpenMP, each a contiguous run of images as WinogradConv's.
void map_planes_relu(const PlaneMapShape& shape, const float* x, const float* scale, const float* shift,
                     const MappedPlanes& addend, float* y);

// The mean and m2 of each (image, channel) plane of x (nChw8c), [image * channels + channel]: sums
// of (x - k) and (x - k)^2 with k the plane's first value, in float over runs of 64 pixels, in
// double across them.
void plane_moments(const PlaneMapShape& shape, const float* x, s8net_plane_moments* moments);

}  // namespace s8net
