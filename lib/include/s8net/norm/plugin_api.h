/*
 * The C interface between s8net and a normalization plugin: the only header a plugin needs.
 *
 * A plugin is one shared library exporting one symbol, s8net_norm_plugin_init. Everything that
 * crosses the boundary is a C type: plain structs, function pointers, status codes and a message
 * buffer. No C++ types and no exceptions cross it, so a plugin built with another compiler or
 * standard library still works. Structs only ever grow at the end; each starts with its size.
 *
 * Versioning: S8NET_NORM_ABI_VERSION = (major << 16) | minor. The host refuses a plugin of another
 * major version; a plugin refuses a host of another major version. Minor versions only append.
 */
#ifndef S8NET_NORM_PLUGIN_API_H
#define S8NET_NORM_PLUGIN_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define S8NET_NORM_ABI_MAJOR 1u
#define S8NET_NORM_ABI_MINOR 3u
#define S8NET_NORM_ABI_VERSION ((S8NET_NORM_ABI_MAJOR << 16) | S8NET_NORM_ABI_MINOR)
#define S8NET_NORM_ABI_MAJOR_OF(version) ((uint32_t)(version) >> 16)
#define S8NET_NORM_ABI_MINOR_OF(version) ((uint32_t)(version)&0xffffu)

/* The one exported symbol. */
#define S8NET_NORM_PLUGIN_ENTRY_NAME "s8net_norm_plugin_init"

typedef enum s8net_status {
  S8NET_OK = 0,
  S8NET_ERROR_INVALID_ARGUMENT = 1, /* bad option, shape or pointer */
  S8NET_ERROR_UNSUPPORTED = 2,      /* a layout, mode or shape this plugin does not handle */
  S8NET_ERROR_ABI_MISMATCH = 3,     /* host and plugin disagree on the ABI major version */
  S8NET_ERROR_OUT_OF_MEMORY = 4,
  S8NET_ERROR_INTERNAL = 5 /* anything else: the message says what */
} s8net_status;

/* Every call that can fail writes a NUL-terminated reason here (truncated to fit). */
typedef struct s8net_message {
  char text[512];
} s8net_message;

/*
 * Activation layouts. The value is the channel block B: element (n, c, y, x) of an N x C x H x W
 * tensor lives at ((n * ceil(C/B) + c/B) * H * W + y * W + x) * B + c % B. NCHW is the case B = 1.
 * With C not a multiple of B the last block is padded; a plugin writes zeros to padded lanes of
 * its outputs and never reads meaning into padded lanes of its inputs.
 */
typedef enum s8net_layout { S8NET_LAYOUT_NCHW = 1, S8NET_LAYOUT_NCHW8C = 8, S8NET_LAYOUT_NCHW16C = 16 } s8net_layout;

/* Bits of s8net_norm_plugin.layouts. */
#define S8NET_LAYOUT_MASK_NCHW 0x1u
#define S8NET_LAYOUT_MASK_NCHW8C 0x2u
#define S8NET_LAYOUT_MASK_NCHW16C 0x4u

typedef struct s8net_tensor_desc {
  int64_t n, c, h, w;
  s8net_layout layout;
} s8net_tensor_desc;

/* ABI 1.3. The moments of one (sample, channel) plane of h x w values: their mean and the sum of
 * their squared deviations from it. */
typedef struct s8net_plane_moments {
  double mean;
  double m2;
} s8net_plane_moments;

typedef enum s8net_mode {
  S8NET_MODE_TRAIN = 0, /* batch statistics; remember what backward needs; update running state */
  S8NET_MODE_EVAL = 1   /* inference: running state where the norm has one; no state change; each
                           sample's output depends on that sample alone (the host splits batches) */
} s8net_mode;

/* oneDNN handles (dnnl_engine_t, dnnl_stream_t), declared here so plugins that do not use oneDNN
 * need not include it. */
struct dnnl_engine;
struct dnnl_stream;

/* What the host offers a plugin. Valid from s8net_norm_plugin_init until the library unloads. */
typedef struct s8net_host_api {
  uint32_t struct_size;
  uint32_t abi_version;
  const char* host_version;        /* s8net version, "0.1.0" */
  const char* dnnl_version;        /* oneDNN version the host runs, "2.6.3" */
  struct dnnl_engine* dnnl_engine; /* the host's CPU engine; plugins using oneDNN must use it */
  struct dnnl_stream* dnnl_stream; /* the host's in-order stream on that engine */
} s8net_host_api;

/* A numeric option a norm accepts (groups, eps, momentum ...). */
typedef struct s8net_norm_option {
  const char* name;
  const char* description;
  double default_value;
  double min_value;
  double max_value;
  int32_t is_integer;
} s8net_norm_option;

typedef struct s8net_option_value {
  const char* name;
  double value;
} s8net_option_value;

/*
 * ABI 1.2. The processes (ranks) of one data-parallel training, as a collective an instance may
 * call during a S8NET_MODE_TRAIN forward or backward: synchronized BatchNorm sums its per-channel
 * statistics over every rank's share of the batch with it.
 *
 * Rules, which every host keeps and every plugin relies on:
 * - Every rank holds the same layers and calls them in the same order, once per layer per training
 *   forward and backward, each with that rank's share of the global batch (the host never splits a
 *   training call further). An instance that calls allreduce_sum_f32 in a call must do so on every
 *   rank, with the same count, in the same order; otherwise the ranks wait for each other forever.
 * - It is never called in S8NET_MODE_EVAL (evaluation is per sample) nor outside forward/backward.
 * - allreduce_sum_f32 replaces data[i], i < count, on every rank by the sum over the ranks of their
 *   data[i]. It returns S8NET_OK, or an error with a message the plugin passes on (the host then
 *   ends the training; the other ranks are stopped by the launcher).
 * - With one rank (size 1) it leaves data as it is: a plugin needs no special case.
 */
typedef struct s8net_collective {
  uint32_t struct_size;
  int32_t rank;  /* 0 .. size - 1 */
  int32_t size;  /* ranks of the training, >= 1 */
  void* context; /* the host's; passed back to allreduce_sum_f32 */
  s8net_status (*allreduce_sum_f32)(void* context, float* data, size_t count, s8net_message* message);
} s8net_collective;

/* What a layer asks of create(). Options not given take the descriptor's defaults. */
typedef struct s8net_norm_config {
  uint32_t struct_size;
  int64_t channels;
  int32_t fuse_relu; /* 1: output ReLU(norm(x)); only if the plugin sets S8NET_NORM_FLAG_FUSES_RELU */
  const s8net_option_value* options;
  size_t option_count;
  /* ABI 1.2 (absent when struct_size ends before it): the ranks this instance trains with, valid
   * for the instance's lifetime; never NULL from a 1.2 host (one rank in a single process). Per
   * instance rather than in s8net_host_api, because one loaded library serves instances of
   * different trainings (the conformance checker simulates several ranks in one process). */
  const s8net_collective* collective;
} s8net_norm_config;

/* A view of a plugin-owned float array, valid for the instance's lifetime. The host refuses an
 * instance reporting more than S8NET_MAX_TENSOR_VIEWS views of one kind, or a view of more than
 * S8NET_MAX_TENSOR_VIEW_SIZE floats, before it reads a single value: a norm's tensors are per
 * channel, so these are far above any real plugin's. */
#define S8NET_MAX_TENSOR_VIEWS 64
#define S8NET_MAX_TENSOR_VIEW_SIZE (INT64_C(1) << 24)
typedef struct s8net_norm_tensor {
  const char* name; /* "weight", "bias", "running_mean" ... */
  float* data;
  float* grad; /* parameters: the gradient backward() writes; state: NULL */
  int64_t size;
} s8net_norm_tensor;

typedef enum s8net_norm_tensor_kind {
  S8NET_NORM_PARAMETERS = 0, /* trainable, per channel: the host's optimizer updates data from grad */
  S8NET_NORM_STATE = 1       /* not trainable (running statistics): saved and restored with weights */
} s8net_norm_tensor_kind;

#define S8NET_NORM_FLAG_FUSES_RELU 0x1u

typedef struct s8net_norm_instance s8net_norm_instance;

/*
 * The plugin's descriptor. Functions never throw; they return a status and fill the message.
 * One instance is one normalization layer: it owns its parameters and state and may cache work
 * per tensor shape. The host calls an instance from one thread at a time; a plugin may use
 * OpenMP inside a call (the host's oneDNN runs on the same OpenMP pool).
 */
typedef struct s8net_norm_plugin {
  uint32_t abi_version; /* S8NET_NORM_ABI_VERSION the plugin was built against */
  uint32_t struct_size; /* sizeof(s8net_norm_plugin) the plugin was built with */
  const char* name;     /* how users select it: "bn", "gn", "ln" */
  const char* version;
  const char* description;
  const char* dnnl_version; /* oneDNN the plugin was built against, "" if it does not use it */
  uint32_t layouts;         /* S8NET_LAYOUT_MASK_* it accepts */
  uint32_t flags;           /* S8NET_NORM_FLAG_* */
  const s8net_norm_option* options;
  size_t option_count;

  s8net_status (*create)(const s8net_norm_config* config, s8net_norm_instance** out, s8net_message* message);
  void (*destroy)(s8net_norm_instance* instance);

  /* y = norm(x), ReLU'd if created with fuse_relu. x and y do not alias. */
  s8net_status (*forward)(s8net_norm_instance* instance, s8net_mode mode, const s8net_tensor_desc* desc, const float* x,
                          float* y, s8net_message* message);

  /* Gradients of the latest S8NET_MODE_TRAIN forward on this instance: given x and y of that
   * forward and dy = dL/dy, writes dx = dL/dx and overwrites (not accumulates) the parameters'
   * grad arrays. No two of x, y, dy, dx alias. */
  s8net_status (*backward)(s8net_norm_instance* instance, const s8net_tensor_desc* desc, const float* x, const float* y,
                           const float* dy, float* dx, s8net_message* message);

  /* Views of the instance's tensors of one kind. Writes min(capacity, total) views to out and the
   * total to *count; call with capacity 0 to learn the count. */
  s8net_status (*tensors)(s8net_norm_instance* instance, s8net_norm_tensor_kind kind, s8net_norm_tensor* out,
                          size_t capacity, size_t* count, s8net_message* message);

  /* ABI 1.1 (NULL, or absent from a 1.0 descriptor, when not provided). For a norm whose
   * evaluation is one per-channel affine map, the same for every sample and batch (BatchNorm with
   * its running statistics): writes scale[c] and shift[c], c < channels, such that a
   * S8NET_MODE_EVAL forward is y = scale[c] * x + shift[c] (then ReLU if fused), as of the
   * instance's current parameters and state. The host may then fold the norm into the convolution
   * before it for inference. A norm whose evaluation depends on the input (GroupNorm, LayerNorm)
   * leaves it NULL. */
  s8net_status (*eval_affine)(s8net_norm_instance* instance, float* scale, float* shift, s8net_message* message);

  /* ABI 1.3 (NULL, or absent from an older descriptor, when not provided). For a norm whose
   * S8NET_MODE_EVAL forward is, per sample, a per-channel affine map that depends on the sample only
   * through the moments of its channel planes (GroupNorm, LayerNorm, InstanceNorm): given
   * moments[n * desc->c + c] of a tensor x of shape desc (a layout the plugin accepts, though the
   * moments do not depend on it), writes
   * scale[n * desc->c + c] and shift[n * desc->c + c] such that a S8NET_MODE_EVAL forward of x is
   * y = scale * x + shift (then ReLU if fused), as of the instance's current parameters. The host may
   * then take the moments inside the convolution that produces x and apply the map inside the one
   * that reads y, with no pass of the norm's own. No state changes. */
  s8net_status (*eval_affine_from_moments)(s8net_norm_instance* instance, const s8net_tensor_desc* desc,
                                           const s8net_plane_moments* moments, float* scale, float* shift,
                                           s8net_message* message);
} s8net_norm_plugin;

/*
 * The entry point. The plugin checks host_abi (refusing another major version with
 * S8NET_ERROR_ABI_MISMATCH and both numbers in the message), may keep the host pointer, and sets
 * *out to a descriptor that stays valid until the library unloads.
 */
typedef s8net_status (*s8net_norm_plugin_init_fn)(const s8net_host_api* host, uint32_t host_abi,
                                                  const s8net_norm_plugin** out, s8net_message* message);

#ifdef __cplusplus
}
#endif

#endif /* S8NET_NORM_PLUGIN_API_H */
