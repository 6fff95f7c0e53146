// The individual conformance checks. Each takes the loaded plugin and one case (layout, shape,
// fused ReLU or not), returns normally when the plugin conforms and throws Failure with the first
// problem it finds.
#pragma once

#include "conformance_support.hpp"

#include <string>

namespace s8net::conformance {

void check_tensors(const Plugin& plugin, int64_t channels, std::span<const s8net_option_value> options);
void check_forward(const Plugin& plugin, const Case& c, const ConformanceOptions& options);
// Returns the PASS line's detail: "" or how many entries straddle a kink and were not compared.
std::string check_gradients(const Plugin& plugin, const Case& c, const ConformanceOptions& options);
void check_train_vs_eval(const Plugin& plugin, const Case& c, const ConformanceOptions& options);
void check_state_round_trip(const Plugin& plugin, const Case& c, const ConformanceOptions& options);
void check_determinism(const Plugin& plugin, const Case& c, const ConformanceOptions& options);
void check_bounds(const Plugin& plugin, const Case& c, const ConformanceOptions& options);
// Evaluation is per sample: the host evaluates a batch in chunks.
void check_eval_per_sample(const Plugin& plugin, const Case& c, const ConformanceOptions& options);
// Only for a plugin that offers eval_affine (ABI 1.1): its map is what forward (eval) computes. The
// host folds the map into the conv before the norm for inference, so a wrong one would go unseen.
void check_eval_affine(const Plugin& plugin, const Case& c, const ConformanceOptions& options);
// Only for a plugin that offers eval_affine_from_moments (ABI 1.3): given the moments of each
// (sample, channel) plane of x, its maps are what forward (eval) computes on x. The host applies
// them in the convs around the norm for inference, so a wrong one would go unseen.
void check_eval_affine_from_moments(const Plugin& plugin, const Case& c, const ConformanceOptions& options);
// The batch split over 2 simulated ranks of a data-parallel training (ABI 1.2's collective): the
// plugin either computes what one instance does on the whole batch (GroupNorm, or a synchronized
// BatchNorm) or normalizes each share alone (BatchNorm without sync); the PASS line says which.
// Anything else fails, and so does a collective the ranks do not call alike.
std::string check_ranks(const Plugin& plugin, const Case& c, const ConformanceOptions& options);

}  // namespace s8net::conformance
