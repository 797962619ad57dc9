// The template language: typing, rendering, references, errors, limits, truthiness, secrets.
// Functions and filters are covered in template_functions_test.cc.
#include "engine/template/template.h"

#include <map>
#include <string>

#include <doctest/doctest.h>

using namespace reel;

namespace {

TemplateScope TestScope() {
  TemplateScope scope;
  scope.params = {{"epochs", 5},
                  {"lr", 0.01},
                  {"name", "mf"},
                  {"flag", true},
                  {"tags", {"a", "b"}},
                  {"empty", nullptr},
                  {"nested", {{"k", {1, 2, 3}}}}};
  scope.ds = "2026-11-29";
  scope.logical_date = "2026-11-29T00:00:00Z";
  scope.ts = "2026-11-29T00:00:00Z";
  scope.data_interval_start = "2026-11-29T00:00:00Z";
  scope.data_interval_end = "2026-11-30T00:00:00Z";
  scope.run_id = "run-42";
  scope.steps = {
      {"train",
       {{"outputs",
         {{"model", "m.pt"}, {"loss", 0.25}, {"shards", {{{"path", "s0"}}, {{"path", "s1"}}}}}}}}};
  static const std::map<std::string, std::string> kEnv = {{"HOME_DIR", "/home/r"}};
  scope.env = [](const std::string& name) -> std::optional<std::string> {
    auto it = kEnv.find(name);
    if (it == kEnv.end()) return std::nullopt;
    return it->second;
  };
  return scope;
}

Json Render(const std::string& text, const TemplateScope& scope = TestScope()) {
  auto t = Template::Parse(text);
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  auto r = t->Render(scope);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return *r;
}

std::string RenderError(const std::string& text, const TemplateScope& scope = TestScope()) {
  auto t = Template::Parse(text);
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  auto r = t->Render(scope);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

TemplateError ParseError(const std::string& text) {
  auto parsed = Template::ParseWithError(text);
  REQUIRE(std::holds_alternative<TemplateError>(parsed));
  return std::get<TemplateError>(parsed);
}

}  // namespace

TEST_CASE("template: a single expression keeps its JSON type") {
  CHECK(Render("{{ params.epochs }}") == Json(5));
  CHECK(Render("{{ params.epochs }}").is_number_integer());
  CHECK(Render("  {{params.lr}}\n") == Json(0.01));
  CHECK(Render("{{ params.flag }}") == Json(true));
  CHECK(Render("{{ params.tags }}") == Json({"a", "b"}));
  CHECK(Render("{{ params.empty }}").is_null());
  CHECK(Render("{{ [1, 'x', [true]] }}") == Json::parse(R"([1, "x", [true]])"));
  CHECK(Render("{{ params }}") == TestScope().params);
  auto t = *Template::Parse(" {{ ds }} ");
  CHECK(t.is_single_expression());
  CHECK(t.has_expressions());
}

TEST_CASE("template: mixed text renders to a string") {
  CHECK(Render("epochs={{ params.epochs }}") == Json("epochs=5"));
  CHECK(Render("{{ params.lr }}/{{ params.flag }}/{{ params.empty }}") == Json("0.01/true/"));
  CHECK(Render("tags: {{ params.tags }}") == Json(R"(tags: ["a","b"])"));
  CHECK(Render("{{ ds }}{{ ds }}") == Json("2026-11-292026-11-29"));
  CHECK(Render("x {{ 1.5 }} {{ 2.0 }} {{ 1e21 }}") == Json("x 1.5 2.0 1e+21"));
  auto t = *Template::Parse("{{ ds }}{{ ds }}");
  CHECK_FALSE(t.is_single_expression());
}

TEST_CASE("template: text without braces is returned unchanged") {
  auto t = *Template::Parse("plain } text }} with {single} braces");
  CHECK_FALSE(t.has_expressions());
  CHECK(t.references().empty());
  CHECK(*t.Render(TestScope()) == Json("plain } text }} with {single} braces"));
  CHECK(Render("") == Json(""));
  // Long plain strings are fine; only templates have a length limit.
  std::string big(200000, 'x');
  CHECK(Render(big) == Json(big));
  CHECK_FALSE(ContainsTemplate(big));
  CHECK(ContainsTemplate("a {{ b"));
}

TEST_CASE("template: a literal '{{' is written as a string expression") {
  CHECK(Render("{{ '{{' }} ds }}") == Json("{{ ds }}"));
  CHECK(Render("{{ '}}' }}") == Json("}}"));
}

TEST_CASE("template: variables") {
  CHECK(Render("{{ ds }}") == Json("2026-11-29"));
  CHECK(Render("{{ logical_date }}") == Json("2026-11-29T00:00:00Z"));
  CHECK(Render("{{ ts }}") == Json("2026-11-29T00:00:00Z"));
  CHECK(Render("{{ data_interval_start }} - {{ data_interval_end }}") ==
        Json("2026-11-29T00:00:00Z - 2026-11-30T00:00:00Z"));
  CHECK(Render("{{ run_id }}") == Json("run-42"));
  CHECK(Render("{{ steps.train.outputs.model }}") == Json("m.pt"));
  CHECK(Render("{{ steps.train.outputs.shards[1].path }}") == Json("s1"));
  CHECK(Render("{{ steps.train.outputs['shards'][-1]['path'] }}") == Json("s1"));
  CHECK(Render("{{ params.nested.k[0] + params.nested[\"k\"][2] }}") == Json(4));
  CHECK(Render("{{ env.HOME_DIR }}/data") == Json("/home/r/data"));
  CHECK(Render("{{ env['HOME_DIR'] }}") == Json("/home/r"));

  TemplateScope scope = TestScope();
  scope.has_item = true;
  scope.item = {{"lr", 0.1}, {"layers", {64, 32}}};
  CHECK(Render("{{ item.lr }}", scope) == Json(0.1));
  CHECK(Render("{{ item.layers[0] }}", scope) == Json(64));
  CHECK(Render("{{ item }}", scope) == scope.item);
  scope.item = Json::array({"x", 7});
  CHECK(Render("{{ item[1] }}", scope) == Json(7));
}

TEST_CASE("template: the default env lookup reads the process environment") {
  ::setenv("REEL_TEMPLATE_TEST_VAR", "yes", 1);
  TemplateScope scope;
  CHECK(Render("{{ env.REEL_TEMPLATE_TEST_VAR }}", scope) == Json("yes"));
  ::unsetenv("REEL_TEMPLATE_TEST_VAR");
  CHECK(RenderError("{{ env.REEL_TEMPLATE_TEST_VAR }}", scope) ==
        "env.REEL_TEMPLATE_TEST_VAR is not defined: the environment variable "
        "REEL_TEMPLATE_TEST_VAR is not set");
}

TEST_CASE("template: literals") {
  CHECK(Render("{{ 'it\\'s' }}") == Json("it's"));
  CHECK(Render("{{ \"a\\\"b\\n\\t\\\\\" }}") == Json("a\"b\n\t\\"));
  CHECK(Render("{{ '\\u00e9' }}") == Json("\xC3\xA9"));
  CHECK(Render("{{ 42 }}") == Json(42));
  CHECK(Render("{{ -7 }}") == Json(-7));
  CHECK(Render("{{ 2.5e-3 }}") == Json(0.0025));
  CHECK(Render("{{ true }}") == Json(true));
  CHECK(Render("{{ false }}") == Json(false));
  CHECK(Render("{{ null }}").is_null());
  CHECK(Render("{{ [] }}") == Json::array());
  CHECK(Render("{{ [1, 2,] }}") == Json({1, 2}));
  CHECK(Render("{{ 9223372036854775807 }}") == Json(INT64_MAX));
}

TEST_CASE("template: operators") {
  CHECK(Render("{{ 1 + 2 * 3 }}") == Json(7));
  CHECK(Render("{{ (1 + 2) * 3 }}") == Json(9));
  CHECK(Render("{{ 7 - 10 }}") == Json(-3));
  CHECK(Render("{{ 7 / 2 }}") == Json(3.5));
  CHECK(Render("{{ 6 / 3 }}").is_number_float());
  CHECK(Render("{{ 1 + 0.5 }}") == Json(1.5));
  CHECK(Render("{{ params.epochs * 2 }}") == Json(10));
  CHECK(Render("{{ -params.epochs }}") == Json(-5));
  CHECK(Render("{{ 'a' + 'b' }}") == Json("ab"));
  CHECK(Render("{{ [1] + [2] }}") == Json({1, 2}));
  CHECK(Render("{{ 'n=' ~ 1 + 2 }}") == Json("n=3"));
  CHECK(Render("{{ params.name ~ '-' ~ params.flag ~ params.empty }}") == Json("mf-true"));
  CHECK(Render("{{ 1 == 1.0 }}") == Json(true));
  CHECK(Render("{{ 'a' != 'b' }}") == Json(true));
  CHECK(Render("{{ 1 == '1' }}") == Json(false));
  CHECK(Render("{{ params.epochs >= 5 and params.lr < 0.1 }}") == Json(true));
  CHECK(Render("{{ 3 > 4 or 2 <= 1 }}") == Json(false));
  CHECK(Render("{{ not params.flag }}") == Json(false));
  CHECK(Render("{{ not 1 == 2 }}") == Json(true));
  // and/or return one of their operands, like Python and Jinja.
  CHECK(Render("{{ params.empty or 'fallback' }}") == Json("fallback"));
  CHECK(Render("{{ params.name and params.epochs }}") == Json(5));
  // Short-circuit: the right side is not evaluated, so its missing value is no error.
  CHECK(Render("{{ params.flag or params.nope }}") == Json(true));
}

TEST_CASE("template: dates compare as strings") {
  CHECK(Render("{{ ds > '2026-11-28' }}") == Json(true));
  CHECK(Render("{{ ds <= '2026-02-01' }}") == Json(false));
  CHECK(Render("{{ '2026-12-01' > '2026-11-30' }}") == Json(true));
  CHECK(Render("{{ logical_date >= ds }}") == Json(true));
}

TEST_CASE("template: operator type errors") {
  CHECK(RenderError("{{ 'a' + 1 }}") ==
        "cannot apply '+' to string and int; use '~' to join values as text");
  CHECK(RenderError("{{ 'a' * 2 }}") ==
        "cannot apply '*' to string and int; '*' needs two numbers");
  CHECK(RenderError("{{ 1 / 0 }}") == "division by zero");
  CHECK(RenderError("{{ 1 < 'a' }}").find("cannot compare int with string using '<'") == 0);
  CHECK(RenderError("{{ -'a' }}") == "cannot negate a string; '-' needs a number");
  CHECK(RenderError("{{ 9223372036854775807 + 1 }}").find("integer overflow") == 0);
  CHECK(RenderError("{{ params.tags['x'] }}").find("a list index must be an integer") == 0);
  CHECK(RenderError("{{ params.nested[0] }}").find("an object key must be a string") == 0);
}

TEST_CASE("template: default guards missing and null values") {
  CHECK(Render("{{ params.missing | default(3) }}") == Json(3));
  CHECK(Render("{{ params.empty | default('x') }}") == Json("x"));
  CHECK(Render("{{ params.epochs | default(3) }}") == Json(5));
  CHECK(Render("{{ params.flag | default(true) }}") == Json(true));
  CHECK(Render("{{ params.name | default('x') }}") == Json("mf"));
  CHECK(Render("{{ steps.eval.outputs.auc | default(0.5) }}") == Json(0.5));
  CHECK(Render("{{ params.tags[5] | default('none') }}") == Json("none"));
  CHECK(Render("{{ env.NOT_SET_ANYWHERE | default('/tmp') }}") == Json("/tmp"));
  CHECK(Render("{{ item | default('solo') }}") == Json("solo"));
  // Undefined flows through operators and filters until it reaches default.
  CHECK(Render("{{ (params.missing + 1) | default(0) }}") == Json(0));
  CHECK(Render("{{ params.missing | upper | default('d') }}") == Json("d"));
  CHECK(Render("{{ params.missing.deeper | default(1) }}") == Json(1));
  // Defaults chain and are evaluated only when needed.
  CHECK(Render("{{ params.a | default(params.b) | default('c') }}") == Json("c"));
  CHECK(Render("{{ params.epochs | default(params.nope) }}") == Json(5));
  CHECK(Render("lr={{ params.rate | default(params.lr) }}") == Json("lr=0.01"));
  // Falsy but defined values are kept.
  TemplateScope scope = TestScope();
  scope.params["zero"] = 0;
  scope.params["blank"] = "";
  CHECK(Render("{{ params.zero | default(9) }}", scope) == Json(0));
  CHECK(Render("{{ params.blank | default('x') }}", scope) == Json(""));
}

TEST_CASE("template: missing values are render errors with clear messages") {
  TemplateScope scope = TestScope();
  scope.params = {{"epoch", 1}};
  CHECK(RenderError("{{ params.epochs }}", scope) ==
        "params.epochs is not defined; did you mean 'params.epoch'?");
  scope.params = Json::object();
  CHECK(RenderError("{{ params.epochs }}", scope) ==
        "params.epochs is not defined; params is empty");
  scope.params = {{"alpha", 1}, {"beta", 2}};
  CHECK(RenderError("x={{ params.epochs }}", scope) ==
        "params.epochs is not defined; params has: alpha, beta");
  CHECK(RenderError("{{ steps.train.outputs.modle }}") ==
        "steps.train.outputs.modle is not defined; did you mean 'steps.train.outputs.model'?");
  CHECK(RenderError("{{ steps.evaluate.outputs.auc }}")
            .find("steps.evaluate is not defined: no step named 'evaluate' has outputs here") == 0);
  CHECK(RenderError("{{ env.NOT_SET_ANYWHERE }}") ==
        "env.NOT_SET_ANYWHERE is not defined: the environment variable NOT_SET_ANYWHERE is not "
        "set");
  CHECK(RenderError("{{ item }}") ==
        "item is not defined: 'item' exists only in a step with 'foreach'");
  CHECK(RenderError("{{ params.tags[2] }}") ==
        "params.tags[2] is not defined: index 2 is out of range for a list of 2 items");
  CHECK(RenderError("{{ params.name.first }}") ==
        "params.name.first is not defined: params.name is a string, not an object");
  CHECK(RenderError("{{ secrets.token }}") ==
        "secrets.token is not defined: no secret provider is configured");
  TemplateScope bare;
  CHECK(RenderError("{{ ds }}", bare) == "ds is not defined: no logical date is set here");
  CHECK(RenderError("{{ data_interval_end }}", bare) ==
        "data_interval_end is not defined: no data interval is set here");
  CHECK(RenderError("{{ run_id }}", bare) == "run_id is not defined: no run is in progress here");
}

TEST_CASE("template: render errors carry the offset of the failing reference") {
  auto t = *Template::Parse("a {{ ds }} b {{ params.nope }}");
  auto r = t.RenderWithError(TestScope());
  REQUIRE(std::holds_alternative<TemplateError>(r));
  CHECK(std::get<TemplateError>(r).offset == 16);
  auto t2 = *Template::Parse("{{ 1 + 'x' }}");
  auto r2 = t2.RenderWithError(TestScope());
  REQUIRE(std::holds_alternative<TemplateError>(r2));
  CHECK(std::get<TemplateError>(r2).offset == 5);
}

TEST_CASE("template: secrets are resolved by a callback and collected for redaction") {
  TemplateScope scope = TestScope();
  scope.secrets = [](const std::string& name) -> std::optional<std::string> {
    if (name == "db_password") return "hunter2";
    if (name == "api_key") return "k-123";
    return std::nullopt;
  };
  std::vector<std::string> seen;
  scope.secret_values = &seen;
  CHECK(Render("postgres://u:{{ secrets.db_password }}@h/db", scope) ==
        Json("postgres://u:hunter2@h/db"));
  CHECK(Render("{{ secrets['api_key'] }}", scope) == Json("k-123"));
  CHECK(Render("{{ secrets.db_password }}", scope) == Json("hunter2"));  // recorded once
  CHECK(seen == std::vector<std::string>{"hunter2", "k-123"});
  // A value derived from a secret is recorded too; a comparison result is not.
  CHECK(Render("{{ secrets.api_key | upper }}", scope) == Json("K-123"));
  CHECK(Render("{{ secrets.api_key == 'x' }}", scope) == Json(false));
  CHECK(Render("{{ secrets.api_key | length }}", scope) == Json(5));
  CHECK(seen == std::vector<std::string>{"hunter2", "k-123", "K-123"});
  CHECK(RenderError("{{ secrets.nope }}", scope) ==
        "secrets.nope is not defined: there is no secret named 'nope'");
  CHECK(Render("{{ secrets.nope | default('') }}", scope) == Json(""));
  // Without a collector, rendering still works.
  scope.secret_values = nullptr;
  CHECK(Render("{{ secrets.api_key }}", scope) == Json("k-123"));
}

TEST_CASE("template: env.REEL_SECRET_NAME is as secret as secrets.NAME; so is a secret item") {
  TemplateScope scope = TestScope();
  scope.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "REEL_SECRET_token") return "tok-1";
    if (name == "HOME") return "/home/me";
    return std::nullopt;
  };
  std::vector<std::string> seen;
  scope.secret_values = &seen;
  CHECK(Render("{{ env.HOME }}", scope) == Json("/home/me"));
  CHECK(seen.empty());
  CHECK(Render("Bearer {{ env.REEL_SECRET_token }}", scope) == Json("Bearer tok-1"));
  CHECK(Render("{{ env['REEL_SECRET_token'] | upper }}", scope) == Json("TOK-1"));
  CHECK(seen == std::vector<std::string>{"tok-1", "TOK-1"});

  seen.clear();
  scope.item = Json{{"user", "alice"}, {"password", "pw-9"}};
  scope.has_item = true;
  CHECK(Render("{{ item.password }}", scope) == Json("pw-9"));
  CHECK(seen.empty());  // an ordinary item is no secret
  scope.item_secret = true;
  CHECK(Render("{{ item.password }}", scope) == Json("pw-9"));
  CHECK(Render("{{ item.password ~ '!' }}", scope) == Json("pw-9!"));
  CHECK(seen == std::vector<std::string>{"pw-9", "pw-9!"});
}

TEST_CASE("template: references are extracted with offsets") {
  auto t = *Template::Parse(
      "{{ steps.train.outputs.model }} {{ params.epochs | default(3) }} {{ ds_add(ds, -1) }}");
  const auto& refs = t.references();
  REQUIRE(refs.size() == 3);
  CHECK(refs[0].path == std::vector<std::string>{"steps", "train", "outputs", "model"});
  CHECK(refs[0].offset == 3);
  CHECK_FALSE(refs[0].has_default);
  CHECK(refs[1].path == std::vector<std::string>{"params", "epochs"});
  CHECK(refs[1].offset == 35);
  CHECK(refs[1].has_default);
  CHECK(refs[2].path == std::vector<std::string>{"ds"});
  CHECK(refs[2].offset == 75);
  CHECK_FALSE(refs[2].has_default);

  auto t2 = *Template::Parse(
      "{{ item.lr }}{{ item['k'].x }}{{ item[0].y }}{{ env.HOME }}{{ secrets.tok }}"
      "{{ steps.s.outputs[params.key] }}{{ (params.a ~ params.b) | default(params.c) }}");
  const auto& r2 = t2.references();
  REQUIRE(r2.size() == 10);
  CHECK(r2[0].path == std::vector<std::string>{"item", "lr"});
  CHECK(r2[1].path == std::vector<std::string>{"item", "k", "x"});
  CHECK(r2[2].path == std::vector<std::string>{"item"});
  CHECK(r2[3].path == std::vector<std::string>{"env", "HOME"});
  CHECK(r2[4].path == std::vector<std::string>{"secrets", "tok"});
  CHECK(r2[5].path == std::vector<std::string>{"steps", "s", "outputs"});
  CHECK(r2[6].path == std::vector<std::string>{"params", "key"});
  CHECK(r2[7].path == std::vector<std::string>{"params", "a"});
  CHECK(r2[7].has_default);
  CHECK(r2[8].has_default);
  CHECK(r2[9].path == std::vector<std::string>{"params", "c"});
  CHECK_FALSE(r2[9].has_default);  // the fallback itself is not guarded
  for (size_t i = 1; i < r2.size(); ++i) CHECK(r2[i - 1].offset < r2[i].offset);
}

TEST_CASE("template: parse errors say what was expected and where") {
  struct Case {
    const char* text;
    size_t offset;
    const char* message;
  };
  const Case cases[] = {
      {"{{ (1 + 2)) }}", 10, "unexpected ')': expected '}}' or an operator"},
      {"{{ ds_ad(ds, 1) }}", 3, "unknown function 'ds_ad'; did you mean 'ds_add'?"},
      {"{{ ds | uper }}", 8, "unknown filter 'uper'; did you mean 'upper'?"},
      {"x {{ ds ", 2, "unterminated '{{': expected '}}' before the end of the text"},
      {"{{ ds + }}", 8, "unexpected '}}': expected a value"},
      {"{{ }}", 3, "empty expression: expected a value between '{{' and '}}'"},
      {"{{ parms.x }}", 3, "unknown variable 'parms'; did you mean 'params'?"},
      {"{{ 'abc }}", 3, "unterminated string: expected a closing '"},
      {"{{ foo = 1 }}", 3,
       "unknown variable 'foo'; variables are: params, ds, logical_date, ts, "
       "data_interval_start, data_interval_end, run_id, item, steps, env, secrets (write a "
       "text literal in quotes: "
       "'foo')"},
      {"{{ ds = 1 }}", 6, "unexpected '='; to compare, write '=='"},
      {"{{ ds_add(ds) }}", 3,
       "function 'ds_add' takes 2 arguments, got 1; usage: ds_add(date, days)"},
      {"{{ ds | replace('a') }}", 8,
       "filter 'replace' takes 2 arguments, got 1; usage: x | replace(\"old\", \"new\")"},
      {"{{ upper(ds) }}", 3, "unknown function 'upper'; 'upper' is a filter: write 'x | upper'"},
      {"{{ ds | ds_add(1) }}", 8,
       "unknown filter 'ds_add'; 'ds_add' is a function: write ds_add(date, days)"},
      {"{{ 1 < 2 < 3 }}", 9, "comparisons cannot be chained: write 'a < b and b < c'"},
      {"{{ env }}", 3, "'env' must be followed by a name, e.g. env.NAME"},
      {"{{ [1, 2 }}", 9, "unexpected '}}': expected ',' or ']'"},
      {"{{ 'a\\q' }}", 5, "unknown escape '\\q'; known: \\\\ \\' \\\" \\n \\t \\r \\0 \\uXXXX"},
      {"{{ 99999999999999999999 }}", 3,
       "integer '99999999999999999999' is too large (the limit is 2^63-1)"},
      {"{{ params.x.1 }}", 12,
       "unexpected number 1 after '.': index a list with brackets, e.g. x[0]"},
      {"{{ ds && ds }}", 6, "unexpected '&'; write 'and'"},
      {"{{ ds }} {{ ds_format(ds) }}", 12,
       "function 'ds_format' takes 2 arguments, got 1; usage: ds_format(date, \"%Y%m%d\")"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    TemplateError e = ParseError(c.text);
    CHECK(e.message == c.message);
    CHECK(e.offset == c.offset);
  }
  auto status = Template::Parse("{{ ds | uper }}");
  REQUIRE_FALSE(status.ok());
  CHECK(status.status().code() == Status::Code::kInvalidArgument);
  CHECK(status.status().message() == "unknown filter 'uper'; did you mean 'upper'?");
}

TEST_CASE("template: nesting beyond the limit is an error, never a stack overflow") {
  auto nested = [](int depth, const char* open, const char* close) {
    std::string s = "{{ ";
    for (int i = 0; i < depth; ++i) s += open;
    s += "1";
    for (int i = 0; i < depth; ++i) s += close;
    return s + " }}";
  };
  CHECK(Render(nested(kMaxTemplateNesting, "(", ")")) == Json(1));
  TemplateError e = ParseError(nested(kMaxTemplateNesting + 1, "(", ")"));
  CHECK(e.message.find("expression nests too deeply") == 0);
  CHECK(e.offset == 3 + kMaxTemplateNesting);
  CHECK(ParseError(nested(10000, "[", "]")).message.find("expression nests too deeply") == 0);
  CHECK(ParseError(nested(10000, "not ", "")).message.find("expression nests too deeply") == 0);
  CHECK(ParseError(nested(10000, "-", "")).message.find("expression nests too deeply") == 0);
  CHECK(ParseError(nested(10000, "len(", ")")).message.find("expression nests too deeply") == 0);

  // Long flat chains are bounded too, so evaluation recursion stays shallow.
  std::string chain = "{{ 0";
  for (int i = 0; i < 200; ++i) chain += " + 1";
  CHECK(Render(chain + " }}") == Json(200));
  std::string filters = "{{ 'x'";
  for (int i = 0; i < 5000; ++i) filters += " | upper";
  CHECK(ParseError(filters + " }}").message.find("expression is too long") == 0);
}

TEST_CASE("template: templates longer than the limit are rejected") {
  std::string text = "{{ ds }}" + std::string(kMaxTemplateBytes, ' ');
  TemplateError e = ParseError(text);
  CHECK(e.message ==
        "template is too long: " + std::to_string(text.size()) + " bytes, the limit is 65536");
  CHECK(e.offset == kMaxTemplateBytes);
}

TEST_CASE("template: truthiness") {
  for (const Json& falsy :
       {Json(false), Json(nullptr), Json(0), Json(0.0), Json(""), Json("false"), Json("False"),
        Json("no"), Json("NO"), Json("0"), Json::array(), Json::object()}) {
    CAPTURE(falsy.dump());
    CHECK_FALSE(IsTruthy(falsy));
  }
  for (const Json& truthy : {Json(true), Json(1), Json(-1), Json(0.5), Json("yes"), Json("true"),
                             Json(" "), Json("00"), Json({0}), Json({{"a", 0}})}) {
    CAPTURE(truthy.dump());
    CHECK(IsTruthy(truthy));
  }
  CHECK(Render("{{ not 'no' }}") == Json(true));
}

TEST_CASE("template: RenderJson renders every string value, not keys") {
  Json config = Json::parse(R"({
    "epochs": "{{ params.epochs }}",
    "{{ ds }}": "key stays",
    "files": ["{{ ds }}.csv", 3, {"model": "{{ steps.train.outputs.model }}"}],
    "plain": "no templates",
    "n": null
  })");
  auto rendered = RenderJson(config, TestScope());
  REQUIRE(rendered.ok());
  CHECK(*rendered == Json::parse(R"({
    "epochs": 5,
    "{{ ds }}": "key stays",
    "files": ["2026-11-29.csv", 3, {"model": "m.pt"}],
    "plain": "no templates",
    "n": null
  })"));

  Json bad = Json::parse(R"({"a": {"list": [1, "{{ params.nope }}"]}})");
  auto error = RenderJson(bad, TestScope());
  REQUIRE_FALSE(error.ok());
  CHECK(error.status().message().find("a.list[1]: params.nope is not defined") == 0);
  auto parse_error = RenderJson(Json::parse(R"({"x": "{{ ds | uper }}"})"), TestScope());
  REQUIRE_FALSE(parse_error.ok());
  CHECK(parse_error.status().message() == "x: unknown filter 'uper'; did you mean 'upper'?");
  CHECK(*RenderJson(Json("{{ ds }}"), TestScope()) == Json("2026-11-29"));
}

TEST_CASE("template: copies share the parsed form and render independently") {
  auto t = *Template::Parse("{{ params.epochs * 2 }}");
  Template copy = t;
  TemplateScope a = TestScope(), b = TestScope();
  b.params["epochs"] = 10;
  CHECK(*t.Render(a) == Json(10));
  CHECK(*copy.Render(b) == Json(20));
  CHECK(copy.source() == "{{ params.epochs * 2 }}");
}
