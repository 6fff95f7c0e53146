#include <s8net/core/error.hpp>
#include <s8net/core/format.hpp>
#include <s8net/train/lr_schedule.hpp>

#include <charconv>
#include <cmath>
#include <numbers>
#include <sstream>

namespace s8net {
namespace {

constexpr std::pair<ScheduleKind, const char*> kNames[] = {{ScheduleKind::seed, "seed"},
                                                           {ScheduleKind::onecycle, "onecycle"},
                                                           {ScheduleKind::cosine, "cosine"},
                                                           {ScheduleKind::step, "step"},
                                                           {ScheduleKind::constant, "constant"}};

double interpolate(const std::vector<std::pair<double, double>>& points, double x) {
  if (x <= points.front().first) return points.front().second;
  for (size_t i = 1; i < points.size(); ++i) {
    const auto [x1, y1] = points[i];
    if (x <= x1) {
      const auto [x0, y0] = points[i - 1];
      return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
    }
  }
  return points.back().second;
}

double cosine_anneal(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
}

// PyTorch 1.13 OneCycleLR.get_lr with three_phase=False and anneal_strategy='cos'.
ScheduleValue one_cycle(const ScheduleConfig& c, int64_t total_steps, int64_t step) {
  const double initial = c.learning_rate / c.div_factor, minimum = initial / c.final_div_factor;
  struct Phase {
    double end_step, start_lr, end_lr, start_momentum, end_momentum;
  };
  const Phase phases[2] = {
      {c.pct_start * static_cast<double>(total_steps) - 1, initial, c.learning_rate, c.max_momentum, c.base_momentum},
      {static_cast<double>(total_steps) - 1, c.learning_rate, minimum, c.base_momentum, c.max_momentum}};
  double start_step = 0;
  const double t = static_cast<double>(step);
  for (size_t i = 0; i < 2; ++i) {
    const Phase& p = phases[i];
    if (t <= p.end_step || i == 1) {
      const double pct = (t - start_step) / (p.end_step - start_step);
      ScheduleValue v{cosine_anneal(p.start_lr, p.end_lr, pct), std::nullopt};
      if (c.cycle_momentum) v.momentum = cosine_anneal(p.start_momentum, p.end_momentum, pct);
      return v;
    }
    start_step = p.end_step;
  }
  return {};
}

}  // namespace

void validate(const ScheduleConfig& c) {
  if (c.kind == ScheduleKind::seed) {
    if (c.points.empty()) throw Error("schedule seed: no (epoch, lr) points");
    for (size_t i = 0; i < c.points.size(); ++i) {
      if (!(c.points[i].second >= 0 && c.points[i].second <= kMaxLearningRate) || !std::isfinite(c.points[i].first))
        throw Error("schedule seed: learning rates must be in [0, " +
                    std::to_string(static_cast<int>(kMaxLearningRate)) + "]");
      if (i > 0 && !(c.points[i].first > c.points[i - 1].first))
        throw Error("schedule seed: epochs of the points must increase");
    }
    return;
  }
  if (!(c.learning_rate > 0 && c.learning_rate <= kMaxLearningRate))
    throw Error("schedule " + std::string(name_of(c.kind)) + ": learning rate must be a finite number > 0 and <= " +
                std::to_string(static_cast<int>(kMaxLearningRate)));
  if (c.kind == ScheduleKind::onecycle) {
    if (!(c.pct_start > 0 && c.pct_start < 1)) throw Error("schedule onecycle: pct_start must be in (0, 1)");
    if (!(c.div_factor > 0) || !(c.final_div_factor > 0)) throw Error("schedule onecycle: div factors must be > 0");
    if (c.cycle_momentum && !(c.base_momentum >= 0 && c.base_momentum <= c.max_momentum && c.max_momentum < 1))
      throw Error("schedule onecycle: need 0 <= base_momentum <= max_momentum < 1");
  }
  if (c.kind == ScheduleKind::step && (c.step_size <= 0 || !(c.gamma > 0) || !std::isfinite(c.gamma)))
    throw Error("schedule step: step size and gamma must be > 0");
  if (c.kind == ScheduleKind::cosine && !(c.min_learning_rate >= 0 && c.min_learning_rate <= c.learning_rate))
    throw Error("schedule cosine: need 0 <= min learning rate <= learning rate");
}

ScheduleValue schedule_at(const ScheduleConfig& c, int64_t epochs, int64_t steps_per_epoch, int64_t epoch,
                          int64_t step_in_epoch) {
  const double e = static_cast<double>(epoch);
  switch (c.kind) {
    case ScheduleKind::seed:
      return {interpolate(c.points, e), std::nullopt};
    case ScheduleKind::onecycle:
      return one_cycle(c, epochs * steps_per_epoch, epoch * steps_per_epoch + step_in_epoch);
    case ScheduleKind::cosine:
      return {cosine_anneal(c.learning_rate, c.min_learning_rate, e / static_cast<double>(epochs)), std::nullopt};
    case ScheduleKind::step:
      return {c.learning_rate * std::pow(c.gamma, static_cast<double>(epoch / c.step_size)), std::nullopt};
    case ScheduleKind::constant:
      return {c.learning_rate, std::nullopt};
  }
  return {};
}

bool changes_every_step(ScheduleKind kind) noexcept { return kind == ScheduleKind::onecycle; }

const char* name_of(ScheduleKind kind) noexcept {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "?";
}

ScheduleKind parse_schedule_kind(const std::string& name) {
  for (const auto& [k, n] : kNames)
    if (name == n) return k;
  throw Error("unknown schedule '" + name + "' (known: seed, onecycle, cosine, step, constant)");
}

std::vector<std::pair<double, double>> parse_schedule_points(const std::string& text) {
  std::vector<std::pair<double, double>> points;
  std::istringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    const size_t colon = entry.find(':');
    double epoch = 0, lr = 0;
    bool ok = colon != std::string::npos;
    if (ok) {
      const auto a = std::from_chars(entry.data(), entry.data() + colon, epoch);
      const auto b = std::from_chars(entry.data() + colon + 1, entry.data() + entry.size(), lr);
      ok = a.ec == std::errc() && a.ptr == entry.data() + colon && b.ec == std::errc() &&
           b.ptr == entry.data() + entry.size() && colon > 0 && colon + 1 < entry.size();
    }
    if (!ok) throw Error("schedule point '" + entry + "': expected EPOCH:LR, e.g. 0:0.001,2:0.01");
    points.emplace_back(epoch, lr);
  }
  if (points.empty()) throw Error("schedule points: none given (expected EPOCH:LR,...)");
  return points;
}

std::string format_schedule_points(const std::vector<std::pair<double, double>>& points) {
  std::string text;
  for (const auto& [epoch, rate] : points) {
    if (!text.empty()) text += ',';
    text.append(round_trip_text(epoch)).append(":").append(round_trip_text(rate));
  }
  return text;
}

}  // namespace s8net
