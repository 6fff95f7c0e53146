#include <s8net/norm/plugin_descriptor.hpp>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>

namespace s8net {

namespace {

constexpr uint32_t kKnownLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C;
// The descriptor of ABI 1.0 ends with tensors(). Later 1.x minors append fields, so a 1.0 plugin
// loaded by a newer host is still accepted as long as it carries this much.
constexpr size_t kV1DescriptorSize = offsetof(s8net_norm_plugin, tensors) + sizeof(s8net_norm_plugin::tensors);
constexpr size_t kMaxNameLength = 32;

std::string hex(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%x", value);
  return buffer;
}

// Names end up in command lines, file names and parameter names: keep them boring.
bool valid_name(const char* name) {
  const size_t length = strnlen(name, kMaxNameLength + 1);
  if (length == 0 || length > kMaxNameLength) return false;
  for (size_t i = 0; i < length; ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

std::string options_problem(const s8net_norm_plugin& d) {
  const std::string norm = std::string("descriptor of '") + d.name + "'";
  if (d.option_count > 0 && d.options == nullptr)
    return norm + " declares " + std::to_string(d.option_count) + " options but no option array";
  std::set<std::string> seen;
  for (size_t i = 0; i < d.option_count; ++i) {
    const s8net_norm_option& o = d.options[i];
    if (o.name == nullptr || o.name[0] == '\0') return norm + " has an option without a name";
    if (!seen.insert(o.name).second) return norm + " declares option '" + o.name + "' twice";
    // Negated so that a NaN anywhere is refused too.
    if (!(o.min_value <= o.default_value && o.default_value <= o.max_value))
      return norm + ": option '" + o.name + "' has its default outside [min, max]";
    if (o.is_integer && o.default_value != std::floor(o.default_value))
      return norm + ": integer option '" + o.name + "' has a fractional default";
  }
  return {};
}

}  // namespace

std::string abi_text(uint32_t version) {
  return std::to_string(S8NET_NORM_ABI_MAJOR_OF(version)) + "." + std::to_string(S8NET_NORM_ABI_MINOR_OF(version));
}

// The order matters: nothing past abi_version is read before the ABI and the size are known good.
std::string descriptor_problem(const s8net_norm_plugin* d) {
  if (d == nullptr) return S8NET_NORM_PLUGIN_ENTRY_NAME " returned OK but no descriptor";
  if (S8NET_NORM_ABI_MAJOR_OF(d->abi_version) != S8NET_NORM_ABI_MAJOR)
    return "plugin ABI " + abi_text(d->abi_version) + " but s8net expects ABI " + std::to_string(S8NET_NORM_ABI_MAJOR) +
           ".x";
  if (d->struct_size < kV1DescriptorSize)
    return "descriptor is " + std::to_string(d->struct_size) + " bytes, ABI 1 needs at least " +
           std::to_string(kV1DescriptorSize);
  if (d->name == nullptr) return "descriptor has no name";
  if (!valid_name(d->name))
    return "invalid norm name '" + std::string(d->name, strnlen(d->name, 64)) + "' (1-32 characters of a-z 0-9 _ -)";
  const std::string norm = std::string("descriptor of '") + d->name + "'";
  if (d->version == nullptr || d->description == nullptr || d->dnnl_version == nullptr)
    return norm + " lacks its version, description or oneDNN version";
  if (d->layouts == 0) return norm + " accepts no layout";
  if (const uint32_t unknown = d->layouts & ~kKnownLayouts; unknown != 0)
    return norm + " declares unknown layout bits " + hex(unknown);
  if (!d->create) return norm + " has a null create function";
  if (!d->destroy) return norm + " has a null destroy function";
  if (!d->forward) return norm + " has a null forward function";
  if (!d->backward) return norm + " has a null backward function";
  if (!d->tensors) return norm + " has a null tensors function";
  return options_problem(*d);
}

decltype(s8net_norm_plugin::eval_affine) eval_affine_entry(const s8net_norm_plugin& d) noexcept {
  constexpr size_t kV1_1DescriptorSize =
      offsetof(s8net_norm_plugin, eval_affine) + sizeof(s8net_norm_plugin::eval_affine);
  return S8NET_NORM_ABI_MINOR_OF(d.abi_version) >= 1 && d.struct_size >= kV1_1DescriptorSize ? d.eval_affine : nullptr;
}

decltype(s8net_norm_plugin::eval_affine_from_moments) eval_affine_from_moments_entry(
    const s8net_norm_plugin& d) noexcept {
  constexpr size_t kV1_3DescriptorSize =
      offsetof(s8net_norm_plugin, eval_affine_from_moments) + sizeof(s8net_norm_plugin::eval_affine_from_moments);
  return S8NET_NORM_ABI_MINOR_OF(d.abi_version) >= 3 && d.struct_size >= kV1_3DescriptorSize
             ? d.eval_affine_from_moments
             : nullptr;
}

std::string status_name(s8net_status status) {
  switch (status) {
    case S8NET_OK:
      return "S8NET_OK";
    case S8NET_ERROR_INVALID_ARGUMENT:
      return "S8NET_ERROR_INVALID_ARGUMENT";
    case S8NET_ERROR_UNSUPPORTED:
      return "S8NET_ERROR_UNSUPPORTED";
    case S8NET_ERROR_ABI_MISMATCH:
      return "S8NET_ERROR_ABI_MISMATCH";
    case S8NET_ERROR_OUT_OF_MEMORY:
      return "S8NET_ERROR_OUT_OF_MEMORY";
    case S8NET_ERROR_INTERNAL:
      return "S8NET_ERROR_INTERNAL";
  }
  return "status " + std::to_string(static_cast<int>(status));  // none of the ABI's
}

}  // namespace s8net
