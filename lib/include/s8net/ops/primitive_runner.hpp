// A oneDNN primitive with its arguments bound once (as oneDNN's own training example builds its
// network), and running one alone on the context's stream and waiting, so hand-written code that
// follows can read its outputs.
#pragma once

#include <s8net/core/context.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace s8net {

using Args = std::unordered_map<int, dnnl::memory>;

// What an op is built for: inference builds no backward pass (and no workspace for one).
enum class Pass { training, inference };

// oneDNN names its slow fallback kernels "ref:...": a primitive to avoid.
inline bool is_reference_kernel(const char* implementation) {
  return std::string_view(implementation).starts_with("ref");
}

// The memory objects in args are handles: a plan binds its buffers once, and a buffer given per
// call (an input image) is swapped in with set_data_handle.
struct BoundPrimitive {
  dnnl::primitive primitive;
  Args args;
  // Queues the primitive; its outputs are ready for host code only after the stream waits.
  void enqueue(dnnl::stream& stream) const { primitive.execute(stream, args); }
};

inline void execute(Context& context, const BoundPrimitive& bound) {
  bound.enqueue(context.stream());
  context.stream().wait();
}

// The buffer a memory handle points at when called: a plan may point a handle elsewhere between
// runs (set_data_handle), and a kernel bound to the handle follows it as a primitive does.
inline float* data_of(const dnnl::memory& memory) { return static_cast<float*>(memory.get_data_handle()); }

// One pass of an op bound to its buffers: a oneDNN primitive, or s8net's own kernel, which runs
// on the host once what the stream queued before it has finished.
struct BoundPass {
  BoundPrimitive primitive;  // when kernel is empty
  std::function<void()> kernel = {};
  std::string kernel_op = {};  // what the kernel computes, named as oneDNN names its primitives
  static BoundPass own(std::function<void()> kernel, std::string op) { return {{}, std::move(kernel), std::move(op)}; }
};

inline void execute(Context& context, const BoundPass& pass) {
  if (!pass.kernel) return execute(context, pass.primitive);
  context.stream().wait();
  pass.kernel();
}

}  // namespace s8net
