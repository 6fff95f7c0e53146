// Inverted dropout: in training y = x * m with m = 0 (probability p) or 1/(1-p); identity in
// evaluation. The mask is drawn from a counter-based generator keyed by (seed, step, logical
// element), so it does not depend on the layout or the thread count; the multiply is oneDNN's
// binary primitive, and backward multiplies the gradient by the same mask.
#pragma once

#include <s8net/core/layout.hpp>
#include <s8net/core/random.hpp>
#include <s8net/core/tensor.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <cstdint>
#include <string>

namespace s8net {

class Dropout {
 public:
  // dims: N, C, H, W of the activation, stored in `layout`.
  Dropout(Context& context, const Dims& dims, ActivationLayout layout, float probability, uint64_t seed);

  // Draws the mask for this step and applies it in place.
  void forward_train(const Tensor& x, uint64_t step);
  // In place on the gradient, with the latest mask.
  void backward(const Tensor& diff);
  // The two halves of forward_train, for a caller that runs the multiply later: host code that
  // draws the mask of a step, and the multiply of x by the latest mask, in place (backward too).
  // first_sample: where this batch's first sample sits in the step's global batch (data-parallel
  // training: a rank's share draws the mask its samples would get in one process).
  void draw_mask(uint64_t step, int64_t first_sample = 0);
  BoundPrimitive bind_multiply(const Tensor& x) const;
  const Tensor& mask() const noexcept { return mask_; }
  std::string implementation() const { return pd_.impl_info_str(); }

 private:
  Context& context_;
  ActivationLayout layout_;
  float probability_;
  uint64_t seed_;
  Tensor mask_;
  dnnl::binary::primitive_desc pd_;
  dnnl::binary multiply_;
};

}  // namespace s8net
