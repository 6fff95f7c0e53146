#include "onnx_graph.hpp"

#include <s8net/core/atomic_file.hpp>
#include <s8net/core/error.hpp>
#include <s8net/data/dataset.hpp>
#include <s8net/interop/state_dict.hpp>
#include <s8net/onnx/onnx_export.hpp>
#include <s8net/train/network_state.hpp>

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <map>

namespace s8net {
namespace {

static_assert(std::endian::native == std::endian::little, "ONNX raw tensor data is little-endian");

using onnx_graph::GraphBuilder;
using onnx_graph::integer;
using onnx_graph::ints;
using onnx_graph::real;

std::string shortest(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return std::string(text, end);
}

std::string listed(const std::array<float, 3>& values) {
  return shortest(values[0]) + ", " + shortest(values[1]) + ", " + shortest(values[2]);
}

// How the norm layers compute, from the network's configuration (the plugins' defaults where it
// sets nothing).
struct NormSettings {
  std::string norm;
  float eps = 1e-5f;
  int64_t groups = 0;  // GroupNorm's groups; 0 for BatchNorm
};

NormSettings norm_settings(const NetworkConfig& config) {
  const std::string& norm = config.norm;
  if (std::none_of(std::begin(kOnnxNorms), std::end(kOnnxNorms), [&](const char* n) { return norm == n; }))
    throw Error("norm '" + norm + "': ONNX export expresses bn, gn and ln only");
  NormSettings settings{norm};
  const auto option = [&](const char* name, double fallback) {
    const auto found = config.norm_options.find(name);
    return found == config.norm_options.end() ? fallback : found->second;
  };
  settings.eps = static_cast<float>(option("eps", 1e-5));
  settings.groups = norm == "gn" ? static_cast<int64_t>(option("groups", 2)) : norm == "ln" ? 1 : 0;
  return settings;
}

// The network's tensors under the original model's names, by s8net's name ("param/C1.conv.weight").
class NamedTensors {
 public:
  NamedTensors(Context& context, S8Network& network) : entries_(original_state_dict(network)) {
    for (NamedValues& t : capture_tensors(context, network, nullptr)) values_[t.name] = std::move(t.values);
  }
  const StateDictEntry& entry(const std::string& s8net_name) const {
    for (const StateDictEntry& e : entries_)
      if (e.s8net_name == s8net_name) return e;
    throw Error("ONNX export: the network has no " + s8net_name);
  }
  const std::vector<float>& values(const std::string& s8net_name) const { return values_.at(s8net_name); }

 private:
  std::vector<StateDictEntry> entries_;
  std::map<std::string, std::vector<float>> values_;
};

class NetworkGraph {
 public:
  NetworkGraph(GraphBuilder& graph, const NamedTensors& tensors, NormSettings norm)
      : graph_(graph), tensors_(tensors), norm_(std::move(norm)) {}

  // A state_dict tensor as an initializer of its own name and shape, or of `dims` when given.
  std::string initializer(const std::string& s8net_name, std::vector<int64_t> dims = {}) {
    const StateDictEntry& e = tensors_.entry(s8net_name);
    return graph_.floats(e.name, dims.empty() ? e.shape : dims, tensors_.values(s8net_name));
  }

  std::string conv(const std::string& stage, const std::string& x) {
    const std::string weight = initializer("param/" + stage + ".conv.weight");
    const int64_t kernel = tensors_.entry("param/" + stage + ".conv.weight").shape.at(3), pad = kernel / 2;
    return graph_.node(
        "Conv", stage + ".conv", {x, weight, initializer("param/" + stage + ".conv.bias")},
        {ints("kernel_shape", {kernel, kernel}), ints("pads", {pad, pad, pad, pad}), ints("strides", {1, 1})});
  }

  // C: 3x3 conv, norm, ReLU; `size` is the layer's height and width.
  std::string conv_norm_relu(const std::string& stage, const std::string& x, int64_t size) {
    const std::string c = conv(stage, x);
    const int64_t channels = tensors_.entry("param/" + stage + ".conv.weight").shape.at(0);
    const std::string n = norm_.groups == 0 ? batch_norm(stage, c) : group_norm(stage, c, channels, size);
    return graph_.node("Relu", stage + ".relu", {n});
  }

  std::string max_pool(const std::string& name, const std::string& x) {
    return graph_.node("MaxPool", name, {x}, {ints("kernel_shape", {2, 2}), ints("strides", {2, 2})});
  }

  GraphBuilder& graph() { return graph_; }

 private:
  std::string batch_norm(const std::string& stage, const std::string& x) {
    const std::string p = "param/" + stage + ".norm.", s = "state/" + stage + ".norm.";
    return graph_.node("BatchNormalization", stage + ".norm",
                       {x, initializer(p + "weight"), initializer(p + "bias"), initializer(s + "running_mean"),
                        initializer(s + "running_var")},
                       {real("epsilon", norm_.eps)});
  }

  // GroupNorm as InstanceNormalization over [N, G, C/G x H x W], then the per-channel affine.
  std::string group_norm(const std::string& stage, const std::string& x, int64_t channels, int64_t size) {
    const int64_t g = norm_.groups;
    if (g < 1 || channels % g != 0)
      throw Error("norm '" + norm_.norm + "': groups=" + std::to_string(g) + " does not divide " +
                  std::to_string(channels) + " channels");
    const std::string name = stage + ".norm";
    const std::string grouped =
        graph_.node("Reshape", name + ".grouped", {x, graph_.int64s(name + ".grouped_shape", {0, g, -1})});
    const std::string normalized = graph_.node(
        "InstanceNormalization", name + ".normalized",
        {grouped, graph_.floats(name + ".group_scale", {g}, std::vector<float>(static_cast<size_t>(g), 1.f)),
         graph_.floats(name + ".group_shift", {g}, std::vector<float>(static_cast<size_t>(g), 0.f))},
        {real("epsilon", norm_.eps)});
    const std::string back =
        graph_.node("Reshape", name + ".ungrouped",
                    {normalized, graph_.int64s(name + ".ungrouped_shape", {0, channels, size, size})});
    const std::string p = "param/" + stage + ".norm.";
    const std::string scaled =
        graph_.node("Mul", name + ".scaled", {back, initializer(p + "weight", {channels, 1, 1})});
    return graph_.node("Add", name, {scaled, initializer(p + "bias", {channels, 1, 1})});
  }

  GraphBuilder& graph_;
  const NamedTensors& tensors_;
  NormSettings norm_;
};

// uint8 [N, 32, 32, 3] -> the network's input, as normalize() in data/augment.hpp computes it.
std::string preprocessing(GraphBuilder& graph, const Normalization& normalization) {
  std::vector<float> scale(3), offset(3);
  for (size_t c = 0; c < 3; ++c) {
    scale[c] = 1.f / (255.f * normalization.std[c]);
    offset[c] = normalization.mean[c] / normalization.std[c];
  }
  // Constants of shape [3, 1, 1], not [1, 3, 1, 1]: OpenCV 4.6's dnn applies the latter's values
  // to the wrong channel.
  const std::string floats = graph.node("Cast", "images.float", {"images"}, {integer("to", onnx::TensorProto::FLOAT)});
  const std::string planes = graph.node("Transpose", "images.planes", {floats}, {ints("perm", {0, 3, 1, 2})});
  const std::string scaled =
      graph.node("Mul", "images.scaled", {planes, graph.floats("normalization.scale", {3, 1, 1}, scale)});
  return graph.node("Sub", "input", {scaled, graph.floats("normalization.offset", {3, 1, 1}, offset)});
}

// docs/network.md's layers, C1 C2 c3 P1 C3 C4 C5 c6 P2 C7 C8 C9 GAP c10, and the log-softmax.
void add_layers(NetworkGraph& net, const std::string& input) {
  std::string x = net.conv_norm_relu("C1", input, 32);
  x = net.conv_norm_relu("C2", x, 32);
  x = net.max_pool("P1", net.conv("c3", x));
  const std::string skip2 = net.conv_norm_relu("C3", x, 16);
  x = net.conv_norm_relu("C5", net.conv_norm_relu("C4", skip2, 16), 16);
  x = net.graph().node("Add", "block2.skip", {x, skip2});
  x = net.max_pool("P2", net.conv("c6", x));
  const std::string skip3 = net.conv_norm_relu("C7", x, 8);
  x = net.conv_norm_relu("C9", net.conv_norm_relu("C8", skip3, 8), 8);
  x = net.graph().node("Add", "block3.skip", {x, skip3});
  x = net.conv("c10", net.graph().node("GlobalAveragePool", "GAP", {x}));
  x = net.graph().node("Flatten", "logits", {x}, {integer("axis", 1)});
  net.graph().node("LogSoftmax", "log_probabilities", {x}, {integer("axis", 1)});
}

std::string input_description(const Normalization& n) {
  return "RGB images of 32x32 pixels as float planes [N, 3, 32, 32], each channel normalized as "
         "(value / 255 - mean) / std with mean (" +
         listed(n.mean) + ") and std (" + listed(n.std) + ")";
}

void describe(onnx::ModelProto& model, S8Network& network, const NormSettings& norm, const OnnxExportOptions& options) {
  std::string classes;
  for (const std::string_view c : kClassNames) {
    if (!classes.empty()) classes += ',';
    classes += c;
  }
  std::string norm_options = "{";
  for (const auto& [key, value] : network.config().norm_options) {
    if (norm_options.size() > 1) norm_options += ',';
    norm_options.append("\"").append(key).append("\":").append(shortest(static_cast<float>(value)));
  }
  norm_options += '}';
  const std::string input = options.include_preprocessing
                                ? "Input \"images\": uint8 [N, 32, 32, 3] RGB images (height, width, channel); the "
                                  "model normalizes them into " +
                                      input_description(options.normalization) + ". "
                                : "Input \"input\": " + input_description(options.normalization) + ". ";
  model.set_doc_string("The S8 CIFAR-10 network of s8net, norm '" + norm.norm + "', evaluation mode. " + input +
                       "Output \"log_probabilities\": [N, 10], the natural logarithm of each class's probability, "
                       "classes in the order " +
                       classes + ".");
  const std::vector<std::pair<std::string, std::string>> properties = {
      {"s8net.norm", norm.norm},
      {"s8net.norm_options", norm_options},
      {"s8net.training_steps", std::to_string(network.training_steps())},
      {"input.layout", options.include_preprocessing ? "NHWC uint8 RGB" : "NCHW float RGB, normalized"},
      {"normalization.mean", listed(options.normalization.mean)},
      {"normalization.std", listed(options.normalization.std)},
      {"normalization.formula", "(value / 255 - mean) / std, per channel"},
      {"classes", classes}};
  for (const auto& [key, value] : properties) {
    onnx::StringStringEntryProto& p = *model.add_metadata_props();
    p.set_key(key);
    p.set_value(value);
  }
}

}  // namespace

OnnxModel export_onnx(Context& context, S8Network& network, const OnnxExportOptions& options) {
  const NormSettings norm = norm_settings(network.config());
  const NamedTensors tensors(context, network);

  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.set_producer_name("s8net");
  model.set_producer_version(S8NET_VERSION);
  model.set_model_version(1);
  onnx::OperatorSetIdProto& opset = *model.add_opset_import();
  opset.set_domain("");
  opset.set_version(kOnnxOpset);
  describe(model, network, norm, options);

  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("s8net_" + norm.norm);
  onnx::ValueInfoProto& input = *graph.add_input();
  if (options.include_preprocessing) {
    input.set_name("images");
    onnx_graph::set_tensor_type(input, onnx::TensorProto::UINT8, {-1, 32, 32, 3});
  } else {
    input.set_name("input");
    onnx_graph::set_tensor_type(input, onnx::TensorProto::FLOAT, {-1, 3, 32, 32});
    input.set_doc_string(input_description(options.normalization));
  }
  onnx::ValueInfoProto& output = *graph.add_output();
  output.set_name("log_probabilities");
  onnx_graph::set_tensor_type(output, onnx::TensorProto::FLOAT, {-1, S8Network::kClasses});

  GraphBuilder builder(graph);
  NetworkGraph net(builder, tensors, norm);
  add_layers(net, options.include_preprocessing ? preprocessing(builder, options.normalization) : "input");

  OnnxModel result;
  result.nodes = graph.node_size();
  result.initializers = graph.initializer_size();
  if (!model.SerializeToString(&result.bytes)) throw Error("ONNX export: the model does not serialize");
  check_onnx_model(result.bytes);
  return result;
}

void check_onnx_model(const std::string& bytes) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) throw Error("ONNX checker: not a serialized ModelProto");
  try {
    onnx::checker::check_model(model);
    // What onnx.checker.check_model(full_check=True) adds: strict shape and type inference.
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (const size_t end = message.find('\n'); end != std::string::npos) message.resize(end);
    throw Error("ONNX checker: " + message);
  }
}

OnnxModel save_onnx(const std::filesystem::path& path, Context& context, S8Network& network,
                    const OnnxExportOptions& options) {
  OnnxModel model = export_onnx(context, network, options);
  write_file_atomically(path, std::string_view(model.bytes));
  return model;
}

}  // namespace s8net
