// reel runs | show | logs | cancel: reading run history.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cli/common.h"
#include "cli/run_support.h"
#include "engine/exec/slurm.h"

namespace reel::cli {
namespace {

using OJson = nlohmann::ordered_json;

OJson TimeJson(std::optional<int64_t> ms) {
  return ms ? OJson(FormatMillisIso(*ms, false)) : OJson(nullptr);
}

OJson MillisJson(std::optional<int64_t> ms) { return ms ? OJson(*ms) : OJson(nullptr); }

OJson DurationJson(std::optional<int64_t> start, std::optional<int64_t> end) {
  return start && end ? OJson(*end - *start) : OJson(nullptr);
}

// Times as ISO-8601 text (`started_at`) and as epoch milliseconds (`started_at_ms`), and the
// duration in milliseconds (null until it has ended).
void SetTimes(OJson& j, std::optional<int64_t> started, std::optional<int64_t> ended) {
  j["started_at"] = TimeJson(started);
  j["ended_at"] = TimeJson(ended);
  j["started_at_ms"] = MillisJson(started);
  j["ended_at_ms"] = MillisJson(ended);
  j["duration_ms"] = DurationJson(started, ended);
}

OJson RunJson(const RunRecord& r) {
  OJson j;
  j["run_id"] = r.run_id;
  j["workflow"] = r.workflow;
  j["status"] = ToString(r.status);
  j["logical_date"] = r.logical_date.empty() ? OJson(nullptr) : OJson(r.logical_date);
  SetTimes(j, r.started_at, r.ended_at);
  j["created_at"] = FormatMillisIso(r.created_at, false);
  j["created_at_ms"] = r.created_at;
  j["trigger"] = ToString(r.trigger);
  j["origin_run_id"] = r.origin_run_id.empty() ? OJson(nullptr) : OJson(r.origin_run_id);
  j["version"] = r.version_hash.substr(0, 12);
  j["params"] = OJson::parse(JsonText(r.params, -1));
  j["tags"] = OJson::object();
  for (const auto& [key, value] : r.tags) j["tags"][key] = value;
  j["note"] = r.note.empty() ? OJson(nullptr) : OJson(r.note);
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

std::string Label(const TaskRecord& t) { return TaskLabel(t); }

int ShowRun(Home& home, const std::string& id, bool json) {
  auto run = home.store->GetRun(id);
  if (!run.ok()) return ReportFailure(run.status());
  auto tasks = home.store->GetTasks(run->run_id);
  auto attempts = home.store->GetRunAttempts(run->run_id);
  auto metrics = home.store->GetMetrics(run->run_id);
  auto artifacts = home.store->GetArtifacts(run->run_id);
  auto events = home.store->GetEvents(run->run_id);
  if (!tasks.ok() || !attempts.ok() || !metrics.ok() || !artifacts.ok() || !events.ok()) {
    PrintError("cannot read run " + run->run_id + " from reel.db");
    return kExitInternal;
  }
  if (auto yaml = home.store->GetWorkflowYaml(run->workflow, run->version_hash); yaml.ok()) {
    SortTasks(StepOrderFromYaml(*yaml), *tasks);
  }
  if (json) {
    OJson out = RunJson(*run);
    out["tasks"] = OJson::array();
    for (const auto& t : *tasks) {
      OJson tj;
      tj["step"] = t.step;
      tj["item"] = t.item_index < 0 ? OJson(nullptr) : OJson::parse(JsonText(t.item, -1));
      tj["item_index"] = t.item_index;
      tj["status"] = ToString(t.status);
      SetTimes(tj, t.started_at, t.ended_at);
      tj["reused_from"] = t.reused_from ? OJson(*t.reused_from) : OJson(nullptr);
      tj["outputs"] = OJson::parse(JsonText(t.outputs, -1));
      if (!t.cache_key.empty()) {
        tj["cache"] = {
            {"key", t.cache_key},
            {"hit", t.cache_from_task.has_value()},
            {"from_run", t.cache_from_run.empty() ? OJson(nullptr) : OJson(t.cache_from_run)}};
      }
      if (!t.error.empty()) tj["error"] = t.error;
      tj["attempts"] = OJson::array();
      for (const auto& a : *attempts) {
        if (a.task_id != t.task_id) continue;
        OJson aj;
        aj["attempt"] = a.attempt;
        aj["status"] = ToString(a.status);
        SetTimes(aj, a.started_at, a.ended_at);
        aj["exit_code"] = a.exit_code ? OJson(*a.exit_code) : OJson(nullptr);
        aj["error"] = a.error.empty() ? OJson(nullptr) : OJson(a.error);
        aj["log"] = a.log_path;
        aj["executor"] = a.executor;
        aj["job_id"] = a.job_id.empty() ? OJson(nullptr) : OJson(a.job_id);
        aj["job_state"] = a.job_state.empty() ? OJson(nullptr) : OJson(a.job_state);
        tj["attempts"].push_back(aj);
      }
      tj["metrics"] = OJson::array();
      for (const auto& m : *metrics) {
        if (m.task_id && *m.task_id == t.task_id) {
          tj["metrics"].push_back({{"key", m.key}, {"value", m.value}, {"step", m.step}});
        }
      }
      tj["artifacts"] = OJson::array();
      for (const auto& a : *artifacts) {
        if (a.task_id && *a.task_id == t.task_id) {
          tj["artifacts"].push_back({{"name", a.name}, {"uri", a.uri}, {"size", a.size}});
        }
      }
      out["tasks"].push_back(tj);
    }
    out["events"] = OJson::array();
    for (const auto& e : *events) {
      out["events"].push_back({{"kind", e.kind},
                               {"at", FormatMillisIso(e.at, false)},
                               {"at_ms", e.at},
                               {"payload", OJson::parse(JsonText(e.payload, -1))}});
    }
    std::cout << JsonText(out) << "\n";
    return kExitOk;
  }
  std::cout << "run       " << run->run_id << "\n"
            << "workflow  " << run->workflow << " (version " << run->version_hash.substr(0, 12)
            << ")\n"
            << "status    " << run->status << "\n"
            << "date      " << (run->logical_date.empty() ? "-" : run->logical_date) << "\n"
            << "trigger   " << run->trigger
            << (run->origin_run_id.empty() ? "" : " (from " + run->origin_run_id + ")") << "\n"
            << "started   " << (run->started_at ? FormatMillisIso(*run->started_at, false) : "-")
            << "\n"
            << "duration  " << FormatElapsed(run->started_at, run->ended_at) << "\n"
            << "params    " << JsonText(run->params, -1) << "\n";
  if (!run->tags.empty()) {
    std::cout << "tags     ";
    for (const auto& [key, value] : run->tags) std::cout << " " << key << "=" << value;
    std::cout << "\n";
  }
  if (!run->note.empty()) std::cout << "note      " << FirstLine(run->note, 1000) << "\n";
  if (!run->error.empty()) std::cout << "error     " << FirstLine(run->error, 1000) << "\n";
  std::cout << "\ntasks:\n";
  size_t width = 4;
  for (const auto& t : *tasks) width = std::max(width, Label(t).size());
  for (const auto& t : *tasks) {
    std::printf("  %-*s  %-15s %2d attempt(s)  %8s%s\n", static_cast<int>(width), Label(t).c_str(),
                ToString(t.status).data(), t.attempts,
                FormatElapsed(t.started_at, t.ended_at).c_str(),
                t.reused_from       ? "  (reused)"
                : t.cache_from_task ? ("  (cached: run " + t.cache_from_run + ")").c_str()
                                    : "");
    for (const auto& a : *attempts) {
      if (a.task_id != t.task_id) continue;
      std::string job = a.job_id.empty() ? "" : " (slurm job " + a.job_id + ")";
      if (a.status == AttemptStatus::kSucceeded) {
        if (!job.empty()) {
          std::printf("  %*s    attempt %d succeeded%s\n", static_cast<int>(width), "", a.attempt,
                      job.c_str());
        }
        continue;
      }
      std::printf("  %*s    attempt %d %s%s%s%s\n", static_cast<int>(width), "", a.attempt,
                  ToString(a.status).data(), job.c_str(), a.error.empty() ? "" : ": ",
                  FirstLine(a.error, 300).c_str());
    }
    if (!t.outputs.empty() && t.outputs != Json::object()) {
      std::string out = JsonText(t.outputs, -1);
      if (out.size() > 300) out = out.substr(0, 297) + "...";
      std::printf("  %*s    outputs %s\n", static_cast<int>(width), "", out.c_str());
    }
  }
  if (!metrics->empty()) {
    std::cout << "\nmetrics:\n";
    for (const auto& m : *metrics) {
      std::printf("  %-20s %-28s %s%g\n", m.task_step.c_str(), m.key.c_str(),
                  m.step >= 0 ? ("[" + std::to_string(m.step) + "] ").c_str() : "", m.value);
    }
  }
  if (!artifacts->empty()) {
    std::cout << "\nartifacts:\n";
    for (const auto& a : *artifacts) {
      std::printf("  %-20s %-24s %s (%lld bytes)\n", a.step.c_str(), a.name.c_str(),
                  a.uri.substr(0, 19).c_str(), static_cast<long long>(a.size));
    }
  }
  if (!events->empty()) {
    std::cout << "\nevents:\n";
    for (const auto& e : *events) {
      std::printf("  %s %s %s\n", FormatMillisIso(e.at, false).c_str(), e.kind.c_str(),
                  JsonText(e.payload, -1).c_str());
    }
  }
  return kExitOk;
}

// Prints a file from `offset` through a fixed buffer, so that a log of any size takes no more
// memory than that; returns the new offset.
std::streamoff PrintFrom(const std::string& path, std::streamoff offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return offset;
  in.seekg(offset);
  char buf[64 * 1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    std::cout.write(buf, in.gcount());
    offset += in.gcount();
  }
  std::cout.flush();
  return offset;
}

// The whole log of an attempt as text ("" when it wrote nothing), for --json.
std::string ReadLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every attempt of the selected tasks (all of them, or the one `attempt_no` names), each under
// a header line "== step train, attempt 2 (failed) =="; with --attempt, a single task's log is
// printed bare, byte for byte.
int ShowLogs(Home& home, const std::string& id, const std::string& step, int attempt_no,
             bool follow, bool json) {
  auto run = home.store->GetRun(id);
  if (!run.ok()) return ReportFailure(run.status());
  std::map<std::string, std::streamoff> offsets;
  std::set<std::string> noted;  // attempts reported as having written nothing
  std::vector<std::string> order;
  if (auto yaml = home.store->GetWorkflowYaml(run->workflow, run->version_hash); yaml.ok()) {
    order = StepOrderFromYaml(*yaml);
  }
  OJson out = OJson::array();
  while (true) {
    auto tasks = home.store->GetTasks(run->run_id);
    auto attempts = home.store->GetRunAttempts(run->run_id);
    if (!tasks.ok() || !attempts.ok()) return kExitInternal;
    SortTasks(order, *tasks);
    auto selected = [&](const TaskRecord& t) {
      return step.empty() || t.step == step || Label(t) == step;
    };
    bool step_found = step.empty();
    size_t matching = 0;
    for (const auto& t : *tasks) {
      if (!selected(t)) continue;
      step_found = true;
      for (const auto& a : *attempts) {
        if (a.task_id == t.task_id && (attempt_no == 0 || a.attempt == attempt_no)) ++matching;
      }
    }
    if (!step_found) {
      PrintError("run " + run->run_id + " has no step '" + step + "'");
      return kExitRunFailed;
    }
    const bool headed = attempt_no == 0 || matching > 1;
    for (const auto& t : *tasks) {
      if (!selected(t)) continue;
      for (const auto& a : *attempts) {
        if (a.task_id != t.task_id) continue;
        if (attempt_no > 0 && a.attempt != attempt_no) continue;
        if (json) {
          out.push_back({{"step", t.step},
                         {"item_index", t.item_index},
                         {"attempt", a.attempt},
                         {"status", ToString(a.status)},
                         {"log", a.log_path.empty() ? OJson(nullptr) : OJson(a.log_path)},
                         {"text", a.log_path.empty() ? "" : ReadLog(a.log_path)}});
          continue;
        }
        const std::string key = fmt::format("{}/{}", a.task_id, a.attempt);
        bool first = !offsets.count(key);
        if (first && headed) {
          std::cout << "== step " << Label(t) << ", attempt " << a.attempt << " (" << a.status
                    << ") ==\n";
        }
        std::streamoff& offset = offsets[key];
        if (!a.log_path.empty()) offset = PrintFrom(a.log_path, offset);
        // A log file exists once the attempt wrote something: a step that ran silently has
        // none, and says so once it has ended.
        if (a.status != AttemptStatus::kRunning && offset == 0 && !noted.count(key) &&
            (a.log_path.empty() || !std::filesystem::exists(a.log_path))) {
          noted.insert(key);
          if (headed) {
            std::cout << "(no output)\n";
          } else {
            std::cerr << "reel: " << Label(t) << " attempt " << a.attempt << " (" << a.status
                      << ") wrote no output\n";
          }
        }
      }
    }
    if (attempt_no > 0 && matching == 0) {
      PrintError(fmt::format("run {} has no attempt {}{}", run->run_id, attempt_no,
                             step.empty() ? "" : " of step '" + step + "'"));
      return kExitRunFailed;
    }
    if (json) {
      std::cout << JsonText(OJson{{"run_id", run->run_id}, {"attempts", out}}) << "\n";
      return kExitOk;
    }
    if (!follow) break;
    auto now = home.store->GetRun(run->run_id);
    if (!now.ok() || IsTerminal(now->status)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return kExitOk;
}

}  // namespace

void AddRunsCommands(CLI::App& app, GlobalOptions& options) {
  auto* runs = app.add_subcommand("runs", "List runs, newest first");
  auto filter = std::make_shared<RunFilter>();
  auto workflow = std::make_shared<std::string>();
  auto status = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto tags = std::make_shared<std::vector<std::string>>();
  runs->add_option("--workflow", *workflow, "only runs of this workflow");
  runs->add_option("--tag", *tags, "only runs tagged KEY=VALUE (repeatable: all must match)")
      ->type_name("KEY=VALUE");
  runs->add_option("--status", *status, "only runs with this status")
      ->check([](const std::string& text) -> std::string {
        if (ParseEnum<RunStatus>(text)) return "";
        return "--status expects " + EnumChoices<RunStatus>() + ", got '" + text + "'";
      });
  runs->add_option("--limit", filter->limit, "at most N runs (default 50)")
      ->transform(NumberIn(1, 1000000, true));
  runs->add_flag("--json", *json, "print a JSON array");
  runs->callback([&options, filter, workflow, status, json, tags] {
    if (options.action) return;  // a subcommand of `runs` already chose the action
    options.action = [&options, filter, workflow, status, json, tags]() -> int {
      auto wanted = ParseTags(*tags);
      if (!wanted.ok()) return ReportFailure(wanted.status());
      filter->tags = *wanted;
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      if (!workflow->empty()) filter->workflow = *workflow;
      if (!status->empty()) filter->status = ParseEnum<RunStatus>(*status);
      auto list = home.store->ListRuns(*filter);
      if (!list.ok()) {
        PrintError(list.status().message());
        return kExitInternal;
      }
      if (*json) {
        OJson out = OJson::array();
        for (const auto& r : *list) out.push_back(RunJson(r));
        std::cout << JsonText(out) << "\n";
        return kExitOk;
      }
      if (list->empty()) {
        bool filtered = filter->workflow || filter->status || !filter->tags.empty();
        std::cout << (filtered ? "no runs match\n"
                               : "no runs yet; start one with `reel run FILE`\n");
        return kExitOk;
      }
      // A date, or an interval start for a schedule that fires several times a day.
      int date_width = 10;
      for (const auto& r : *list) {
        date_width = std::max(date_width, static_cast<int>(r.logical_date.size()));
      }
      std::printf("%-24s %-20s %-10s %-*s %-20s %-9s %s\n", "RUN", "WORKFLOW", "STATUS", date_width,
                  "DATE", "STARTED", "DURATION", "TRIGGER");
      for (const auto& r : *list) {
        std::printf("%-24s %-20s %-10s %-*s %-20s %-9s %s\n", r.run_id.c_str(), r.workflow.c_str(),
                    ToString(r.status).data(), date_width,
                    r.logical_date.empty() ? "-" : r.logical_date.c_str(),
                    r.started_at ? FormatMillisIso(*r.started_at, false).c_str() : "-",
                    FormatElapsed(r.started_at, r.ended_at).c_str(), ToString(r.trigger).data());
      }
      return kExitOk;
    };
  });

  auto* show = app.add_subcommand("show", "Show a run: tasks, attempts, outputs, metrics");
  auto show_id = std::make_shared<std::string>();
  auto show_json = std::make_shared<bool>(false);
  show->add_option("RUN_ID", *show_id, "run id or a unique prefix")->required();
  show->add_flag("--json", *show_json, "print JSON");
  show->callback([&options, show_id, show_json] {
    options.action = [&options, show_id, show_json]() -> int {
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      return ShowRun(home, *show_id, *show_json);
    };
  });

  auto* logs = app.add_subcommand("logs", "Print the logs of a run's tasks");
  auto logs_id = std::make_shared<std::string>();
  auto logs_step = std::make_shared<std::string>();
  auto attempt = std::make_shared<int>(0);
  auto follow = std::make_shared<bool>(false);
  auto logs_json = std::make_shared<bool>(false);
  logs->add_option("RUN_ID", *logs_id, "run id or a unique prefix")->required();
  logs->add_option("STEP", *logs_step, "only this step (or step[i] for one foreach item)");
  logs->add_option("--attempt", *attempt,
                   "only this attempt, printed without a header (default: every attempt, each "
                   "under a header)")
      ->transform(NumberIn(1, 1000, true));
  logs->add_flag("-f,--follow", *follow, "keep printing until the run ends");
  logs->add_flag("--json", *logs_json, "print the attempts with their log text as JSON")
      ->excludes("--follow");
  logs->callback([&options, logs_id, logs_step, attempt, follow, logs_json] {
    options.action = [&options, logs_id, logs_step, attempt, follow, logs_json]() -> int {
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      return ShowLogs(home, *logs_id, *logs_step, *attempt, *follow, *logs_json);
    };
  });

  auto* cancel = app.add_subcommand("cancel", "Ask a running run to stop");
  auto cancel_id = std::make_shared<std::string>();
  auto cancel_json = std::make_shared<bool>(false);
  cancel->add_option("RUN_ID", *cancel_id, "run id or a unique prefix")->required();
  cancel->add_flag("--json", *cancel_json, "print {run_id, cancel_requested}");
  cancel->callback([&options, cancel_id, cancel_json] {
    options.action = [&options, cancel_id, cancel_json]() -> int {
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      auto run = home.store->GetRun(*cancel_id);
      if (!run.ok()) return ReportFailure(run.status());
      // A finished run (Conflict) or one deleted meanwhile (NotFound) exits 1.
      Status s = home.store->RequestCancel(run->run_id);
      // A run whose reel process is gone is finished (by the reaper, or just above), but its
      // Slurm jobs may still run: no engine is left to cancel them, so it happens here.
      int left = 0;
      auto after = home.store->GetRun(run->run_id);
      auto attempts = home.store->GetRunAttempts(run->run_id);
      if (after.ok() && IsTerminal(after->status) && attempts.ok()) {
        std::vector<std::string> jobs;
        for (const auto& a : *attempts) {
          if (a.executor == "slurm" && a.job_state.empty() && !a.job_id.empty()) {
            jobs.push_back(a.job_id);
          }
        }
        if (!jobs.empty()) {
          SlurmClient slurm({}, {"REEL_SECRET_*"});
          Status cancelled = slurm.Cancel(jobs);
          if (!cancelled.ok()) return ReportFailure(cancelled);
          left = static_cast<int>(jobs.size());
        }
      }
      if (!s.ok() && left == 0) return ReportFailure(s);
      if (*cancel_json) {
        std::cout << JsonText(OJson{{"run_id", run->run_id}, {"cancel_requested", true}}) << "\n";
        return kExitOk;
      }
      if (left > 0) {
        std::cout << "run " << run->run_id << ": its reel process is gone; cancelled its " << left
                  << " Slurm job(s)\n";
        return kExitOk;
      }
      std::cout << "cancel requested for run " << run->run_id
                << "; its reel process stops it within seconds\n";
      return kExitOk;
    };
  });
}

}  // namespace reel::cli
