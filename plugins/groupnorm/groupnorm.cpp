// GroupNorm ("gn"): statistics per sample and group of C/groups channels; per-channel affine.
#include "../common/group_norm_plugin.hpp"

namespace {

struct GroupNormTraits {
  static constexpr const char* kName = "gn";
  static constexpr const char* kDescription = "GroupNorm: statistics per sample over (C/groups, H, W)";
  static constexpr std::array<s8net_norm_option, 2> kOptions{
      {{"groups", "number of channel groups (must divide C)", 2, 1, 1 << 20, 1}, s8net::plugins::kEpsOption}};
  static int64_t groups(const s8net::sdk::Config& config) { return static_cast<int64_t>(config.get("groups")); }
};

using GroupNormPlugin = s8net::plugins::GroupNormFamily<GroupNormTraits>;

}  // namespace

S8NET_NORM_PLUGIN(GroupNormPlugin)
