// Every check but the gradients (conformance_gradients.cpp).
#include "conformance_checks.hpp"

#include <s8net/core/format.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>

namespace s8net::conformance {
namespace {

constexpr s8net_norm_tensor_kind kKinds[] = {S8NET_NORM_PARAMETERS, S8NET_NORM_STATE};

const char* kind_name(s8net_norm_tensor_kind kind) { return kind == S8NET_NORM_PARAMETERS ? "parameter" : "state"; }

// A fused ReLU's output is never negative; the plain norm's may be anything.
void require_relu_output(const s8net_tensor_desc& desc, const GuardedBuffer& y, std::string_view call) {
  for_each_element(desc, [&](size_t i, size_t offset) {
    if (const float v = y.data()[offset]; v < 0.f)
      throw Failure(std::string(call) + " with the ReLU fused wrote y[" + std::to_string(i) + "] " + position(desc, i) +
                    " = " + format_number("%g", static_cast<double>(v)));
  });
}

// One training forward and its backward on a fresh instance, and everything they leave behind.
struct TrainStep {
  GuardedBuffer y, dx;
  std::vector<s8net_norm_tensor> parameters;
  std::vector<std::vector<float>> grads, state;
};

TrainStep train_step(PluginInstance& instance, const Case& c) {
  std::mt19937 generator(c.seed);
  randomize_parameters(instance, generator);
  const Inputs in = make_inputs(c, generator);
  const s8net_tensor_desc desc = c.desc();
  const GuardedBuffer x = to_layout(desc, in.x), dy = to_layout(desc, in.dy);
  TrainStep step{GuardedBuffer(x.size()), GuardedBuffer(x.size()), {}, {}, {}};
  instance.forward(S8NET_MODE_TRAIN, desc, x.data(), step.y.data());
  instance.backward(desc, x.data(), step.y.data(), dy.data(), step.dx.data());
  step.parameters = views(instance, S8NET_NORM_PARAMETERS);
  step.grads = copy_grads(step.parameters);
  step.state = copy_data(views(instance, S8NET_NORM_STATE));
  return step;
}

// A training forward of the case's x on a prepared instance, so that state such as running
// statistics is no longer at its start value; x and y in the case's layout.
struct TrainForward {
  GuardedBuffer x, y;
};
TrainForward train_forward(Prepared& p) {
  TrainForward f{to_layout(p.desc, p.in.x), GuardedBuffer(buffer_size(p.desc))};
  p.instance.forward(S8NET_MODE_TRAIN, p.desc, f.x.data(), f.y.data());
  return f;
}

// Equal up to float rounding, relative to the size of the expected value.
bool agrees(double got, double expected) { return std::abs(got - expected) <= 1e-5 * (1 + std::abs(expected)); }

// Throws naming what `entry` wrote beside any of these arrays, into its guards.
void require_intact_guards(const char* entry,
                           std::initializer_list<std::pair<const GuardedBuffer*, const char*>> arrays) {
  for (const auto& [buffer, name] : arrays)
    if (const std::string damage = buffer->guard_damage(name); !damage.empty())
      throw Failure(std::string(entry) + " wrote " + damage);
}

// Forward (eval) of `values` against the map an optional entry gave: y = relu?(scale[k] x + shift[k])
// with k the element's plane (n * C + c) modulo the map's size (C for a map per channel, N * C for
// one per sample and channel). The host applies the map in place of the forward (folded into a
// conv, or inside the convs around the norm), so the two must agree to float rounding.
void require_forward_is_the_map(PluginInstance& instance, const Case& c, const s8net_tensor_desc& desc,
                                const std::vector<double>& values, std::span<const float> scale,
                                std::span<const float> shift, const char* entry) {
  const GuardedBuffer x = to_layout(desc, values);
  GuardedBuffer y(x.size());
  instance.forward(S8NET_MODE_EVAL, desc, x.data(), y.data());
  const auto plane = static_cast<size_t>(c.shape.h * c.shape.w);
  for_each_element(desc, [&](size_t i, size_t offset) {
    const size_t k = i / plane % scale.size();
    double expected = static_cast<double>(scale[k]) * static_cast<double>(x.data()[offset]) + shift[k];
    if (c.relu) expected = std::max(expected, 0.0);
    const double got = y.data()[offset];
    if (!agrees(got, expected))
      throw Failure("forward (eval) wrote y[" + std::to_string(i) + "] " + position(desc, i) + " = " +
                    format_number("%g", got) + ", but " + entry + "'s map gives " + format_number("%g", expected));
  });
}

}  // namespace

void check_tensors(const Plugin& plugin, int64_t channels, std::span<const s8net_option_value> options) {
  PluginInstance instance(plugin, channels, false, options);
  // Names become checkpoint keys ("C1.norm.weight"), so they must be there and tell tensors apart.
  std::set<std::string> names;
  for (const s8net_norm_tensor_kind kind : kKinds) {
    const std::string what = kind_name(kind);
    for (const s8net_norm_tensor& t : views(instance, kind)) {
      if (t.name == nullptr || t.name[0] == '\0') throw Failure(what + " view without a name");
      if (!names.insert(t.name).second) throw Failure(std::string("two views named '") + t.name + "'");
      const std::string view = what + " '" + t.name + "'";
      if (t.data == nullptr) throw Failure(view + " has no data array");
      if (t.size <= 0) throw Failure(view + " has size " + std::to_string(t.size));
      if (kind == S8NET_NORM_PARAMETERS && t.grad == nullptr) throw Failure(view + " has no grad array");
      if (kind == S8NET_NORM_STATE && t.grad != nullptr)
        throw Failure(view + " has a grad array (state is not trained, its grad must be NULL)");
    }
  }
}

void check_forward(const Plugin& plugin, const Case& c, const ConformanceOptions&) {
  Prepared p(plugin, c);
  auto& [generator, instance, in, desc] = p;
  const GuardedBuffer x = to_layout(desc, in.x);
  using Call = std::pair<s8net_mode, const char*>;
  for (const auto& [mode, call] :
       {Call{S8NET_MODE_TRAIN, "forward (train)"}, Call{S8NET_MODE_EVAL, "forward (eval)"}}) {
    GuardedBuffer y(x.size());
    instance.forward(mode, desc, x.data(), y.data());
    require_valid_output(desc, y, "y", call);
    if (c.relu) require_relu_output(desc, y, call);
  }
}

void check_train_vs_eval(const Plugin& plugin, const Case& c, const ConformanceOptions&) {
  Prepared p(plugin, c);
  auto& [generator, instance, in, desc] = p;
  const Inputs other = make_inputs(c, generator);
  const GuardedBuffer x = to_layout(desc, in.x), x_other = to_layout(desc, other.x), dy = to_layout(desc, in.dy);
  GuardedBuffer y(x.size()), y_other(x.size()), dx(x.size());

  // Backward is of the latest training forward, whatever evaluation ran since.
  instance.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data());
  instance.backward(desc, x.data(), y.data(), dy.data(), dx.data());
  instance.forward(S8NET_MODE_TRAIN, desc, x_other.data(), y_other.data());
  instance.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data());
  const std::vector<s8net_norm_tensor> parameters = views(instance, S8NET_NORM_PARAMETERS);
  const std::vector<s8net_norm_tensor> state = views(instance, S8NET_NORM_STATE);
  const auto parameters_before = copy_data(parameters), state_before = copy_data(state);

  GuardedBuffer y_eval(x.size()), y_again(x.size());
  instance.forward(S8NET_MODE_EVAL, desc, x_other.data(), y_eval.data());
  if (const std::string d = first_difference(state, state_before, copy_data(state), ""); !d.empty())
    throw Failure("forward (eval) changed the state: " + d);
  if (const std::string d = first_difference(parameters, parameters_before, copy_data(parameters), ""); !d.empty())
    throw Failure("forward (eval) changed a parameter: " + d);
  instance.forward(S8NET_MODE_EVAL, desc, x_other.data(), y_again.data());
  if (const std::string d = first_difference(desc, y_eval, y_again, "y"); !d.empty())
    throw Failure("two forward (eval) calls on the same x gave different outputs: " + d);

  GuardedBuffer dx_after_eval(x.size());
  instance.backward(desc, x.data(), y.data(), dy.data(), dx_after_eval.data());
  if (const std::string d = first_difference(desc, dx, dx_after_eval, "dx"); !d.empty())
    throw Failure("backward after a forward (eval) is not that of the latest forward (train): " + d);
}

void check_state_round_trip(const Plugin& plugin, const Case& c, const ConformanceOptions&) {
  Prepared p(plugin, c);
  auto& [generator, first, in, desc] = p;
  const Inputs other = make_inputs(c, generator);
  const GuardedBuffer x = to_layout(desc, in.x), x_other = to_layout(desc, other.x);
  GuardedBuffer y(x.size());
  // Training moves the state (running statistics) away from its initial values.
  first.forward(S8NET_MODE_TRAIN, desc, x_other.data(), y.data());
  first.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data());

  // What a checkpoint does: save every view of one layer, load them into a new one.
  PluginInstance second(plugin, c.shape.c, c.relu, c.options);
  for (const s8net_norm_tensor_kind kind : kKinds) {
    const std::vector<s8net_norm_tensor> from = views(first, kind), to = views(second, kind);
    if (from.size() != to.size())
      throw Failure(std::string("two instances of one configuration have ") + std::to_string(from.size()) + " and " +
                    std::to_string(to.size()) + " " + kind_name(kind) + " views");
    for (size_t i = 0; i < from.size(); ++i) {
      if (from[i].name == nullptr || to[i].name == nullptr || std::string(from[i].name) != to[i].name ||
          from[i].size != to[i].size || from[i].data == nullptr || to[i].data == nullptr || from[i].size <= 0)
        throw Failure(std::string(kind_name(kind)) + " view " + std::to_string(i) +
                      " differs in name or size between two instances of one configuration");
      std::copy_n(from[i].data, from[i].size, to[i].data);
    }
  }

  GuardedBuffer y_first(x.size()), y_second(x.size());
  first.forward(S8NET_MODE_EVAL, desc, x.data(), y_first.data());
  second.forward(S8NET_MODE_EVAL, desc, x.data(), y_second.data());
  if (const std::string d = first_difference(desc, y_first, y_second, "y"); !d.empty())
    throw Failure("forward (eval) of an instance given another's parameters and state differs from it: " + d);
}

void check_determinism(const Plugin& plugin, const Case& c, const ConformanceOptions&) {
  PluginInstance first_instance(plugin, c.shape.c, c.relu, c.options),
      second_instance(plugin, c.shape.c, c.relu, c.options);
  const TrainStep first = train_step(first_instance, c), second = train_step(second_instance, c);
  const s8net_tensor_desc desc = c.desc();
  if (const std::string d = first_difference(desc, first.y, second.y, "y"); !d.empty())
    throw Failure("forward (train) on two fresh instances: " + d);
  if (const std::string d = first_difference(desc, first.dx, second.dx, "dx"); !d.empty())
    throw Failure("backward on two fresh instances: " + d);
  if (const std::string d = first_difference(first.parameters, first.grads, second.grads, "grad"); !d.empty())
    throw Failure("backward on two fresh instances: " + d);
  const std::vector<s8net_norm_tensor> state = views(first_instance, S8NET_NORM_STATE);
  if (const std::string d = first_difference(state, first.state, second.state, ""); !d.empty())
    throw Failure("forward (train) on two fresh instances left different state: " + d);
}

void check_bounds(const Plugin& plugin, const Case& c, const ConformanceOptions&) {
  Prepared p(plugin, c);
  auto& [generator, instance, in, desc] = p;
  const GuardedBuffer x = to_layout(desc, in.x), dy = to_layout(desc, in.dy);
  const GuardedBuffer x_original = x.copy(), dy_original = dy.copy();
  GuardedBuffer y(x.size()), dx(x.size());

  const std::pair<const char*, const GuardedBuffer*> buffers[] = {{"x", &x}, {"y", &y}, {"dy", &dy}, {"dx", &dx}};
  struct Input {
    const char* name;
    const GuardedBuffer& now;
    const GuardedBuffer& before;
  };
  const auto verify = [&](const char* call, std::initializer_list<Input> inputs) {
    for (const auto& [name, buffer] : buffers)
      if (const std::string damage = buffer->guard_damage(name); !damage.empty())
        throw Failure(std::string(call) + " wrote " + damage);
    for (const Input& input : inputs)
      if (const std::string d = first_difference(p.desc, input.before, input.now, input.name); !d.empty())
        throw Failure(std::string(call) + " changed its input " + input.name + ": " + d);
  };

  instance.forward(S8NET_MODE_TRAIN, desc, x.data(), y.data());
  verify("forward (train)", {{"x", x, x_original}});
  const GuardedBuffer y_original = y.copy();
  instance.backward(desc, x.data(), y.data(), dy.data(), dx.data());
  verify("backward", {{"x", x, x_original}, {"y", y, y_original}, {"dy", dy, dy_original}});
  instance.forward(S8NET_MODE_EVAL, desc, x.data(), y.data());
  verify("forward (eval)", {{"x", x, x_original}});
}

void check_eval_per_sample(const Plugin& plugin, const Case& c, const ConformanceOptions&) {
  // No structured bindings here: a lambda below uses these, and clang before 16 cannot capture one.
  Prepared p(plugin, c);
  const s8net_tensor_desc& desc = p.desc;
  TrainForward f = train_forward(p);
  const GuardedBuffer& y = f.y;
  p.instance.forward(S8NET_MODE_EVAL, desc, f.x.data(), f.y.data());
  // The last sample alone: in a blocked layout a sample is one contiguous run of the buffer.
  s8net_tensor_desc one = desc;
  one.n = 1;
  const size_t sample = buffer_size(one), last = buffer_size(desc) - sample;
  const std::vector<double> x_last(p.in.x.end() - static_cast<std::ptrdiff_t>(logical_size(one)), p.in.x.end());
  const GuardedBuffer x_one = to_layout(one, x_last);
  GuardedBuffer y_one(sample);
  p.instance.forward(S8NET_MODE_EVAL, one, x_one.data(), y_one.data());
  for_each_element(one, [&](size_t i, size_t offset) {
    const double batched = y.data()[last + offset], alone = y_one.data()[offset];
    if (!agrees(alone, batched))
      throw Failure("forward (eval) of the last sample alone wrote y[" + std::to_string(i) + "] " + position(one, i) +
                    " = " + format_number("%g", alone) + ", in its batch of " + std::to_string(desc.n) + " " +
                    format_number("%g", batched));
  });
}

void check_eval_affine(const Plugin& plugin, const Case& c, const ConformanceOptions&) {
  Prepared p(plugin, c);  // no structured bindings: see check_eval_per_sample
  PluginInstance& instance = p.instance;
  const s8net_tensor_desc& desc = p.desc;
  train_forward(p);
  const size_t channels = static_cast<size_t>(c.shape.c);
  GuardedBuffer scale_buffer(channels), shift_buffer(channels);  // it may write these arrays and no more
  instance.eval_affine(scale_buffer.data(), shift_buffer.data());
  require_intact_guards("eval_affine", {{&scale_buffer, "scale"}, {&shift_buffer, "shift"}});
  const std::span<const float> scale = scale_buffer.values(), shift = shift_buffer.values();
  for (size_t k = 0; k < channels; ++k)
    if (!std::isfinite(scale[k]) || !std::isfinite(shift[k]))
      throw Failure("eval_affine gave channel " + std::to_string(k) + " scale " + format_number("%g", scale[k]) +
                    " and shift " + format_number("%g", shift[k]));

  require_forward_is_the_map(instance, c, desc, make_inputs(c, p.generator).x, scale, shift, "eval_affine");
}

void check_eval_affine_from_moments(const Plugin& plugin, const Case& c, const ConformanceOptions&) {
  Prepared p(plugin, c);  // no structured bindings: see check_eval_per_sample
  PluginInstance& instance = p.instance;
  const s8net_tensor_desc& desc = p.desc;
  train_forward(p);
  Inputs other = make_inputs(c, p.generator);
  // The first plane all zeros: a plane without variance, where only eps keeps the map finite.
  const auto plane = static_cast<size_t>(c.shape.h * c.shape.w);
  std::fill_n(other.x.begin(), plane, 0.0);
  // The moments of each (sample, channel) plane of x as floats, in double, the mean first.
  const size_t planes = other.x.size() / plane;
  std::vector<s8net_plane_moments> moments(planes);
  for (size_t k = 0; k < planes; ++k) {
    const auto values = [&](auto f) {
      for (size_t s = 0; s < plane; ++s) f(static_cast<double>(static_cast<float>(other.x[k * plane + s])));
    };
    values([&](double v) { moments[k].mean += v / static_cast<double>(plane); });
    values([&](double v) { moments[k].m2 += (v - moments[k].mean) * (v - moments[k].mean); });
  }
  // Every array between guards, the moments among them: the call may write scale and shift alone,
  // and nothing of the instance's parameters or state.
  constexpr size_t kFloatsPerMoments = sizeof(s8net_plane_moments) / sizeof(float);
  GuardedBuffer given(planes * kFloatsPerMoments), scale(planes), shift(planes);
  std::memcpy(given.data(), moments.data(), planes * sizeof(s8net_plane_moments));
  const GuardedBuffer given_before = given.copy();
  const auto parameters = views(instance, S8NET_NORM_PARAMETERS), state = views(instance, S8NET_NORM_STATE);
  const auto parameters_before = copy_data(parameters), state_before = copy_data(state);
  instance.eval_affine_from_moments(desc, reinterpret_cast<const s8net_plane_moments*>(given.data()), scale.data(),
                                    shift.data());
  require_intact_guards("eval_affine_from_moments", {{&given, "moments"}, {&scale, "scale"}, {&shift, "shift"}});
  if (!given.same_bits(given_before)) throw Failure("eval_affine_from_moments wrote to its input, the moments");
  if (const std::string d = first_difference(parameters, parameters_before, copy_data(parameters), ""); !d.empty())
    throw Failure("eval_affine_from_moments changed a parameter: " + d);
  if (const std::string d = first_difference(state, state_before, copy_data(state), ""); !d.empty())
    throw Failure("eval_affine_from_moments changed the state: " + d);
  for (size_t k = 0; k < planes; ++k)
    if (!std::isfinite(scale.data()[k]) || !std::isfinite(shift.data()[k]))
      throw Failure("eval_affine_from_moments gave sample " + std::to_string(k / static_cast<size_t>(c.shape.c)) +
                    ", channel " + std::to_string(k % static_cast<size_t>(c.shape.c)) + " scale " +
                    format_number("%g", scale.data()[k]) + " and shift " + format_number("%g", shift.data()[k]) +
                    (moments[k].m2 == 0 ? " (a plane without variance)" : ""));

  require_forward_is_the_map(instance, c, desc, other.x, scale.values(), shift.values(), "eval_affine_from_moments");
}

}  // namespace s8net::conformance
