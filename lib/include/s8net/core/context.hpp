// One oneDNN CPU engine and its in-order stream: every primitive and memory of a run uses these.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace s8net {

class Context {
 public:
  Context();

  const dnnl::engine& engine() const noexcept { return engine_; }
  dnnl::stream& stream() noexcept { return stream_; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
};

}  // namespace s8net
