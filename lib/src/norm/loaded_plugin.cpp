#include "loaded_plugin.hpp"

#include "elf_extent.hpp"
#include "plugin_message.hpp"

#include <s8net/core/error.hpp>
#include <s8net/norm/plugin_descriptor.hpp>
#include <s8net/norm/plugin_file.hpp>

#include <dlfcn.h>

#include <string>
#include <type_traits>

namespace s8net {
namespace fs = std::filesystem;

namespace {

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

LoadedPlugin::LoadedPlugin(const fs::path& file, const dnnl::engine& engine, const dnnl::stream& stream)
    : engine_(engine), stream_(stream), host_(make_host_api(engine_, stream_)) {
  require_readable_file(file);
  require_complete_elf(file);
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
  info_ = {descriptor->name,
           descriptor->version,
           descriptor->description,
           descriptor->dnnl_version,
           descriptor->abi_version,
           file,
           descriptor};
}

}  // namespace s8net
