// Conv2d against a naive double-precision convolution: forward, and backward (weight, bias and
// input gradients) against central finite differences of the reference, for 3x3 and 1x1 kernels,
// channel counts that do and do not fill a block (3, 8, 12, 16), in nchw, nChw8c and nChw16c,
// with direct and Winograd convolution, also mixed pass by pass.
#include <s8net/core/layout.hpp>
#include <s8net/ops/conv.hpp>
#include <support/reference.hpp>

#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace s8net {
namespace {

using test::activation_desc;
using test::all_close;
using test::kForwardTolerance;
using test::kGradientTolerance;
using test::make_tensor;

struct ConvCase {
  const char* name;
  int64_t in_channels, out_channels, kernel, batch, height, width;
  ConvAlgorithms algorithms = {};
  ConvSpec spec() const { return {name, in_channels, out_channels, kernel, height, width, algorithms}; }
  Dims src_dims() const { return {batch, in_channels, height, width}; }
  Dims dst_dims() const { return {batch, out_channels, height, width}; }
};

void PrintTo(const ConvCase& c, std::ostream* os) {
  *os << c.name << " (batch " << c.batch << ", " << c.height << "x" << c.width << ")";
}

const ConvCase kCases[] = {
    {"k3_3to8", 3, 8, 3, 3, 5, 4},  // the first layer's shape: 3 input channels
    {"k3_8to12", 8, 12, 3, 2, 4, 6},
    {"k3_12to16", 12, 16, 3, 2, 5, 5},
    {"k3_16to16", 16, 16, 3, 2, 4, 4},
    {"k1_16to12", 16, 12, 1, 3, 4, 5},
    {"k1_12to3", 12, 3, 1, 2, 6, 4},
    // Winograd where oneDNN has it (nChw16c on AVX-512), direct otherwise; 5x6 is not a whole
    // number of its 4x4 output tiles, 8 input channels fill half a 16-block.
    {"k3_16to16_winograd", 16, 16, 3, 2, 5, 6, ConvAlgorithms::all(ConvAlgorithm::winograd)},
    {"k3_8to16_winograd", 8, 16, 3, 2, 4, 4, ConvAlgorithms::all(ConvAlgorithm::winograd)},
    // Passes with different algorithms share the weights, their gradient and its layout (C2's).
    {"k3_16to16_winograd_weight_gradient",
     16,
     16,
     3,
     2,
     5,
     6,
     {ConvAlgorithm::direct, ConvAlgorithm::direct, ConvAlgorithm::winograd}},
    {"k3_16to16_winograd_forward",
     16,
     16,
     3,
     2,
     4,
     4,
     {ConvAlgorithm::winograd, ConvAlgorithm::direct, ConvAlgorithm::direct}},
};

// The logical (plain) inputs of one case and what the double reference says about them. The loss
// is sum(r * y) for a random r, so dLoss/dy = r is the diff_dst fed to the op.
struct Problem {
  std::vector<float> x, weight, bias, r;
  std::vector<double> y, dx, dweight, dbias;  // reference output and finite-difference gradients
};

Problem make_problem(const ConvCase& c) {
  const ConvSpec spec = c.spec();
  Problem p;
  p.x = test::random_normal(element_count(c.src_dims()), 1);
  p.weight = test::random_normal(spec.parameter_count() - spec.out_channels, 2, 0.3f);
  p.bias = test::random_normal(spec.out_channels, 3);
  p.r = test::random_normal(element_count(c.dst_dims()), 4);

  std::vector<double> x = test::to_double(p.x), w = test::to_double(p.weight), b = test::to_double(p.bias);
  const std::vector<double> r = test::to_double(p.r);
  const auto forward = [&] { return test::conv2d_reference(x, c.src_dims(), w, b, c.out_channels, c.kernel); };
  const auto loss = [&] { return test::dot(r, forward()); };
  p.y = forward();
  // The loss is linear in each of x, w and b, so a large step costs no truncation error.
  p.dx = test::central_differences(loss, x, 0.5);
  p.dweight = test::central_differences(loss, w, 0.5);
  p.dbias = test::central_differences(loss, b, 0.5);
  return p;
}

// The finite differences dominate the run time and do not depend on the layout: one per case.
const Problem& problem_of(const ConvCase& c) {
  static std::map<std::string, Problem> problems;
  auto found = problems.find(c.name);
  if (found == problems.end()) found = problems.emplace(c.name, make_problem(c)).first;
  return found->second;
}

class ConvTest : public ::testing::TestWithParam<std::tuple<ConvCase, ActivationLayout>> {
 protected:
  const ConvCase& conv_case() const { return std::get<0>(GetParam()); }
  const Problem& problem() const { return problem_of(conv_case()); }
  dnnl::memory::desc src_desc() const { return activation_desc(conv_case().src_dims(), std::get<1>(GetParam())); }
  dnnl::memory::desc dst_desc() const { return activation_desc(conv_case().dst_dims(), std::get<1>(GetParam())); }

  // Weights in the layout oneDNN prefers for these activation descs, holding the problem's values.
  ConvWeights make_weights(const dnnl::memory::desc& src, const dnnl::memory::desc& dst) {
    const ConvSpec spec = conv_case().spec();
    ConvWeights weights(context_, spec, ConvWeights::preferred_desc(context_.engine(), spec, src, dst));
    from_plain(context_, problem().weight, weights.weight.value);
    from_plain(context_, problem().bias, weights.bias.value);
    return weights;
  }

  void expect_weight_gradients(const ConvWeights& weights) {
    EXPECT_TRUE(all_close(to_plain(context_, weights.weight.grad), problem().dweight, kGradientTolerance)) << "weight";
    EXPECT_TRUE(all_close(to_plain(context_, weights.bias.grad), problem().dbias, kGradientTolerance)) << "bias";
  }

  Context context_;
};

TEST_P(ConvTest, ForwardMatchesReference) {
  ConvWeights weights = make_weights(src_desc(), dst_desc());
  Conv2d conv(context_, weights, src_desc(), dst_desc(), true);
  const Tensor x = make_tensor(context_, src_desc(), problem().x), y(dst_desc(), context_.engine());
  conv.forward(x, y);
  EXPECT_TRUE(all_close(to_plain(context_, y), problem().y, kForwardTolerance));
}

TEST_P(ConvTest, BackwardMatchesFiniteDifferences) {
  ConvWeights weights = make_weights(src_desc(), dst_desc());
  Conv2d conv(context_, weights, src_desc(), dst_desc(), true);
  const Tensor x = make_tensor(context_, src_desc(), problem().x), y(dst_desc(), context_.engine());
  const Tensor dy = make_tensor(context_, dst_desc(), problem().r), dx(src_desc(), context_.engine());
  conv.forward(x, y);
  // Twice: backward overwrites the gradients (a second call accumulating would double them).
  conv.backward(x, dy, &dx);
  conv.backward(x, dy, &dx);
  expect_weight_gradients(weights);
  EXPECT_TRUE(all_close(to_plain(context_, dx), problem().dx, kGradientTolerance)) << "input";
}

TEST_P(ConvTest, WithoutInputGradientStillWritesWeightGradients) {
  ConvWeights weights = make_weights(src_desc(), dst_desc());
  Conv2d conv(context_, weights, src_desc(), dst_desc(), false);
  const Tensor x = make_tensor(context_, src_desc(), problem().x), y(dst_desc(), context_.engine());
  const Tensor dy = make_tensor(context_, dst_desc(), problem().r);
  conv.forward(x, y);
  conv.backward(x, dy, nullptr);
  expect_weight_gradients(weights);

  // A diff_src handed in anyway is left alone: backward-data does not run.
  const std::vector<float> sentinel(problem().x.size(), 7.f);
  const Tensor dx = make_tensor(context_, src_desc(), sentinel);
  conv.backward(x, dy, &dx);
  EXPECT_EQ(to_plain(context_, dx), sentinel);
}

// The network's first conv lets oneDNN choose the image's layout (format_tag::any); the caller then
// allocates the input with conv.src_desc().
TEST_P(ConvTest, FirstLayerWithAnySourceLayout) {
  const dnnl::memory::desc any(conv_case().src_dims(), dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
  ConvWeights weights = make_weights(any, dst_desc());
  Conv2d conv(context_, weights, any, dst_desc(), false);
  ASSERT_EQ(conv.src_desc().dims(), conv_case().src_dims());
  EXPECT_EQ(conv.dst_desc(), dst_desc());
  const Tensor x = make_tensor(context_, conv.src_desc(), problem().x), y(dst_desc(), context_.engine());
  const Tensor dy = make_tensor(context_, dst_desc(), problem().r);
  conv.forward(x, y);
  EXPECT_TRUE(all_close(to_plain(context_, y), problem().y, kForwardTolerance));
  conv.backward(x, dy, nullptr);
  expect_weight_gradients(weights);
}

// "fwd X, bwd-data Y, bwd-weights Z": the passes of an implementation string that use Winograd.
std::vector<std::string> winograd_passes(const std::string& implementation) {
  std::vector<std::string> passes;
  for (const std::string_view pass : {"fwd", "bwd-data", "bwd-weights"}) {
    const size_t at = implementation.find(std::string(pass) + " ");
    if (at != std::string::npos &&
        std::string_view(implementation).substr(at + pass.size() + 1).starts_with("jit_wino"))
      passes.emplace_back(pass);
  }
  return passes;
}

// Asking for Winograd gets it wherever oneDNN has a JIT kernel for it, in exactly the passes asked.
TEST(ConvAlgorithmTest, WinogradIsUsedWhereOneDnnHasIt) {
  Context context;
  const ConvSpec spec{"wino", 16, 32, 3, 8, 8, ConvAlgorithms::all(ConvAlgorithm::winograd)};
  const auto desc = [](const Dims& dims) { return activation_desc(dims, ActivationLayout::nChw16c); };
  const dnnl::memory::desc src = desc({4, 16, 8, 8}), dst = desc({4, 32, 8, 8});
  try {
    const dnnl::convolution_forward::primitive_desc probe(
        {dnnl::prop_kind::forward_training,
         dnnl::algorithm::convolution_winograd,
         src,
         dnnl::memory::desc({32, 16, 3, 3}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any),
         dst,
         {1, 1},
         {1, 1},
         {1, 1}},
        context.engine());
  } catch (const dnnl::error&) {
    GTEST_SKIP() << "this CPU has no JIT Winograd convolution in oneDNN";
  }
  const auto passes_of = [&](const ConvSpec& asked) {
    ConvWeights weights(context, asked, ConvWeights::preferred_desc(context.engine(), asked, src, dst));
    return winograd_passes(Conv2d(context, weights, src, dst, true).implementation());
  };
  using Passes = std::vector<std::string>;
  EXPECT_EQ(passes_of(spec), (Passes{"fwd", "bwd-data", "bwd-weights"}));

  ConvSpec direct = spec;
  direct.algorithms = ConvAlgorithms::all(ConvAlgorithm::direct);
  EXPECT_EQ(passes_of(direct), Passes{});
  ConvSpec weight_gradient_only = direct;
  weight_gradient_only.algorithms.backward_weights = ConvAlgorithm::winograd;
  EXPECT_EQ(passes_of(weight_gradient_only), Passes{"bwd-weights"});
}

INSTANTIATE_TEST_SUITE_P(Cases, ConvTest,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            ::testing::Values(ActivationLayout::nchw, ActivationLayout::nChw8c,
                                                              ActivationLayout::nChw16c)),
                         [](const ::testing::TestParamInfo<ConvTest::ParamType>& param) {
                           return std::string(std::get<0>(param.param).name) + "_" +
                                  std::string(name_of(std::get<1>(param.param)));
                         });

}  // namespace
}  // namespace s8net
