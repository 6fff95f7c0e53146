// A plan's work as a flat list, built once: each step is a oneDNN primitive with its arguments
// bound to the plan's buffers, a norm plugin's call, one of s8net's own kernels, or host code. Running the list waits
// on the stream only where host or plugin code is about to read what queued primitives wrote, and at the end.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace s8net {

struct Step {
  enum class Kind { primitive, plugin, kernel, host };
  Kind kind;
  BoundPrimitive primitive;    // Kind::primitive
  std::function<void()> call;  // the other kinds: reads and writes buffers on the host
  std::string listing;         // "C1.conv: fwd ..." on the step that lists an op's implementation, else empty
  std::string section;         // the layer it belongs to ("C1", "loss"), for profiles
  std::string op = {};         // Kind::kernel: what it computes, named as oneDNN names its primitives
};

class StepList {
 public:
  void add_primitive(BoundPrimitive primitive, std::string listing = {}) {
    steps_.push_back({Step::Kind::primitive, std::move(primitive), {}, std::move(listing), section_});
  }
  void add_plugin(std::function<void()> call, std::string listing = {}) {
    steps_.push_back({Step::Kind::plugin, {}, std::move(call), std::move(listing), section_});
  }
  // A primitive or s8net's own kernel (profiled as the op it computes).
  void add_pass(BoundPass pass, std::string listing = {}) {
    if (!pass.kernel) return add_primitive(std::move(pass.primitive), std::move(listing));
    steps_.push_back(
        {Step::Kind::kernel, {}, std::move(pass.kernel), std::move(listing), section_, std::move(pass.kernel_op)});
  }
  void add_host(std::function<void()> call) { steps_.push_back({Step::Kind::host, {}, std::move(call), {}, section_}); }
  // The steps added from now on belong to this layer.
  void begin_section(std::string name) { section_ = std::move(name); }
  void append(const StepList& other) { steps_.insert(steps_.end(), other.steps_.begin(), other.steps_.end()); }
  void clear() { steps_.clear(); }

  // On return every step has finished and its outputs can be read.
  void run(dnnl::stream& stream) const {
    bool queued = false;
    for (const Step& step : steps_) {
      if (step.kind == Step::Kind::primitive) {
        step.primitive.enqueue(stream);
        queued = true;
        continue;
      }
      if (queued) stream.wait();
      queued = false;
      step.call();
    }
    if (queued) stream.wait();
  }

  // Like run(), but waits after every step, adding its wall time in seconds to seconds[k]: slower
  // than run() by the waits, for profiles only.
  void run_timed(dnnl::stream& stream, std::vector<double>& seconds) const {
    seconds.resize(steps_.size());
    for (size_t k = 0; k < steps_.size(); ++k) {
      const auto start = std::chrono::steady_clock::now();
      if (steps_[k].kind == Step::Kind::primitive) {
        steps_[k].primitive.enqueue(stream);
        stream.wait();
      } else {
        steps_[k].call();
      }
      seconds[k] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }

  const std::vector<Step>& steps() const noexcept { return steps_; }

  // The listing lines of the steps, in order.
  std::vector<std::string> listing() const {
    std::vector<std::string> lines;
    for (const Step& step : steps_)
      if (!step.listing.empty()) lines.push_back(step.listing);
    return lines;
  }

 private:
  std::vector<Step> steps_;
  std::string section_;
};

}  // namespace s8net
