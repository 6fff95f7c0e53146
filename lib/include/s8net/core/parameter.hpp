// A trainable tensor: its value and gradient share one (possibly blocked) layout, so an
// optimizer updates them element by element, padding included (padding stays zero).
#pragma once

#include <s8net/core/tensor.hpp>

#include <string>

namespace s8net {

struct Parameter {
  std::string name;  // "C1.conv.weight", "C1.norm.weight" ...
  Tensor value;
  Tensor grad;
  // Logical elements (what a parameter count counts), not the padded buffer.
  int64_t count() const { return element_count(value.dims()); }
};

}  // namespace s8net
