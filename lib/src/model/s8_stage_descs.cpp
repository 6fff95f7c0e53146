#include "s8_stage_descs.hpp"

namespace s8net {

using s8::kStages;

dnnl::memory::desc activation_desc(const Dims& dims, ActivationLayout layout) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, format_tag_of(layout));
}

ConvSpec conv_spec(size_t stage) {
  const auto shapes = s8::stage_shapes();
  const s8::Shape in = stage == 0 ? s8::Shape{S8Network::kImageChannels, S8Network::kImageSize, S8Network::kImageSize}
                                  : shapes[stage - 1];
  const int64_t kernel = s8::conv_kernel(kStages[stage].kind);
  // Winograd's input and output transforms pay off only with enough channels to share them: it
  // wins all three passes of the 32-channel layers, and of the 16-channel C2 only the weight
  // gradient (docs/performance.md has the per-layer measurements).
  ConvAlgorithms algorithms;
  if (kernel == 3 && shapes[stage].c >= 32)
    algorithms = ConvAlgorithms::all(ConvAlgorithm::winograd);
  else if (kernel == 3 && in.c >= 16)
    algorithms.backward_weights = ConvAlgorithm::winograd;
  return {kStages[stage].name, in.c, shapes[stage].c, kernel, in.h, in.w, algorithms};
}

dnnl::memory::desc conv_src_desc(size_t stage, int64_t batch, ActivationLayout layout) {
  const ConvSpec spec = conv_spec(stage);
  const Dims dims{batch, spec.in_channels, spec.height, spec.width};
  // The image arrives as plain nchw; the first conv picks its own input layout (one reorder).
  if (stage == 0) return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
  return activation_desc(dims, layout);
}

dnnl::memory::desc conv_dst_desc(size_t stage, int64_t batch, ActivationLayout layout) {
  const ConvSpec spec = conv_spec(stage);
  return activation_desc({batch, spec.out_channels, spec.height, spec.width}, layout);
}

}  // namespace s8net
