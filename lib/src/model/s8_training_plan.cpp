#include "s8_training_plan.hpp"

#include "s8_stage_dispatch.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace s8net {

using s8::kStages;
using s8::Skip;

// Builds each stage's ops and buffers, its forward steps (onto the plan's list, in table order) and
// its backward steps (onto the stage's own list, which the plan then runs in reverse stage order).
struct S8Network::TrainingPlan::Builder {
  TrainingPlan& plan;
  ActivationLayout layout;
  float dropout;
  uint64_t seed;
  std::array<s8::Shape, kStages.size()> shapes = s8::stage_shapes();
  const Tensor* input = nullptr;  // the previous stage's output

  const dnnl::engine& engine() const { return plan.context.engine(); }
  Dims out_dims(size_t i) const { return {plan.batch, shapes[i].c, shapes[i].h, shapes[i].w}; }
  dnnl::memory::desc out_desc(size_t i) const { return activation_desc(out_dims(i), layout); }
  std::string name(size_t i) const { return kStages[i].name; }
  const Tensor* grad_input(size_t i) const { return i == 0 ? nullptr : &plan.stages[i - 1].grad_out; }
  void begin_stage(size_t i) {
    plan.forward_steps.begin_section(name(i));
    plan.stages[i].backward.begin_section(name(i));
  }

  // The conv of stage i; the first conv also sets up the image it reads.
  Conv2d& conv(size_t i) {
    StageState& st = plan.stages[i];
    st.conv = std::make_unique<Conv2d>(plan.context, *plan.weights.convs[i], conv_src_desc(i, plan.batch, layout),
                                       out_desc(i), i > 0);
    st.pre = Tensor(out_desc(i), engine());
    st.grad_pre = Tensor(out_desc(i), engine());
    if (i == 0) add_image(st.conv->src_desc());
    plan.forward_steps.add_pass(st.conv->bind_forward(*input, st.pre), name(i) + ".conv: " + st.conv->implementation());
    return *st.conv;
  }

  void add_image(const dnnl::memory::desc& conv_src) {
    const Dims image_dims{plan.batch, S8Network::kImageChannels, S8Network::kImageSize, S8Network::kImageSize};
    // The caller's images are read where they are: each forward points this view at them, and
    // the first conv's weight gradient reads them again within the same forward_backward.
    plan.image = Tensor(plain_desc(image_dims), engine(), nullptr);
    plan.image_for_conv = plan.image;
    if (conv_src != plan.image.desc()) {
      plan.image_for_conv = Tensor(conv_src, engine());
      const dnnl::memory& from = plan.image.memory();
      const dnnl::memory& to = plan.image_for_conv.memory();
      plan.forward_steps.add_primitive({dnnl::reorder(from, to), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}});
    }
    input = &plan.image_for_conv;
  }

  void add_conv_backward(size_t i, const Tensor& grad_pre) {
    for (BoundPass& pass : plan.stages[i].conv->bind_backward(*input, grad_pre, grad_input(i)))
      plan.stages[i].backward.add_pass(std::move(pass));
  }

  void conv_norm_relu(size_t i) {
    StageState& st = plan.stages[i];
    conv(i);
    NormLayer& norm = *plan.weights.norms[i];
    st.norm_desc = {plan.batch, shapes[i].c, shapes[i].h, shapes[i].w, plugin_layout_of(layout)};
    st.normed = Tensor(out_desc(i), engine());
    if (!norm.fuses_relu()) {
      st.relu = std::make_unique<Relu>(plan.context, out_desc(i));
      st.raw = Tensor(out_desc(i), engine());
      st.grad_raw = Tensor(out_desc(i), engine());
    }
    const Tensor& norm_out = st.relu ? st.raw : st.normed;
    plan.forward_steps.add_plugin(
        [&norm, &st, x = st.pre.data(), y = norm_out.data()] { norm.forward(S8NET_MODE_TRAIN, st.norm_desc, x, y); });
    if (st.relu)
      plan.forward_steps.add_primitive(st.relu->bind_forward(st.raw, st.normed),
                                       name(i) + ".relu: " + st.relu->implementation());
    st.out = st.normed;
    if (kStages[i].skip == Skip::add) {
      st.skip_add = std::make_unique<SkipAdd>(plan.context, out_desc(i));
      st.out = Tensor(out_desc(i), engine());
      plan.forward_steps.add_primitive(st.skip_add->bind(st.normed, plan.stages[s8::skip_source_of(i)].out, st.out),
                                       name(i) + ".skip_add: " + st.skip_add->implementation());
    }
    st.grad_out = Tensor(out_desc(i), engine());

    // The skip addition passes dL/d out unchanged to the norm's output.
    if (st.relu) st.backward.add_primitive(st.relu->bind_backward(st.normed, st.grad_out, st.grad_raw));
    const Tensor& grad_norm_out = st.relu ? st.grad_raw : st.grad_out;
    st.backward.add_plugin([&norm, &st, x = st.pre.data(), y = norm_out.data(), dy = grad_norm_out.data(),
                            dx = st.grad_pre.data()] { norm.backward(st.norm_desc, x, y, dy, dx); });
    add_conv_backward(i, st.grad_pre);
    input = &st.out;
  }

  // A conv without a norm outputs its pre-activation, so dL/d out is dL/d pre.
  void conv1x1(size_t i) {
    StageState& st = plan.stages[i];
    conv(i);
    st.out = st.pre;
    st.grad_out = st.grad_pre;
    add_conv_backward(i, st.grad_out);
    input = &st.out;
  }
  void head(size_t i) { conv1x1(i); }

  void pool_dropout(size_t i) {
    StageState& st = plan.stages[i];
    st.pool = std::make_unique<MaxPool2x2>(plan.context, input->desc(), out_desc(i));
    pool_steps(i, ".maxpool: ");
    if (dropout > 0.f) {
      st.dropout = std::make_unique<Dropout>(plan.context, out_dims(i), layout, dropout, seed + i);
      Dropout& drop = *st.dropout;
      plan.forward_steps.add_host([&drop, &plan = plan] { drop.draw_mask(plan.step, plan.shard.offset); });
      plan.forward_steps.add_primitive(drop.bind_multiply(st.out), name(i) + ".dropout: " + drop.implementation());
      // The gradient goes through the mask before the pool's backward reads it.
      st.backward.add_primitive(drop.bind_multiply(st.grad_out));
    }
    st.backward.add_pass(st.pool->bind_backward(st.grad_out, *grad_input(i)));
    input = &st.out;
  }

  void global_pool(size_t i) {
    StageState& st = plan.stages[i];
    st.pool = std::make_unique<GlobalAvgPool>(plan.context, input->desc(), out_desc(i));
    pool_steps(i, ".avgpool: ");
    st.backward.add_pass(st.pool->bind_backward(st.grad_out, *grad_input(i)));
    input = &st.out;
  }

  void pool_steps(size_t i, const char* listing) {
    StageState& st = plan.stages[i];
    st.out = Tensor(out_desc(i), engine());
    st.grad_out = Tensor(out_desc(i), engine());
    plan.forward_steps.add_pass(st.pool->bind_forward(*input, st.out),
                                     name(i) + listing + st.pool->implementation());
  }
};

S8Network::TrainingPlan::TrainingPlan(Context& context_, Weights& weights_, ActivationLayout layout, int64_t batch_,
                                      const NetworkConfig& config)
    : context(context_),
      weights(weights_),
      batch(batch_),
      loss(context_, batch_, S8Network::kClasses, config.label_smoothing) {
  Builder builder{*this, layout, config.dropout, config.seed};
  s8::for_each_stage(builder);
  add_loss();
  for (size_t i = kStages.size(); i-- > 0;) {
    backward_steps.append(stages[i].backward);
    add_skip_gradients(i);
  }
}

void S8Network::TrainingPlan::add_loss() {
  // The loss reads plain batch x 10; the head writes the blocked layout.
  const Tensor& logits = stages.back().out;
  const Tensor& grad_logits = stages.back().grad_out;
  forward_steps.begin_section("loss");
  backward_steps.begin_section("loss");
  logits_plain = Tensor(plain_desc(logits.dims()), context.engine());
  grad_logits_plain = Tensor(plain_desc(logits.dims()), context.engine());
  const Tensor logits_nc(loss.logits_desc(), context.engine(), logits_plain.data());
  const Tensor grad_logits_nc(loss.logits_desc(), context.engine(), grad_logits_plain.data());

  forward_steps.add_primitive({dnnl::reorder(logits.memory(), logits_plain.memory()),
                               {{DNNL_ARG_FROM, logits.memory()}, {DNNL_ARG_TO, logits_plain.memory()}}});
  forward_steps.add_primitive(loss.bind_forward(logits_nc), "loss.log_softmax: " + loss.implementation());
  forward_steps.add_host([this] {
    result.loss = loss.score();
    result.correct = loss.correct();
  });

  // A rank's share of a larger batch differentiates the global batch's mean loss, so that summing
  // the ranks' gradients gives one process's.
  backward_steps.add_host([this] { loss.set_gradient(shard.global_size); });
  backward_steps.add_primitive(loss.bind_backward(grad_logits_nc));
  backward_steps.add_primitive({dnnl::reorder(grad_logits_plain.memory(), grad_logits.memory()),
                                {{DNNL_ARG_FROM, grad_logits_plain.memory()}, {DNNL_ARG_TO, grad_logits.memory()}}});
}

// A skip source also receives the gradient of the addition that reads it: once stage i has written
// the gradient of its input, the additions that read that input add theirs.
void S8Network::TrainingPlan::add_skip_gradients(size_t i) {
  if (i == 0 || kStages[i - 1].skip != Skip::source) return;
  const Tensor& grad_source = stages[i - 1].grad_out;
  for (size_t m = i; m < kStages.size(); ++m)
    if (kStages[m].skip == Skip::add && s8::skip_source_of(m) == i - 1) {
      backward_steps.begin_section(kStages[m].name);
      backward_steps.add_primitive(stages[m].skip_add->bind(grad_source, stages[m].grad_out, grad_source));
    }
}

BatchResult S8Network::TrainingPlan::forward(std::span<const float> images, std::span<const int32_t> labels,
                                             uint64_t training_step, BatchShard batch_shard) {
  loss.set_labels(labels);
  step = training_step;
  shard = batch_shard;
  // oneDNN takes a non-const handle, but only reads a source.
  image.memory().set_data_handle(const_cast<float*>(images.data()));
  forward_steps.run(context.stream());
  return result;
}

void S8Network::TrainingPlan::backward() { backward_steps.run(context.stream()); }

int64_t S8Network::TrainingPlan::buffer_bytes() const {
  // Stage tensors may share a buffer (an output that is its input's view): each buffer counts once.
  std::map<const float*, int64_t> buffers;
  const auto count = [&](const Tensor& t) {
    if (!t.empty()) buffers[t.data()] = std::max(buffers[t.data()], t.size());
  };
  for (const Tensor* t : {&image_for_conv, &logits_plain, &grad_logits_plain}) count(*t);
  for (const StageState& s : stages)
    for (const Tensor* t : {&s.pre, &s.raw, &s.normed, &s.out, &s.grad_pre, &s.grad_raw, &s.grad_out}) count(*t);
  int64_t floats = 0;
  for (const auto& [data, size] : buffers) floats += size;
  return floats * static_cast<int64_t>(sizeof(float));
}

}  // namespace s8net
