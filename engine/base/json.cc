#include "engine/base/json.h"

#include <vector>

#include <fmt/format.h>

namespace reel {
namespace {

template <typename J>
Result<J> Parse(std::string_view text, std::string_view what) {
  if (JsonTextDepth(text) > kMaxJsonDepth) return Status::InvalidArgument(TooDeepMessage(what));
  try {
    return J::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 4: ...".
    std::string_view message = e.what();
    if (auto end = message.find("] "); message.front() == '[' && end != std::string_view::npos) {
      message.remove_prefix(end + 2);
    }
    return Status::InvalidArgument(fmt::format("{} is not valid JSON: {}", what, message));
  }
}

}  // namespace

int JsonTextDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return limit + 1;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

int JsonDepth(const nlohmann::json& value, int limit) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> pending{{&value, 0}};
  while (!pending.empty()) {
    auto [v, depth] = pending.back();
    pending.pop_back();
    if (!v->is_structured()) continue;
    if (depth + 1 > deepest && (deepest = depth + 1) > limit) return limit + 1;
    for (const auto& item : *v) pending.emplace_back(&item, depth + 1);
  }
  return deepest;
}

std::string TooDeepMessage(std::string_view what) {
  return fmt::format("{} nests deeper than {} levels of arrays and objects", what, kMaxJsonDepth);
}

Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what) {
  return Parse<nlohmann::json>(text, what);
}

Result<nlohmann::ordered_json> ParseOrderedJson(std::string_view text, std::string_view what) {
  return Parse<nlohmann::ordered_json>(text, what);
}

}  // namespace reel
