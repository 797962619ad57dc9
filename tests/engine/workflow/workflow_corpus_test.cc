// Every file in tests/workflows/invalid/ is a malformed or hostile workflow. Its leading
// "# expect: TEXT" lines name diagnostics that loading it must produce.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "engine/workflow/loader.h"
#include "operators/builtin_operators.h"

using namespace reel;

namespace {

std::vector<std::string> Expectations(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string prefix = "# expect: ";
    if (line.rfind(prefix, 0) == 0) out.push_back(line.substr(prefix.size()));
  }
  return out;
}

}  // namespace

TEST_CASE("invalid workflow corpus: each file reports its expected errors quickly") {
  OperatorRegistry registry;
  RegisterBuiltinOperators(registry);
  auto dir = std::filesystem::path(REEL_SOURCE_DIR) / "tests/workflows/invalid";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto expected = Expectations(text);
    CAPTURE(entry.path().filename().string());
    REQUIRE_FALSE(expected.empty());
    Diagnostics diags;
    auto start = std::chrono::steady_clock::now();
    auto wf = LoadWorkflowText(entry.path().filename().string(), text, registry.Catalog(), diags);
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(wf == nullptr);
    CHECK(diags.has_errors());
    std::string report = diags.Format();
    CAPTURE(report);
    for (const auto& want : expected) {
      CHECK_MESSAGE(report.find(want) != std::string::npos, "missing: " << want);
    }
    // Generous bound: a hostile file must be rejected in well under a second.
    CHECK(elapsed < std::chrono::seconds(1));
  }
  CHECK(files >= 20);
}

TEST_CASE("shipped and example workflows validate") {
  OperatorRegistry registry;
  RegisterBuiltinOperators(registry);
  for (const char* sub : {"tests/workflows/valid", "examples/workflows", "workflows"}) {
    auto dir = std::filesystem::path(REEL_SOURCE_DIR) / sub;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".yaml") continue;
      CAPTURE(entry.path().string());
      Diagnostics diags;
      auto wf = LoadWorkflowFile(entry.path().string(), registry.Catalog(), diags);
      CAPTURE(diags.Format());
      CHECK(wf != nullptr);
    }
  }
}
