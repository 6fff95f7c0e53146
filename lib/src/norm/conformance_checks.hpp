// The individual conformance checks. Each takes the loaded descriptor and one case (layout, shape,
// fused ReLU or not), returns normally when the plugin conforms and throws Failure with the first
// problem it finds. The case checks share one signature so that the run can list them in a table.
#pragma once

#include "conformance_support.hpp"

namespace s8net::conformance {

void check_tensors(const s8net_norm_plugin& plugin, int64_t channels);
void check_forward(const s8net_norm_plugin& plugin, const Case& c, const ConformanceOptions& options);
void check_gradients(const s8net_norm_plugin& plugin, const Case& c, const ConformanceOptions& options);
void check_train_vs_eval(const s8net_norm_plugin& plugin, const Case& c, const ConformanceOptions& options);
void check_state_round_trip(const s8net_norm_plugin& plugin, const Case& c, const ConformanceOptions& options);
void check_determinism(const s8net_norm_plugin& plugin, const Case& c, const ConformanceOptions& options);
void check_bounds(const s8net_norm_plugin& plugin, const Case& c, const ConformanceOptions& options);
// Evaluation is per sample: the host evaluates a batch in chunks.
void check_eval_per_sample(const s8net_norm_plugin& plugin, const Case& c, const ConformanceOptions& options);
// Only for a plugin that offers eval_affine (ABI 1.1): its map is what forward (eval) computes. The
// host folds the map into the conv before the norm for inference, so a wrong one would go unseen.
void check_eval_affine(const s8net_norm_plugin& plugin, const Case& c, const ConformanceOptions& options);

}  // namespace s8net::conformance
