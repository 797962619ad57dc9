#include "engine/template/internal/builtins.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "engine/template/internal/dates.h"

namespace reel::template_internal {
namespace {

Status WrongType(std::string_view who, std::string_view expected, const Json& got) {
  return Status::InvalidArgument(std::string(who) + ": expected " + std::string(expected) +
                                 ", got " + TypeName(got));
}

std::string_view TrimView(std::string_view s) {
  const char* kSpace = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

std::string Quoted(const std::string& s) {
  return "'" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "'";
}

// An integral number of days: an int, or a float without a fractional part.
Result<int64_t> DayCount(const Json& value, std::string_view who) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::InvalidArgument(std::string(who) + ": the number of days is too large");
    }
    return value.get<int64_t>();
  }
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 1e15) {
      return static_cast<int64_t>(d);
    }
    return Status::InvalidArgument(std::string(who) +
                                   ": the number of days must be a whole "
                                   "number, got " +
                                   Json(d).dump());
  }
  return WrongType(who, "an integer number of days", value);
}

Result<Json> DsAddFn(const std::vector<Json>& args) {
  if (!args[0].is_string())
    return WrongType("ds_add", "a date string as the first argument", args[0]);
  REEL_ASSIGN_OR_RETURN(auto days, DayCount(args[1], "ds_add"));
  REEL_ASSIGN_OR_RETURN(auto out, DsAdd(args[0].get_ref<const std::string&>(), days));
  return Json(out);
}

Result<Json> DsFormatFn(const std::vector<Json>& args) {
  if (!args[0].is_string()) {
    return WrongType("ds_format", "a date string as the first argument", args[0]);
  }
  if (!args[1].is_string()) {
    return WrongType("ds_format", "a format string such as \"%Y%m%d\" as the second argument",
                     args[1]);
  }
  REEL_ASSIGN_OR_RETURN(auto time,
                        ParseCivilTime(args[0].get_ref<const std::string&>(), "ds_format"));
  REEL_ASSIGN_OR_RETURN(auto out, FormatCivilTime(time, args[1].get_ref<const std::string&>()));
  return Json(out);
}

Result<Json> DateDiffFn(const std::vector<Json>& args) {
  for (const Json& a : args) {
    if (!a.is_string()) return WrongType("date_diff", "two date strings", a);
  }
  REEL_ASSIGN_OR_RETURN(auto days, DateDiff(args[0].get_ref<const std::string&>(),
                                            args[1].get_ref<const std::string&>()));
  return Json(days);
}

Result<Json> Extreme(const std::vector<Json>& args, std::string_view who, int want) {
  const std::vector<Json>* items = &args;
  std::vector<Json> unpacked;
  if (args.size() == 1) {
    if (!args[0].is_array()) {
      return WrongType(who, "a list, or two or more values", args[0]);
    }
    unpacked = args[0].get<std::vector<Json>>();
    items = &unpacked;
  }
  if (items->empty()) return Status::InvalidArgument(std::string(who) + ": the list is empty");
  const Json* best = &(*items)[0];
  for (const Json& candidate : *items) {
    REEL_ASSIGN_OR_RETURN(auto order, CompareValues(candidate, *best, who));
    if (order == want) best = &candidate;
  }
  return *best;
}

Result<Json> MinFn(const std::vector<Json>& args) { return Extreme(args, "min", -1); }
Result<Json> MaxFn(const std::vector<Json>& args) { return Extreme(args, "max", 1); }

Result<Json> Length(const Json& v, std::string_view who) {
  if (v.is_string()) {
    // Code points, not bytes: count every byte that does not continue a UTF-8 sequence.
    const std::string& s = v.get_ref<const std::string&>();
    int64_t n = std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
    return Json(n);
  }
  if (v.is_array() || v.is_object()) return Json(static_cast<int64_t>(v.size()));
  return WrongType(who, "a string, list or object", v);
}

Result<Json> LenFn(const std::vector<Json>& args) { return Length(args[0], "len"); }
Result<Json> LengthFilter(const std::vector<Json>& args) { return Length(args[0], "length"); }
Result<Json> StrFn(const std::vector<Json>& args) { return Json(TemplateStringify(args[0])); }
Result<Json> IntFn(const std::vector<Json>& args) { return ToInt(args[0], "int"); }
Result<Json> FloatFn(const std::vector<Json>& args) { return ToFloat(args[0], "float"); }

Result<Json> ChangeCase(const Json& v, std::string_view who, int (*change)(int)) {
  if (!v.is_string()) return WrongType(who, "a string", v);
  std::string s = v.get<std::string>();
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(change(c));
  }
  return Json(std::move(s));
}

Result<Json> UpperFilter(const std::vector<Json>& args) {
  return ChangeCase(args[0], "upper", [](int c) { return std::toupper(c); });
}
Result<Json> LowerFilter(const std::vector<Json>& args) {
  return ChangeCase(args[0], "lower", [](int c) { return std::tolower(c); });
}

Result<Json> JsonFilter(const std::vector<Json>& args) {
  return Json(args[0].dump(-1, ' ', false, Json::error_handler_t::replace));
}

Result<Json> JoinFilter(const std::vector<Json>& args) {
  if (!args[0].is_array()) return WrongType("join", "a list", args[0]);
  std::string separator;
  if (args.size() > 1) {
    if (!args[1].is_string()) return WrongType("join", "a string separator", args[1]);
    separator = args[1].get<std::string>();
  }
  std::string out;
  for (size_t i = 0; i < args[0].size(); ++i) {
    if (i > 0) out += separator;
    out += TemplateStringify(args[0][i]);
    if (out.size() > kMaxComputedSize) return TooLarge("join");
  }
  return Json(std::move(out));
}

Result<Json> ReplaceFilter(const std::vector<Json>& args) {
  for (const Json& a : args) {
    if (!a.is_string()) return WrongType("replace", "strings", a);
  }
  std::string s = args[0].get<std::string>();
  const std::string& from = args[1].get_ref<const std::string&>();
  const std::string& to = args[2].get_ref<const std::string&>();
  if (from.empty()) {
    return Status::InvalidArgument("replace: the text to replace must not be empty");
  }
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
    if (out.size() > kMaxComputedSize) return TooLarge("replace");
  }
  out.append(s, pos, std::string::npos);
  return Json(std::move(out));
}

Result<Json> TrimFilter(const std::vector<Json>& args) {
  if (!args[0].is_string()) return WrongType("trim", "a string", args[0]);
  return Json(std::string(TrimView(args[0].get_ref<const std::string&>())));
}

Result<Json> BoolFilter(const std::vector<Json>& args) { return Json(IsTruthy(args[0])); }

const BuiltinInfo kBuiltins[] = {
    // Functions.
    {"ds_add", false, 2, 2, "ds_add(date, days)", true, DsAddFn},
    {"ds_format", false, 2, 2, "ds_format(date, \"%Y%m%d\")", true, DsFormatFn},
    {"date_diff", false, 2, 2, "date_diff(date1, date2)", true, DateDiffFn},
    {"min", false, 1, 64, "min(list) or min(a, b, ...)", true, MinFn},
    {"max", false, 1, 64, "max(list) or max(a, b, ...)", true, MaxFn},
    {"len", false, 1, 1, "len(value)", false, LenFn},
    {"str", false, 1, 1, "str(value)", true, StrFn},
    {"int", false, 1, 1, "int(value)", true, IntFn},
    {"float", false, 1, 1, "float(value)", true, FloatFn},
    // Filters.
    {"default", true, 1, 1, "x | default(fallback)", true, nullptr},
    {"upper", true, 0, 0, "x | upper", true, UpperFilter},
    {"lower", true, 0, 0, "x | lower", true, LowerFilter},
    {"int", true, 0, 0, "x | int", true, IntFn},
    {"float", true, 0, 0, "x | float", true, FloatFn},
    {"string", true, 0, 0, "x | string", true, StrFn},
    {"json", true, 0, 0, "x | json", true, JsonFilter},
    {"join", true, 0, 1, "x | join(\", \")", true, JoinFilter},
    {"replace", true, 2, 2, "x | replace(\"old\", \"new\")", true, ReplaceFilter},
    {"trim", true, 0, 0, "x | trim", true, TrimFilter},
    {"length", true, 0, 0, "x | length", false, LengthFilter},
    {"bool", true, 0, 0, "x | bool", false, BoolFilter},
};

const BuiltinInfo* Find(std::string_view name, bool filter) {
  for (const BuiltinInfo& b : kBuiltins) {
    if (b.is_filter == filter && b.name == name) return &b;
  }
  return nullptr;
}

std::vector<std::string> Names(bool filter) {
  std::vector<std::string> out;
  for (const BuiltinInfo& b : kBuiltins) {
    if (b.is_filter == filter) out.emplace_back(b.name);
  }
  return out;
}

}  // namespace

Status TooLarge(std::string_view who) {
  return Status::InvalidArgument(std::string(who) + ": the result is too large (the limit is " +
                                 std::to_string(kMaxComputedSize / (1024 * 1024)) +
                                 " MiB of text or " + std::to_string(kMaxComputedSize) +
                                 " list items)");
}

const BuiltinInfo* FindFunction(std::string_view name) { return Find(name, false); }
const BuiltinInfo* FindFilter(std::string_view name) { return Find(name, true); }
std::vector<std::string> FunctionNames() { return Names(false); }
std::vector<std::string> FilterNames() { return Names(true); }

std::string TypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "int";
    case Json::value_t::number_float:
      return "float";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "list";
    case Json::value_t::object:
      return "object";
    default:
      return "binary";
  }
}

Result<int> CompareValues(const Json& a, const Json& b, std::string_view who) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_integer() && b.is_number_integer()) return a < b ? -1 : (b < a ? 1 : 0);
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (y < x ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return Status::InvalidArgument(std::string(who) + ": cannot compare " + TypeName(a) + " with " +
                                 TypeName(b) +
                                 "; compare numbers with numbers, strings with "
                                 "strings");
}

Result<Json> ToInt(const Json& value, std::string_view who) {
  auto from_double = [&](double d) -> Result<Json> {
    // 2^63 is exactly representable; anything at or beyond it does not fit an int64.
    if (!std::isfinite(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
      return Status::InvalidArgument(std::string(who) + ": " + Json(d).dump() +
                                     " does not fit in an integer");
    }
    return Json(static_cast<int64_t>(d));
  };
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::InvalidArgument(std::string(who) + ": " + value.dump() +
                                     " does not fit in an integer");
    }
    return Json(value.get<int64_t>());
  }
  if (value.is_number_integer()) return value;
  if (value.is_number_float()) return from_double(value.get<double>());
  if (value.is_boolean()) return Json(value.get<bool>() ? 1 : 0);
  if (value.is_string()) {
    std::string_view s = TrimView(value.get_ref<const std::string&>());
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    int64_t i = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return Json(i);
    double d = 0;
    auto [dptr, dec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (!s.empty() && dec == std::errc() && dptr == s.data() + s.size() && std::isfinite(d)) {
      return from_double(d);
    }
    return Status::InvalidArgument(std::string(who) + ": cannot convert string " +
                                   Quoted(value.get<std::string>()) + " to an integer");
  }
  return Status::InvalidArgument(std::string(who) + ": cannot convert " + TypeName(value) +
                                 " to an integer");
}

Result<Json> ToFloat(const Json& value, std::string_view who) {
  if (value.is_number()) return Json(value.get<double>());
  if (value.is_boolean()) return Json(value.get<bool>() ? 1.0 : 0.0);
  if (value.is_string()) {
    std::string_view s = TrimView(value.get_ref<const std::string&>());
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    double d = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(d)) {
      return Json(d);
    }
    return Status::InvalidArgument(std::string(who) + ": cannot convert string " +
                                   Quoted(value.get<std::string>()) + " to a number");
  }
  return Status::InvalidArgument(std::string(who) + ": cannot convert " + TypeName(value) +
                                 " to a number");
}

}  // namespace reel::template_internal
