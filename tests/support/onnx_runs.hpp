// Running an exported ONNX model through OpenCV's dnn, an ONNX runtime independent of s8net and of
// ONNX's own libraries.
#pragma once

#include <s8net/model/s8_network.hpp>

#include <opencv2/dnn.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace s8net::test {

// OpenCV's log-probabilities (batch x 10, row-major) for `input` fed as `input_name` of `dims`.
template <class T>
std::vector<float> opencv_outputs(const std::string& model, std::vector<int> dims, std::span<const T> input, int type,
                                  const std::string& input_name) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(model.data(), model.size());
  cv::Mat blob(static_cast<int>(dims.size()), dims.data(), type, const_cast<T*>(input.data()));
  net.setInput(blob, input_name);
  const cv::Mat out = net.forward("log_probabilities");
  const cv::Mat flat = out.reshape(1, 1);
  return {flat.ptr<float>(), flat.ptr<float>() + flat.total()};
}

inline std::vector<float> opencv_outputs(const std::string& model, std::span<const float> images) {
  const int batch = static_cast<int>(images.size() / static_cast<size_t>(S8Network::kImageValues));
  return opencv_outputs(model, {batch, 3, 32, 32}, images, CV_32F, "input");
}

inline float max_abs_difference(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return INFINITY;
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace s8net::test
