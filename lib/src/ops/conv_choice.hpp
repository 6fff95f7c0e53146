// How a convolution pass picks its oneDNN implementation: the preferred algorithm where oneDNN
// has a JIT kernel for it, else direct convolution. Shared by the training and inference convs.
#pragma once

#include <s8net/ops/conv.hpp>
#include <s8net/ops/primitive_runner.hpp>
#include <s8net/ops/winograd_conv.hpp>

#include <string_view>

namespace s8net::conv_choice {

inline dnnl::memory::desc any_desc(const dnnl::memory::dims& dims) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
}

inline dnnl::memory::dims weight_dims(const ConvSpec& spec) {
  return {spec.out_channels, spec.in_channels, spec.kernel, spec.kernel};
}

inline dnnl::algorithm to_dnnl(ConvAlgorithm algorithm) {
  return algorithm == ConvAlgorithm::winograd ? dnnl::algorithm::convolution_winograd
                                              : dnnl::algorithm::convolution_direct;
}

// The primitive descriptor of the preferred algorithm when oneDNN has a JIT kernel for it, else
// of direct convolution. make(algorithm) builds the op descriptor; oneDNN throws when it has no
// kernel at all for an algorithm (Winograd on a CPU without AVX-512, say).
template <typename PrimitiveDesc, typename MakeDesc>
PrimitiveDesc choose(ConvAlgorithm preferred, const MakeDesc& make) {
  if (preferred != ConvAlgorithm::direct) {
    try {
      PrimitiveDesc pd = make(to_dnnl(preferred));
      if (!is_reference_kernel(pd.impl_info_str())) return pd;
    } catch (const dnnl::error&) {
      // no kernel for this algorithm and shape: direct below
    }
  }
  return make(dnnl::algorithm::convolution_direct);
}

template <typename PrimitiveDesc>
bool is_winograd(const PrimitiveDesc& pd) {
  return std::string_view(pd.impl_info_str()).find("wino") != std::string_view::npos;
}

// Whether s8net's WinogradConv can run this conv: 3x3, whole 8-channel blocks in and out,
// activations in nChw8c (the layout of CPUs without AVX-512), and a CPU that runs it.
inline bool own_winograd_fits(const ConvSpec& spec, const dnnl::memory::desc& src, const dnnl::memory::desc& dst) {
  const auto blocked = [](const dnnl::memory::desc& d) {
    return dnnl::memory::desc(d.dims(), dnnl::memory::data_type::f32, dnnl::memory::format_tag::nChw8c);
  };
  return spec.kernel == 3 && spec.in_channels % 8 == 0 && spec.out_channels % 8 == 0 && src == blocked(src) &&
         dst == blocked(dst) && WinogradConv::available();
}

inline WinogradShape winograd_shape(const ConvSpec& spec, const dnnl::memory::desc& src) {
  return {src.dims()[0], spec.in_channels, spec.out_channels, spec.height, spec.width};
}

}  // namespace s8net::conv_choice
