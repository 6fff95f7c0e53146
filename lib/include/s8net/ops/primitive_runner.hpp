// Runs one oneDNN primitive on the context's stream and waits, so hand-written code that
// follows can read its outputs.
#pragma once

#include <s8net/core/context.hpp>

#include <string_view>
#include <unordered_map>

namespace s8net {

using Args = std::unordered_map<int, dnnl::memory>;

// oneDNN names its slow fallback kernels "ref:...": a primitive to avoid.
inline bool is_reference_kernel(const char* implementation) {
  return std::string_view(implementation).starts_with("ref");
}

inline void execute(Context& context, const dnnl::primitive& primitive, const Args& args) {
  primitive.execute(context.stream(), args);
  context.stream().wait();
}

}  // namespace s8net
