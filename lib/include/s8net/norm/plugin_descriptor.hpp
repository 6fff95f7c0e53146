// What the host reads from a plugin's descriptor: whether it is one the host can use, its optional
// ABI 1.1 entry, and the names of ABI versions and statuses as listings and messages print them.
#pragma once

#include <s8net/norm/plugin_api.h>

#include <cstdint>
#include <string>

namespace s8net {

// "" when a plugin's descriptor is one the host can use; otherwise what is wrong with it (ABI,
// size, name, missing strings or functions, layouts, options). Exposed for the fuzz target.
std::string descriptor_problem(const s8net_norm_plugin* descriptor);

// A validated descriptor's optional ABI 1.1 eval_affine, or null when the plugin leaves it out or
// predates 1.1 (its descriptor then ends before the field, which must not be read).
decltype(s8net_norm_plugin::eval_affine) eval_affine_entry(const s8net_norm_plugin& descriptor) noexcept;
// Likewise its optional ABI 1.3 eval_affine_from_moments.
decltype(s8net_norm_plugin::eval_affine_from_moments) eval_affine_from_moments_entry(
    const s8net_norm_plugin& descriptor) noexcept;

// "1.0": an ABI version as major.minor.
std::string abi_text(uint32_t version);

// "S8NET_ERROR_ABI_MISMATCH" ..., or "status 7" for a value that is no status of the ABI.
std::string status_name(s8net_status status);

}  // namespace s8net
