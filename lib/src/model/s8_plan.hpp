// The primitives and buffers of the S8 network for one batch size, built once and reused.
#pragma once

#include "s8_architecture.hpp"

#include <s8net/model/s8_network.hpp>
#include <s8net/ops/conv.hpp>
#include <s8net/ops/dropout.hpp>
#include <s8net/ops/pooling.hpp>
#include <s8net/ops/log_softmax_nll.hpp>
#include <s8net/ops/relu.hpp>
#include <s8net/ops/skip_add.hpp>

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

struct S8Network::Plan {
  Plan(Context& context, Weights& weights, ActivationLayout layout, int64_t batch, float dropout, uint64_t seed);

  // The training forward (batch statistics, dropout). images: batch x 3 x 32 x 32 plain floats.
  BatchResult forward(std::span<const float> images, std::span<const int32_t> labels, uint64_t step);
  // Gradients of the latest training forward.
  void backward();
  std::vector<std::string> implementation_names() const;
  // Bytes of the activation and gradient buffers this plan allocated (views of one another counted
  // once per tensor, which errs on the high side).
  int64_t buffer_bytes() const;

  struct StageState {
    std::unique_ptr<Conv2d> conv;
    std::unique_ptr<Relu> relu;  // only when the norm does not fuse its ReLU
    std::unique_ptr<MaxPool2x2> pool;
    std::unique_ptr<Dropout> dropout;
    std::unique_ptr<GlobalAvgPool> global_pool;
    std::unique_ptr<SkipAdd> skip_add;
    s8net_tensor_desc norm_desc{};
    Tensor pre;         // conv output (the norm's input)
    Tensor raw;         // norm output before ReLU (unfused norms only)
    Tensor normed;      // after norm and ReLU
    Tensor out;         // what the next stage reads
    Tensor grad_pre;    // dL/d pre
    Tensor grad_raw;    // dL/d raw (unfused norms only)
    Tensor grad_out;    // dL/d out
  };

  Context& context;
  Weights& weights;
  int64_t batch;
  std::array<StageState, s8::kStages.size()> stages;
  Tensor image;         // plain nchw, as given
  Tensor image_for_conv;  // in the first conv's preferred layout (the same tensor if that is nchw)
  dnnl::reorder image_reorder;
  Tensor logits_plain;  // batch x 10 x 1 x 1 nchw view of the loss input
  dnnl::reorder logits_to_plain, logits_from_plain;
  Tensor grad_logits_plain;
  LogSoftmaxNll loss;
};

}  // namespace s8net
