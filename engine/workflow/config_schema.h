// An operator's config schema (OperatorInfo::config) applied to a rendered `with:` block: what
// the engine does to a step's config before the operator sees it.
#pragma once

#include <vector>

#include "reel/operator.h"

namespace reel {

// Each field of `schema` that `config` lacks (or holds null) takes the field's default_value,
// when it has one.
void ApplyConfigDefaults(const std::vector<ConfigField>& schema, Json& config);

// ApplyConfigDefaults, then: a required field still missing, or a value of the wrong type, is
// InvalidArgument naming the setting. A whole float given for an int becomes the int.
Status ApplyConfigSchema(const OperatorInfo& info, Json& config);

}  // namespace reel
