#include <s8net/core/context.hpp>

namespace s8net {

Context::Context() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

}  // namespace s8net
