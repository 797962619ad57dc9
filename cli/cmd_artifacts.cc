// reel artifacts path URI: the local file of any stored artifact, whether a model version was
// made of it or not. URI is "sha256:<64 hex>" or a unique prefix of one (as `reel show` prints).
#include <iostream>

#include <fmt/format.h>

#include "cli/common.h"
#include "cli/run_support.h"

namespace reel::cli {
namespace {

int ArtifactPath(Home& home, const std::string& spec) {
  constexpr std::string_view kScheme = "sha256:";
  if (spec.rfind(kScheme, 0) != 0 || spec.size() <= kScheme.size() ||
      spec.find_first_not_of("0123456789abcdef", kScheme.size()) != std::string::npos) {
    PrintError(
        fmt::format("'{}' is not an artifact uri: write sha256:<hex> as `reel show RUN` "
                    "prints it (a unique prefix is enough)",
                    FirstLine(spec, 80)));
    return kExitUsage;
  }
  std::string uri = spec;
  if (spec.size() < kScheme.size() + 64) {
    auto matches = home.store->FindArtifactUris(spec);
    if (!matches.ok()) return ReportFailure(matches.status());
    if (matches->empty()) {
      PrintError(fmt::format("no artifact {} in '{}'; `reel show RUN` lists a run's artifacts",
                             spec, home.artifacts->root().string()));
      return kExitRunFailed;
    }
    if (matches->size() > 1) {
      PrintError(
          fmt::format("artifact prefix {} is ambiguous: it matches {} and more; give more "
                      "characters",
                      spec, (*matches)[0]));
      return kExitUsage;
    }
    uri = matches->front();
  }
  auto path = home.artifacts->Path(uri);
  if (!path.ok()) {
    if (path.status().code() == Status::Code::kNotFound) {
      PrintError(fmt::format("no artifact {} in '{}'; `reel show RUN` lists a run's artifacts", uri,
                             home.artifacts->root().string()));
      return kExitRunFailed;
    }
    return ReportFailure(path.status());
  }
  // Hand out only the bytes that were stored, never a truncated or overwritten file.
  if (Status intact = home.artifacts->Verify(uri); !intact.ok()) {
    PrintError(intact.message());
    return kExitInternal;
  }
  std::cout << path->string() << "\n";
  return kExitOk;
}

}  // namespace

void AddArtifactsCommand(CLI::App& app, GlobalOptions& options) {
  auto* artifacts = app.add_subcommand("artifacts", "Stored artifacts");
  artifacts->require_subcommand(1);
  auto* path = artifacts->add_subcommand("path", "Print the local file of a stored artifact");
  auto spec = std::make_shared<std::string>();
  path->add_option("URI", *spec, "sha256:<hex>, or a unique prefix of one")->required();
  path->callback([&options, spec] {
    options.action = [&options, spec]() -> int {
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      return ArtifactPath(home, *spec);
    };
  });
}

}  // namespace reel::cli
