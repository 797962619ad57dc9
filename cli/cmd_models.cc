// reel models list | show NAME | promote NAME VERSION | rollback NAME | path NAME[@ALIAS]:
// the model registry from the command line.
#include <cstdio>
#include <iostream>

#include "cli/common.h"
#include "cli/run_support.h"
#include "models/registry.h"

namespace reel::cli {
namespace {

using OJson = nlohmann::ordered_json;

// An unknown model or version, or nothing to roll back, exits 1; a malformed name 2.
int ReportError(const Status& s) { return ReportFailure(s); }

std::string ShortUri(const std::string& uri) { return uri.substr(0, 19); }

std::string MetricsText(const Json& metrics) {
  std::string out;
  for (const auto& [key, value] : metrics.items()) {
    // Breakdowns (an evaluation's segments and user counts) stay in --json.
    if (value.is_object() || value.is_array()) continue;
    if (!out.empty()) out += " ";
    out +=
        key + "=" + (value.is_number() ? fmt::format("{:.4g}", value.get<double>()) : value.dump());
  }
  return out;
}

std::string AliasesOf(const ModelSummary& m, int64_t version) {
  std::string out;
  for (const auto& [alias, v] : m.aliases) {
    if (v == version) out += (out.empty() ? "" : ",") + alias;
  }
  return out;
}

OJson VersionJson(const ModelVersion& v, bool full) {
  OJson j;
  j["version"] = v.version;
  j["artifact"] = v.artifact_uri;
  j["run_id"] = v.run_id.empty() ? OJson(nullptr) : OJson(v.run_id);
  j["metrics"] = OJson::parse(JsonText(v.metrics, -1));
  j["created_at"] = FormatMillisIso(v.created_at, false);
  if (full) {
    j["step"] = v.step.empty() ? OJson(nullptr) : OJson(v.step);
    j["trained_on"] = OJson::parse(JsonText(v.trained_on, -1));
  }
  return j;
}

OJson ModelJson(const ModelSummary& m, bool full) {
  OJson j;
  j["name"] = m.name;
  j["versions"] = OJson::array();
  for (const auto& v : m.versions) j["versions"].push_back(VersionJson(v, full));
  j["aliases"] = OJson::object();
  for (const auto& [alias, version] : m.aliases) j["aliases"][alias] = version;
  return j;
}

std::string VersionText(std::optional<int64_t> v) { return v ? "v" + std::to_string(*v) : "-"; }

int List(ModelRegistry& registry, bool json) {
  auto models = registry.ListModels();
  if (!models.ok()) return ReportError(models.status());
  if (json) {
    OJson out = OJson::array();
    for (const auto& m : *models) out.push_back(ModelJson(m, false));
    std::cout << JsonText(out) << "\n";
    return kExitOk;
  }
  if (models->empty()) {
    std::cout << "no models yet; a workflow's promote step registers them\n";
    return kExitOk;
  }
  std::printf("%-20s %-7s %-12s %-20s %-24s %-19s %s\n", "MODEL", "VERSION", "ALIASES", "CREATED",
              "RUN", "ARTIFACT", "METRICS");
  for (const auto& m : *models) {
    for (const auto& v : m.versions) {
      std::printf("%-20s %-7lld %-12s %-20s %-24s %-19s %s\n", m.name.c_str(),
                  static_cast<long long>(v.version), AliasesOf(m, v.version).c_str(),
                  FormatMillisIso(v.created_at, false).c_str(),
                  v.run_id.empty() ? "-" : v.run_id.c_str(), ShortUri(v.artifact_uri).c_str(),
                  MetricsText(v.metrics).c_str());
    }
  }
  return kExitOk;
}

int Show(ModelRegistry& registry, const std::string& name, bool json) {
  auto model = registry.GetModel(name);
  if (!model.ok()) return ReportError(model.status());
  auto history = registry.History(name);
  if (!history.ok()) return ReportError(history.status());
  if (json) {
    OJson out = ModelJson(*model, true);
    out["created_at"] = FormatMillisIso(model->created_at, false);
    out["history"] = OJson::array();
    for (const auto& e : *history) {
      out["history"].push_back({{"kind", e.kind},
                                {"alias", e.alias.empty() ? OJson(nullptr) : OJson(e.alias)},
                                {"from_version", e.from_version ? OJson(*e.from_version) : OJson()},
                                {"to_version", e.to_version ? OJson(*e.to_version) : OJson()},
                                {"run_id", e.run_id.empty() ? OJson(nullptr) : OJson(e.run_id)},
                                {"actor", e.actor},
                                {"at", FormatMillisIso(e.at, false)}});
    }
    std::cout << JsonText(out) << "\n";
    return kExitOk;
  }
  std::cout << "model    " << model->name << "\n"
            << "created  " << FormatMillisIso(model->created_at, false) << "\n"
            << "aliases  ";
  if (model->aliases.empty()) std::cout << "none";
  for (const auto& [alias, version] : model->aliases)
    std::cout << alias << " -> v" << version << "  ";
  std::cout << "\n\nversions:\n";
  for (const auto& v : model->versions) {
    std::string aliases = AliasesOf(*model, v.version);
    std::printf("  v%-4lld %s  run %s  %s%s\n", static_cast<long long>(v.version),
                FormatMillisIso(v.created_at, false).c_str(),
                v.run_id.empty() ? "-" : v.run_id.c_str(), v.artifact_uri.c_str(),
                aliases.empty() ? "" : ("  [" + aliases + "]").c_str());
    if (!v.metrics.empty()) std::printf("         metrics    %s\n", MetricsText(v.metrics).c_str());
    if (!v.trained_on.empty()) {
      std::printf("         trained on %s\n", v.trained_on.dump().c_str());
    }
  }
  std::cout << "\nhistory:\n";
  for (const auto& e : *history) {
    std::string what;
    if (e.kind == "registered") {
      what = "registered " + VersionText(e.to_version);
    } else {
      what = fmt::format("{} {} {} -> {}", e.kind == "promoted" ? "promoted" : "rolled back",
                         e.alias, VersionText(e.from_version), VersionText(e.to_version));
    }
    std::printf("  %s  %-36s by %s%s\n", FormatMillisIso(e.at, false).c_str(), what.c_str(),
                e.actor.empty() ? "-" : e.actor.c_str(),
                e.run_id.empty() ? "" : (" (run " + e.run_id + ")").c_str());
  }
  return kExitOk;
}

// "NAME", "NAME@ALIAS" or "NAME@3" (a version number).
int Path(Home& home, ModelRegistry& registry, const std::string& spec) {
  std::string name = spec, alias = kProductionAlias;
  std::optional<int64_t> version;
  if (auto at = spec.find('@'); at != std::string::npos) {
    name = spec.substr(0, at);
    alias = spec.substr(at + 1);
    if (!alias.empty() && alias.find_first_not_of("0123456789") == std::string::npos) {
      version = std::stoll(alias);
    } else if (alias.empty()) {
      PrintError("'" + spec + "': write NAME, NAME@ALIAS or NAME@VERSION");
      return kExitUsage;
    }
  }
  if (!version) {
    auto pointed = registry.GetAlias(name, alias);
    if (!pointed.ok()) return ReportError(pointed.status());
    if (!*pointed) {
      PrintError(
          fmt::format("model '{}' has no {} version; promote one with `reel models "
                      "promote {} VERSION`",
                      name, alias, name));
      return kExitRunFailed;
    }
    version = **pointed;
  }
  auto v = registry.GetVersion(name, *version);
  if (!v.ok()) return ReportError(v.status());
  auto path = home.artifacts->Path(v->artifact_uri);
  if (!path.ok() && path.status().code() == Status::Code::kNotFound) {
    PrintError(fmt::format("{} v{}: artifact {} is missing from {}", name, *version,
                           v->artifact_uri, home.artifacts->root().string()));
    return kExitRunFailed;
  }
  if (!path.ok()) {
    PrintError(fmt::format("{} v{}: artifact {} is missing from {}: {}", name, *version,
                           v->artifact_uri, home.artifacts->root().string(),
                           path.status().message()));
    return kExitInternal;
  }
  // A model file is read by whatever uses the path: hand out only the bytes that were
  // registered, never a truncated or overwritten file.
  if (Status intact = home.artifacts->Verify(v->artifact_uri); !intact.ok()) {
    PrintError(
        fmt::format("{} v{}: {}, or promote another version", name, *version, intact.message()));
    return kExitInternal;
  }
  std::cout << path->string() << "\n";
  return kExitOk;
}

void Describe(const std::string& name, const PromoteResult& r, const std::string& alias,
              const char* verb, bool json) {
  if (json) {
    std::cout << JsonText(OJson{{"model", name},
                                {"alias", alias},
                                {"version", r.version},
                                {"previous_version",
                                 r.previous_version ? OJson(*r.previous_version) : OJson(nullptr)},
                                {"moved", r.promoted}})
              << "\n";
    return;
  }
  if (!r.promoted) {
    std::cout << name << ": " << alias << " already points at v" << r.version << "\n";
    return;
  }
  std::cout << name << ": " << alias << " " << verb << " " << VersionText(r.previous_version)
            << " -> v" << r.version << "\n";
}

// Runs `body` with the registry of the home; exit 3 when the home cannot be opened.
template <typename F>
std::function<int()> WithRegistry(GlobalOptions& options, F body) {
  return [&options, body]() -> int {
    Home home;
    if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
    ModelRegistry registry(*home.store);
    return body(home, registry);
  };
}

}  // namespace

void AddModelsCommand(CLI::App& app, GlobalOptions& options) {
  auto* models = app.add_subcommand("models", "The model registry: versions, aliases, history");
  models->require_subcommand(1);

  auto* list = models->add_subcommand("list", "Every model with its versions and aliases");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "print a JSON array");
  list->callback([&options, list_json] {
    options.action = WithRegistry(options, [list_json](Home&, ModelRegistry& registry) {
      return List(registry, *list_json);
    });
  });

  auto* show = models->add_subcommand("show", "A model's versions, aliases and audit history");
  auto show_name = std::make_shared<std::string>();
  auto show_json = std::make_shared<bool>(false);
  show->add_option("NAME", *show_name, "model name")->required();
  show->add_flag("--json", *show_json, "print JSON");
  show->callback([&options, show_name, show_json] {
    options.action = WithRegistry(options, [show_name, show_json](Home&, ModelRegistry& r) {
      return Show(r, *show_name, *show_json);
    });
  });

  auto* promote = models->add_subcommand("promote", "Point an alias (production) at a version");
  auto promote_name = std::make_shared<std::string>();
  auto promote_version = std::make_shared<int64_t>(0);
  auto promote_alias = std::make_shared<std::string>(kProductionAlias);
  auto promote_json = std::make_shared<bool>(false);
  promote->add_flag("--json", *promote_json,
                    "print {model, alias, version, previous_version, moved}");
  promote->add_option("NAME", *promote_name, "model name")->required();
  promote->add_option("VERSION", *promote_version, "version number")->required();
  promote->add_option("--alias", *promote_alias, "the alias to move (default production)");
  promote->callback([&options, promote_name, promote_version, promote_alias, promote_json] {
    options.action = WithRegistry(options, [promote_name, promote_version, promote_alias,
                                            promote_json](Home&, ModelRegistry& r) {
      auto result = r.Promote(*promote_name, *promote_version, "", "cli", *promote_alias);
      if (!result.ok()) return ReportError(result.status());
      Describe(*promote_name, *result, *promote_alias, "moved", *promote_json);
      return kExitOk;
    });
  });

  auto* rollback = models->add_subcommand(
      "rollback", "Move an alias back to where it pointed before its latest promotion");
  auto rollback_name = std::make_shared<std::string>();
  auto rollback_alias = std::make_shared<std::string>(kProductionAlias);
  auto rollback_json = std::make_shared<bool>(false);
  rollback->add_flag("--json", *rollback_json,
                     "print {model, alias, version, previous_version, moved}");
  rollback->add_option("NAME", *rollback_name, "model name")->required();
  rollback->add_option("--alias", *rollback_alias, "the alias to move (default production)");
  rollback->callback([&options, rollback_name, rollback_alias, rollback_json] {
    options.action = WithRegistry(
        options, [rollback_name, rollback_alias, rollback_json](Home&, ModelRegistry& r) {
          auto result = r.Rollback(*rollback_name, "cli", *rollback_alias);
          if (!result.ok()) return ReportError(result.status());
          Describe(*rollback_name, *result, *rollback_alias, "rolled back", *rollback_json);
          return kExitOk;
        });
  });

  auto* path = models->add_subcommand("path", "Print the local file of a model version");
  auto path_spec = std::make_shared<std::string>();
  path->add_option("NAME[@ALIAS|@VERSION]", *path_spec,
                   "model, optionally @alias (default @production) or @VERSION (any version, "
                   "promoted or not)")
      ->required();
  path->callback([&options, path_spec] {
    options.action = WithRegistry(
        options, [path_spec](Home& home, ModelRegistry& r) { return Path(home, r, *path_spec); });
  });
}

}  // namespace reel::cli
