// JSON read from files a user may not control (checkpoint headers, config.json, metrics.jsonl):
// parsed with a bound on nesting depth. The parser itself is iterative, but serializing,
// comparing or destroying a value recurses once per level, so a few hundred kilobytes of "[[[["
// would overflow the stack later, far from the file that caused it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace s8net {

// Deeper than any file s8net writes (its deepest value is three levels down) by a wide margin.
inline constexpr int kMaxJsonDepth = 64;

// Throws s8net::Error "SOURCE: REASON" for text that is not JSON or nests deeper than kMaxJsonDepth.
nlohmann::json parse_bounded_json(std::string_view text, const std::string& source);

}  // namespace s8net
