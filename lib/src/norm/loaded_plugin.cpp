#include <s8net/core/error.hpp>
#include <s8net/norm/loaded_plugin.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>

namespace s8net {
namespace fs = std::filesystem;

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

// A plugin's message buffer may come back without its NUL.
std::string message_text(const s8net_message& message) {
  const std::string text(message.text, strnlen(message.text, sizeof message.text));
  return text.empty() ? "(no message)" : text;
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


// dlerror() text usually repeats the path ("/p/x.so: invalid ELF header"); the message already
// starts with it.
std::string load_failure_text(const fs::path& file, const boost::dll::fs::error_code& error) {
  const char* detail = dlerror();
  if (detail == nullptr) return error.message();
  std::string text = detail;
  const std::string prefix = file.string() + ": ";
  if (text.starts_with(prefix)) text.erase(0, prefix.size());
  return text;
}

const std::string& dnnl_version_text() {
  static const std::string text = [] {
    const dnnl_version_t* v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }();
  return text;
}

}  // namespace

// The order matters: nothing past abi_version is read before the ABI and the size are known good.
std::string abi_text(uint32_t version) {
  return std::to_string(S8NET_NORM_ABI_MAJOR_OF(version)) + "." + std::to_string(S8NET_NORM_ABI_MINOR_OF(version));
}

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

s8net_host_api make_host_api(const dnnl::engine& engine, const dnnl::stream& stream) {
  s8net_host_api host{};
  host.struct_size = sizeof(s8net_host_api);
  host.abi_version = S8NET_NORM_ABI_VERSION;
  host.host_version = S8NET_VERSION;
  host.dnnl_version = dnnl_version_text().c_str();
  // dnnl_engine_t is `struct dnnl_engine*`: the same type plugin_api.h declares without oneDNN.
  host.dnnl_engine = engine.get();
  host.dnnl_stream = stream.get();
  return host;
}

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

void require_readable_file(const fs::path& file) {
  const std::string where = file.string() + ": ";
  std::error_code ec;
  const fs::file_status status = fs::status(file, ec);
  if (!fs::exists(status)) throw Error(where + "no such file");
  if (!fs::is_regular_file(status)) throw Error(where + "not a regular file");
  if (::access(file.c_str(), R_OK) != 0) throw Error(where + "not readable: " + std::strerror(errno));
}

LoadedPlugin::LoadedPlugin(const fs::path& file, const dnnl::engine& engine, const dnnl::stream& stream)
    : engine_(engine), stream_(stream), host_(make_host_api(engine_, stream_)) {
  require_readable_file(file);
  const std::string where = file.string() + ": ";

  boost::dll::fs::error_code load_error;
  // RTLD_NOW: a missing symbol fails here, not in the middle of a training run. RTLD_LOCAL: two
  // plugins never resolve against each other's symbols (each has its own copy of its helpers).
  library_.load(boost::dll::fs::path(file.string()), load_error,
                boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (load_error) throw Error(where + "cannot load: " + load_failure_text(file, load_error));
  if (!library_.has(S8NET_NORM_PLUGIN_ENTRY_NAME))
    throw Error(where + "no entry point " S8NET_NORM_PLUGIN_ENTRY_NAME " (not an s8net normalization plugin?)");

  const auto& init = library_.get<std::remove_pointer_t<s8net_norm_plugin_init_fn>>(S8NET_NORM_PLUGIN_ENTRY_NAME);
  const s8net_norm_plugin* descriptor = nullptr;
  s8net_message message{};
  if (const s8net_status result = init(&host_, S8NET_NORM_ABI_VERSION, &descriptor, &message); result != S8NET_OK)
    throw Error(where + S8NET_NORM_PLUGIN_ENTRY_NAME " failed (" + status_name(result) + "): " + message_text(message));
  if (const std::string problem = descriptor_problem(descriptor); !problem.empty()) throw Error(where + problem);

  // Copies: the strings stay valid only while the library is loaded, PluginInfo copies may not.
  info_ = {descriptor->name,        descriptor->version, descriptor->description, descriptor->dnnl_version,
           descriptor->abi_version, file,                descriptor};
}

}  // namespace s8net
