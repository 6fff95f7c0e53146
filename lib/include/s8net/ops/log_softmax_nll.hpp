// Log-softmax over classes (oneDNN's logsoftmax primitive, numerically stable) followed by the
// cross-entropy loss, averaged over the batch. With label smoothing e the target of a sample puts
// 1 - e on its label and e spread evenly over all classes (PyTorch's CrossEntropyLoss
// label_smoothing); e = 0 is the negative log-likelihood of the label.
#pragma once

#include <s8net/core/tensor.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace s8net {

class LogSoftmaxNll {
 public:
  // logits and log-probabilities are batch x classes, row-major; label_smoothing in [0, 1).
  LogSoftmaxNll(Context& context, int64_t batch, int64_t classes, float label_smoothing = 0.f);

  // Returns the mean loss against the (smoothed) targets; labels must be in [0, classes).
  double forward(const Tensor& logits, std::span<const int32_t> labels);
  // dLoss/dlogits of the latest forward.
  void backward(const Tensor& diff_logits);

  // forward and backward in parts, for a caller that runs the primitives later:
  // forward = set_labels, then the bound forward, then (host code, once it ran) score;
  // backward = set_gradient (host code), then the bound backward.
  void set_labels(std::span<const int32_t> labels);
  BoundPrimitive bind_forward(const Tensor& logits) const;
  double score();
  // The gradient of the loss averaged over `mean_over` images (default: this batch): a rank's
  // share of a larger global batch passes the global size, so that the ranks' gradients sum to
  // the global batch's.
  void set_gradient(int64_t mean_over = 0);
  BoundPrimitive bind_backward(const Tensor& diff_logits) const;

  const Tensor& log_probabilities() const noexcept { return log_probabilities_; }
  // Arg-max predictions of the latest forward equal to the labels.
  int64_t correct() const noexcept { return correct_; }
  dnnl::memory::desc logits_desc() const { return forward_pd_.src_desc(); }
  std::string implementation() const {
    return std::string("fwd ") + forward_pd_.impl_info_str() + ", bwd " + backward_pd_.impl_info_str();
  }

 private:
  Context& context_;
  int64_t batch_, classes_;
  float label_smoothing_;
  dnnl::logsoftmax_forward::primitive_desc forward_pd_;
  dnnl::logsoftmax_forward forward_;
  dnnl::logsoftmax_backward::primitive_desc backward_pd_;
  dnnl::logsoftmax_backward backward_;
  Tensor log_probabilities_, diff_log_probabilities_;
  std::vector<int32_t> labels_;
  int64_t correct_ = 0;
};

}  // namespace s8net
