// libFuzzer target: what the host checks of a plugin before using it. The input becomes a
// descriptor (ABI version, struct size, name, strings that may be missing, layouts, options with
// any values, functions that may be null) and the options of a create() call; the registry's
// validation must return a verdict and the SDK's option check must accept or throw sdk::Error,
// whatever the bytes.
#include "support/inert_plugin_functions.hpp"

#include <s8net/norm/plugin_descriptor.hpp>
#include <s8net/norm/plugin_sdk.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

// A string the plugin might hand over: missing (null) or of any bytes, NUL-terminated.
const char* maybe_string(FuzzedDataProvider& in, std::vector<std::string>& keep) {
  if (in.ConsumeBool()) return nullptr;
  keep.push_back(in.ConsumeRandomLengthString(48));
  return keep.back().c_str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::vector<std::string> strings;
  strings.reserve(64);  // c_str() pointers stay valid: no reallocation

  s8net_norm_plugin d{};
  d.abi_version = in.ConsumeBool() ? S8NET_NORM_ABI_VERSION : in.ConsumeIntegral<uint32_t>();
  d.struct_size = in.ConsumeBool() ? sizeof(s8net_norm_plugin) : in.ConsumeIntegral<uint32_t>();
  d.name = maybe_string(in, strings);
  d.version = maybe_string(in, strings);
  d.description = maybe_string(in, strings);
  d.dnnl_version = maybe_string(in, strings);
  d.layouts = in.ConsumeIntegral<uint32_t>();
  d.flags = in.ConsumeIntegral<uint32_t>();
  std::vector<s8net_norm_option> options(in.ConsumeIntegralInRange<size_t>(0, 6));
  for (s8net_norm_option& o : options) {
    o.name = maybe_string(in, strings);
    o.description = maybe_string(in, strings);
    o.default_value = in.ConsumeFloatingPoint<double>();
    o.min_value = in.ConsumeFloatingPoint<double>();
    o.max_value = in.ConsumeFloatingPoint<double>();
    o.is_integer = in.ConsumeIntegral<int32_t>();
  }
  d.option_count = options.size();
  d.options = options.empty() || in.ConsumeBool() ? (in.ConsumeBool() ? nullptr : options.data()) : options.data();
  namespace inert = s8net::test::inert;
  d.create = in.ConsumeBool() ? inert::create : nullptr;
  d.destroy = in.ConsumeBool() ? inert::destroy : nullptr;
  d.forward = in.ConsumeBool() ? inert::forward : nullptr;
  d.backward = in.ConsumeBool() ? inert::backward : nullptr;
  d.tensors = in.ConsumeBool() ? inert::tensors : nullptr;
  d.eval_affine = in.ConsumeBool() ? inert::eval_affine : nullptr;
  d.eval_affine_from_moments = in.ConsumeBool() ? inert::eval_affine_from_moments : nullptr;

  const std::string problem = s8net::descriptor_problem(&d);
  if (!problem.empty()) return 0;
  // An optional entry only from a descriptor that declares its minor and is long enough to hold it.
  const auto holds = [&](uint32_t minor, size_t end) {
    return S8NET_NORM_ABI_MINOR_OF(d.abi_version) >= minor && d.struct_size >= end;
  };
  constexpr size_t kEvalAffineEnd = offsetof(s8net_norm_plugin, eval_affine) + sizeof d.eval_affine;
  if (s8net::eval_affine_entry(d) != (holds(1, kEvalAffineEnd) ? d.eval_affine : nullptr)) __builtin_trap();
  constexpr size_t kFromMomentsEnd =
      offsetof(s8net_norm_plugin, eval_affine_from_moments) + sizeof d.eval_affine_from_moments;
  if (s8net::eval_affine_from_moments_entry(d) != (holds(3, kFromMomentsEnd) ? d.eval_affine_from_moments : nullptr))
    __builtin_trap();
  if (d.option_count == 0) return 0;

  // A valid descriptor's options meet create()'s arguments: the SDK's check of a configuration.
  std::vector<s8net_option_value> given(in.ConsumeIntegralInRange<size_t>(0, 4));
  for (s8net_option_value& v : given) {
    v.name = in.ConsumeBool() && !options.empty()
                 ? options[in.ConsumeIntegralInRange<size_t>(0, options.size() - 1)].name
                 : maybe_string(in, strings);
    v.value = in.ConsumeFloatingPoint<double>();
  }
  // No collective: what a host that trains alone may give (the SDK then sees one rank).
  s8net_norm_config raw{sizeof(s8net_norm_config),
                        in.ConsumeIntegral<int64_t>(),
                        in.ConsumeBool() ? 1 : 0,
                        given.empty() ? nullptr : given.data(),
                        given.size(),
                        nullptr};
  try {
    const s8net::sdk::Config config(raw, {d.options, d.option_count}, d.name);
    for (const s8net_norm_option& o : options) static_cast<void>(config.get(o.name));
  } catch (const s8net::sdk::Error&) {
  }
  return 0;
}
