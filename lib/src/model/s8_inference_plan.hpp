// The evaluation forward of the S8 network for one batch size. It is built apart from the training
// plan because inference may do what training cannot: fold a norm that evaluates as a per-channel
// affine map (BatchNorm's running statistics) into the conv before it, with the ReLU as the conv's
// post-op; take a norm that evaluates as a map of its input's moments (GroupNorm, LayerNorm,
// InstanceNorm) into the convs around it; choose layouts and algorithms for the forward pass
// alone; build nothing for backward.
#pragma once

#include "s8_stage_descs.hpp"
#include "s8_steps.hpp"

#include <s8net/ops/inference_conv.hpp>
#include <s8net/ops/log_softmax_nll.hpp>
#include <s8net/ops/pooled_conv1x1.hpp>
#include <s8net/ops/pooling.hpp>
#include <s8net/ops/relu.hpp>
#include <s8net/ops/skip_add.hpp>

#include <array>
#include <memory>
#include <optional>
#include <vector>

namespace s8net {

// Where the inference forward departs from the training plan's single activation layout (see
// s8_inference_plan.cpp); the plan takes the first schedule whose every primitive has a JIT kernel.
struct InferenceSchedule {
  bool channels_last_front;  // the 32x32 stages in nhwc (each norm there folded or reading it as blocked)
  // A conv whose input channels do not fill one block reads nchw, and Winograd runs only where it
  // wins the forward pass; else the training plan's layouts and algorithms.
  bool forward_choices;
};

struct S8Network::InferencePlan {
  InferencePlan(Context& context, Weights& weights, ActivationLayout layout, int64_t batch);
  // The layout inference runs fastest in when training runs in `training_layout`: nChw8c where
  // s8net's own Winograd runs there and every norm folds into the convs or takes nChw8c, else the
  // training layout.
  static ActivationLayout layout_for(ActivationLayout training_layout, const Weights& weights);
  // Steps hold this plan's address and buffers.
  InferencePlan(const InferencePlan&) = delete;
  InferencePlan& operator=(const InferencePlan&) = delete;

  // Rebuilds the convs' weights if any conv weight, folded norm parameter or norm state changed
  // since the last call; a forward uses the weights of the latest call.
  void refresh_weights();
  // images: batch x 3 x 32 x 32 plain floats.
  BatchResult forward(std::span<const float> images, std::span<const int32_t> labels);
  const Tensor& log_probabilities() const noexcept { return loss.log_probabilities(); }
  std::vector<std::string> implementation_names() const { return steps.listing(); }

  struct StageState {
    std::unique_ptr<InferenceConv> conv;
    // A 1x1 conv run with the max-pool after it as one pass, writing the pool stage's output.
    std::unique_ptr<PooledConv1x1> pooled_conv;
    bool folded = false;         // the norm (and ReLU) is inside the conv
    std::unique_ptr<Relu> relu;  // after a plugin norm that does not fuse its ReLU
    std::unique_ptr<Pooling> pool;
    std::unique_ptr<SkipAdd> skip_add;
    Tensor input;  // a copy of the stage's input in the layout it reads, when that differs
    s8net_tensor_desc norm_desc{};
    Tensor pre;  // conv output, the plugin norm's input
    // A norm taken as a map of its input's moments: the moments the conv took, per (image,
    // channel), and the plugin's map from them.
    std::vector<s8net_plane_moments> moments;
    std::vector<float> map_scale, map_shift;
    // What the next stage reads; empty for a norm taken as a map whose map no pass applies (the
    // next conv, and a skip add, apply it to `pre`).
    Tensor out;
  };

  Context& context;
  Weights& weights;
  int64_t batch;
  std::array<StageState, s8::kStages.size()> stages;
  Tensor image;  // plain nchw: a view of each forward's images, set when it runs
  Tensor logits_plain;
  LogSoftmaxNll loss;
  StepList steps;
  BatchResult result;                  // of the latest forward
  std::vector<float> loaded_from;      // every value the convs' weights were last built from
  std::vector<float> current_sources;  // the same values now, to compare

 private:
  struct Builder;
  bool build(ActivationLayout layout, const InferenceSchedule& candidate);
};

}  // namespace s8net
