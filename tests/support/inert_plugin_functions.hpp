// Plugin functions that do nothing useful, for descriptors built by hand (the broken test plugins,
// the descriptor fuzz target): what matters there is the descriptor, never a call.
#pragma once

#include <s8net/norm/plugin_api.h>

namespace s8net::test::inert {

inline s8net_status create(const s8net_norm_config*, s8net_norm_instance**, s8net_message*) {
  return S8NET_ERROR_INTERNAL;
}
inline void destroy(s8net_norm_instance*) {}
inline s8net_status forward(s8net_norm_instance*, s8net_mode, const s8net_tensor_desc*, const float*, float*,
                            s8net_message*) {
  return S8NET_ERROR_INTERNAL;
}
inline s8net_status backward(s8net_norm_instance*, const s8net_tensor_desc*, const float*, const float*, const float*,
                             float*, s8net_message*) {
  return S8NET_ERROR_INTERNAL;
}
inline s8net_status tensors(s8net_norm_instance*, s8net_norm_tensor_kind, s8net_norm_tensor*, size_t, size_t* count,
                            s8net_message*) {
  *count = 0;
  return S8NET_OK;
}

inline s8net_status eval_affine(s8net_norm_instance*, float*, float*, s8net_message*) { return S8NET_ERROR_INTERNAL; }
inline s8net_status eval_affine_from_moments(s8net_norm_instance*, const s8net_tensor_desc*, const s8net_plane_moments*,
                                             float*, float*, s8net_message*) {
  return S8NET_ERROR_INTERNAL;
}

}  // namespace s8net::test::inert
