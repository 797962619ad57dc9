#include "operators/promote.h"

#include "engine/store/state_store.h"
#include "home/home.h"
#include "models/model_file.h"
#include "models/registry.h"

namespace reel {
namespace {

namespace fs = std::filesystem;

std::string StringSetting(const Json& config, const char* key, const std::string& def) {
  auto it = config.find(key);
  return it != config.end() && it->is_string() && !it->get<std::string>().empty()
             ? it->get<std::string>()
             : def;
}

// An optional map setting; `fallback` when absent or null.
Result<Json> MapSetting(const Json& config, const char* key, const Json& fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback.is_object() ? fallback : Json::object();
  if (!it->is_object()) {
    return Status::InvalidArgument(
        fmt::format("promote: `{}` must be a map, got {}", key, it->dump()));
  }
  return *it;
}

struct ModelInput {
  std::string uri;
  fs::path path;
};

// The model's artifact uri and local file: an artifact uri as it is, a local path stored as
// an artifact first.
Result<ModelInput> ResolveModel(Context& ctx, const std::string& value) {
  if (value.empty()) {
    return Status::InvalidArgument(
        "promote: `model` is required: an artifact uri (\"{{ steps.train.outputs.model }}\") "
        "or the path of a model file");
  }
  auto path = ctx.ArtifactPath(value);
  if (path.ok()) return ModelInput{value, *path};
  std::error_code ec;
  if (value.find(':') == std::string::npos && fs::is_regular_file(value, ec)) {
    REEL_ASSIGN_OR_RETURN(auto ref, ctx.PutArtifact("model", value));
    REEL_ASSIGN_OR_RETURN(auto stored, ctx.ArtifactPath(ref.uri));
    ctx.Info("stored {} as artifact {}", value, ref.uri);
    return ModelInput{ref.uri, stored};
  }
  return Status::NotFound(fmt::format(
      "promote: `model`: {} (pass the uri of an upstream output or the path of a model file)",
      path.status().message()));
}

}  // namespace

OperatorInfo PromoteOperator::Info() {
  OperatorInfo info;
  info.name = "promote";
  info.description =
      "Registers a model file as a new version in the model registry and moves an alias "
      "(default production) to it, exactly once per run, with an audit event.";
  info.config = {
      {"model", ConfigType::kString, true, nullptr,
       "the model: artifact uri, or a local file path (stored as an artifact first)"},
      {"model_name", ConfigType::kString, false, nullptr,
       "the registry model (default: the workflow name)"},
      {"metrics", ConfigType::kMap, false, nullptr,
       "recorded with the version (default: the model file's metrics)"},
      {"trained_on", ConfigType::kMap, false, nullptr,
       "input uris recorded with the version (default: the model file's trained_on)"},
      {"alias", ConfigType::kString, false, "production", "the alias to move"},
  };
  info.example =
      "promote:\n  operator: promote\n  needs: [gate]\n"
      "  when: \"{{ steps.gate.outputs.passed }}\"\n  with:\n"
      "    model: \"{{ steps.train.outputs.model }}\"\n"
      "    metrics: \"{{ steps.evaluate.outputs.candidate }}\"\n";
  info.declares_outputs = true;
  info.outputs = {
      {.name = "model_name", .type = ConfigType::kString, .description = "the registry name"},
      {.name = "alias", .type = ConfigType::kString, .description = "the alias moved"},
      {.name = "model", .type = ConfigType::kString, .description = "artifact uri of the model"},
      {.name = "registered_version",
       .type = ConfigType::kInt,
       .description = "the version the model was registered as"},
      {.name = "version",
       .type = ConfigType::kInt,
       .description = "the version the alias now points to"},
      {.name = "previous_version",
       .type = ConfigType::kAny,
       .description = "the version it pointed to before (int), or null"},
      {.name = "promoted", .type = ConfigType::kBool, .description = "the alias moved in this run"},
      {.name = "replayed",
       .type = ConfigType::kBool,
       .description = "an earlier attempt of this run had promoted already"},
  };
  info.artifacts = {"model"};
  return info;
}

Status PromoteOperator::Execute(Context& ctx) {
  const Json& config = ctx.config();
  std::string name = StringSetting(config, "model_name", ctx.workflow_name());
  REEL_RETURN_IF_ERROR(ModelRegistry::ValidateName(name));
  std::string alias = StringSetting(config, "alias", kProductionAlias);
  REEL_ASSIGN_OR_RETURN(auto input, ResolveModel(ctx, StringSetting(config, "model", "")));
  auto model = LoadRecModel(input.path);
  if (!model.ok()) {
    return Status::InvalidArgument("promote: `model` is not a usable model file: " +
                                   model.status().message());
  }

  ModelVersion version;
  version.name = name;
  version.artifact_uri = input.uri;
  version.run_id = ctx.run_id();
  version.step = ctx.step_name();
  REEL_ASSIGN_OR_RETURN(auto metrics,
                        MapSetting(config, "metrics", model->header.value("metrics", Json())));
  version.metrics = metrics;
  REEL_ASSIGN_OR_RETURN(
      auto trained_on, MapSetting(config, "trained_on", model->header.value("trained_on", Json())));
  version.trained_on = trained_on;

  REEL_ASSIGN_OR_RETURN(auto store, OpenStateStore(ctx.home()));
  ModelRegistry registry(*store);
  std::string actor = "workflow:" + ctx.workflow_name();
  REEL_ASSIGN_OR_RETURN(auto registered, registry.RegisterVersion(version, actor));
  REEL_ASSIGN_OR_RETURN(auto result,
                        registry.Promote(name, registered.version, ctx.run_id(), actor, alias));

  Json previous = result.previous_version ? Json(*result.previous_version) : Json(nullptr);
  if (result.replayed) {
    ctx.Info("this run already moved {}@{} to v{}; nothing changed", name, alias, result.version);
  } else if (result.promoted) {
    ctx.Info("{}@{}: v{} -> v{}", name, alias, previous.is_null() ? "-" : previous.dump(),
             result.version);
  } else {
    ctx.Info("{}@{} already points at v{}", name, alias, result.version);
  }
  ctx.SetOutput("model_name", name);
  ctx.SetOutput("alias", alias);
  ctx.SetOutput("model", input.uri);
  ctx.SetOutput("registered_version", registered.version);
  ctx.SetOutput("version", result.version);
  ctx.SetOutput("previous_version", previous);
  ctx.SetOutput("promoted", result.promoted);
  ctx.SetOutput("replayed", result.replayed);
  if (result.promoted) {
    ctx.RecordEvent("model.promoted", {{"model_name", name},
                                       {"alias", alias},
                                       {"version", result.version},
                                       {"previous_version", previous},
                                       {"artifact", input.uri},
                                       {"replayed", result.replayed}});
  }
  return Status::Ok();
}

}  // namespace reel
