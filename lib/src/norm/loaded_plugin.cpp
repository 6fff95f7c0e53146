#include <s8net/core/error.hpp>
#include <s8net/norm/loaded_plugin.hpp>

#include <dlfcn.h>

#include <cstring>
#include <set>
#include <string>

namespace s8net {
namespace {

constexpr uint32_t kKnownLayouts = S8NET_LAYOUT_MASK_NCHW | S8NET_LAYOUT_MASK_NCHW8C | S8NET_LAYOUT_MASK_NCHW16C;

std::string abi_text(uint32_t version) {
  return std::to_string(S8NET_NORM_ABI_MAJOR_OF(version)) + "." + std::to_string(S8NET_NORM_ABI_MINOR_OF(version));
}

bool valid_name(const char* name) {
  const size_t length = std::strlen(name);
  if (length == 0 || length > 32) return false;
  for (size_t i = 0; i < length; ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

// Everything the host relies on, checked before the descriptor is used. Returns "" when valid.
std::string descriptor_problem(const s8net_norm_plugin* d) {
  if (d == nullptr) return "returned no descriptor";
  if (S8NET_NORM_ABI_MAJOR_OF(d->abi_version) != S8NET_NORM_ABI_MAJOR)
    return "plugin ABI " + abi_text(d->abi_version) + " but s8net expects ABI " + std::to_string(S8NET_NORM_ABI_MAJOR) + ".x";
  if (d->struct_size < sizeof(s8net_norm_plugin))
    return "descriptor is " + std::to_string(d->struct_size) + " bytes, ABI 1 needs at least " +
           std::to_string(sizeof(s8net_norm_plugin));
  if (d->name == nullptr || !valid_name(d->name))
    return "invalid norm name '" + std::string(d->name ? d->name : "(null)") + "' (1-32 of a-z 0-9 _ -)";
  if (d->version == nullptr || d->description == nullptr || d->dnnl_version == nullptr)
    return "descriptor of '" + std::string(d->name) + "' lacks its version, description or oneDNN version";
  if (d->layouts == 0 || (d->layouts & ~kKnownLayouts) != 0)
    return "descriptor of '" + std::string(d->name) + "' declares unknown layouts 0x" + std::to_string(d->layouts);
  if (!d->create || !d->destroy || !d->forward || !d->backward || !d->tensors)
    return "descriptor of '" + std::string(d->name) + "' has a null function pointer";
  if (d->option_count > 0 && d->options == nullptr) return "descriptor of '" + std::string(d->name) + "' has no option list";
  std::set<std::string> seen;
  for (size_t i = 0; i < d->option_count; ++i) {
    const s8net_norm_option& o = d->options[i];
    if (o.name == nullptr || !seen.insert(o.name).second)
      return "descriptor of '" + std::string(d->name) + "' has a missing or repeated option name";
    if (!(o.min_value <= o.default_value && o.default_value <= o.max_value))
      return "option '" + std::string(o.name) + "' of '" + d->name + "' has a default outside its range";
  }
  return {};
}

}  // namespace

const char* status_name(s8net_status status) noexcept {
  switch (status) {
    case S8NET_OK: return "S8NET_OK";
    case S8NET_ERROR_INVALID_ARGUMENT: return "S8NET_ERROR_INVALID_ARGUMENT";
    case S8NET_ERROR_UNSUPPORTED: return "S8NET_ERROR_UNSUPPORTED";
    case S8NET_ERROR_ABI_MISMATCH: return "S8NET_ERROR_ABI_MISMATCH";
    case S8NET_ERROR_OUT_OF_MEMORY: return "S8NET_ERROR_OUT_OF_MEMORY";
    case S8NET_ERROR_INTERNAL: return "S8NET_ERROR_INTERNAL";
  }
  return "unknown status";
}

LoadedPlugin::LoadedPlugin(const std::filesystem::path& file, const s8net_host_api& host) {
  const std::string where = file.string() + ": ";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) throw Error(where + "no such file");
  if (!std::filesystem::is_regular_file(file, ec)) throw Error(where + "not a regular file");
  boost::dll::fs::error_code load_error;
  // RTLD_NOW: a missing symbol fails here, not in the middle of a training run. RTLD_LOCAL: two
  // plugins never see each other's symbols.
  library_.load(boost::dll::fs::path(file.string()), load_error,
                boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (load_error) {
    const char* detail = dlerror();
    throw Error(where + "cannot load: " + (detail ? std::string(detail) : load_error.message()));
  }
  if (!library_.has(S8NET_NORM_PLUGIN_ENTRY_NAME))
    throw Error(where + "no entry point " S8NET_NORM_PLUGIN_ENTRY_NAME " (not an s8net normalization plugin?)");
  const auto init = library_.get<std::remove_pointer_t<s8net_norm_plugin_init_fn>>(S8NET_NORM_PLUGIN_ENTRY_NAME);
  const s8net_norm_plugin* descriptor = nullptr;
  s8net_message message{};
  const s8net_status status = init(&host, S8NET_NORM_ABI_VERSION, &descriptor, &message);
  if (status != S8NET_OK)
    throw Error(where + S8NET_NORM_PLUGIN_ENTRY_NAME " failed (" + status_name(status) + "): " +
                std::string(message.text, strnlen(message.text, sizeof message.text)));
  if (const std::string problem = descriptor_problem(descriptor); !problem.empty()) throw Error(where + problem);
  info_ = {descriptor->name,        descriptor->version, descriptor->description, descriptor->dnnl_version,
           descriptor->abi_version, file,                descriptor};
}

}  // namespace s8net
