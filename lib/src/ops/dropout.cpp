#include <s8net/core/error.hpp>
#include <s8net/core/random.hpp>
#include <s8net/norm/plugin_sdk.hpp>
#include <s8net/ops/dropout.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <string>

namespace s8net {

Dropout::Dropout(Context& context, const Dims& dims, ActivationLayout layout, float probability, uint64_t seed)
    : context_(context),
      layout_(layout),
      probability_(probability),
      seed_(seed),
      mask_(dnnl::memory::desc(dims, dnnl::memory::data_type::f32, format_tag_of(layout)), context.engine()) {
  if (!(probability >= 0.f && probability < 1.f))
    throw Error("dropout probability must be in [0, 1), got " + std::to_string(probability));
  const dnnl::memory::desc desc = mask_.desc();
  pd_ = {{dnnl::algorithm::binary_mul, desc, desc, desc}, context.engine()};
  multiply_ = dnnl::binary(pd_);
}

void Dropout::draw_mask(uint64_t step, int64_t first_sample) {
  const Dims dims = mask_.dims();
  const sdk::Layout index({dims[0], dims[1], dims[2], dims[3], plugin_layout_of(layout_)});
  const float keep = 1.f / (1.f - probability_);
  // One key stream per (seed, step); element i of the logical NCHW tensor takes key base + i.
  const uint64_t base = mix64(seed_ ^ mix64(step)) + static_cast<uint64_t>(first_sample * index.c * index.hw);
  float* mask = mask_.data();
  const int64_t planes = index.n * index.c;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t n = plane / index.c, c = plane % index.c;
    const uint64_t first = base + static_cast<uint64_t>(plane * index.hw);
    for (int64_t s = 0; s < index.hw; ++s)
      mask[index.offset(n, c, s)] = uniform_from_key(first + static_cast<uint64_t>(s)) < probability_ ? 0.f : keep;
  }
}

BoundPrimitive Dropout::bind_multiply(const Tensor& x) const {
  return {multiply_, {{DNNL_ARG_SRC_0, x.memory()}, {DNNL_ARG_SRC_1, mask_.memory()}, {DNNL_ARG_DST, x.memory()}}};
}

void Dropout::forward_train(const Tensor& x, uint64_t step) {
  draw_mask(step);
  execute(context_, bind_multiply(x));
}

void Dropout::backward(const Tensor& diff) { execute(context_, bind_multiply(diff)); }

}  // namespace s8net
