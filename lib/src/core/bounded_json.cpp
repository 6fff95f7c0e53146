#include "bounded_json.hpp"

#include <s8net/core/error.hpp>

namespace s8net {
namespace {

struct TooDeep {};

}  // namespace

nlohmann::json parse_bounded_json(std::string_view text, const std::string& source) {
  using nlohmann::json;
  // The callback sees every value as it opens, before anything below it is built.
  const json::parser_callback_t bound_depth = [](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth)
      throw TooDeep{};
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), bound_depth);
  } catch (const TooDeep&) {
    throw Error(source + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const json::exception& e) {
    throw Error(source + ": " + e.what());
  }
}

}  // namespace s8net
