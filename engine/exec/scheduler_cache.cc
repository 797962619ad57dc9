// Caching in the run loop: a task's cache key, and completing a task from an earlier one with
// the same key (see engine/exec/scheduler.h).
#include <fmt/format.h>

#include "engine/base/sha256.h"
#include "engine/exec/internal/run_loop.h"
#include "engine/workflow/config_schema.h"

namespace reel::scheduler_internal {

namespace {

// How a secret appears in a key's parts: by name, never by value.
std::string SecretPlaceholder(const std::string& name) { return "<secret " + name + ">"; }

// The params a step's templates read (`params.NAME`).
std::set<std::string> ReferencedParams(const Step& step) {
  std::set<std::string> names;
  auto visit = [&](const auto& self, const Json& value) -> void {
    if (value.is_structured()) {
      for (const auto& element : value) self(self, element);
      return;
    }
    if (!value.is_string() || !ContainsTemplate(value.get_ref<const std::string&>())) return;
    Result<Template> t = Template::Parse(value.get<std::string>());
    if (!t.ok()) return;
    for (const auto& ref : t->references()) {
      if (ref.path.size() >= 2 && ref.path[0] == "params") names.insert(ref.path[1]);
    }
  };
  visit(visit, step.with);
  if (step.foreach) visit(visit, *step.foreach);
  visit(visit, Json(step.when));
  return names;
}

// "sha256:HEX" of a file, or a note saying why there is none.
std::string FileDigest(const std::filesystem::path& path) {
  Result<std::string> hex = Sha256::HexOfFile(path);
  return hex.ok() ? "sha256:" + *hex : "missing";
}

}  // namespace

Result<Json> RunLoop::CacheParts(const Task& task) const {
  const Step& step = wf_.steps[static_cast<size_t>(task.step)];
  // The config as rendered, but with each secret by name, and each upstream artifact by its uri
  // rather than its path (which depends on where the home is).
  TemplateScope scope = ScopeFor(task);
  for (auto it = scope.steps.begin(); it != scope.steps.end(); ++it) {
    auto uris = step_artifact_uris_.find(it.key());
    if (uris != step_artifact_uris_.end()) (*it)["artifacts"] = *uris;
  }
  scope.secret_values = nullptr;
  scope.secrets = [](const std::string& name) {
    return std::optional<std::string>(SecretPlaceholder(name));
  };
  scope.env = [lookup = scope.env](const std::string& name) -> std::optional<std::string> {
    if (name.starts_with(kSecretEnvPrefix)) return SecretPlaceholder("env " + name);
    return lookup ? lookup(name) : std::nullopt;
  };
  Json config = Json::object();
  if (step.with.is_object() && !step.with.empty()) {
    REEL_ASSIGN_OR_RETURN(config, RenderJson(step.with, scope));
  }
  const OperatorInfo* info = operators_.find ? operators_.find(step.op) : nullptr;
  if (!info) return Status::InvalidArgument("unknown operator '" + step.op + "'");
  REEL_RETURN_IF_ERROR(ApplyConfigSchema(*info, config));

  std::unique_ptr<Operator> op = operators_.create ? operators_.create(step.op) : nullptr;
  const bool process = dynamic_cast<const ProcessStep*>(op.get()) != nullptr;

  Json parts = Json::object();
  parts["operator"] = step.op;
  parts["code"] = operators_.code_version ? operators_.code_version(step.op) : "";
  parts["config"] = std::move(config);
  Json params = Json::object();
  for (const auto& name : ReferencedParams(step)) {
    if (request_.params.contains(name)) params[name] = request_.params[name];
  }
  parts["params"] = std::move(params);
  if (task.item_index >= 0) {
    // An item holding a secret is keyed by its digest.
    parts["item"] =
        task.item_secrets.empty() ? task.item : Json("sha256:" + Sha256::HexOf(task.item.dump()));
  }
  if (process) {  // its process can read every upstream output and artifact
    Json upstream = Json::object();
    for (int u : dag_.upstream(task.step)) {
      const std::string& name = wf_.steps[static_cast<size_t>(u)].name;
      auto it = step_outputs_.find(name);
      if (it == step_outputs_.end()) continue;
      upstream[name] = {{"outputs", (*it)["outputs"]}, {"artifacts", Json::object()}};
      for (size_t i : steps_[static_cast<size_t>(u)].tasks) {
        const Task& up = tasks_[i];
        auto add = [&](const std::string& artifact, const std::string& uri) {
          std::string label =
              up.item_index >= 0 ? fmt::format("{}[{}]", artifact, up.item_index) : artifact;
          upstream[name]["artifacts"][label] = uri;
        };
        if (up.reused) {
          for (const auto& record : up.reused->artifacts) add(record.name, record.uri);
        } else {
          for (const auto& ref : up.published) add(ref.name, ref.uri);
        }
      }
    }
    parts["upstream"] = std::move(upstream);
  }
  Json inputs = Json::object();
  for (const auto& input : step.inputs) {
    std::string name = input;
    if (ContainsTemplate(input)) {
      REEL_ASSIGN_OR_RETURN(Json rendered, RenderJson(Json(input), scope));
      name = TemplateStringify(rendered);
    }
    std::filesystem::path path = name;
    if (path.is_relative() && !workflow_dir_.empty()) path = workflow_dir_ / path;
    inputs[name] = FileDigest(path);
  }
  if (!inputs.empty()) parts["inputs"] = std::move(inputs);
  if (const auto* code = dynamic_cast<const RunsCodeFiles*>(op.get())) {
    Json files = Json::object();
    for (const auto& path : code->CodeFiles(parts["config"], workflow_dir_)) {
      files[path.string()] = FileDigest(path);
    }
    if (!files.empty()) parts["code_files"] = std::move(files);
  }
  return parts;
}

bool RunLoop::TryCache(size_t index) {
  Task& t = tasks_[index];
  Result<Json> parts = CacheParts(t);
  if (!parts.ok()) return false;  // the attempt will fail rendering, with the reason
  std::string key = "sha256:" + Sha256::HexOf(parts->dump());
  std::optional<CachedTask> hit;
  if (!options_.no_cache) {
    Result<std::optional<CachedTask>> found = store_.FindCachedTask(key, request_.run_id);
    if (found.ok()) hit = std::move(*found);
    // Its artifacts must still be there to be lent.
    if (hit) {
      for (const auto& a : hit->artifacts) {
        if (!artifacts_.Contains(a.uri)) {
          hit.reset();
          break;
        }
      }
    }
  }
  if (!hit) {
    Write([this, index, key, parts = std::move(*parts)]() -> Status {
      return store_.SetTaskCacheKey(tasks_[index].task_id, key, parts);
    });
    return false;
  }
  t.status = TaskStatus::kSucceeded;
  t.outputs = hit->outputs;
  std::vector<ArtifactRef> refs;
  for (const auto& a : hit->artifacts) {
    refs.push_back({.name = a.name, .uri = a.uri, .size = static_cast<uint64_t>(a.size)});
  }
  t.artifacts = ArtifactUris(refs);
  t.published = std::move(refs);
  std::string from_run = hit->run_id;
  Write([this, index, key, parts = std::move(*parts), hit = std::move(*hit)]() -> Status {
    return store_.CompleteFromCache(tasks_[index].task_id, key, parts, hit);
  });
  Notify(t, "cached: the result of run " + from_run);
  FinishTask(index);
  return true;
}

}  // namespace reel::scheduler_internal
