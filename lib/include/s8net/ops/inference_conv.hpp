// A convolution for inference only: oneDNN's forward_inference pass with its own copy of the
// weights in the layout that pass prefers, optionally ReLU as a post-op, and weights that may
// fold in a per-channel affine map applied to its output (a BatchNorm with running statistics):
// relu(norm(conv(x))) becomes one primitive and one pass over memory.
// Where Winograd is asked for and oneDNN has no JIT kernel for it, s8net's own WinogradConv runs
// instead when it can (nChw8c activations on an AVX2 CPU).
#pragma once

#include <s8net/norm/norm_layer.hpp>
#include <s8net/ops/conv.hpp>
#include <s8net/ops/winograd_conv.hpp>

#include <memory>
#include <string>

namespace s8net {

class InferenceConv {
 public:
  // algorithm: preferred, with direct where oneDNN has no JIT kernel for it (as Conv2d).
  InferenceConv(Context& context, const ConvSpec& spec, ConvAlgorithm algorithm, const dnnl::memory::desc& src,
                const dnnl::memory::desc& dst, bool relu);
  InferenceConv(const InferenceConv&) = delete;
  InferenceConv& operator=(const InferenceConv&) = delete;

  // Takes the weights of a trained conv, and folds affine in when given:
  // w'[o] = w[o] * scale[o], b'[o] = b[o] * scale[o] + shift[o].
  void load(const ConvWeights& weights, const ChannelAffine* affine);
  void forward(const Tensor& src, const Tensor& dst);
  // fusion: only where runs_own_winograd(); its buffers must outlive the pass.
  BoundPass bind_forward(const Tensor& src, const Tensor& dst, const WinogradFusion& fusion = {}) const;
  // Whether s8net's WinogradConv runs it, which can take a norm's map and moments in (WinogradFusion).
  bool runs_own_winograd() const noexcept { return own_ != nullptr; }

  dnnl::memory::desc src_desc() const { return pd_.src_desc(); }
  dnnl::memory::desc dst_desc() const { return pd_.dst_desc(); }
  // "jit_wino_4x3:avx512_core" or "s8net_wino_4x3:avx2" (+ " +relu" when the ReLU is fused)
  std::string implementation() const;
  bool is_jit() const;

 private:
  Context& context_;
  ConvSpec spec_;
  bool relu_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward forward_;
  Tensor weight_, bias_;
  std::unique_ptr<WinogradConv> own_;
};

}  // namespace s8net
