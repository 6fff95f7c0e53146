#include <s8net/core/error.hpp>
#include <s8net/core/layout.hpp>

#include <string>

namespace s8net {

using tag = dnnl::memory::format_tag;

dnnl::memory::format_tag format_tag_of(ActivationLayout layout) {
  switch (layout) {
    case ActivationLayout::nchw:
      return tag::nchw;
    case ActivationLayout::nChw8c:
      return tag::nChw8c;
    case ActivationLayout::nChw16c:
      return tag::nChw16c;
  }
  throw Error("invalid activation layout");
}

s8net_layout plugin_layout_of(ActivationLayout layout) { return static_cast<s8net_layout>(layout); }

std::string_view name_of(ActivationLayout layout) {
  switch (layout) {
    case ActivationLayout::nchw:
      return "nchw";
    case ActivationLayout::nChw8c:
      return "nChw8c";
    case ActivationLayout::nChw16c:
      return "nChw16c";
  }
  return "invalid";
}

ActivationLayout parse_layout(std::string_view name) {
  for (ActivationLayout layout : {ActivationLayout::nchw, ActivationLayout::nChw8c, ActivationLayout::nChw16c})
    if (name == name_of(layout)) return layout;
  throw Error("unknown layout '" + std::string(name) + "' (known: auto, nchw, nChw8c, nChw16c)");
}

ActivationLayout choose_activation_layout(const dnnl::engine& engine) {
  // A representative 3x3 conv of the network (32 -> 32 channels at 16x16, batch 32).
  const dnnl::memory::dims src{32, 32, 16, 16}, weights{32, 32, 3, 3}, bias{32};
  const auto any = [](const dnnl::memory::dims& d) {
    return dnnl::memory::desc(d, dnnl::memory::data_type::f32, tag::any);
  };
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                             any(src), any(weights), any(bias), any(src), {1, 1}, {1, 1}, {1, 1});
  const dnnl::convolution_forward::primitive_desc pd(desc, engine);
  for (ActivationLayout layout : {ActivationLayout::nChw16c, ActivationLayout::nChw8c, ActivationLayout::nchw})
    if (pd.dst_desc() == dnnl::memory::desc(src, dnnl::memory::data_type::f32, format_tag_of(layout))) return layout;
  return ActivationLayout::nChw8c;
}

}  // namespace s8net
