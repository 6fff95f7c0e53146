#include "onnx_graph.hpp"

#include <s8net/core/error.hpp>

namespace s8net::onnx_graph {

Attribute ints(std::string name, std::vector<int64_t> values) {
  return {std::move(name), std::move(values), 0, false, false};
}
Attribute integer(std::string name, int64_t value) { return {std::move(name), {value}, 0, true, false}; }
Attribute real(std::string name, float value) { return {std::move(name), {}, value, false, true}; }

std::string GraphBuilder::node(const std::string& op, const std::string& name,
                               std::initializer_list<std::string> inputs, std::initializer_list<Attribute> attributes) {
  onnx::NodeProto& n = *graph_.add_node();
  n.set_op_type(op);
  n.set_name(name);
  for (const std::string& input : inputs) n.add_input(input);
  n.add_output(name);
  for (const Attribute& a : attributes) {
    onnx::AttributeProto& attribute = *n.add_attribute();
    attribute.set_name(a.name);
    if (a.is_float) {
      attribute.set_type(onnx::AttributeProto::FLOAT);
      attribute.set_f(a.value);
    } else if (a.single) {
      attribute.set_type(onnx::AttributeProto::INT);
      attribute.set_i(a.ints.at(0));
    } else {
      attribute.set_type(onnx::AttributeProto::INTS);
      for (const int64_t v : a.ints) attribute.add_ints(v);
    }
  }
  return name;
}

std::string GraphBuilder::floats(const std::string& name, const std::vector<int64_t>& dims,
                                 const std::vector<float>& values) {
  int64_t count = 1;
  for (const int64_t d : dims) count *= d;
  if (count != static_cast<int64_t>(values.size()))
    throw Error("ONNX export: " + name + " has " + std::to_string(values.size()) + " values for " +
                std::to_string(count) + " elements");
  onnx::TensorProto& t = *graph_.add_initializer();
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (const int64_t d : dims) t.add_dims(d);
  // Raw data is little-endian by the format's definition, as this machine's floats are.
  t.set_raw_data(values.data(), values.size() * sizeof(float));
  return name;
}

std::string GraphBuilder::int64s(const std::string& name, const std::vector<int64_t>& values) {
  onnx::TensorProto& t = *graph_.add_initializer();
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(static_cast<int64_t>(values.size()));
  for (const int64_t v : values) t.add_int64_data(v);
  return name;
}

void set_tensor_type(onnx::ValueInfoProto& value, int32_t element_type, const std::vector<int64_t>& dims) {
  onnx::TypeProto_Tensor& tensor = *value.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(element_type);
  for (const int64_t d : dims) {
    onnx::TensorShapeProto_Dimension& dim = *tensor.mutable_shape()->add_dim();
    if (d < 0)
      dim.set_dim_param("N");
    else
      dim.set_dim_value(d);
  }
}

}  // namespace s8net::onnx_graph
