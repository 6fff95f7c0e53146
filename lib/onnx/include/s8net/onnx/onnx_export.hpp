// The network's evaluation as an ONNX model (opset 13) that ONNX Runtime and OpenCV's dnn run:
// input "input" [N, 3, 32, 32] float of normalized images (docs/network.md, "Input"), output
// "log_probabilities" [N, 10], N free. Initializers carry the original PyTorch model's state_dict
// names (interop/state_dict.hpp), so the graph reads like PyTorch's own export.
//
// BatchNorm stays a BatchNormalization node with the running statistics, under their state_dict
// names: runtimes fold it into the convolution themselves, and the file keeps every value of the
// state_dict. GroupNorm and LayerNorm (one group) are Reshape [N, G, -1], InstanceNormalization
// with unit scale and zero shift, Reshape back, then Mul and Add of the per-channel weight and
// bias: GroupNormalization needs opset 18, which OpenCV 4.6 and ONNX 1.12 do not know, and OpenCV
// 4.6 cannot run the same statistics written with ReduceMean. Those weights and biases are
// initializers of shape [C, 1, 1] (the state_dict's [C]), so that they broadcast over H and W.
// Dropout is left out (evaluation).
#pragma once

#include <s8net/core/context.hpp>
#include <s8net/data/augment.hpp>
#include <s8net/model/s8_network.hpp>

#include <filesystem>
#include <string>

namespace s8net {

// The norms an ONNX export expresses.
inline constexpr const char* kOnnxNorms[] = {"bn", "gn", "ln"};
inline constexpr int64_t kOnnxOpset = 13;

struct OnnxExportOptions {
  // The model takes uint8 RGB images [N, 32, 32, 3] (height, width, channel) as input "images" and
  // normalizes them itself (Cast, Transpose, Sub, Div) instead of taking "input".
  bool include_preprocessing = false;
  // What the images are normalized with: written in the model's metadata (and used by the
  // preprocessing), so whoever feeds "input" knows how to make it.
  Normalization normalization;
};

struct OnnxModel {
  std::string bytes;  // the serialized ModelProto
  int64_t nodes = 0;
  int64_t initializers = 0;
};

// The model, checked with ONNX's checker and strict shape inference before it is returned. Throws
// s8net::Error naming the norm when it is not one of kOnnxNorms, and for any option of the norm
// that the graph cannot express.
OnnxModel export_onnx(Context& context, S8Network& network, const OnnxExportOptions& options = {});

// Throws s8net::Error with ONNX's message when `bytes` is not a model that passes the checker and
// strict shape inference.
void check_onnx_model(const std::string& bytes);

// export_onnx's bytes written atomically (core/atomic_file.hpp).
OnnxModel save_onnx(const std::filesystem::path& path, Context& context, S8Network& network,
                    const OnnxExportOptions& options = {});

}  // namespace s8net
