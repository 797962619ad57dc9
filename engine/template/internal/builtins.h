// The built-in functions and filters of the template language: one table, looked up by name
// at parse time. Internal to the templating engine.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/template/template.h"
#include "reel/status.h"

namespace reel::template_internal {

// Strings and lists a template computes stay below this size (bytes / items), so that chained
// replace() or concatenation cannot exhaust memory.
inline constexpr size_t kMaxComputedSize = 16 * 1024 * 1024;

// The error for a result beyond kMaxComputedSize.
Status TooLarge(std::string_view who);

struct BuiltinInfo {
  std::string_view name;
  bool is_filter = false;
  // Argument counts; for a filter they do not count the input (which is args[0] at runtime).
  int min_args = 0;
  int max_args = 0;
  std::string_view usage;  // "ds_add(date, days)", "x | join(separator)"
  // Whether a result computed from a secret is itself secret. False for results that reveal
  // little and would make poor redaction patterns (len, length, bool).
  bool keeps_secret = true;
  // Null for `default`, which the evaluator handles itself because its argument is lazy.
  Result<Json> (*call)(const std::vector<Json>& args) = nullptr;
};

// nullptr when there is no such function / filter.
const BuiltinInfo* FindFunction(std::string_view name);
const BuiltinInfo* FindFilter(std::string_view name);
std::vector<std::string> FunctionNames();
std::vector<std::string> FilterNames();

// "int", "string", "list", ... for messages.
std::string TypeName(const Json& value);

// -1, 0 or 1 for two numbers or two strings (bytewise, so ISO dates order by time); an error
// naming `who` for anything else.
Result<int> CompareValues(const Json& a, const Json& b, std::string_view who);

// Conversions shared by functions, filters and operators.
Result<Json> ToInt(const Json& value, std::string_view who);
Result<Json> ToFloat(const Json& value, std::string_view who);

}  // namespace reel::template_internal
