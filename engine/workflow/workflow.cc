#include "engine/workflow/workflow.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>

#include <date/date.h>
#include <fmt/format.h>

#include "engine/base/json.h"

namespace reel {

const char* ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kString:
      return "string";
    case ParamType::kInt:
      return "int";
    case ParamType::kFloat:
      return "float";
    case ParamType::kBool:
      return "bool";
    case ParamType::kDate:
      return "date";
    case ParamType::kList:
      return "list";
  }
  return "string";
}

const Step* Workflow::FindStep(const std::string& step) const {
  int i = StepIndex(step);
  return i < 0 ? nullptr : &steps[static_cast<size_t>(i)];
}

int Workflow::StepIndex(const std::string& step) const {
  if (step_index_.size() != steps.size()) {
    // Not indexed (a workflow assembled by hand): search.
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].name == step) return static_cast<int>(i);
    }
    return -1;
  }
  auto it = step_index_.find(step);
  return it == step_index_.end() ? -1 : it->second;
}

void Workflow::IndexSteps() {
  step_index_.clear();
  for (size_t i = 0; i < steps.size(); ++i) step_index_.emplace(steps[i].name, static_cast<int>(i));
}

const ParamSpec* Workflow::FindParam(const std::string& param) const {
  for (const auto& p : params) {
    if (p.name == param) return &p;
  }
  return nullptr;
}

namespace {

bool ParseInt(const std::string& s, int64_t& out) {
  static const std::regex kInt(R"([-+]?[0-9]+)");
  if (!std::regex_match(s, kInt)) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno == ERANGE) return false;
  out = v;
  return true;
}

bool ParseFloat(const std::string& s, double& out) {
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s == ".inf" || s == "+.inf") {
    out = INFINITY;
    return true;
  }
  if (s == "-.inf") {
    out = -INFINITY;
    return true;
  }
  if (!std::regex_match(s, kFloat)) return false;
  out = std::strtod(s.c_str(), nullptr);
  return true;
}

bool IsValidDate(const std::string& s) {
  static const std::regex kDate(R"(\d{4}-\d{2}-\d{2})");
  if (!std::regex_match(s, kDate)) return false;
  date::year_month_day ymd{date::year{std::stoi(s.substr(0, 4))},
                           date::month{static_cast<unsigned>(std::stoi(s.substr(5, 2)))},
                           date::day{static_cast<unsigned>(std::stoi(s.substr(8, 2)))}};
  return ymd.ok();
}

}  // namespace

Json YamlToJson(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return nullptr;
    case YamlNode::Kind::kScalar: {
      const std::string& s = node.scalar;
      if (node.quoted) return s;
      if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty()) return nullptr;
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      int64_t i;
      if (ParseInt(s, i)) return i;
      double d;
      if (ParseFloat(s, d)) return d;
      return s;
    }
    case YamlNode::Kind::kSequence: {
      Json out = Json::array();
      for (const auto& item : node.items) out.push_back(YamlToJson(*item));
      return out;
    }
    case YamlNode::Kind::kMap: {
      Json out = Json::object();
      for (const auto& [k, v] : node.entries) {
        std::string key = k->IsScalar() ? k->scalar : YamlToJson(*k).dump();
        out[key] = YamlToJson(*v);
      }
      return out;
    }
  }
  return nullptr;
}

Result<Json> CoerceParam(const ParamSpec& spec, const Json& value) {
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(fmt::format(
        "param '{}' expects {}, got {}", spec.name, what,
        value.is_string() ? fmt::format("'{}'", value.get<std::string>()) : value.dump()));
  };
  switch (spec.type) {
    case ParamType::kString:
      if (value.is_string()) return value;
      if (value.is_number() || value.is_boolean()) return Json(value.dump());
      return bad("a string");
    case ParamType::kInt: {
      if (value.is_number_integer()) return value;
      if (value.is_number_float()) {
        double d = value.get<double>();
        if (std::floor(d) == d) return Json(static_cast<int64_t>(d));
      }
      int64_t i;
      if (value.is_string() && ParseInt(value.get<std::string>(), i)) return Json(i);
      return bad("an int");
    }
    case ParamType::kFloat: {
      if (value.is_number()) return Json(value.get<double>());
      double d;
      if (value.is_string() && ParseFloat(value.get<std::string>(), d)) return Json(d);
      return bad("a float");
    }
    case ParamType::kBool:
      if (value.is_boolean()) return value;
      if (value.is_string()) {
        std::string s = value.get<std::string>();
        if (s == "true" || s == "yes" || s == "1") return Json(true);
        if (s == "false" || s == "no" || s == "0") return Json(false);
      }
      return bad("a bool (true or false)");
    case ParamType::kDate:
      if (value.is_string()) {
        std::string s = value.get<std::string>();
        // A full timestamp keeps its date: logical_date renders as 2026-11-29T00:00:00Z.
        if (s.size() > 10 && s[10] == 'T') s = s.substr(0, 10);
        if (IsValidDate(s)) return Json(s);
      }
      return bad("a date (YYYY-MM-DD)");
    case ParamType::kList:
      if (value.is_array()) return value;
      if (value.is_string()) {
        // -p k=a,b,c or a JSON list
        std::string s = value.get<std::string>();
        if (!s.empty() && s.front() == '[') {
          if (JsonTextDepth(s) > kMaxJsonDepth) {
            return Status::InvalidArgument(TooDeepMessage(fmt::format("param '{}'", spec.name)));
          }
          auto parsed = Json::parse(s, nullptr, false);
          if (parsed.is_array()) return parsed;
        }
        Json out = Json::array();
        size_t start = 0;
        while (start <= s.size()) {
          size_t comma = s.find(',', start);
          if (comma == std::string::npos) comma = s.size();
          if (comma > start) out.push_back(s.substr(start, comma - start));
          start = comma + 1;
        }
        return out;
      }
      return bad("a list");
  }
  return bad("a value");
}

std::string_view ToString(ExecutorKind kind) {
  return kind == ExecutorKind::kSlurm ? "slurm" : "local";
}

std::optional<ExecutorKind> ParseExecutorKind(std::string_view text) {
  if (text == "local") return ExecutorKind::kLocal;
  if (text == "slurm") return ExecutorKind::kSlurm;
  return std::nullopt;
}

}  // namespace reel
