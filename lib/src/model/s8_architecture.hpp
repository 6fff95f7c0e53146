// The layer table of docs/network.md as data: the network, the summary and the plans all walk this list.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace s8net::s8 {

enum class StageKind {
  conv_norm_relu,  // 3x3 conv + N + ReLU
  conv1x1,         // 1x1 conv, no norm
  pool_dropout,    // 2x2 max-pool, then dropout
  global_pool,     // global average pool
  head             // 1x1 conv to the classes, then log-softmax
};

enum class Skip { none, source, add };  // add: output += the block's skip source

struct Stage {
  const char* name;
  StageKind kind;
  int64_t out_channels;  // 0: same as the input
  Skip skip;
};

inline constexpr std::array<Stage, 14> kStages{{
    {"C1", StageKind::conv_norm_relu, 16, Skip::none},
    {"C2", StageKind::conv_norm_relu, 16, Skip::none},
    {"c3", StageKind::conv1x1, 8, Skip::none},
    {"P1", StageKind::pool_dropout, 0, Skip::none},
    {"C3", StageKind::conv_norm_relu, 32, Skip::source},
    {"C4", StageKind::conv_norm_relu, 32, Skip::none},
    {"C5", StageKind::conv_norm_relu, 32, Skip::add},
    {"c6", StageKind::conv1x1, 16, Skip::none},
    {"P2", StageKind::pool_dropout, 0, Skip::none},
    {"C7", StageKind::conv_norm_relu, 32, Skip::source},
    {"C8", StageKind::conv_norm_relu, 32, Skip::none},
    {"C9", StageKind::conv_norm_relu, 32, Skip::add},
    {"GAP", StageKind::global_pool, 0, Skip::none},
    {"c10", StageKind::head, 10, Skip::none},
}};

constexpr bool has_conv(StageKind kind) {
  return kind == StageKind::conv_norm_relu || kind == StageKind::conv1x1 || kind == StageKind::head;
}
constexpr bool has_norm(StageKind kind) { return kind == StageKind::conv_norm_relu; }
constexpr int64_t conv_kernel(StageKind kind) { return has_norm(kind) ? 3 : 1; }

// Output (C, H, W) of every stage for a 3 x 32 x 32 input.
struct Shape {
  int64_t c, h, w;
};
inline std::array<Shape, kStages.size()> stage_shapes() {
  std::array<Shape, kStages.size()> shapes{};
  Shape current{3, 32, 32};
  for (std::size_t i = 0; i < kStages.size(); ++i) {
    const Stage& stage = kStages[i];
    if (stage.out_channels > 0) current.c = stage.out_channels;
    if (stage.kind == StageKind::pool_dropout) current = {current.c, current.h / 2, current.w / 2};
    if (stage.kind == StageKind::global_pool) current = {current.c, 1, 1};
    shapes[i] = current;
  }
  return shapes;
}

// Forward multiply-adds x 2 of one image through each stage's conv (0 for a stage without one).
inline std::array<double, kStages.size()> conv_forward_flops() {
  const auto shapes = stage_shapes();
  std::array<double, kStages.size()> flops{};
  int64_t in_channels = 3;
  for (std::size_t i = 0; i < kStages.size(); ++i) {
    if (has_conv(kStages[i].kind)) {
      const int64_t k = conv_kernel(kStages[i].kind);
      flops[i] = 2.0 * static_cast<double>(in_channels * k * k * shapes[i].c * shapes[i].h * shapes[i].w);
    }
    in_channels = shapes[i].c;
  }
  return flops;
}

// Index of the skip source feeding the add stage i.
inline std::size_t skip_source_of(std::size_t add_stage) {
  for (std::size_t j = add_stage; j-- > 0;)
    if (kStages[j].skip == Skip::source) return j;
  return add_stage;
}

}  // namespace s8net::s8
