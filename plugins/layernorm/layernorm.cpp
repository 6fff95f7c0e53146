// LayerNorm ("ln"): statistics per sample over (C, H, W), i.e. GroupNorm with one group;
// per-channel affine as in the original work (nn.GroupNorm(1, C)).
#include "../common/group_norm_plugin.hpp"

namespace {

struct LayerNormTraits {
  static constexpr const char* kName = "ln";
  static constexpr const char* kDescription = "LayerNorm: statistics per sample over (C, H, W), per-channel affine";
  static constexpr std::array<s8net_norm_option, 1> kOptions{{s8net::plugins::kEpsOption}};
  static int64_t groups(const s8net::sdk::Config&) { return 1; }
};

using LayerNormPlugin = s8net::plugins::GroupNormFamily<LayerNormTraits>;

}  // namespace

S8NET_NORM_PLUGIN(LayerNormPlugin)
