#include <s8net/core/error.hpp>
#include <s8net/core/tensor.hpp>

#include <algorithm>
#include <functional>
#include <numeric>
#include <string>

namespace s8net {

Tensor::Tensor(const dnnl::memory::desc& desc, const dnnl::engine& engine)
    : memory_(desc, engine),
      data_(static_cast<float*>(memory_.get_data_handle())),
      size_(static_cast<int64_t>(desc.get_size() / sizeof(float))) {
  zero();
}

Tensor::Tensor(const dnnl::memory::desc& desc, const dnnl::engine& engine, float* data)
    : memory_(desc, engine, data), data_(data), size_(static_cast<int64_t>(desc.get_size() / sizeof(float))) {}

void Tensor::zero() const { std::fill_n(data_, size_, 0.f); }

int64_t element_count(const Dims& dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<>());
}

dnnl::memory::desc plain_desc(const Dims& dims) {
  // Row-major strides: the plain layout of any rank.
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

std::vector<float> to_plain(Context& context, const Tensor& tensor) {
  std::vector<float> values(static_cast<size_t>(element_count(tensor.dims())));
  const Tensor plain(plain_desc(tensor.dims()), context.engine(), values.data());
  dnnl::memory from = tensor.memory(), to = plain.memory();
  dnnl::reorder(from, to).execute(context.stream(), from, to);
  context.stream().wait();
  return values;
}

void from_plain(Context& context, std::span<const float> values, const Tensor& tensor) {
  if (static_cast<int64_t>(values.size()) != element_count(tensor.dims()))
    throw Error("from_plain: " + std::to_string(values.size()) + " values for a tensor of " +
                std::to_string(element_count(tensor.dims())));
  const Tensor plain(plain_desc(tensor.dims()), context.engine(), const_cast<float*>(values.data()));
  dnnl::memory from = plain.memory(), to = tensor.memory();
  dnnl::reorder(from, to).execute(context.stream(), from, to);
  context.stream().wait();
}

}  // namespace s8net
