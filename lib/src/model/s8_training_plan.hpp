// The training forward and backward of the S8 network for one batch size: its primitives, buffers
// and step lists, built once and reused every step.
#pragma once

#include "s8_stage_descs.hpp"
#include "s8_steps.hpp"

#include <s8net/ops/dropout.hpp>
#include <s8net/ops/log_softmax_nll.hpp>
#include <s8net/ops/pooling.hpp>
#include <s8net/ops/relu.hpp>
#include <s8net/ops/skip_add.hpp>

#include <array>
#include <memory>
#include <span>

namespace s8net {

struct S8Network::TrainingPlan {
  // Dropout, label smoothing and the seed of the masks come from `config`; the layout is the
  // network's resolved one.
  TrainingPlan(Context& context, Weights& weights, ActivationLayout layout, int64_t batch, const NetworkConfig& config);
  // Steps hold this plan's address and buffers.
  TrainingPlan(const TrainingPlan&) = delete;
  TrainingPlan& operator=(const TrainingPlan&) = delete;

  // The training forward (batch statistics, dropout). images: batch x 3 x 32 x 32 plain floats.
  BatchResult forward(std::span<const float> images, std::span<const int32_t> labels, uint64_t step, BatchShard shard);
  // Gradients of the latest training forward.
  void backward();
  std::vector<std::string> implementation_names() const { return forward_steps.listing(); }
  // Bytes of the activation and gradient buffers this plan allocated (views of one another counted
  // once per tensor, which errs on the high side).
  int64_t buffer_bytes() const;

  struct StageState {
    std::unique_ptr<Conv2d> conv;
    std::unique_ptr<Relu> relu;  // only when the norm does not fuse its ReLU
    std::unique_ptr<Pooling> pool;
    std::unique_ptr<Dropout> dropout;
    std::unique_ptr<SkipAdd> skip_add;
    s8net_tensor_desc norm_desc{};
    Tensor pre;         // conv output (the norm's input)
    Tensor raw;         // norm output before ReLU (unfused norms only)
    Tensor normed;      // after norm and ReLU
    Tensor out;         // what the next stage reads
    Tensor grad_pre;    // dL/d pre
    Tensor grad_raw;    // dL/d raw (unfused norms only)
    Tensor grad_out;    // dL/d out
    StepList backward;  // this stage's backward, from grad_out to the gradient of its input
  };

  Context& context;
  Weights& weights;
  int64_t batch;
  std::array<StageState, s8::kStages.size()> stages;
  Tensor image;           // plain nchw: a view of the caller's images during a forward_backward
  Tensor image_for_conv;  // in the first conv's preferred layout (the same tensor if that is nchw)
  Tensor logits_plain;    // batch x 10 x 1 x 1 nchw view of the loss input
  Tensor grad_logits_plain;
  LogSoftmaxNll loss;
  StepList forward_steps, backward_steps;
  uint64_t step = 0;   // of the running forward: keys the dropout masks
  BatchShard shard;    // of the running forward
  BatchResult result;  // of the latest forward

 private:
  struct Builder;
  void add_loss();
  void add_skip_gradients(size_t stage);
};

}  // namespace s8net
