#include "engine/workflow/config_schema.h"

#include <doctest/doctest.h>

namespace reel {

TEST_CASE("config schema: defaults fill what is missing or null, then types are checked") {
  OperatorInfo info;
  info.config = {
      {.name = "path", .type = ConfigType::kString, .required = true},
      {.name = "epochs", .type = ConfigType::kInt, .default_value = 5},
      {.name = "timeout", .type = ConfigType::kDuration},
  };
  Json config = {{"path", "a.csv"}, {"timeout", nullptr}};
  REQUIRE(ApplyConfigSchema(info, config).ok());
  CHECK(config["epochs"] == 5);
  CHECK(config["timeout"].is_null());  // optional, no default: left alone

  Json whole = {{"path", "a.csv"}, {"epochs", 3.0}};
  REQUIRE(ApplyConfigSchema(info, whole).ok());
  CHECK(whole["epochs"].is_number_integer());

  Json missing = {{"epochs", 2}};
  Status s = ApplyConfigSchema(info, missing);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message() == "setting 'path' is required");

  Json wrong = {{"path", "a.csv"}, {"epochs", "many"}, {"timeout", "10 parsecs"}};
  s = ApplyConfigSchema(info, wrong);
  CHECK(s.message() == "setting 'epochs' must be int after rendering, got \"many\"");
  wrong["epochs"] = 1;
  CHECK_FALSE(ApplyConfigSchema(info, wrong).ok());  // not a duration

  Json only_defaults = Json::object();
  ApplyConfigDefaults(info.config, only_defaults);  // no checks: `path` may stay missing
  CHECK(only_defaults == Json{{"epochs", 5}});
}

}  // namespace reel
