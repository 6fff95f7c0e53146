#include <s8net/core/error.hpp>
#include <s8net/ops/log_softmax_nll.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <algorithm>
#include <string>

namespace s8net {

LogSoftmaxNll::LogSoftmaxNll(Context& context, int64_t batch, int64_t classes, float label_smoothing)
    : context_(context), batch_(batch), classes_(classes), label_smoothing_(label_smoothing) {
  if (!(label_smoothing >= 0.f && label_smoothing < 1.f))
    throw Error("loss: label smoothing must be in [0, 1), got " + std::to_string(label_smoothing));
  const dnnl::memory::desc desc({batch, classes}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nc);
  forward_pd_ = {{dnnl::prop_kind::forward_training, desc, 1}, context.engine()};
  forward_ = dnnl::logsoftmax_forward(forward_pd_);
  backward_pd_ = {{desc, desc, 1}, context.engine(), forward_pd_};
  backward_ = dnnl::logsoftmax_backward(backward_pd_);
  log_probabilities_ = Tensor(desc, context.engine());
  diff_log_probabilities_ = Tensor(desc, context.engine());
}

void LogSoftmaxNll::set_labels(std::span<const int32_t> labels) {
  if (static_cast<int64_t>(labels.size()) != batch_)
    throw Error("loss: " + std::to_string(labels.size()) + " labels for a batch of " + std::to_string(batch_));
  // Checked before any state changes: a rejected call must not leave an out-of-range label behind
  // for backward() to index with.
  for (const int32_t label : labels)
    if (label < 0 || label >= classes_)
      throw Error("loss: label " + std::to_string(label) + " out of range [0, " + std::to_string(classes_) + ")");
  labels_.assign(labels.begin(), labels.end());
}

BoundPrimitive LogSoftmaxNll::bind_forward(const Tensor& logits) const {
  return {forward_, {{DNNL_ARG_SRC, logits.memory()}, {DNNL_ARG_DST, log_probabilities_.memory()}}};
}

double LogSoftmaxNll::score() {
  const float* log_p = log_probabilities_.data();
  const double spread = static_cast<double>(label_smoothing_) / static_cast<double>(classes_);
  double loss = 0;
  correct_ = 0;
  for (int64_t i = 0; i < batch_; ++i) {
    const int32_t label = labels_[static_cast<size_t>(i)];
    const float* row = log_p + i * classes_;
    // Without smoothing the row is not summed: a log-probability of -inf elsewhere would make
    // 0 * -inf a NaN.
    double row_sum = 0;
    if (spread > 0)
      for (int64_t j = 0; j < classes_; ++j) row_sum += row[j];
    loss -= (1.0 - label_smoothing_) * row[label] + spread * row_sum;
    correct_ += (std::max_element(row, row + classes_) - row) == label;
  }
  return loss / static_cast<double>(batch_);
}

double LogSoftmaxNll::forward(const Tensor& logits, std::span<const int32_t> labels) {
  set_labels(labels);
  execute(context_, bind_forward(logits));
  return score();
}

void LogSoftmaxNll::set_gradient(int64_t mean_over) {
  // d(mean cross-entropy)/d(log p[i][j]) is minus the target's mass at j over the images averaged
  // over: e/classes everywhere, plus 1 - e at the label.
  const float batch = static_cast<float>(mean_over > 0 ? mean_over : batch_);
  const float spread = -label_smoothing_ / static_cast<float>(classes_) / batch;
  float* diff = diff_log_probabilities_.data();
  std::fill(diff, diff + batch_ * classes_, spread);
  for (int64_t i = 0; i < batch_; ++i)
    diff[i * classes_ + labels_[static_cast<size_t>(i)]] += -(1.f - label_smoothing_) / batch;
}

BoundPrimitive LogSoftmaxNll::bind_backward(const Tensor& diff_logits) const {
  return {backward_,
          {{DNNL_ARG_DST, log_probabilities_.memory()},
           {DNNL_ARG_DIFF_DST, diff_log_probabilities_.memory()},
           {DNNL_ARG_DIFF_SRC, diff_logits.memory()}}};
}

void LogSoftmaxNll::backward(const Tensor& diff_logits) {
  set_gradient();
  execute(context_, bind_backward(diff_logits));
}

}  // namespace s8net
