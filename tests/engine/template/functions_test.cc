// The template language's functions and filters, date arithmetic included.
#include <cstdio>
#include <string>

#include <doctest/doctest.h>

#include "engine/template/template.h"

using namespace reel;

namespace {

TemplateScope FunctionScope() {
  TemplateScope scope;
  scope.params = {{"n", 3},
                  {"x", 2.5},
                  {"s", "  Hello World  "},
                  {"list", {3, 1, 2}},
                  {"words", {"a", "b", "c"}},
                  {"mixed", {1, "two", true, nullptr, {1}}},
                  {"obj", {{"a", 1}, {"b", "é"}}},
                  {"num_str", "42"},
                  {"float_str", "2.75"}};
  scope.ds = "2024-02-28";
  scope.logical_date = "2024-02-28T05:06:07Z";
  return scope;
}

Json Eval(const std::string& expr) {
  auto t = Template::Parse("{{ " + expr + " }}");
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  auto r = t->Render(FunctionScope());
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return *r;
}

std::string EvalError(const std::string& expr) {
  auto t = Template::Parse("{{ " + expr + " }}");
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  auto r = t->Render(FunctionScope());
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

}  // namespace

TEST_CASE("template functions: ds_add crosses month, year and leap-day boundaries") {
  CHECK(Eval("ds_add(ds, 1)") == Json("2024-02-29"));  // 2024 is a leap year
  CHECK(Eval("ds_add(ds, 2)") == Json("2024-03-01"));
  CHECK(Eval("ds_add('2023-02-28', 1)") == Json("2023-03-01"));  // 2023 is not
  CHECK(Eval("ds_add('1900-02-28', 1)") == Json("1900-03-01"));  // century: not a leap year
  CHECK(Eval("ds_add('2000-02-28', 1)") == Json("2000-02-29"));  // 400th year: a leap year
  CHECK(Eval("ds_add('2026-12-31', 1)") == Json("2027-01-01"));
  CHECK(Eval("ds_add('2027-01-01', -1)") == Json("2026-12-31"));
  CHECK(Eval("ds_add('2024-03-01', -1)") == Json("2024-02-29"));
  CHECK(Eval("ds_add('2026-01-31', 30)") == Json("2026-03-02"));
  CHECK(Eval("ds_add('2026-05-10', 0)") == Json("2026-05-10"));
  CHECK(Eval("ds_add('2026-05-10', -365)") == Json("2025-05-10"));
  CHECK(Eval("ds_add('2024-01-01', 366)") == Json("2025-01-01"));
  CHECK(Eval("ds_add(ds, params.n - 5)") == Json("2024-02-26"));
  CHECK(Eval("ds_add(ds, 2.0)") == Json("2024-03-01"));
  // A full timestamp keeps its date part.
  CHECK(Eval("ds_add(logical_date, 1)") == Json("2024-02-29"));
  CHECK(Eval("ds_add('2026-11-29T23:59:59.5+05:30', -1)") == Json("2026-11-28"));
  CHECK(Eval("ds_add('2026-11-29 10:00', 1)") == Json("2026-11-30"));
}

TEST_CASE("template functions: date errors name the function and the expected form") {
  CHECK(EvalError("ds_add('2026-02-30', 1)") ==
        "ds_add: '2026-02-30' is not a calendar date; expected a date 'YYYY-MM-DD' or a "
        "timestamp 'YYYY-MM-DDTHH:MM:SS[Z]'");
  CHECK(EvalError("ds_add('29/11/2026', 1)").find("ds_add: '29/11/2026' is not a date") == 0);
  CHECK(EvalError("ds_add('2026-11-29X', 1)").find("is not a date or timestamp") !=
        std::string::npos);
  CHECK(EvalError("ds_add(ds, 1.5)") ==
        "ds_add: the number of days must be a whole number, got 1.5");
  CHECK(EvalError("ds_add(ds, '1')") == "ds_add: expected an integer number of days, got string");
  CHECK(EvalError("ds_add(20240101, 1)") ==
        "ds_add: expected a date string as the first argument, got int");
  CHECK(EvalError("ds_add('9999-12-31', 1)") ==
        "ds_add: the result lies outside the years 0000-9999");
  CHECK(EvalError("ds_add(ds, 9223372036854775807)") ==
        "ds_add: the result lies outside the years 0000-9999");
}

TEST_CASE("template functions: ds_format") {
  CHECK(Eval("ds_format(ds, '%Y%m%d')") == Json("20240228"));
  CHECK(Eval("ds_format(ds, '%Y/%m/%d')") == Json("2024/02/28"));
  CHECK(Eval("ds_format(ds, '%d %b %Y, %A')") == Json("28 Feb 2024, Wednesday"));
  CHECK(Eval("ds_format(ds, '%j')") == Json("059"));
  CHECK(Eval("ds_format(ds, 'week %V of %G')") == Json("week 09 of 2024"));
  CHECK(Eval("ds_format(ds, '%F %T')") == Json("2024-02-28 00:00:00"));
  CHECK(Eval("ds_format(logical_date, '%Y%m%dT%H%M%S')") == Json("20240228T050607"));
  CHECK(Eval("ds_format(ds, '100%%')") == Json("100%"));
  CHECK(Eval("ds_format(ds, '%u %w %y %B %a [%e] %U %W')") ==
        Json("3 3 24 February Wed [28] 08 09"));
  CHECK(Eval("ds_format('2024-03-05', '[%e]')") == Json("[ 5]"));
  CHECK(Eval("ds_format(logical_date, '%I:%M %p')") == Json("05:06 AM"));
  CHECK(Eval("ds_format('2024-02-28T17:00:00Z', '%I %p')") == Json("05 PM"));
  CHECK(Eval("ds_format(ds_add(ds, 1), '%Y%m%d')") == Json("20240229"));
  CHECK(EvalError("ds_format(ds, '%Q')").find("ds_format: unsupported specifier '%Q'") == 0);
  CHECK(EvalError("ds_format(ds, 'x%')").find("ds_format: the format ends with a lone '%'") == 0);
  CHECK(EvalError("ds_format(ds, 3)").find("ds_format: expected a format string") == 0);
}

TEST_CASE("template functions: date_diff counts days from the second date to the first") {
  CHECK(Eval("date_diff('2024-03-01', '2024-02-01')") == Json(29));
  CHECK(Eval("date_diff('2023-03-01', '2023-02-01')") == Json(28));
  CHECK(Eval("date_diff('2024-02-01', '2024-03-01')") == Json(-29));
  CHECK(Eval("date_diff('2025-01-01', '2024-01-01')") == Json(366));
  CHECK(Eval("date_diff(ds, ds)") == Json(0));
  CHECK(Eval("date_diff(logical_date, '2024-02-27')") == Json(1));
  CHECK(Eval("date_diff(ds_add(ds, 10), ds)") == Json(10));
  CHECK(EvalError("date_diff(ds, 5)") == "date_diff: expected two date strings, got int");
}

TEST_CASE("template functions: min, max, len, str, int, float") {
  CHECK(Eval("min(params.list)") == Json(1));
  CHECK(Eval("max(params.list)") == Json(3));
  CHECK(Eval("min(4, 2.5, 3)") == Json(2.5));
  CHECK(Eval("max(params.n, 10)") == Json(10));
  CHECK(Eval("max('2024-01-02', ds, '2023-12-31')") == Json("2024-02-28"));
  CHECK(EvalError("min([])") == "min: the list is empty");
  CHECK(EvalError("max(1, 'a')").find("max: cannot compare string with int") == 0);
  CHECK(EvalError("min(5)") == "min: expected a list, or two or more values, got int");

  CHECK(Eval("len(params.words)") == Json(3));
  CHECK(Eval("len('héllo')") == Json(5));  // code points, not bytes
  CHECK(Eval("len(params.obj)") == Json(2));
  CHECK(EvalError("len(3)") == "len: expected a string, list or object, got int");

  CHECK(Eval("str(3)") == Json("3"));
  CHECK(Eval("str(0.5)") == Json("0.5"));
  CHECK(Eval("str(true)") == Json("true"));
  CHECK(Eval("str(null)") == Json(""));
  CHECK(Eval("str([1, 'a'])") == Json(R"([1,"a"])"));

  CHECK(Eval("int('42')") == Json(42));
  CHECK(Eval("int(' -7 ')") == Json(-7));
  CHECK(Eval("int(params.float_str)") == Json(2));
  CHECK(Eval("int(3.99)") == Json(3));
  CHECK(Eval("int(-3.99)") == Json(-3));
  CHECK(Eval("int(true)") == Json(1));
  CHECK(Eval("int(params.num_str) + 1") == Json(43));
  CHECK(EvalError("int('abc')") == "int: cannot convert string 'abc' to an integer");
  CHECK(EvalError("int(null)") == "int: cannot convert null to an integer");
  CHECK(EvalError("int(1e30)") == "int: 1e+30 does not fit in an integer");

  CHECK(Eval("float('2.5')") == Json(2.5));
  CHECK(Eval("float(2)").is_number_float());
  CHECK(Eval("float(false)") == Json(0.0));
  CHECK(EvalError("float('x1')") == "float: cannot convert string 'x1' to a number");
  CHECK(EvalError("float('inf')") == "float: cannot convert string 'inf' to a number");
}

TEST_CASE("template filters: case, trim, replace, join, length, bool") {
  CHECK(Eval("params.s | trim") == Json("Hello World"));
  CHECK(Eval("params.s | trim | upper") == Json("HELLO WORLD"));
  CHECK(Eval("params.s | trim | lower") == Json("hello world"));
  CHECK(Eval("'Évian' | upper") == Json("ÉVIAN"));  // ASCII letters only
  CHECK(Eval("ds | replace('-', '')") == Json("20240228"));
  CHECK(Eval("'aaa' | replace('a', 'bb')") == Json("bbbbbb"));
  CHECK(Eval("'abc' | replace('x', 'y')") == Json("abc"));
  CHECK(EvalError("'abc' | replace('', 'y')") == "replace: the text to replace must not be empty");
  CHECK(Eval("params.words | join(', ')") == Json("a, b, c"));
  CHECK(Eval("params.words | join") == Json("abc"));
  CHECK(Eval("params.mixed | join('|')") == Json("1|two|true||[1]"));
  CHECK(Eval("[] | join(',')") == Json(""));
  CHECK(EvalError("'abc' | join(',')") == "join: expected a list, got string");
  CHECK(Eval("params.words | length") == Json(3));
  CHECK(Eval("params.s | length") == Json(15));
  CHECK(Eval("'no' | bool") == Json(false));
  CHECK(Eval("'yes' | bool") == Json(true));
  CHECK(Eval("0 | bool") == Json(false));
  CHECK(Eval("params.list | bool") == Json(true));
  CHECK(EvalError("3 | upper") == "upper: expected a string, got int");
  CHECK(EvalError("null | trim") == "trim: expected a string, got null");
}

TEST_CASE("template filters: conversions and json") {
  CHECK(Eval("params.num_str | int") == Json(42));
  CHECK(Eval("params.num_str | int").is_number_integer());
  CHECK(Eval("params.float_str | float") == Json(2.75));
  CHECK(Eval("params.n | float") == Json(3.0));
  CHECK(Eval("params.x | int") == Json(2));
  CHECK(Eval("params.n | string") == Json("3"));
  CHECK(Eval("params.list | string") == Json("[3,1,2]"));
  CHECK(Eval("params.obj | json") == Json(R"({"a":1,"b":"é"})"));
  CHECK(Eval("'a\"b' | json") == Json(R"("a\"b")"));
  CHECK(Eval("null | json") == Json("null"));
  CHECK(Eval("params.n | json") == Json("3"));
  CHECK(EvalError("'3x' | int") == "int: cannot convert string '3x' to an integer");
}

TEST_CASE("template filters: default") {
  CHECK(Eval("params.missing | default(1)") == Json(1));
  CHECK(Eval("params.missing | default([1, 2])") == Json({1, 2}));
  CHECK(Eval("null | default('x')") == Json("x"));
  CHECK(Eval("params.n | default(1)") == Json(3));
  CHECK(Eval("(params.missing | default('a')) ~ 'b'") == Json("ab"));
  CHECK(Eval("params.missing | default(ds) | replace('-', '')") == Json("20240228"));
}

TEST_CASE("template filters bind tighter than operators") {
  CHECK(Eval("1 + params.missing | default(1)") == Json(2));
  CHECK(Eval("-params.x | int") == Json(-2));
  CHECK(Eval("'a' ~ params.words | join('')") == Json("aabc"));
  CHECK(Eval("params.words | length > 2") == Json(true));
}

TEST_CASE("template: computed strings are capped so chained replace cannot exhaust memory") {
  std::string expr = "'ab'";
  for (int i = 0; i < 40; ++i) expr += " | replace('a', 'aa') | replace('b', 'bb')";
  CHECK(EvalError(expr).find("replace: the result is too large (the limit is 16 MiB") == 0);
}

TEST_CASE("template functions: ds_add and date_diff agree with a day-by-day calendar walk") {
  // An independent reference: step one day at a time with the Gregorian leap-year rule.
  int y = 1999, m = 1, d = 1;
  auto days_in_month = [](int year, int month) {
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
  };
  char expected[40];
  auto t_add = *Template::Parse("{{ ds_add('1999-01-01', params.n) }}");
  auto t_diff = *Template::Parse("{{ date_diff(params.d, '1999-01-01') }}");
  for (int n = 0; n <= 3 * 366 + 400; ++n) {
    std::snprintf(expected, sizeof expected, "%04d-%02d-%02d", y, m, d);
    TemplateScope scope;
    scope.params = {{"n", n}, {"d", expected}};
    CHECK(*t_add.Render(scope) == Json(expected));
    CHECK(*t_diff.Render(scope) == Json(n));
    if (++d > days_in_month(y, m)) {
      d = 1;
      if (++m > 12) {
        m = 1;
        ++y;
      }
    }
  }
}
