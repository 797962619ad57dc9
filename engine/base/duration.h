// Durations as written in workflows: 500ms, 30s, 5m, 1h, 1d, combinations such as 1h30m, or a
// bare number of seconds (2.5).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "reel/status.h"

namespace reel {

using Millis = std::chrono::milliseconds;

// InvalidArgument with a message that shows the accepted forms.
Result<Millis> ParseDuration(std::string_view text);
// The shortest exact spelling: 90000ms -> "1m30s", 0 -> "0s".
std::string FormatDuration(Millis d);

}  // namespace reel
