// Hand-written C glue for plugins the SDK would never produce: each BROKEN_* switch makes one
// defect the registry must refuse with a clear reason.
#include "support/inert_plugin_functions.hpp"

#include <s8net/norm/plugin_api.h>

#include <cstddef>
#include <cstdio>

namespace {

using namespace s8net::test::inert;

#ifdef BROKEN_WRONG_ABI
constexpr uint32_t kAbi = (2u << 16) | 0u;
#elif defined(BROKEN_ABI_1_0)
constexpr uint32_t kAbi = (1u << 16) | 0u;
#elif defined(BROKEN_ABI_1_2)
constexpr uint32_t kAbi = (1u << 16) | 2u;
#else
constexpr uint32_t kAbi = S8NET_NORM_ABI_VERSION;
#endif

#ifdef BROKEN_BAD_NAME
constexpr const char* kName = "Group Norm!";  // upper case, a space and punctuation
#elif defined(BROKEN_ABI_1_2)
constexpr const char* kName = "abi12";  // loaded beside abi_1_0's "broken"
#else
constexpr const char* kName = "broken";
#endif

#ifdef BROKEN_ABI_1_0
// Not broken: a plugin built before ABI 1.1. Its descriptor ends before eval_affine, so the host
// must not read that field; here it holds a function the host must never call.
constexpr uint32_t kSize = offsetof(s8net_norm_plugin, eval_affine);
constexpr auto kEvalAffine = &eval_affine;
#elif defined(BROKEN_ABI_1_2)
// Not broken either: a plugin built for ABI 1.2, whose descriptor ends before
// eval_affine_from_moments; again the memory after it holds a function the host must never call.
constexpr uint32_t kSize = offsetof(s8net_norm_plugin, eval_affine_from_moments);
constexpr decltype(&eval_affine) kEvalAffine = nullptr;
#else
constexpr uint32_t kSize = sizeof(s8net_norm_plugin);
constexpr decltype(&eval_affine) kEvalAffine = nullptr;
#endif

const s8net_norm_plugin descriptor = {kAbi,
                                      kSize,
                                      kName,
                                      "0.0.1",
                                      "a broken plugin",
                                      "",
                                      S8NET_LAYOUT_MASK_NCHW,
                                      0,
                                      nullptr,
                                      0,
                                      &create,
                                      &destroy,
#ifdef BROKEN_NULL_FORWARD
                                      nullptr,
#else
                                       &forward,
#endif
                                      &backward,
                                      &tensors,
                                      kEvalAffine,
                                      &eval_affine_from_moments};

}  // namespace

extern "C" __attribute__((visibility("default"))) s8net_status s8net_norm_plugin_init(const s8net_host_api*, uint32_t,
                                                                                      const s8net_norm_plugin** out,
                                                                                      s8net_message* message) {
#ifdef BROKEN_FACTORY_FAILS
  std::snprintf(message->text, sizeof message->text, "cannot initialise: no licence for this norm (test)");
  *out = nullptr;
  return S8NET_ERROR_INTERNAL;
#else
  (void)message;
  *out = &descriptor;
  return S8NET_OK;
#endif
}
