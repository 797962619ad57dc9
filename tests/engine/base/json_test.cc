#include "engine/base/json.h"

#include <string>

#include <doctest/doctest.h>

namespace reel {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST_CASE("JSON text depth counts arrays and objects, not brackets in strings") {
  CHECK(JsonTextDepth("3") == 0);
  CHECK(JsonTextDepth(R"({"a": [1, {"b": []}]})") == 4);
  CHECK(JsonTextDepth(R"(["[[[[", "\"[[[", {}])") == 2);
  CHECK(JsonTextDepth(Nested(300), 256) == 257);  // stops once past the limit
  CHECK(JsonTextDepth(Nested(100000)) == kMaxJsonDepth + 1);
}

TEST_CASE("ParseJson bounds nesting and names the source in errors") {
  auto ok = ParseJson(Nested(kMaxJsonDepth), "fine.json");
  REQUIRE(ok.ok());
  CHECK(JsonDepth(*ok) == kMaxJsonDepth);

  auto deep = ParseJson(Nested(100000), "facts.jsonl: line 2");
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().code() == Status::Code::kInvalidArgument);
  CHECK(deep.status().message() ==
        "facts.jsonl: line 2 nests deeper than 256 levels of arrays and objects");

  auto bad = ParseOrderedJson("{\"a\": tru}", "out.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().rfind("out.json is not valid JSON: parse error at line 1", 0) == 0);
}

TEST_CASE("JSON value depth is counted without recursion") {
  nlohmann::json v = 1;
  CHECK(JsonDepth(v) == 0);
  for (int i = 0; i < 100000; ++i) v = nlohmann::json::array({std::move(v)});
  CHECK(JsonDepth(v) == kMaxJsonDepth + 1);
  CHECK(JsonDepth(v, 1000000) == 100000);
}

}  // namespace
}  // namespace reel
