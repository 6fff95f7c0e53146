// Convolution with bias, stride 1, "same" padding (3x3 with padding 1, or 1x1), forward and
// backward on oneDNN primitives. Weights live in the blocked format oneDNN prefers for the
// forward pass; backward-data gets its own copy in the format it prefers (a small reorder per
// step beats a reference kernel). A 3x3 conv may ask for Winograd (F(4x4, 3x3)) in each of its
// three passes separately: a pass uses it where oneDNN has a JIT kernel for it and falls back to
// direct otherwise, so the choice never lands on a reference kernel; where oneDNN has no Winograd at
// all (nChw8c activations, AVX2), s8net's own WinogradConv runs all three passes of every 3x3 conv
// with whole 8-channel blocks.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/core/parameter.hpp>
#include <s8net/ops/primitive_runner.hpp>
#include <s8net/ops/winograd_conv.hpp>

#include <memory>
#include <string>
#include <vector>

namespace s8net {

enum class ConvAlgorithm { direct, winograd };

// The algorithm each pass asks for: which one wins depends on the pass, not only on the shape.
struct ConvAlgorithms {
  ConvAlgorithm forward = ConvAlgorithm::direct;
  ConvAlgorithm backward_data = ConvAlgorithm::direct;
  ConvAlgorithm backward_weights = ConvAlgorithm::direct;
  static constexpr ConvAlgorithms all(ConvAlgorithm algorithm) { return {algorithm, algorithm, algorithm}; }
};

struct ConvSpec {
  std::string name;  // "C1", "c3" ...
  int64_t in_channels = 0, out_channels = 0, kernel = 3;
  int64_t height = 0, width = 0;  // input (= output) spatial size
  // Preferred per pass among oneDNN's kernels, direct where oneDNN has no JIT Winograd; where it has
  // none at all (nChw8c, AVX2) s8net's own Winograd runs every pass it can (see above).
  ConvAlgorithms algorithms = {};
  int64_t padding() const { return (kernel - 1) / 2; }
  int64_t parameter_count() const { return out_channels * in_channels * kernel * kernel + out_channels; }
};

// The weight and bias of one convolution, shared by the primitives of every batch size.
class ConvWeights {
 public:
  // weights_desc fixes the weight layout (from ConvWeights::preferred_desc).
  ConvWeights(Context& context, ConvSpec spec, const dnnl::memory::desc& weights_desc);
  // The weight layout oneDNN prefers for this conv with activations in `activation`.
  static dnnl::memory::desc preferred_desc(const dnnl::engine& engine, const ConvSpec& spec,
                                           const dnnl::memory::desc& src, const dnnl::memory::desc& dst);

  const ConvSpec& spec() const noexcept { return spec_; }
  Parameter weight, bias;

 private:
  ConvSpec spec_;
};

// The primitives of one convolution at one batch size.
class Conv2d {
 public:
  // src/dst descs may use format_tag::any for the edges of the network (see src_desc()).
  // need_input_gradient = false skips backward-data (the first conv: nobody needs the image's).
  Conv2d(Context& context, ConvWeights& weights, const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
         bool need_input_gradient);
  // Bound passes hold this object's address.
  Conv2d(const Conv2d&) = delete;
  Conv2d& operator=(const Conv2d&) = delete;

  void forward(const Tensor& src, const Tensor& dst);
  // Overwrites weight.grad and bias.grad; writes diff_src if need_input_gradient. Runs after a
  // forward on the same weights (s8net's own Winograd takes its backward-data weights there).
  void backward(const Tensor& src, const Tensor& diff_dst, const Tensor* diff_src);
  // The same passes with their arguments bound, to run later in this order: backward is
  // backward-weights, then (with diff_src) the weights' reorder for backward-data and backward-data.
  BoundPass bind_forward(const Tensor& src, const Tensor& dst) const;
  std::vector<BoundPass> bind_backward(const Tensor& src, const Tensor& diff_dst, const Tensor* diff_src) const;

  dnnl::memory::desc src_desc() const { return forward_pd_.src_desc(); }
  dnnl::memory::desc dst_desc() const { return forward_pd_.dst_desc(); }
  // "fwd jit:avx2, bwd-data jit:avx2, bwd-weights jit:avx2"
  std::string implementation() const;
  // True when none of the needed primitives is oneDNN's slow reference kernel.
  bool all_jit() const;

 private:
  Context& context_;
  ConvWeights& weights_;
  bool need_input_gradient_;
  dnnl::convolution_forward::primitive_desc forward_pd_;
  dnnl::convolution_forward forward_;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_pd_;
  dnnl::convolution_backward_weights backward_weights_;
  dnnl::convolution_backward_data::primitive_desc backward_data_pd_;
  dnnl::convolution_backward_data backward_data_;
  dnnl::reorder weights_to_backward_data_;
  dnnl::memory backward_data_weights_;
  // s8net's Winograd where oneDNN has none (nChw8c on AVX2): the forward pass transforms the weights
  // for itself and for backward-data from one plain oihw copy; the weight gradient is written plain
  // and then reordered.
  std::unique_ptr<WinogradConv> own_forward_, own_backward_data_;
  BoundPrimitive weights_to_plain_, gradient_from_plain_;
  Tensor plain_weights_, plain_gradient_;
  void load_own_weights() const;
};

}  // namespace s8net
