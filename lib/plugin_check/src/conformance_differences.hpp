// Finite differences for the gradients check: the loss L = sum(dy * y) of one training forward,
// its central difference along one entry (an input or parameter value), the tolerance a gradient
// is held to, and the test that tells a kink of the plugin's own function inside the step from a
// wrong gradient.
#pragma once

#include "conformance_support.hpp"

#include <optional>
#include <vector>

namespace s8net::conformance {

// L of a training forward, accumulated in double. With the ReLU fused it also notices a step that
// moved an output across the ReLU's kink (zero to positive or back): L is not differentiable along
// that step and its difference quotient means nothing.
class Loss {
 public:
  Loss(PluginInstance& instance, const s8net_tensor_desc& desc, const std::vector<double>& dy, bool relu,
       const GuardedBuffer& y);
  // nullopt when an output crossed the ReLU's kink.
  std::optional<double> operator()(const GuardedBuffer& x);

 private:
  PluginInstance& instance_;
  s8net_tensor_desc desc_;
  const std::vector<double>& dy_;
  bool relu_;
  GuardedBuffer y_;
  std::vector<size_t> offsets_;  // of each logical element
  std::vector<bool> active_;     // y > 0 at the unperturbed point
};

// Whether analytic g passes against finite difference d: |g - d| <= relative * |d| + absolute *
// scale, scale being max(1, the largest |d| of the tensor).
bool within_tolerance(double g, double d, double scale, const ConformanceOptions& options);

// dL/d(value) by central differences of options.step; nullopt at the ReLU's kink. The quotient
// divides by the steps floats could actually take, not by the nominal step.
std::optional<double> central_difference(float& value, Loss& loss, const GuardedBuffer& x,
                                         const ConformanceOptions& options);

// What a second look at an entry whose central difference missed analytic gradient g finds.
// At the step, then at 1/4, 1/16 and 1/64 of it, it measures three slopes: left and right of the
// value, each from three points on its own side (0, s/2, s: as accurate as a central difference
// where L is smooth), and the central difference of s.
//  - All three agree and g agrees with them: L is smooth within this step and g is right (a
//    larger step straddled kinks, or many small ones bent the slope over it): agrees.
//  - They disagree and g agrees with the left or the right slope (the side the kink is not on):
//    evidence of a kink; the next, smaller step may still get clear of it.
// After the last step: a kink if there was such evidence, else off. A gradient wrong everywhere
// agrees neither with the slopes where L is smooth nor with either side of a kink.
enum class SecondLook { agrees, kink, off };
SecondLook look_again(float& value, double g, double scale, Loss& loss, const GuardedBuffer& x,
                      const ConformanceOptions& options);

}  // namespace s8net::conformance
