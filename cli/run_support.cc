#include "cli/run_support.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "engine/base/diagnostic.h"
#include "engine/base/utf8.h"
#include "engine/workflow/dag.h"
#include "engine/workflow/yaml_tree.h"

namespace reel::cli {

bool OpenHomeOrReport(const std::string& home, Home& out) {
  auto opened = OpenHome(home);
  if (!opened.ok()) {
    PrintError(opened.status().message());
    return false;
  }
  out = std::move(*opened);
  auto reaped = out.store->ReapOrphanedRuns(std::chrono::minutes(2));
  if (reaped.ok()) {
    for (const auto& run : *reaped) {
      std::fprintf(stderr,
                   "reel: run %s was left running by a reel process that is gone; marked it "
                   "failed (resume it with `reel resume %s`)\n",
                   run.c_str(), run.c_str());
    }
  }
  return true;
}

std::string FormatElapsed(std::optional<int64_t> start, std::optional<int64_t> end) {
  if (!start || !end) return "-";
  double seconds = static_cast<double>(*end - *start) / 1000.0;
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else {
    int s = static_cast<int>(seconds);
    std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
  }
  return buf;
}

void ProgressPrinter::OnRunStarted(const std::string& run_id, size_t steps) {
  total_ = steps;
  std::fprintf(stderr, "run %s started (%zu steps)\n", run_id.c_str(), steps);
}

void ProgressPrinter::OnTaskChanged(const std::string& label, TaskStatus status, int attempt,
                                    const std::string& detail) {
  if (status == TaskStatus::kRunning) {
    ++running_;
  } else if (IsTerminal(status)) {
    if (attempt > 0 && running_ > 0 && status != TaskStatus::kUpstreamFailed &&
        status != TaskStatus::kSkipped && detail.rfind("reused", 0) != 0) {
      --running_;
    }
    ++done_;
    if (status == TaskStatus::kFailed || status == TaskStatus::kUpstreamFailed) ++failed_;
  } else if (running_ > 0) {
    --running_;  // back to queued for a retry
  }
  if (terminal_) {
    // One status line, redrawn when a batch of transitions is written out (Flush); failures
    // get lines of their own.
    status_line_ = "[" + std::to_string(done_) + " done, " + std::to_string(running_) + " running" +
                   (failed_ ? ", " + std::to_string(failed_) + " failed" : "") + "] " + label +
                   " " + std::string(ToString(status));
    if (status == TaskStatus::kFailed && !detail.empty()) {
      pending_ += "  " + label + ": " + detail + "\n";
    }
    return;
  }
  pending_ +=
      FormatMillisIso(NowMillis(), false) + " " + label + " " + std::string(ToString(status));
  if (status == TaskStatus::kRunning && attempt > 1) {
    pending_ += " (attempt " + std::to_string(attempt) + ")";
  }
  if (!detail.empty() && status != TaskStatus::kRunning) pending_ += ": " + detail;
  pending_ += '\n';
}

void ProgressPrinter::Flush() {
  if (terminal_) {
    if (pending_.empty() && status_line_ == drawn_) return;  // nothing new to show
    std::string out = "\r\033[K" + pending_ + status_line_;
    std::fwrite(out.data(), 1, out.size(), stderr);
    drawn_ = status_line_;
  } else {
    std::fwrite(pending_.data(), 1, pending_.size(), stderr);
  }
  pending_.clear();
}

void ProgressPrinter::Finish() {
  Flush();
  if (terminal_) std::fprintf(stderr, "\r\033[K");
}

int PrepareErrorExitCode(const Status& status) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument:
      return kExitUsage;
    case Status::Code::kNotFound:
    case Status::Code::kFailed:
      return kExitRunFailed;
    default:
      return kExitInternal;
  }
}

void ReportOnly(const RunRequest& request) {
  size_t skipped = request.skip.size();
  size_t steps = request.workflow ? request.workflow->steps.size() : 0;
  size_t reused = 0;
  if (request.workflow) {
    for (const auto& step : request.workflow->steps) {
      if (request.reuse.lower_bound({step.name, INT64_MIN}) !=
              request.reuse.upper_bound({step.name, INT64_MAX}) &&
          !request.skip.count(step.name)) {
        ++reused;
      }
    }
  }
  std::fprintf(stderr,
               "running %zu of %zu step(s) as run %s; %zu upstream step(s) reused from run %s\n",
               steps - skipped - reused, steps, request.run_id.c_str(), reused,
               request.origin_run_id.c_str());
}

std::string TaskLabel(const TaskRecord& t) {
  return t.item_index < 0 ? t.step : t.step + "[" + std::to_string(t.item_index) + "]";
}

namespace {

nlohmann::ordered_json DurationJson(std::optional<int64_t> start, std::optional<int64_t> end) {
  if (!start || !end) return nullptr;
  return *end - *start;
}

nlohmann::ordered_json TagsJson(const std::map<std::string, std::string>& tags) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [key, value] : tags) j[key] = value;
  return j;
}

}  // namespace

nlohmann::ordered_json RunSummaryJson(const RunRecord& run, const std::vector<TaskRecord>& tasks) {
  using OJson = nlohmann::ordered_json;
  OJson j;
  j["run_id"] = run.run_id;
  j["workflow"] = run.workflow;
  j["status"] = ToString(run.status);
  j["logical_date"] = run.logical_date.empty() ? OJson(nullptr) : OJson(run.logical_date);
  j["trigger"] = ToString(run.trigger);
  j["origin_run_id"] = run.origin_run_id.empty() ? OJson(nullptr) : OJson(run.origin_run_id);
  j["duration_ms"] = DurationJson(run.started_at, run.ended_at);
  j["tags"] = TagsJson(run.tags);
  j["note"] = run.note.empty() ? OJson(nullptr) : OJson(run.note);
  j["error"] = run.error.empty() ? OJson(nullptr) : OJson(run.error);
  j["tasks"] = OJson::array();
  for (const auto& t : tasks) {
    j["tasks"].push_back(
        {{"step", t.step},
         {"item_index", t.item_index},
         {"status", ToString(t.status)},
         {"attempts", t.attempts},
         {"duration_ms", DurationJson(t.started_at, t.ended_at)},
         {"reused", t.reused_from.has_value()},
         {"cached_from_run", t.cache_from_run.empty() ? nlohmann::ordered_json(nullptr)
                                                      : nlohmann::ordered_json(t.cache_from_run)},
         {"error", t.error.empty() ? OJson(nullptr) : OJson(t.error)}});
  }
  return j;
}

void AddRunLabelFlags(CLI::App* cmd, RunLabelFlags& flags) {
  cmd->add_option("--tag", flags.tags,
                  "label the run KEY=VALUE (repeatable); `reel runs --tag KEY=VALUE` finds it")
      ->type_name("KEY=VALUE");
  cmd->add_option("--note", flags.note, "a note to keep with the run (shown by `reel show`)")
      ->type_name("TEXT");
}

Result<std::map<std::string, std::string>> ParseTags(const std::vector<std::string>& given,
                                                     const std::string& flag) {
  constexpr size_t kMaxTags = 32, kMaxKey = 64, kMaxValue = 256;
  std::map<std::string, std::string> tags;
  for (const auto& text : given) {
    size_t eq = text.find('=');
    std::string shown = text.size() > 80 ? text.substr(0, 77) + "..." : text;
    if (eq == std::string::npos) {
      return Status::InvalidArgument(
          fmt::format("{} expects KEY=VALUE, got '{}'; e.g. {} team=recs", flag, shown, flag));
    }
    std::string key = text.substr(0, eq), value = text.substr(eq + 1);
    bool identifier = !key.empty() && key.size() <= kMaxKey &&
                      (std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_');
    for (char c : key) {
      identifier = identifier && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    }
    if (!identifier) {
      return Status::InvalidArgument(fmt::format(
          "{} '{}': the key must be an identifier of at most {} characters (letters, digits and "
          "_, not starting with a digit), e.g. team=recs",
          flag, shown, kMaxKey));
    }
    if (value.size() > kMaxValue) {
      return Status::InvalidArgument(fmt::format("{} {}: the value is {} bytes; at most {} allowed",
                                                 flag, key, value.size(), kMaxValue));
    }
    for (char c : value) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Status::InvalidArgument(
            fmt::format("{} {}: the value contains a control character (a newline or a tab); "
                        "write it on one line",
                        flag, key));
      }
    }
    if (!IsValidUtf8(value)) {
      return Status::InvalidArgument(fmt::format("{} {}: the value is not valid UTF-8", flag, key));
    }
    if (!tags.emplace(key, value).second) {
      return Status::InvalidArgument(
          fmt::format("{} {} is given twice; give each key once", flag, key));
    }
    if (tags.size() > kMaxTags) {
      return Status::InvalidArgument(fmt::format("at most {} tags per run", kMaxTags));
    }
  }
  return tags;
}

Status CheckNote(const std::string& note) {
  constexpr size_t kMaxNote = 4096;
  if (note.size() > kMaxNote) {
    return Status::InvalidArgument(
        fmt::format("--note is {} bytes; at most {} allowed", note.size(), kMaxNote));
  }
  if (!IsValidUtf8(note)) return Status::InvalidArgument("--note is not valid UTF-8");
  return Status::Ok();
}

std::vector<std::string> StepOrderFromYaml(const std::string& yaml) {
  Diagnostics diags;
  YamlNodePtr root = ParseYaml("workflow", yaml, YamlLimits{}, diags);
  const YamlNode* steps = root && root->IsMap() ? root->Get("steps") : nullptr;
  if (!steps || !steps->IsMap()) return {};
  Workflow shape;
  for (const auto& [key, node] : steps->entries) {
    Step step;
    step.name = key->scalar;
    if (const YamlNode* needs = node && node->IsMap() ? node->Get("needs") : nullptr) {
      if (needs->IsScalar()) step.needs.push_back(needs->scalar);
      for (const auto& item : needs->items) {
        if (item && item->IsScalar()) step.needs.push_back(item->scalar);
      }
    }
    shape.steps.push_back(std::move(step));
  }
  Dag dag = Dag::FromWorkflow(shape);
  if (dag.FindCycle()) return {};
  std::vector<std::string> order;
  for (int node : dag.TopologicalOrder()) order.push_back(dag.name(node));
  return order;
}

void SortTasks(const std::vector<std::string>& order, std::vector<TaskRecord>& tasks) {
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < order.size(); ++i) rank.emplace(order[i], i);
  auto rank_of = [&](const TaskRecord& t) {
    auto it = rank.find(t.step);
    return it == rank.end() ? order.size() : it->second;
  };
  std::stable_sort(tasks.begin(), tasks.end(), [&](const TaskRecord& a, const TaskRecord& b) {
    size_t ra = rank_of(a), rb = rank_of(b);
    if (ra != rb) return ra < rb;
    if (ra == order.size()) return false;
    return a.item_index < b.item_index;
  });
}

int ExecuteAndReport(Home& home, const OperatorCatalog& catalog, const RunRequest& request,
                     SchedulerOptions options, bool json) {
  ProgressPrinter progress(isatty(STDERR_FILENO) != 0);
  options.observer = &progress;
  options.handle_signals = true;
  Scheduler scheduler(*home.store, *home.artifacts, catalog, options);
  auto outcome = scheduler.Execute(request);
  progress.Finish();
  if (!outcome.ok()) {
    PrintError(outcome.status().message());
    switch (outcome.status().code()) {
      case Status::Code::kInvalidArgument:
        return kExitUsage;
      case Status::Code::kConflict:  // another process has the work (a claim), nothing ran
        return kExitRunFailed;
      default:
        return kExitInternal;
    }
  }
  auto run = home.store->GetRun(request.run_id);
  auto tasks = home.store->GetTasks(request.run_id);
  if (tasks.ok() && request.workflow) {
    std::vector<std::string> order;
    Dag dag = Dag::FromWorkflow(*request.workflow);
    for (int node : dag.TopologicalOrder()) order.push_back(dag.name(node));
    SortTasks(order, *tasks);
  }
  if (json) {
    if (!run.ok() || !tasks.ok()) {
      PrintError("cannot read run " + request.run_id + " from reel.db");
      return kExitInternal;
    }
    std::cout << JsonText(RunSummaryJson(*run, *tasks)) << "\n";
  } else {
    std::printf("run %s %s", request.run_id.c_str(), ToString(outcome->status).data());
    if (run.ok()) std::printf(" in %s", FormatElapsed(run->started_at, run->ended_at).c_str());
    std::printf("\n");
  }
  if (tasks.ok() && !json) {
    size_t width = 4;
    for (const auto& t : *tasks) width = std::max(width, t.step.size() + 6);
    for (const auto& t : *tasks) {
      std::string label = TaskLabel(t);
      std::string note = t.reused_from       ? " (reused)"
                         : t.cache_from_task ? " (cached: run " + t.cache_from_run + ")"
                                             : "";
      if (!t.error.empty() && t.status != TaskStatus::kSucceeded) {
        note += "  " + FirstLine(t.error);
      }
      std::printf("  %-*s %-16s %s%s\n", static_cast<int>(width), label.c_str(),
                  ToString(t.status).data(), FormatElapsed(t.started_at, t.ended_at).c_str(),
                  note.c_str());
    }
  }
  if (outcome->status != RunStatus::kSucceeded) {
    if (!outcome->error.empty()) std::fprintf(stderr, "reel: %s\n", outcome->error.c_str());
    std::fprintf(stderr,
                 "reel: see `reel show %s` and `reel logs %s`; resume with `reel resume %s`\n",
                 request.run_id.c_str(), request.run_id.c_str(), request.run_id.c_str());
    return kExitRunFailed;
  }
  return kExitOk;
}

}  // namespace reel::cli
