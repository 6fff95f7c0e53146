// A tensor is a dnnl::memory (which owns or views the buffer) plus its logical dims.
#pragma once

#include <s8net/core/context.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace s8net {

using Dims = dnnl::memory::dims;

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zeroed buffer for desc (padding included).
  Tensor(const dnnl::memory::desc& desc, const dnnl::engine& engine);
  // Views memory the caller owns.
  Tensor(const dnnl::memory::desc& desc, const dnnl::engine& engine, float* data);

  bool empty() const noexcept { return !memory_; }
  const dnnl::memory& memory() const noexcept { return memory_; }
  dnnl::memory::desc desc() const { return memory_.get_desc(); }
  Dims dims() const { return desc().dims(); }
  float* data() const noexcept { return data_; }
  // Elements of the buffer, padding included.
  int64_t size() const noexcept { return size_; }
  std::span<float> span() const noexcept { return {data_, static_cast<size_t>(size_)}; }
  void zero() const;

 private:
  dnnl::memory memory_;
  float* data_ = nullptr;
  int64_t size_ = 0;
};

// Copies between any layout and the plain one of the same dims (nchw, oihw, nc, x ...).
std::vector<float> to_plain(Context& context, const Tensor& tensor);
void from_plain(Context& context, std::span<const float> values, const Tensor& tensor);
dnnl::memory::desc plain_desc(const Dims& dims);

// Product of dims.
int64_t element_count(const Dims& dims);

}  // namespace s8net
