#include <s8net/ops/max_pool.hpp>
#include <s8net/ops/primitive_runner.hpp>

namespace s8net {

MaxPool2x2::MaxPool2x2(Context& context, const dnnl::memory::desc& src, const dnnl::memory::desc& dst)
    : context_(context) {
  const dnnl::memory::dims kernel{2, 2}, stride{2, 2}, pad{0, 0};
  const dnnl::pooling_forward::desc forward_desc(dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max, src,
                                                 dst, stride, kernel, pad, pad);
  forward_pd_ = {forward_desc, context.engine()};
  forward_ = dnnl::pooling_forward(forward_pd_);
  workspace_ = dnnl::memory(forward_pd_.workspace_desc(), context.engine());
  const dnnl::pooling_backward::desc backward_desc(dnnl::algorithm::pooling_max, src, forward_pd_.dst_desc(), stride,
                                                   kernel, pad, pad);
  backward_pd_ = {backward_desc, context.engine(), forward_pd_};
  backward_ = dnnl::pooling_backward(backward_pd_);
}

void MaxPool2x2::forward(const Tensor& src, const Tensor& dst) {
  execute(context_, forward_, {{DNNL_ARG_SRC, src.memory()}, {DNNL_ARG_DST, dst.memory()}, {DNNL_ARG_WORKSPACE, workspace_}});
}

void MaxPool2x2::backward(const Tensor& diff_dst, const Tensor& diff_src) {
  execute(context_, backward_,
      {{DNNL_ARG_DIFF_DST, diff_dst.memory()}, {DNNL_ARG_DIFF_SRC, diff_src.memory()}, {DNNL_ARG_WORKSPACE, workspace_}});
}

}  // namespace s8net
