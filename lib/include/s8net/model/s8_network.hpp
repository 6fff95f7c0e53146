// The S8 network of docs/network.md: C1 C2 c3 P1 C3 C4 C5 c6 P2 C7 C8 C9 GAP c10, with the
// normalization after each 3x3 conv chosen by plugin name. 48,178 parameters for bn, gn and ln.
//
// Primitives and buffers are built once per batch size (a "plan") and reused every step; training
// and evaluation have separate plans (evaluation folds BatchNorm into the convs, for one).
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/core/layout.hpp>
#include <s8net/core/parameter.hpp>
#include <s8net/norm/norm_layer.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace s8net {

class NormRegistry;

struct NetworkConfig {
  std::string norm = "bn";
  NormOptions norm_options;                // e.g. {"groups", 2}
  std::optional<ActivationLayout> layout;  // empty: what oneDNN prefers on this CPU
  uint64_t seed = 1;                       // weight initialisation and dropout masks
  float dropout = 0.01f;                   // after each max-pool
  // Training loss only: the target puts this much of its mass evenly over the classes (0: none).
  float label_smoothing = 0.f;
  // Images per run of the inference plan, which evaluate() splits larger batches into (0:
  // S8Network::kInferenceImagesPerThread for each OpenMP thread when the network is built). A
  // setting of this process only: checkpoints do not keep it.
  int64_t inference_chunk = 0;
};

struct LayerSummary {
  std::string name;  // "C1", "P1", "c10" ...
  std::string op;    // "conv3x3+bn+relu", "maxpool2x2+dropout" ...
  Dims output;       // C, H, W
  int64_t params = 0;
};

struct BatchResult {
  double loss = 0;      // mean negative log-likelihood over the batch
  int64_t correct = 0;  // arg-max predictions equal to the label
};

// Where a batch sits in a data-parallel step: a rank trains `offset`.. of a global batch of
// `global_size` images. The default is a whole batch (one process).
struct BatchShard {
  int64_t offset = 0;       // of the rank's first image in the global batch (keys the dropout masks)
  int64_t global_size = 0;  // 0: the batch is the whole global batch
};

enum class Mode { train, eval };

// The time one kind of op of one layer takes in one pass (S8Network::profile).
struct OpTiming {
  std::string pass;    // "train forward", "train backward" or "inference"
  std::string layer;   // "C1" ... "c10", or "loss"
  std::string op;      // "convolution backward_weights", "norm", "eltwise forward_training", "host" ...
  double seconds = 0;  // per batch, the mean over the runs
  double flops = 0;    // per batch: the convolutions' multiply-adds x 2, else 0
};

class S8Network {
 public:
  static constexpr int64_t kImageChannels = 3, kImageSize = 32, kClasses = 10;
  static constexpr int64_t kImageValues = kImageChannels * kImageSize * kImageSize;
  // Evaluation is per sample, so a larger batch runs through the inference plan in chunks, by
  // default of this many images per thread: few enough that each core's share of the activations
  // stays in its own cache (docs/performance.md).
  static constexpr int64_t kInferenceImagesPerThread = 8;

  // ranks: those of a data-parallel training, which the norms may synchronize over; it must
  // outlive the network.
  S8Network(Context& context, const NormRegistry& registry, NetworkConfig config,
            const Collective& ranks = single_process());
  ~S8Network();
  S8Network(const S8Network&) = delete;
  S8Network& operator=(const S8Network&) = delete;

  // The activation and gradient memory one image of a training batch takes (the bulk of what a
  // batch needs; primitives' scratch memory comes on top).
  int64_t training_bytes_per_image();

  // Forward in training mode, loss, and backward: every parameter's grad holds dLoss/dParam.
  // images: batch x 3 x 32 x 32 plain floats, already normalized (network_input() in
  // data/network_input.hpp makes them from RGB bytes); labels in [0, 10).
  // With a shard, the gradients are those of the global batch's mean loss restricted to these
  // images (they sum over the ranks to the whole batch's); the result is this share's.
  BatchResult forward_backward(std::span<const float> images, std::span<const int32_t> labels, BatchShard shard = {});
  // Forward only (eval: running statistics, no dropout); loss and accuracy against labels.
  BatchResult evaluate(std::span<const float> images, std::span<const int32_t> labels);
  // Log-probabilities (batch x 10, row-major) of the latest forward.
  std::span<const float> log_probabilities() const;

  std::vector<Parameter*> parameters();
  std::vector<Parameter*> state();  // norm running statistics
  int64_t parameter_count() const;
  // Multiply-adds x 2 of the convolutions for one image: a forward pass (eval), or forward,
  // backward-data (none for the first conv) and backward-weights (train): the useful work a
  // step's GFLOP/s is counted from.
  static double conv_flops_per_image(Mode mode);
  // Where a training step and an evaluation of `batch` images spend their time, per layer and op:
  // each step of the plans runs alone (the stream waited on after each, which costs a little) over
  // `runs` runs after one warm-up, on synthetic images. Training steps change the gradients and
  // the norms' running statistics: for a network made to be profiled. The evaluation runs in
  // chunks of inference_chunk() images, as evaluate() does; its figures are scaled to `batch`.
  std::vector<OpTiming> profile(int64_t batch, int runs);
  std::vector<LayerSummary> summary() const;

  const NetworkConfig& config() const noexcept { return config_; }
  ActivationLayout layout() const noexcept { return layout_; }
  // The layout evaluation runs in: layout(), unless the config left it to the network and another
  // is faster for inference alone (nChw8c where training runs nChw16c; docs/performance.md).
  ActivationLayout inference_layout() const noexcept { return inference_layout_; }
  // Images per run of the inference plan: the config's inference_chunk, or by default
  // kInferenceImagesPerThread for each OpenMP thread.
  int64_t inference_chunk() const noexcept { return inference_chunk_; }
  // The images evaluate() runs through the inference plan at a time for a batch of `batch`.
  int64_t inference_chunk_for(int64_t batch) const noexcept { return std::min(batch, inference_chunk_); }
  // "C1.conv: jit:avx512_core ..." for each primitive of the training plan for this batch size,
  // then "eval C1.conv: ..." for each of the inference plan evaluate() runs it with (that of
  // min(batch, inference_chunk()) images).
  std::vector<std::string> implementation_names(int64_t batch);
  // Where the norm layers come from: "bn 0.1.0 from FILE".
  std::string norm_origin() const;
  // Training steps so far (they key the dropout masks); a resumed run restores the count.
  uint64_t training_steps() const noexcept { return step_; }
  void set_training_steps(uint64_t steps) noexcept { step_ = steps; }

  struct TrainingPlan;   // the training forward and backward of one batch size (model/s8_training_plan.hpp)
  struct InferencePlan;  // the evaluation forward of one batch size (model/s8_inference_plan.hpp)

 private:
  TrainingPlan& plan_for(int64_t batch);
  InferencePlan& inference_plan_for(int64_t batch);
  // The plan evaluate() runs the full chunks of a batch of `batch` images through.
  InferencePlan& chunk_plan_for(int64_t batch);
  int64_t checked_batch(std::span<const float> images, std::span<const int32_t> labels) const;

  struct Weights;  // parameters shared by every plan
  Context& context_;
  NetworkConfig config_;
  ActivationLayout layout_;
  ActivationLayout inference_layout_;
  int64_t inference_chunk_;
  std::unique_ptr<Weights> weights_;
  std::map<int64_t, std::unique_ptr<TrainingPlan>> plans_;
  std::map<int64_t, std::unique_ptr<InferencePlan>> inference_plans_;
  std::span<const float> log_probabilities_;   // of the latest forward
  std::vector<float> eval_log_probabilities_;  // an evaluation's, gathered from its chunks
  uint64_t step_ = 0;                          // training steps so far: keys the dropout masks
};

}  // namespace s8net
