// Templates in workflow values: `{{ expr }}` in a YAML string, evaluated with a small, safe
// expression language (no code execution, no loops, no user-defined functions). The full
// language is described in docs/templating.md.
//
//   Template t = *Template::Parse("{{ ds_add(ds, -1) }}");
//   TemplateScope scope;  scope.ds = "2026-03-01";
//   Json v = *t.Render(scope);  // "2026-02-28"
//
// Typing: a string that is exactly one `{{ expr }}` (whitespace around it allowed) renders to
// the expression's typed JSON value; a string that mixes text and templates renders to a
// string; a string without `{{` is returned unchanged.
//
// A parsed Template is immutable and cheap to copy (copies share the parsed form); it may be
// rendered from several threads at once, each with its own scope. Parsing and rendering never
// throw: problems come back as a Status or a TemplateError with the byte offset they start at.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "reel/status.h"

namespace reel {

using Json = nlohmann::json;

// Templates longer than this (in bytes) are rejected when they contain `{{`; a plain string
// of any length is returned unchanged.
inline constexpr size_t kMaxTemplateBytes = 64 * 1024;
// Parentheses, brackets, function and filter arguments, `not` and unary minus nest at most
// this deep inside one expression.
inline constexpr int kMaxTemplateNesting = 64;

struct TemplateError {
  size_t offset = 0;  // byte offset in the source string where the problem starts
  std::string message;
};

// A variable path used by a template, collected at parse time for static validation.
struct TemplateReference {
  // The root and the attribute names / string-literal subscripts that follow it, e.g.
  // {"steps","train","outputs","model"}, {"params","epochs"}, {"ds"}, {"item","lr"}. The path
  // stops at the first integer or computed subscript: `item[0].x` yields {"item"}.
  std::vector<std::string> path;
  size_t offset = 0;         // byte offset of the root name within the source string
  bool has_default = false;  // inside the input of a `| default(...)` filter
};

// The prefix of the environment variables that hold secrets: secrets.NAME is
// $REEL_SECRET_NAME, and env.REEL_SECRET_NAME is as secret as secrets.NAME.
inline constexpr std::string_view kSecretEnvPrefix = "REEL_SECRET_";

// The environment of the default `env` lookup.
std::optional<std::string> GetProcessEnvironment(const std::string& name);

// What a template can see while rendering. Empty `ds`, `logical_date`, `ts`, the data interval
// and `run_id` count as undefined (a render error unless guarded by `| default(...)`), as does
// `item` when `has_item` is false.
struct TemplateScope {
  Json params = Json::object();
  std::string ds;            // YYYY-MM-DD
  std::string logical_date;  // ISO-8601, e.g. "2026-11-29T00:00:00Z"; treated as a string
  std::string ts;            // the same instant as logical_date (Airflow's name)
  // The run's data interval [start, end), ISO-8601 like logical_date.
  std::string data_interval_start, data_interval_end;
  std::string run_id;
  Json item;  // the foreach item; null when not in a foreach step
  bool has_item = false;
  bool item_secret = false;     // the item holds a secret: values derived from it are secret too
  Json steps = Json::object();  // {"name": {"outputs": {...}}}
  // Both return nullopt when the name is unknown; that is a render error unless guarded.
  std::function<std::optional<std::string>(const std::string&)> env = GetProcessEnvironment;
  std::function<std::optional<std::string>(const std::string&)> secrets;  // none by default
  // When set, every secret value a render resolves is appended (once), so that the caller can
  // redact it from logs; so is any string or number derived from a secret (`| upper`, `~`).
  // `env.REEL_SECRET_NAME` counts as a secret, and so does `item` when item_secret is set.
  mutable std::vector<std::string>* secret_values = nullptr;
};

namespace template_internal {
struct Program;
}  // namespace template_internal

class Template {
 public:
  // Status is InvalidArgument with the message alone; use ParseWithError for the offset.
  static Result<Template> Parse(std::string_view text);
  static std::variant<Template, TemplateError> ParseWithError(std::string_view text);

  // True when the source contains at least one `{{ ... }}`.
  bool has_expressions() const;
  // True when the source is exactly one `{{ expr }}`, with only whitespace around it; such a
  // template renders to a typed value.
  bool is_single_expression() const;
  // Every variable path used, in source order.
  const std::vector<TemplateReference>& references() const;
  const std::string& source() const;

  // Errors: InvalidArgument, e.g. "params.epochs is not defined".
  Result<Json> Render(const TemplateScope& scope) const;
  std::variant<Json, TemplateError> RenderWithError(const TemplateScope& scope) const;

 private:
  explicit Template(std::shared_ptr<const template_internal::Program> program);
  std::shared_ptr<const template_internal::Program> program_;
};

// True when `text` contains `{{`.
bool ContainsTemplate(std::string_view text);

// Renders every string inside a JSON value (objects and arrays recursively); keys are not
// rendered. Errors name where the string sits, e.g. "with.dataset: steps.x is not defined".
Result<Json> RenderJson(const Json& value, const TemplateScope& scope);

// Truthiness for `when:` and for `not`/`and`/`or`: false, null, 0, 0.0, "", "false", "no",
// "0" (the words in any letter case), an empty list and an empty object are false; all else
// is true.
bool IsTruthy(const Json& value);

// How a value appears inside a mixed string: strings raw, numbers in shortest form, true and
// false, null as "", lists and objects as compact JSON.
std::string TemplateStringify(const Json& value);

}  // namespace reel
