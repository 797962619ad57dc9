#include "engine/template/template.h"

#include <cstdlib>

#include "engine/template/internal/ast.h"
#include "engine/template/internal/builtins.h"
#include "engine/template/internal/eval.h"
#include "engine/template/internal/parser.h"

namespace reel {

using template_internal::Evaluator;
using template_internal::Program;
using template_internal::Value;

std::optional<std::string> GetProcessEnvironment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Template::Template(std::shared_ptr<const Program> program) : program_(std::move(program)) {}

std::variant<Template, TemplateError> Template::ParseWithError(std::string_view text) {
  auto parsed = template_internal::ParseProgram(text);
  if (auto* error = std::get_if<TemplateError>(&parsed)) return *error;
  return Template(std::move(std::get<std::shared_ptr<Program>>(parsed)));
}

Result<Template> Template::Parse(std::string_view text) {
  auto parsed = ParseWithError(text);
  if (auto* error = std::get_if<TemplateError>(&parsed)) {
    return Status::InvalidArgument(error->message);
  }
  return std::get<Template>(std::move(parsed));
}

bool Template::has_expressions() const { return program_->has_expressions; }
bool Template::is_single_expression() const { return program_->single_expression; }
const std::vector<TemplateReference>& Template::references() const { return program_->references; }
const std::string& Template::source() const { return program_->source; }

std::variant<Json, TemplateError> Template::RenderWithError(const TemplateScope& scope) const {
  if (!program_->has_expressions) return Json(program_->source);
  Evaluator evaluator(scope);
  // Evaluates one segment; a string or number derived from a secret is recorded for redaction.
  auto evaluate =
      [&](const template_internal::Segment& segment) -> std::variant<Value, TemplateError> {
    std::optional<Value> value = evaluator.Eval(*segment.expr);
    if (!value) return evaluator.error();
    if (!value->defined) return TemplateError{value->missing_offset, value->missing};
    const Json& json = value->json();
    if (value->secret && (json.is_string() || json.is_number())) {
      evaluator.RecordSecret(TemplateStringify(json));
    }
    return std::move(*value);
  };
  if (program_->single_expression) {
    for (const auto& segment : program_->segments) {
      if (!segment.expr) continue;
      auto result = evaluate(segment);
      if (auto* error = std::get_if<TemplateError>(&result)) return *error;
      return std::get<Value>(result).json();
    }
  }
  std::string out;
  for (const auto& segment : program_->segments) {
    if (!segment.expr) {
      out += segment.text;
      continue;
    }
    auto result = evaluate(segment);
    if (auto* error = std::get_if<TemplateError>(&result)) return *error;
    out += TemplateStringify(std::get<Value>(result).json());
    if (out.size() > template_internal::kMaxComputedSize) {
      return TemplateError{segment.offset,
                           template_internal::TooLarge("the rendered text").message()};
    }
  }
  return Json(std::move(out));
}

Result<Json> Template::Render(const TemplateScope& scope) const {
  auto rendered = RenderWithError(scope);
  if (auto* error = std::get_if<TemplateError>(&rendered)) {
    return Status::InvalidArgument(error->message);
  }
  return std::get<Json>(std::move(rendered));
}

bool ContainsTemplate(std::string_view text) { return text.find("{{") != std::string_view::npos; }

namespace {

Result<Json> RenderAt(const Json& value, const TemplateScope& scope, const std::string& where) {
  auto located = [&](const std::string& message) {
    return Status::InvalidArgument(where.empty() ? message : where + ": " + message);
  };
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (!ContainsTemplate(text)) return value;
    auto parsed = Template::ParseWithError(text);
    if (auto* error = std::get_if<TemplateError>(&parsed)) return located(error->message);
    auto rendered = std::get<Template>(parsed).RenderWithError(scope);
    if (auto* error = std::get_if<TemplateError>(&rendered)) return located(error->message);
    return std::get<Json>(std::move(rendered));
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      REEL_ASSIGN_OR_RETURN(
          auto child, RenderAt(*it, scope, where.empty() ? it.key() : where + "." + it.key()));
      out[it.key()] = std::move(child);
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (size_t i = 0; i < value.size(); ++i) {
      REEL_ASSIGN_OR_RETURN(auto child,
                            RenderAt(value[i], scope, where + "[" + std::to_string(i) + "]"));
      out.push_back(std::move(child));
    }
    return out;
  }
  return value;
}

bool EqualsIgnoringCase(const std::string& s, std::string_view word) {
  if (s.size() != word.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != word[i]) return false;
  }
  return true;
}

}  // namespace

Result<Json> RenderJson(const Json& value, const TemplateScope& scope) {
  return RenderAt(value, scope, "");
}

bool IsTruthy(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return false;
    case Json::value_t::boolean:
      return value.get<bool>();
    case Json::value_t::number_integer:
      return value.get<int64_t>() != 0;
    case Json::value_t::number_unsigned:
      return value.get<uint64_t>() != 0;
    case Json::value_t::number_float:
      return value.get<double>() != 0.0;
    case Json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      return !(s.empty() || s == "0" || EqualsIgnoringCase(s, "false") ||
               EqualsIgnoringCase(s, "no"));
    }
    case Json::value_t::array:
    case Json::value_t::object:
      return !value.empty();
    default:
      return true;
  }
}

std::string TemplateStringify(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "";
    case Json::value_t::string:
      return value.get<std::string>();
    default:
      return value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

}  // namespace reel
