// Parsing JSON from outside with a bound on nesting.
//
// nlohmann::json parses iteratively, but dumping, copying and comparing a value recurse once
// per level, so a value nested 100,000 deep (one JSON Lines record is enough) would exhaust
// the stack long after it was parsed. Every JSON reel reads from a file, a child process, a
// plugin or a command line goes through ParseJson, which refuses text nested deeper than
// kMaxJsonDepth with an error naming where it came from.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "reel/status.h"

namespace reel {

// Deeper than any real document, shallow enough for the recursion of dump() on any stack.
inline constexpr int kMaxJsonDepth = 256;

// How deeply JSON text nests arrays and objects (brackets inside strings do not count). Stops
// scanning once the depth exceeds `limit`, returning limit + 1.
int JsonTextDepth(std::string_view text, int limit = kMaxJsonDepth);

// How deeply a value nests arrays and objects (a scalar is 0), counted without recursion;
// stops at limit + 1.
int JsonDepth(const nlohmann::json& value, int limit = kMaxJsonDepth);

// "WHAT nests deeper than 256 levels of arrays and objects".
std::string TooDeepMessage(std::string_view what);

// Parses `text`. InvalidArgument naming `what` (a file, "file: line 3", "REEL_OUTPUTS") when
// the text is not JSON or nests deeper than kMaxJsonDepth.
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what);
Result<nlohmann::ordered_json> ParseOrderedJson(std::string_view text, std::string_view what);

}  // namespace reel
