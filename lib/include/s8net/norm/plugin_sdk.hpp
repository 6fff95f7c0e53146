// Header-only C++ helper for plugin authors: write an ordinary C++ class, then one macro,
// S8NET_NORM_PLUGIN(Class), generates the C descriptor and entry point of plugin_api.h.
// Exceptions thrown by the class become a status and a message at the boundary.
//
// The class provides:
//   static constexpr const char* kName, kVersion, kDescription;
//   static constexpr const char* kDnnlVersion;   ("" if the plugin does not use oneDNN)
//   static constexpr uint32_t kLayouts, kFlags;
//   static constexpr std::array<s8net_norm_option, K> kOptions;   (K may be 0)
//   Class(const s8net::sdk::Host& host, const s8net::sdk::Config& config);
//   int64_t channels() const;
//   void forward(s8net_mode, const s8net_tensor_desc&, const float* x, float* y);
//   void backward(const s8net_tensor_desc&, const float* x, const float* y, const float* dy, float* dx);
//   std::span<const s8net_norm_tensor> tensors(s8net_norm_tensor_kind) const;
// and, only if its evaluation is one per-channel affine map (see eval_affine in plugin_api.h):
//   void eval_affine(float* scale, float* shift) const;
// and, only if its evaluation is per sample an affine map set by the moments of the sample's
// channel planes (see eval_affine_from_moments in plugin_api.h):
//   void eval_affine_from_moments(const s8net_tensor_desc&, const s8net_plane_moments* moments,
//                                 float* scale, float* shift) const;
#ifndef S8NET_NORM_PLUGIN_SDK_HPP
#define S8NET_NORM_PLUGIN_SDK_HPP

#include <s8net/norm/plugin_api.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <span>
#include <stdexcept>
#include <string>

#define S8NET_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

namespace s8net::sdk {

// Throw this to choose the status the host sees; anything else becomes S8NET_ERROR_INTERNAL.
class Error : public std::runtime_error {
 public:
  Error(s8net_status status, const std::string& what) : std::runtime_error(what), status_(status) {}
  s8net_status status() const noexcept { return status_; }

 private:
  s8net_status status_;
};

inline void write_message(s8net_message* message, const char* text) noexcept {
  if (message == nullptr) return;
  std::snprintf(message->text, sizeof message->text, "%s", text);
}

// Runs f, turning exceptions into a status and a message.
template <class F>
s8net_status guarded(s8net_message* message, F&& f) noexcept {
  try {
    f();
    return S8NET_OK;
  } catch (const Error& e) {
    write_message(message, e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    write_message(message, "out of memory");
    return S8NET_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    write_message(message, e.what());
    return S8NET_ERROR_INTERNAL;
  } catch (...) {
    write_message(message, "unknown exception");
    return S8NET_ERROR_INTERNAL;
  }
}

using Host = s8net_host_api;

// The options of one create() call, checked against the descriptor's list.
class Config {
 public:
  Config(const s8net_norm_config& raw, std::span<const s8net_norm_option> known, const char* norm)
      : raw_(raw), known_(known) {
    if (raw.channels <= 0)
      throw Error(S8NET_ERROR_INVALID_ARGUMENT,
                  std::string(norm) + ": channels must be positive, got " + std::to_string(raw.channels));
    if (raw.option_count > 0 && raw.options == nullptr)
      throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(norm) + ": option count without options");
    for (size_t i = 0; i < raw.option_count; ++i) {
      const s8net_option_value& given = raw.options[i];
      if (given.name == nullptr)
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(norm) + ": option without a name");
      const s8net_norm_option* option = find(given.name);
      if (option == nullptr) {
        std::string accepted;
        for (const auto& k : known) accepted += (accepted.empty() ? "" : ", ") + std::string(k.name);
        throw Error(S8NET_ERROR_INVALID_ARGUMENT,
                    std::string(norm) + ": unknown option '" + given.name +
                        "' (accepts: " + (accepted.empty() ? std::string("none") : accepted) + ")");
      }
      const bool integral = given.value == std::floor(given.value);
      if (!(given.value >= option->min_value && given.value <= option->max_value) || (option->is_integer && !integral))
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(norm) + ": option '" + option->name +
                                                      "' = " + format(given.value) + " is out of range [" +
                                                      format(option->min_value) + ", " + format(option->max_value) +
                                                      "]" + (option->is_integer ? " or not an integer" : ""));
    }
  }

  int64_t channels() const noexcept { return raw_.channels; }
  bool fuse_relu() const noexcept { return raw_.fuse_relu != 0; }
  // The ranks this instance trains with (ABI 1.2), or nullptr from an older host, which trains in
  // one process: a plugin then behaves as with a single rank.
  const s8net_collective* collective() const noexcept {
    constexpr size_t end = offsetof(s8net_norm_config, collective) + sizeof(raw_.collective);
    const s8net_collective* c = raw_.struct_size >= end ? raw_.collective : nullptr;
    constexpr size_t needed = offsetof(s8net_collective, allreduce_sum_f32) + sizeof(c->allreduce_sum_f32);
    return c != nullptr && c->struct_size >= needed && c->allreduce_sum_f32 != nullptr ? c : nullptr;
  }

  double get(const char* name) const {
    for (size_t i = 0; i < raw_.option_count; ++i)
      if (std::strcmp(raw_.options[i].name, name) == 0) return raw_.options[i].value;
    if (const s8net_norm_option* option = find(name)) return option->default_value;
    throw Error(S8NET_ERROR_INTERNAL, std::string("option '") + name + "' is not declared");
  }

 private:
  const s8net_norm_option* find(const char* name) const noexcept {
    for (const auto& k : known_)
      if (name != nullptr && std::strcmp(k.name, name) == 0) return &k;
    return nullptr;
  }
  static std::string format(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", v);
    return buffer;
  }

  const s8net_norm_config& raw_;
  std::span<const s8net_norm_option> known_;
};

// Sums data over the ranks of `collective` in place (nothing to do without one, or with one rank);
// a failure becomes an Error carrying the host's message.
inline void allreduce_sum(const s8net_collective* collective, float* data, size_t count) {
  if (collective == nullptr || collective->size <= 1) return;
  s8net_message message{};
  const s8net_status status = collective->allreduce_sum_f32(collective->context, data, count, &message);
  if (status != S8NET_OK) {
    message.text[sizeof message.text - 1] = '\0';
    throw Error(status, std::string("allreduce across ranks failed: ") + message.text);
  }
}

// Index arithmetic of s8net_layout (see plugin_api.h).
struct Layout {
  int64_t n, c, hw, block, blocks;
  explicit Layout(const s8net_tensor_desc& d)
      : n(d.n),
        c(d.c),
        hw(d.h * d.w),
        block(static_cast<int64_t>(d.layout)),
        blocks((d.c + static_cast<int64_t>(d.layout) - 1) / static_cast<int64_t>(d.layout)) {}
  // Offset of (n, c, spatial index s).
  int64_t offset(int64_t in, int64_t ic, int64_t s) const noexcept {
    return ((in * blocks + ic / block) * hw + s) * block + ic % block;
  }
  // Floats of the whole buffer, padding included.
  int64_t padded_size() const noexcept { return n * blocks * hw * block; }
};

// Writes zeros to the padded lanes of the last channel block (C not a multiple of the block), as
// the ABI promises for every output.
inline void zero_padding(const Layout& layout, float* data) noexcept {
  if (layout.c == layout.blocks * layout.block) return;
  for (int64_t n = 0; n < layout.n; ++n)
    for (int64_t c = layout.c; c < layout.blocks * layout.block; ++c)
      for (int64_t s = 0; s < layout.hw; ++s) data[layout.offset(n, c, s)] = 0.f;
}

inline uint32_t layout_mask(s8net_layout layout) noexcept {
  switch (layout) {
    case S8NET_LAYOUT_NCHW:
      return S8NET_LAYOUT_MASK_NCHW;
    case S8NET_LAYOUT_NCHW8C:
      return S8NET_LAYOUT_MASK_NCHW8C;
    case S8NET_LAYOUT_NCHW16C:
      return S8NET_LAYOUT_MASK_NCHW16C;
  }
  return 0;
}

inline const char* layout_name(s8net_layout layout) noexcept {
  switch (layout) {
    case S8NET_LAYOUT_NCHW:
      return "nchw";
    case S8NET_LAYOUT_NCHW8C:
      return "nChw8c";
    case S8NET_LAYOUT_NCHW16C:
      return "nChw16c";
  }
  return "unknown";
}

// Checks a tensor description against what the plugin accepts and the instance's channels.
inline void check_desc(const s8net_tensor_desc* desc, uint32_t layouts, int64_t channels, const char* norm) {
  if (desc == nullptr) throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(norm) + ": null tensor description");
  if ((layout_mask(desc->layout) & layouts) == 0)
    throw Error(S8NET_ERROR_UNSUPPORTED, std::string(norm) + ": layout " + layout_name(desc->layout) + " (" +
                                             std::to_string(static_cast<int>(desc->layout)) + ") is not supported");
  if (desc->n <= 0 || desc->h <= 0 || desc->w <= 0 || desc->c != channels)
    throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(norm) + ": tensor " + std::to_string(desc->n) + "x" +
                                                  std::to_string(desc->c) + "x" + std::to_string(desc->h) + "x" +
                                                  std::to_string(desc->w) + " does not fit a layer of " +
                                                  std::to_string(channels) + " channels");
}

// The C glue for a plugin class T.
template <class T>
struct Glue {
  static s8net_norm_instance* handle(T* t) noexcept { return reinterpret_cast<s8net_norm_instance*>(t); }
  static T* self(s8net_norm_instance* i) noexcept { return reinterpret_cast<T*>(i); }

  static inline const s8net_host_api* host = nullptr;

  static s8net_status create(const s8net_norm_config* config, s8net_norm_instance** out,
                             s8net_message* message) noexcept {
    return guarded(message, [&] {
      if (config == nullptr || out == nullptr)
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(T::kName) + ": null argument to create");
      *out = nullptr;
      Config checked(*config, std::span<const s8net_norm_option>(T::kOptions), T::kName);
      if (checked.fuse_relu() && (T::kFlags & S8NET_NORM_FLAG_FUSES_RELU) == 0)
        throw Error(S8NET_ERROR_UNSUPPORTED, std::string(T::kName) + ": cannot fuse ReLU");
      *out = handle(new T(*host, checked));
    });
  }
  static void destroy(s8net_norm_instance* instance) noexcept { delete self(instance); }
  static s8net_status forward(s8net_norm_instance* instance, s8net_mode mode, const s8net_tensor_desc* desc,
                              const float* x, float* y, s8net_message* message) noexcept {
    return guarded(message, [&] {
      if (instance == nullptr || x == nullptr || y == nullptr)
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(T::kName) + ": null argument to forward");
      if (mode != S8NET_MODE_TRAIN && mode != S8NET_MODE_EVAL)
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(T::kName) + ": unknown mode");
      self(instance)->forward(mode, *desc_checked(instance, desc), x, y);
    });
  }
  static s8net_status backward(s8net_norm_instance* instance, const s8net_tensor_desc* desc, const float* x,
                               const float* y, const float* dy, float* dx, s8net_message* message) noexcept {
    return guarded(message, [&] {
      if (instance == nullptr || x == nullptr || y == nullptr || dy == nullptr || dx == nullptr)
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(T::kName) + ": null argument to backward");
      self(instance)->backward(*desc_checked(instance, desc), x, y, dy, dx);
    });
  }
  static s8net_status tensors(s8net_norm_instance* instance, s8net_norm_tensor_kind kind, s8net_norm_tensor* out,
                              size_t capacity, size_t* count, s8net_message* message) noexcept {
    return guarded(message, [&] {
      if (instance == nullptr || count == nullptr || (capacity > 0 && out == nullptr))
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(T::kName) + ": null argument to tensors");
      if (kind != S8NET_NORM_PARAMETERS && kind != S8NET_NORM_STATE)
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(T::kName) + ": unknown tensor kind");
      const std::span<const s8net_norm_tensor> all = self(instance)->tensors(kind);
      std::copy_n(all.begin(), std::min(capacity, all.size()), out);
      *count = all.size();
    });
  }

  static s8net_status eval_affine(s8net_norm_instance* instance, float* scale, float* shift,
                                  s8net_message* message) noexcept {
    return guarded(message, [&] {
      if (instance == nullptr || scale == nullptr || shift == nullptr)
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(T::kName) + ": null argument to eval_affine");
      if constexpr (kHasEvalAffine) self(instance)->eval_affine(scale, shift);
    });
  }
  static constexpr bool kHasEvalAffine = requires(const T& t, float* p) { t.eval_affine(p, p); };

  static s8net_status eval_affine_from_moments(s8net_norm_instance* instance, const s8net_tensor_desc* desc,
                                               const s8net_plane_moments* moments, float* scale, float* shift,
                                               s8net_message* message) noexcept {
    return guarded(message, [&] {
      if (instance == nullptr || moments == nullptr || scale == nullptr || shift == nullptr)
        throw Error(S8NET_ERROR_INVALID_ARGUMENT,
                    std::string(T::kName) + ": null argument to eval_affine_from_moments");
      if constexpr (kHasEvalAffineFromMoments)
        self(instance)->eval_affine_from_moments(*desc_checked(instance, desc), moments, scale, shift);
    });
  }
  static constexpr bool kHasEvalAffineFromMoments =
      requires(const T& t, const s8net_tensor_desc& d, const s8net_plane_moments* m, float* p) {
    t.eval_affine_from_moments(d, m, p, p);
  };
  // A member of either name that the checks above do not see (not const, other parameters) would
  // otherwise leave the entry out without a word.
  static_assert(
      kHasEvalAffine || !requires { &T::eval_affine; },
      "eval_affine must be callable as `void eval_affine(float* scale, float* shift) const`");
  static_assert(
      kHasEvalAffineFromMoments || !requires { &T::eval_affine_from_moments; },
      "eval_affine_from_moments must be callable as `void eval_affine_from_moments(const "
      "s8net_tensor_desc&, const s8net_plane_moments*, float* scale, float* shift) const`");

  static const s8net_tensor_desc* desc_checked(s8net_norm_instance* instance, const s8net_tensor_desc* desc) {
    check_desc(desc, T::kLayouts, self(instance)->channels(), T::kName);
    return desc;
  }

  static inline const s8net_norm_plugin descriptor = {S8NET_NORM_ABI_VERSION,
                                                      sizeof(s8net_norm_plugin),
                                                      T::kName,
                                                      T::kVersion,
                                                      T::kDescription,
                                                      T::kDnnlVersion,
                                                      T::kLayouts,
                                                      T::kFlags,
                                                      T::kOptions.data(),
                                                      T::kOptions.size(),
                                                      &create,
                                                      &destroy,
                                                      &forward,
                                                      &backward,
                                                      &tensors,
                                                      kHasEvalAffine ? &eval_affine : nullptr,
                                                      kHasEvalAffineFromMoments ? &eval_affine_from_moments : nullptr};

  static s8net_status init(const s8net_host_api* host_api, uint32_t host_abi, const s8net_norm_plugin** out,
                           s8net_message* message) noexcept {
    return guarded(message, [&] {
      if (S8NET_NORM_ABI_MAJOR_OF(host_abi) != S8NET_NORM_ABI_MAJOR)
        throw Error(S8NET_ERROR_ABI_MISMATCH, std::string(T::kName) + ": host ABI " +
                                                  std::to_string(S8NET_NORM_ABI_MAJOR_OF(host_abi)) +
                                                  " but plugin ABI " + std::to_string(S8NET_NORM_ABI_MAJOR));
      if (host_api == nullptr || out == nullptr || host_api->struct_size < sizeof(s8net_host_api))
        throw Error(S8NET_ERROR_INVALID_ARGUMENT, std::string(T::kName) + ": host table missing or too small");
      host = host_api;
      *out = &descriptor;
    });
  }
};

}  // namespace s8net::sdk

// Defines the plugin's exported entry point for class T.
#define S8NET_NORM_PLUGIN(T)                                                                                       \
  S8NET_PLUGIN_EXPORT s8net_status s8net_norm_plugin_init(const s8net_host_api* host, uint32_t host_abi,           \
                                                          const s8net_norm_plugin** out, s8net_message* message) { \
    return ::s8net::sdk::Glue<T>::init(host, host_abi, out, message);                                              \
  }

#endif  // S8NET_NORM_PLUGIN_SDK_HPP
