#include "engine/exec/job_spec.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "engine/base/json.h"
#include "engine/exec/operator_registry.h"

namespace reel {
namespace {

Json OptionalList(const std::optional<std::vector<std::string>>& list) {
  return list ? Json(*list) : Json(nullptr);
}

std::optional<std::vector<std::string>> ReadOptionalList(const Json& json) {
  if (!json.is_array()) return std::nullopt;
  return json.get<std::vector<std::string>>();
}

Status StatusFrom(const std::string& code, const std::string& message) {
  if (code == "ok") return Status::Ok();
  if (code == "invalid argument") return Status::InvalidArgument(message);
  if (code == "not found") return Status::NotFound(message);
  if (code == "already exists") return Status::AlreadyExists(message);
  if (code == "conflict") return Status::Conflict(message);
  if (code == "I/O error") return Status::IoError(message);
  if (code == "cancelled") return Status::Cancelled(message);
  if (code == "timed out") return Status::Timeout(message);
  if (code == "internal") return Status::Internal(message);
  return Status::Failed(message);
}

std::string ThisHost() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "?";
  return name;
}

// Text that the reader parses back: invalid UTF-8 from an operator is replaced, not fatal.
std::string Dump(const Json& json) {
  return json.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace

Json JobSpec::ToJson() const {
  return {{"version", kJobSpecVersion},
          {"operator", op},
          {"plugins", plugins},
          {"identity",
           {{"run_id", identity.run_id},
            {"workflow", identity.workflow},
            {"step", identity.step},
            {"logical_date", identity.logical_date},
            {"item", identity.item},
            {"item_index", identity.item_index},
            {"attempt", identity.attempt}}},
          {"config", config},
          {"params", params},
          {"upstream_outputs", upstream_outputs},
          {"upstream_artifacts", upstream_artifacts},
          {"home", home.string()},
          {"work_dir", work_dir.string()},
          {"log_path", log_path.string()},
          {"workflow_dir", workflow_dir.string()},
          {"declared_outputs", OptionalList(declared_outputs)},
          {"declared_artifacts", OptionalList(declared_artifacts)},
          {"secrets", secrets},
          {"secret_env", secret_env},
          {"log_max_bytes", log_max_bytes}};
}

Result<JobSpec> JobSpec::FromJson(const Json& json) {
  try {
    if (json.value("version", 0) != kJobSpecVersion) {
      return Status::InvalidArgument(
          fmt::format("job spec version {} is not {}: the reel on this node differs from the "
                      "engine's (install the same reel on every node)",
                      json.value("version", Json(nullptr)).dump(), kJobSpecVersion));
    }
    JobSpec spec;
    spec.op = json.at("operator").get<std::string>();
    spec.plugins = json.at("plugins").get<std::vector<std::string>>();
    const Json& id = json.at("identity");
    spec.identity = {.run_id = id.at("run_id").get<std::string>(),
                     .workflow = id.at("workflow").get<std::string>(),
                     .step = id.at("step").get<std::string>(),
                     .logical_date = id.at("logical_date").get<std::string>(),
                     .item = id.at("item"),
                     .item_index = id.at("item_index").get<int64_t>(),
                     .attempt = id.at("attempt").get<int>()};
    spec.config = json.at("config");
    spec.params = json.at("params");
    spec.upstream_outputs = json.at("upstream_outputs");
    spec.upstream_artifacts = json.at("upstream_artifacts");
    spec.home = json.at("home").get<std::string>();
    spec.work_dir = json.at("work_dir").get<std::string>();
    spec.log_path = json.at("log_path").get<std::string>();
    spec.workflow_dir = json.at("workflow_dir").get<std::string>();
    spec.declared_outputs = ReadOptionalList(json.at("declared_outputs"));
    spec.declared_artifacts = ReadOptionalList(json.at("declared_artifacts"));
    spec.secrets = json.at("secrets").get<std::vector<std::string>>();
    spec.secret_env = json.at("secret_env").get<std::map<std::string, std::string>>();
    spec.log_max_bytes = json.at("log_max_bytes").get<uint64_t>();
    return spec;
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed job spec: ") + e.what());
  }
}

Json JobResult::ToJson() const {
  Json artifacts_json = Json::array();
  for (const auto& a : artifacts) {
    artifacts_json.push_back({{"name", a.name}, {"uri", a.uri}, {"size", a.size}});
  }
  Json metrics_json = Json::array();
  for (const auto& [key, value] : metrics) {
    metrics_json.push_back({{"key", key}, {"value", value.first}, {"step", value.second}});
  }
  Json events_json = Json::array();
  for (const auto& [kind, payload] : events) {
    events_json.push_back({{"kind", kind}, {"payload", payload}});
  }
  return {{"status", Status::CodeName(status.code())},
          {"error", status.message()},
          {"outputs", outputs},
          {"artifacts", artifacts_json},
          {"metrics", metrics_json},
          {"events", events_json},
          {"host", host}};
}

Result<JobResult> JobResult::FromJson(const Json& json) {
  try {
    JobResult r;
    r.status =
        StatusFrom(json.at("status").get<std::string>(), json.at("error").get<std::string>());
    r.outputs = json.at("outputs");
    for (const auto& a : json.at("artifacts")) {
      r.artifacts.push_back({.name = a.at("name").get<std::string>(),
                             .uri = a.at("uri").get<std::string>(),
                             .size = a.at("size").get<uint64_t>()});
    }
    for (const auto& m : json.at("metrics")) {
      // A NaN was written as null.
      double value = m.at("value").is_number() ? m.at("value").get<double>() : std::nan("");
      r.metrics.push_back({m.at("key").get<std::string>(), {value, m.at("step").get<int64_t>()}});
    }
    for (const auto& e : json.at("events")) {
      r.events.emplace_back(e.at("kind").get<std::string>(), e.at("payload"));
    }
    r.host = json.value("host", "");
    return r;
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed job result: ") + e.what());
  }
}

std::string SlurmJobName(const std::string& run_id, const std::string& label, int attempt) {
  return fmt::format("reel:{}:{}:{}", run_id, label, attempt);
}

std::filesystem::path JobDirFor(const std::filesystem::path& home, const std::string& run_id,
                                const std::string& step, int64_t item_index, int attempt) {
  std::string dir = item_index < 0 ? step : fmt::format("{}.{}", step, item_index);
  return std::filesystem::absolute(home) / "jobs" / run_id / dir / std::to_string(attempt);
}

std::optional<std::filesystem::path> JobDirOf(const std::filesystem::path& home,
                                              const std::string& job_name, const std::string& step,
                                              int64_t item_index) {
  if (!job_name.starts_with("reel:")) return std::nullopt;
  size_t run_end = job_name.find(':', 5);
  size_t attempt_start = job_name.rfind(':');
  if (run_end == std::string::npos || attempt_start <= run_end) return std::nullopt;
  int attempt = std::atoi(job_name.c_str() + attempt_start + 1);
  if (attempt < 1) return std::nullopt;
  return JobDirFor(home, job_name.substr(5, run_end - 5), step, item_index, attempt);
}

Status WriteJobSpec(const std::filesystem::path& dir, const JobSpec& spec) {
  REEL_RETURN_IF_ERROR(MakePrivateDirs(dir));
  return WriteFileAtomic(dir / kJobSpecFile, Dump(spec.ToJson()), kPrivateFileMode);
}

Result<JobSpec> ReadJobSpec(const std::filesystem::path& dir) {
  auto text = ReadFileToString(dir / kJobSpecFile);
  if (!text.ok()) {
    return Status::NotFound(fmt::format(
        "job folder {} has no readable {} on host {} ({}): the reel home must be on a "
        "filesystem that the machine running reel and every node share, at the same path",
        dir.string(), kJobSpecFile, ThisHost(), text.status().message()));
  }
  REEL_ASSIGN_OR_RETURN(Json json, ParseJson(*text, (dir / kJobSpecFile).string()));
  return JobSpec::FromJson(json);
}

Result<JobResult> ReadJobResult(const std::filesystem::path& dir) {
  auto text = ReadFileToString(dir / kJobResultFile);
  if (!text.ok()) return text.status();
  REEL_ASSIGN_OR_RETURN(Json json, ParseJson(*text, (dir / kJobResultFile).string()));
  return JobResult::FromJson(json);
}

Status RunJobTask(const std::filesystem::path& dir, OperatorRegistry& registry,
                  const std::atomic<bool>* cancel) {
  REEL_ASSIGN_OR_RETURN(JobSpec spec, ReadJobSpec(dir));
  std::error_code ec;
  if (!std::filesystem::is_directory(spec.home / "artifacts", ec) &&
      !std::filesystem::is_directory(spec.home, ec)) {
    return Status::NotFound(fmt::format(
        "the reel home {} is not visible on host {}: it must be on a filesystem that the "
        "machine running reel and every node share, at the same path",
        spec.home.string(), ThisHost()));
  }
  for (const auto& plugin : spec.plugins) REEL_RETURN_IF_ERROR(registry.LoadPlugin(plugin));
  const OperatorDef* def = registry.Find(spec.op);
  if (def == nullptr) {
    return Status::NotFound(
        fmt::format("operator '{}' is not known to the reel on host {}", spec.op, ThisHost()));
  }
  // Operators that start processes across the job's tasks (torch_train's srun) know by this
  // that they run as the attempt's Slurm job.
  ::setenv("REEL_EXECUTOR", "slurm", 1);
  // The step's process inherits the REEL_SECRET_* variables it references, as it would locally.
  std::set<std::string> secret_names;
  for (const auto& [name, value] : spec.secret_env) {
    ::setenv(name.c_str(), value.c_str(), 1);
    secret_names.insert(name);
  }
  ArtifactStore artifacts(spec.home);
  TaskContext ctx(spec.identity, spec.config, spec.params, spec.upstream_outputs, spec.home,
                  spec.work_dir, spec.log_path, artifacts, spec.secrets);
  ctx.set_secret_variables(std::move(secret_names));
  ctx.set_inputs(spec.upstream_artifacts, spec.workflow_dir, spec.declared_outputs,
                 spec.declared_artifacts);
  ctx.set_log_max_bytes(spec.log_max_bytes);

  // scancel, a time limit and preemption send SIGTERM before SIGKILL: the caller turns it
  // into `cancel`, and the operator is asked to stop.
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      if (cancel != nullptr && cancel->load()) {
        ctx.token().Cancel();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  Status status;
  try {
    std::unique_ptr<Operator> op = def->create();
    status = op ? op->Execute(ctx) : Status::Internal("operator '" + spec.op + "' not created");
  } catch (const std::exception& e) {
    status = Status::Failed(std::string("operator threw an exception: ") + e.what());
  } catch (...) {
    status = Status::Failed("operator threw an unknown exception");
  }
  done = true;
  watcher.join();
  if (!status.ok()) ctx.Error("{}", status.message());
  if (status.ok()) status = ctx.log_status();

  JobResult result;
  result.status = status;
  result.outputs = ctx.TakeOutputs();
  result.artifacts = ctx.TakeArtifacts();
  result.metrics = ctx.TakeMetrics();
  result.events = ctx.TakeEvents();
  result.host = ThisHost();
  if (!status.ok()) result.artifacts.clear();
  REEL_RETURN_IF_ERROR(
      WriteFileAtomic(dir / kJobResultFile, Dump(result.ToJson()), kPrivateFileMode));
  return status;
}

}  // namespace reel
