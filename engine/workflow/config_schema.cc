#include "engine/workflow/config_schema.h"

#include <cmath>
#include <cstdint>

#include "engine/base/duration.h"

namespace reel {
namespace {

bool HasValue(const Json& config, const std::string& name) {
  auto it = config.find(name);
  return it != config.end() && !it->is_null();
}

// Checks (and for a whole float given as an int, converts) one value.
bool MatchesType(ConfigType type, Json& v) {
  switch (type) {
    case ConfigType::kString:
      return v.is_string();
    case ConfigType::kInt:
      if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) {
        v = static_cast<int64_t>(v.get<double>());
      }
      return v.is_number_integer();
    case ConfigType::kFloat:
      return v.is_number();
    case ConfigType::kBool:
      return v.is_boolean();
    case ConfigType::kList:
      return v.is_array();
    case ConfigType::kMap:
      return v.is_object();
    case ConfigType::kDuration:
      return v.is_number() || (v.is_string() && ParseDuration(v.get<std::string>()).ok());
    case ConfigType::kAny:
      return true;
  }
  return true;
}

}  // namespace

void ApplyConfigDefaults(const std::vector<ConfigField>& schema, Json& config) {
  for (const ConfigField& field : schema) {
    if (!HasValue(config, field.name) && !field.default_value.is_null()) {
      config[field.name] = field.default_value;
    }
  }
}

Status ApplyConfigSchema(const OperatorInfo& info, Json& config) {
  ApplyConfigDefaults(info.config, config);
  for (const ConfigField& field : info.config) {
    if (!HasValue(config, field.name)) {
      if (field.required) {
        return Status::InvalidArgument("setting '" + field.name + "' is required");
      }
      continue;
    }
    Json& v = config[field.name];
    if (!MatchesType(field.type, v)) {
      return Status::InvalidArgument("setting '" + field.name + "' must be " +
                                     ConfigTypeName(field.type) + " after rendering, got " +
                                     v.dump());
    }
  }
  return Status::Ok();
}

}  // namespace reel
