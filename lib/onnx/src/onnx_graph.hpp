// A thin layer over ONNX's GraphProto: nodes whose output is named after the node, and typed
// initializers, so that onnx_export.cpp reads as the list of layers.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace s8net::onnx_graph {

struct Attribute {
  std::string name;
  std::vector<int64_t> ints;  // an INTS attribute, or an INT one when `single`
  float value = 0;            // a FLOAT attribute when `is_float`
  bool single = false;
  bool is_float = false;
};
Attribute ints(std::string name, std::vector<int64_t> values);
Attribute integer(std::string name, int64_t value);
Attribute real(std::string name, float value);

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // Adds the node `name` and returns its output's name, which is `name` too.
  std::string node(const std::string& op, const std::string& name, std::initializer_list<std::string> inputs,
                   std::initializer_list<Attribute> attributes = {});
  // Adds an initializer and returns its name.
  std::string floats(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values);
  std::string int64s(const std::string& name, const std::vector<int64_t>& values);  // 1-D

 private:
  onnx::GraphProto& graph_;
};

// A tensor value_info's type: element type and dims, where a dim given as -1 is the free "N".
void set_tensor_type(onnx::ValueInfoProto& value, int32_t element_type, const std::vector<int64_t>& dims);

}  // namespace s8net::onnx_graph
