#include "engine/exec/process_protocol.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "engine/base/json.h"
#include "engine/base/utf8.h"
#include "engine/exec/process_step.h"
#include "engine/exec/task_context.h"

namespace reel {
namespace {

namespace fs = std::filesystem;

std::string Where(const Context& ctx) {
  std::string label = ctx.step_name();
  if (const AttemptInputs* in = AttemptInputsOf(ctx); in && in->item_index() >= 0) {
    label += fmt::format("[{}]", in->item_index());
  }
  return "step '" + label + "'";
}

// What a child left in a channel file: nullopt when it wrote nothing there.
Result<std::optional<std::string>> ReadChannel(const Context& ctx, const fs::path& path,
                                               std::string_view variable,
                                               std::uintmax_t max_bytes) {
  std::error_code ec;
  auto status = fs::symlink_status(path, ec);
  if (ec || status.type() == fs::file_type::not_found) return std::optional<std::string>();
  if (status.type() != fs::file_type::regular) {
    return Status::InvalidArgument(
        fmt::format("{}: ${} ({}) is not a regular file", Where(ctx), variable, path.string()));
  }
  std::uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > max_bytes) {
    return Status::InvalidArgument(fmt::format(
        "{}: ${} holds {} bytes; the limit is {} bytes (pass large data as an artifact in "
        "$REEL_ARTIFACTS_DIR instead)",
        Where(ctx), variable, size, max_bytes));
  }
  REEL_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("{}: ${} is not valid UTF-8 (byte {}); write JSON text in UTF-8", Where(ctx),
                    variable, bad));
  }
  return std::optional<std::string>(std::move(text));
}

Result<Json> ReadOutputs(const Context& ctx, const StepChannels& channels) {
  REEL_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        ReadChannel(ctx, channels.outputs, "REEL_OUTPUTS", kMaxStepOutputsBytes));
  if (!text) return Json::object();
  if (JsonTextDepth(*text, kMaxStepOutputsDepth) > kMaxStepOutputsDepth) {
    return Status::InvalidArgument(
        fmt::format("{}: $REEL_OUTPUTS nests deeper than {} levels of lists and objects",
                    Where(ctx), kMaxStepOutputsDepth));
  }
  Result<Json> value = ParseJson(*text, "$REEL_OUTPUTS");
  if (!value.ok()) {
    return Status::InvalidArgument(Where(ctx) + ": " + value.status().message() +
                                   " (write one JSON object, e.g. {\"rows\": 3})");
  }
  if (!value->is_object()) {
    return Status::InvalidArgument(
        fmt::format("{}: $REEL_OUTPUTS holds {}, not a JSON object; write e.g. {{\"rows\": 3}}",
                    Where(ctx), value->is_array() ? "a list" : "a single value"));
  }
  for (auto it = value->begin(); it != value->end(); ++it) {
    if (it.key() == "exit_code") {
      return Status::InvalidArgument(
          fmt::format("{}: $REEL_OUTPUTS sets 'exit_code', which reel sets itself; use "
                      "another name",
                      Where(ctx)));
    }
    if (it.key().empty() || it.key().size() > kMaxStepMetricKeyBytes) {
      return Status::InvalidArgument(
          fmt::format("{}: $REEL_OUTPUTS has a key of {} bytes; keys are 1 to {} bytes", Where(ctx),
                      it.key().size(), kMaxStepMetricKeyBytes));
    }
  }
  return std::move(*value);
}

struct Metric {
  std::string key;
  double value;
  int64_t step;
};

Result<std::vector<Metric>> ReadMetrics(const Context& ctx, const StepChannels& channels) {
  REEL_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        ReadChannel(ctx, channels.metrics, "REEL_METRICS", kMaxStepMetricsBytes));
  std::vector<Metric> metrics;
  if (!text) return metrics;
  size_t line_no = 0, start = 0;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string_view line = std::string_view(*text).substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument(
          fmt::format("{}: $REEL_METRICS line {}: {}; each line is one JSON object such as "
                      "{{\"key\": \"loss\", \"value\": 0.3, \"step\": 2}}",
                      Where(ctx), line_no, why));
    };
    Result<Json> record = ParseJson(line, "the line");
    if (!record.ok()) return bad(record.status().message());
    if (!record->is_object()) return bad("not a JSON object");
    for (auto it = record->begin(); it != record->end(); ++it) {
      if (it.key() != "key" && it.key() != "value" && it.key() != "step") {
        return bad("unknown field '" + it.key() + "' (fields: key, value, step)");
      }
    }
    const Json& key = (*record)["key"];
    const Json& value = (*record)["value"];
    if (!key.is_string() || key.get_ref<const std::string&>().empty() ||
        key.get_ref<const std::string&>().size() > kMaxStepMetricKeyBytes) {
      return bad(fmt::format("\"key\" must be a name of 1 to {} bytes", kMaxStepMetricKeyBytes));
    }
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      return bad("\"value\" must be a finite number");
    }
    int64_t step = -1;
    if (record->contains("step") && !(*record)["step"].is_null()) {
      const Json& s = (*record)["step"];
      if (!s.is_number_integer() || s.get<int64_t>() < 0) {
        return bad("\"step\" must be a whole number >= 0 (an epoch or iteration)");
      }
      step = s.get<int64_t>();
    }
    metrics.push_back({key.get<std::string>(), value.get<double>(), step});
  }
  return metrics;
}

// The entries left in the artifacts folder, by name.
Result<std::vector<fs::path>> ListArtifacts(const Context& ctx, const StepChannels& channels) {
  std::vector<fs::path> entries;
  std::error_code ec;
  for (fs::directory_iterator it(channels.artifacts_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    auto type = it->symlink_status(ec).type();
    if (type == fs::file_type::symlink) {
      return Status::InvalidArgument(fmt::format(
          "{}: $REEL_ARTIFACTS_DIR/{} is a symbolic link; copy the file or folder there instead",
          Where(ctx), it->path().filename().string()));
    }
    if (type != fs::file_type::regular && type != fs::file_type::directory) {
      return Status::InvalidArgument(
          fmt::format("{}: $REEL_ARTIFACTS_DIR/{} is not a file or "
                      "folder",
                      Where(ctx), it->path().filename().string()));
    }
    entries.push_back(it->path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status::IoError(fmt::format("{}: cannot list $REEL_ARTIFACTS_DIR ({}): {}", Where(ctx),
                                       channels.artifacts_dir.string(), ec.message()));
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

}  // namespace

Result<StepChannels> PrepareStepChannels(Context& ctx) {
  StepChannels c;
  c.dir = ctx.work_dir() / fmt::format("attempt-{}", ctx.attempt());
  std::error_code ec;
  fs::remove_all(c.dir, ec);
  c.inputs = c.dir / "inputs.json";
  c.outputs = c.dir / "outputs.json";
  c.artifacts_dir = c.dir / "artifacts";
  c.metrics = c.dir / "metrics.jsonl";
  REEL_RETURN_IF_ERROR(MakePrivateDirs(c.artifacts_dir));
  const AttemptInputs* in = AttemptInputsOf(ctx);
  Json steps = Json::object();
  for (auto it = ctx.upstream_outputs().begin(); it != ctx.upstream_outputs().end(); ++it) {
    Json artifacts = Json::object();
    if (in && in->upstream_artifacts().contains(it.key())) {
      artifacts = in->upstream_artifacts()[it.key()];
    }
    steps[it.key()] = {{"outputs", *it}, {"artifacts", std::move(artifacts)}};
  }
  Json inputs = {{"run_id", ctx.run_id()},
                 {"workflow", ctx.workflow_name()},
                 {"step", ctx.step_name()},
                 {"attempt", ctx.attempt()},
                 {"logical_date", ctx.logical_date()},
                 {"item", ctx.item()},
                 {"item_index", in ? in->item_index() : -1},
                 {"steps", std::move(steps)}};
  // The file lives in the home: a secret (an item holding one) is written redacted, as in logs.
  std::string text = inputs.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  if (const AttemptSecrets* secrets = AttemptSecretsOf(ctx)) text = secrets->Redact(text);
  REEL_RETURN_IF_ERROR(WriteFileAtomic(c.inputs, text, kPrivateFileMode));
  return c;
}

std::map<std::string, std::string> StepEnvironment(const Context& ctx,
                                                   const StepChannels& channels) {
  std::error_code ec;
  fs::path home = fs::absolute(ctx.home(), ec);
  if (ec) home = ctx.home();
  std::map<std::string, std::string> env = {
      {"REEL_RUN_ID", ctx.run_id()},
      {"REEL_WORKFLOW", ctx.workflow_name()},
      {"REEL_STEP", ctx.step_name()},
      {"REEL_ATTEMPT", std::to_string(ctx.attempt())},
      {"REEL_LOGICAL_DATE", ctx.logical_date()},
      {"REEL_HOME", home.string()},
      {"REEL_INPUTS", channels.inputs.string()},
      {"REEL_OUTPUTS", channels.outputs.string()},
      {"REEL_ARTIFACTS_DIR", channels.artifacts_dir.string()},
      {"REEL_METRICS", channels.metrics.string()},
  };
  if (const AttemptInputs* in = AttemptInputsOf(ctx); in && in->item_index() >= 0) {
    env["REEL_ITEM_INDEX"] = std::to_string(in->item_index());
  }
  return env;
}

Status PublishStepChannels(Context& ctx, const StepChannels& channels) {
  // Everything is read and checked before anything is published.
  REEL_ASSIGN_OR_RETURN(Json outputs, ReadOutputs(ctx, channels));
  REEL_ASSIGN_OR_RETURN(std::vector<Metric> metrics, ReadMetrics(ctx, channels));
  REEL_ASSIGN_OR_RETURN(std::vector<fs::path> artifacts, ListArtifacts(ctx, channels));
  const AttemptInputs* in = AttemptInputsOf(ctx);
  if (const auto* declared = in ? in->declared_outputs() : nullptr) {
    for (const auto& name : *declared) {
      if (name != "exit_code" && !outputs.contains(name)) {
        return Status::Failed(fmt::format(
            "{} declares output '{}' but its process did not write it to $REEL_OUTPUTS (wrote: "
            "{})",
            Where(ctx), name, outputs.empty() ? "nothing" : outputs.dump()));
      }
    }
  }
  if (const auto* declared = in ? in->declared_artifacts() : nullptr) {
    for (const auto& name : *declared) {
      bool found = std::any_of(artifacts.begin(), artifacts.end(),
                               [&](const fs::path& p) { return p.filename() == name; });
      if (!found) {
        return Status::Failed(fmt::format(
            "{} declares artifact '{}' but its process left no '{}' in $REEL_ARTIFACTS_DIR",
            Where(ctx), name, name));
      }
    }
  }
  for (const auto& path : artifacts) {
    Result<ArtifactRef> ref = ctx.PutArtifact(path.filename().string(), path);
    if (!ref.ok()) return ref.status().WithContext(Where(ctx) + ": ");
  }
  const AttemptSecrets* secrets = AttemptSecretsOf(ctx);
  for (auto it = outputs.begin(); it != outputs.end(); ++it) {
    Json value = *it;
    if (secrets) {  // a value holding a secret is published redacted
      std::string text = value.dump();
      if (secrets->Redact(text) != text) value = "***";
    }
    ctx.SetOutput(it.key(), std::move(value));
  }
  for (const auto& m : metrics) ctx.LogMetric(m.key, m.value, m.step);
  return Status::Ok();
}

}  // namespace reel
