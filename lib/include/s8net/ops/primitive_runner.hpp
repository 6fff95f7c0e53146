// Runs one oneDNN primitive on the context's stream and waits, so hand-written code that
// follows can read its outputs.
#pragma once

#include <s8net/core/context.hpp>

#include <unordered_map>

namespace s8net {

using Args = std::unordered_map<int, dnnl::memory>;

inline void execute(Context& context, const dnnl::primitive& primitive, const Args& args) {
  primitive.execute(context.stream(), args);
  context.stream().wait();
}

}  // namespace s8net
