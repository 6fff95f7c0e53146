// A plan's work as a flat list, built once: each step is a oneDNN primitive with its arguments
// bound to the plan's buffers, a norm plugin's call, or host code. Running the list waits on the
// stream only where host or plugin code is about to read what queued primitives wrote, and at the end.
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/ops/primitive_runner.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace s8net {

struct Step {
  enum class Kind { primitive, plugin, host };
  Kind kind;
  BoundPrimitive primitive;    // Kind::primitive
  std::function<void()> call;  // Kind::plugin and Kind::host: reads and writes buffers on the host
  std::string listing;         // "C1.conv: fwd ..." on the step that lists an op's implementation, else empty
};

class StepList {
 public:
  void add_primitive(BoundPrimitive primitive, std::string listing = {}) {
    steps_.push_back({Step::Kind::primitive, std::move(primitive), {}, std::move(listing)});
  }
  void add_plugin(std::function<void()> call, std::string listing = {}) {
    steps_.push_back({Step::Kind::plugin, {}, std::move(call), std::move(listing)});
  }
  void add_host(std::function<void()> call) { steps_.push_back({Step::Kind::host, {}, std::move(call), {}}); }
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

  // The listing lines of the steps, in order.
  std::vector<std::string> listing() const {
    std::vector<std::string> lines;
    for (const Step& step : steps_)
      if (!step.listing.empty()) lines.push_back(step.listing);
    return lines;
  }

 private:
  std::vector<Step> steps_;
};

}  // namespace s8net
