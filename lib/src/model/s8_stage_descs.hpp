// The parameters every plan shares, and the memory descs and conv specs of each stage.
#pragma once

#include "s8_architecture.hpp"

#include <s8net/model/s8_network.hpp>
#include <s8net/ops/conv.hpp>

#include <array>
#include <memory>

namespace s8net {

// Parameters shared by the plans of every batch size: per stage, its conv and its norm.
struct S8Network::Weights {
  std::array<std::unique_ptr<ConvWeights>, s8::kStages.size()> convs;
  std::array<std::unique_ptr<NormLayer>, s8::kStages.size()> norms;
};

// The memory desc of an activation of logical dims (N, C, H, W) in the network's layout.
dnnl::memory::desc activation_desc(const Dims& dims, ActivationLayout layout);
// The conv of stage i: its channels and input size.
ConvSpec conv_spec(size_t stage);
// Descs of stage i's conv input and output at a batch size (the first conv takes any layout).
dnnl::memory::desc conv_src_desc(size_t stage, int64_t batch, ActivationLayout layout);
dnnl::memory::desc conv_dst_desc(size_t stage, int64_t batch, ActivationLayout layout);

}  // namespace s8net
