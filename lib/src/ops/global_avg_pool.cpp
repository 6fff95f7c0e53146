#include <s8net/ops/global_avg_pool.hpp>
#include <s8net/ops/primitive_runner.hpp>

namespace s8net {

GlobalAvgPool::GlobalAvgPool(Context& context, const dnnl::memory::desc& src, const dnnl::memory::desc& dst)
    : context_(context) {
  const dnnl::memory::dims dims = src.dims();
  const dnnl::memory::dims kernel{dims[2], dims[3]}, stride{dims[2], dims[3]}, pad{0, 0};
  const auto algorithm = dnnl::algorithm::pooling_avg_exclude_padding;
  forward_pd_ = {{dnnl::prop_kind::forward_training, algorithm, src, dst, stride, kernel, pad, pad}, context.engine()};
  forward_ = dnnl::pooling_forward(forward_pd_);
  backward_pd_ = {{algorithm, src, dst, stride, kernel, pad, pad}, context.engine(), forward_pd_};
  backward_ = dnnl::pooling_backward(backward_pd_);
}

void GlobalAvgPool::forward(const Tensor& src, const Tensor& dst) {
  execute(context_, forward_, {{DNNL_ARG_SRC, src.memory()}, {DNNL_ARG_DST, dst.memory()}});
}

void GlobalAvgPool::backward(const Tensor& diff_dst, const Tensor& diff_src) {
  execute(context_, backward_, {{DNNL_ARG_DIFF_DST, diff_dst.memory()}, {DNNL_ARG_DIFF_SRC, diff_src.memory()}});
}

}  // namespace s8net
