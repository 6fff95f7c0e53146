// GroupNorm with one defect in its map from the moments: it takes the unbiased variance (m2 over
// hw - 1 values) where the forward takes the biased one, or (WRONG_MOMENTS_WRITE_PAST_THE_END) it
// writes one float past each array. The forward itself is right, so only the check of
// eval_affine_from_moments can catch it.
#include "../../plugins/common/group_norm_plugin.hpp"

#include <vector>

namespace {

struct WrongMomentsTraits {
#ifdef WRONG_MOMENTS_WRITE_PAST_THE_END
  static constexpr const char* kName = "pastmoments";
#else
  static constexpr const char* kName = "wrongmoments";
#endif
  static constexpr const char* kDescription = "GroupNorm whose map from the moments has Bessel's correction";
  static constexpr std::array<s8net_norm_option, 2> kOptions{
      {{"groups", "number of channel groups (must divide C)", 2, 1, 1 << 20, 1}, s8net::plugins::kEpsOption}};
  static int64_t groups(const s8net::sdk::Config& config) { return static_cast<int64_t>(config.get("groups")); }
};

class WrongMomentsMap : public s8net::plugins::GroupNormFamily<WrongMomentsTraits> {
 public:
  using GroupNormFamily::GroupNormFamily;

  void eval_affine_from_moments(const s8net_tensor_desc& desc, const s8net_plane_moments* moments, float* scale,
                                float* shift) const {
#ifdef WRONG_MOMENTS_WRITE_PAST_THE_END
    // The right map, and one float more in each array.
    GroupNormFamily::eval_affine_from_moments(desc, moments, scale, shift);
    scale[desc.n * desc.c] = shift[desc.n * desc.c] = 0.f;
#else
    const auto hw = static_cast<double>(desc.h * desc.w);
    std::vector<s8net_plane_moments> corrected(moments, moments + desc.n * desc.c);
    for (s8net_plane_moments& m : corrected) m.m2 *= hw / (hw - 1);
    GroupNormFamily::eval_affine_from_moments(desc, corrected.data(), scale, shift);
#endif
  }
};

}  // namespace

S8NET_NORM_PLUGIN(WrongMomentsMap)
