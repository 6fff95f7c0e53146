// Not built: the SDK must refuse to compile this plugin, whose eval_affine_from_moments lacks its
// const and would otherwise leave the entry out without a word (tests/CMakeLists.txt).
#include <s8net/norm/plugin_sdk.hpp>

#include <array>
#include <span>

namespace {

struct Misdeclared {
  static constexpr const char* kName = "misdeclared";
  static constexpr const char* kVersion = "0.0.1";
  static constexpr const char* kDescription = "an optional entry with the wrong signature";
  static constexpr const char* kDnnlVersion = "";
  static constexpr uint32_t kLayouts = S8NET_LAYOUT_MASK_NCHW;
  static constexpr uint32_t kFlags = 0;
  static constexpr std::array<s8net_norm_option, 0> kOptions{};
  Misdeclared(const s8net::sdk::Host&, const s8net::sdk::Config&) {}
  int64_t channels() const { return 1; }
  void forward(s8net_mode, const s8net_tensor_desc&, const float*, float*) {}
  void backward(const s8net_tensor_desc&, const float*, const float*, const float*, float*) {}
  std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind) const { return {}; }
  void eval_affine_from_moments(const s8net_tensor_desc&, const s8net_plane_moments*, float*, float*) {}
};

}  // namespace

S8NET_NORM_PLUGIN(Misdeclared)
