#include "engine/base/diagnostic.h"

#include <doctest/doctest.h>

using namespace reel;

TEST_CASE("ClosestMatch suggests plausible typos only") {
  std::vector<std::string> keys = {"operator", "needs", "with", "foreach", "retries"};
  CHECK(ClosestMatch("neds", keys) == "needs");
  CHECK(ClosestMatch("opertor", keys) == "operator");
  CHECK(ClosestMatch("zzzzzzzz", keys).empty());
}

TEST_CASE("Diagnostics format as file:line:col with a hint") {
  Diagnostics d;
  d.Error("wf.yaml", {3, 5}, "unknown key 'neds'", "did you mean 'needs'?");
  CHECK(d.has_errors());
  CHECK(d.Format() == "wf.yaml:3:5: error: unknown key 'neds'\n  hint: did you mean 'needs'?\n");
}
