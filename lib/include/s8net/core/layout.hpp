// The activation layout: one channel-blocked format used from the first conv to the global pool,
// so no reorder runs between layers. The block is 1 (nchw), 8 (nChw8c) or 16 (nChw16c).
#pragma once

#include <s8net/norm/plugin_api.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <string>
#include <string_view>

namespace s8net {

enum class ActivationLayout { nchw = 1, nChw8c = 8, nChw16c = 16 };

dnnl::memory::format_tag format_tag_of(ActivationLayout layout);
s8net_layout plugin_layout_of(ActivationLayout layout);
std::string_view name_of(ActivationLayout layout);
// "auto" is not a layout: see choose_activation_layout.
ActivationLayout parse_layout(std::string_view name);

// The layout oneDNN prefers for this network's 3x3 convolutions on this CPU (nChw16c with
// AVX-512, nChw8c with AVX2); nChw8c if it prefers something else.
ActivationLayout choose_activation_layout(const dnnl::engine& engine);

}  // namespace s8net
