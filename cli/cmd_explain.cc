// reel explain RUN STEP: what a task's cache key is made of and, for a miss, what changed since
// the latest earlier task of the same step.
#include <cstdio>
#include <iostream>

#include "cli/common.h"
#include "cli/run_support.h"

namespace reel::cli {
namespace {

using OJson = nlohmann::ordered_json;

// One leaf of a key's parts: the path to it and its value.
struct Leaf {
  std::vector<std::string> path;
  Json value;
};

void Flatten(const Json& value, std::vector<std::string>& path, std::vector<Leaf>& out) {
  if (value.is_object() && !value.empty()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      path.push_back(it.key());
      Flatten(*it, path, out);
      path.pop_back();
    }
    return;
  }
  out.push_back({path, value});
}

std::vector<Leaf> Leaves(const Json& parts) {
  std::vector<Leaf> out;
  std::vector<std::string> path;
  Flatten(parts, path, out);
  return out;
}

std::string Join(const std::vector<std::string>& parts, size_t from, const char* sep) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (i > from) out += sep;
    out += parts[i];
  }
  return out;
}

// What a leaf is, in words: "param 'epochs'", "artifact 'data.csv' of upstream step 'extract'".
std::string Describe(const std::vector<std::string>& path) {
  if (path.empty()) return "the key";
  const std::string& root = path[0];
  if (root == "operator") return "operator";
  if (root == "code") return "operator code";
  if (root == "item") return "foreach item";
  if (root == "config") return "setting with." + Join(path, 1, ".");
  if (root == "params" && path.size() > 1) return "param '" + path[1] + "'";
  if (root == "inputs" && path.size() > 1) return "input file '" + path[1] + "'";
  if (root == "code_files" && path.size() > 1) return "script '" + path[1] + "'";
  if (root == "upstream" && path.size() > 3) {
    std::string what = path[2] == "artifacts" ? "artifact" : "output";
    return what + " '" + Join(path, 3, ".") + "' of upstream step '" + path[1] + "'";
  }
  return Join(path, 0, ".");
}

std::string Shown(const Json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

struct Difference {
  std::vector<std::string> path;
  std::optional<Json> before, after;
};

std::vector<Difference> Diff(const Json& before, const Json& after) {
  std::map<std::vector<std::string>, Json> a, b;
  for (auto& leaf : Leaves(before)) a[leaf.path] = std::move(leaf.value);
  for (auto& leaf : Leaves(after)) b[leaf.path] = std::move(leaf.value);
  std::vector<Difference> out;
  for (const auto& [path, value] : a) {
    auto it = b.find(path);
    if (it == b.end()) {
      out.push_back({path, value, std::nullopt});
    } else if (it->second != value) {
      out.push_back({path, value, it->second});
    }
  }
  for (const auto& [path, value] : b) {
    if (!a.count(path)) out.push_back({path, std::nullopt, value});
  }
  return out;
}

std::string Label(const TaskRecord& t) {
  return t.item_index < 0 ? t.step : t.step + "[" + std::to_string(t.item_index) + "]";
}

int Explain(Home& home, const std::string& id, const std::string& step, bool json) {
  auto run = home.store->GetRun(id);
  if (!run.ok()) return ReportFailure(run.status());
  auto tasks = home.store->GetTasks(run->run_id);
  if (!tasks.ok()) {
    PrintError(tasks.status().message());
    return kExitInternal;
  }
  std::vector<const TaskRecord*> selected;
  std::vector<std::string> names;
  for (const auto& t : *tasks) {
    if (t.step == step) selected.push_back(&t);
    if (std::find(names.begin(), names.end(), t.step) == names.end()) names.push_back(t.step);
  }
  if (selected.empty()) {
    std::string guess = ClosestMatch(step, names);
    PrintError("run " + run->run_id + " has no step '" + step + "'" +
               (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    return kExitRunFailed;  // a state condition, as for `reel logs`
  }
  OJson out = {{"run_id", run->run_id}, {"workflow", run->workflow}, {"step", step}};
  out["tasks"] = OJson::array();
  for (const TaskRecord* t : selected) {
    OJson tj = {{"task", Label(*t)}, {"item_index", t->item_index}};
    if (t->cache_key.empty()) {
      tj["key"] = nullptr;
      std::string why = t->reused_from ? "it was reused by a resume, not looked up in the cache"
                                       : "the step does not use the cache (add `cache: true` to "
                                         "it, or to `defaults:`)";
      tj["note"] = why;
      if (!json) std::printf("%s: no cache key: %s\n", Label(*t).c_str(), why.c_str());
      out["tasks"].push_back(tj);
      continue;
    }
    bool hit = t->cache_from_task.has_value();
    tj["key"] = t->cache_key;
    tj["hit"] = hit;
    tj["from_run"] = hit ? OJson(t->cache_from_run) : OJson(nullptr);
    tj["parts"] = OJson::parse(t->cache_parts.dump());
    if (!json) {
      std::printf("%s: cache %s, key %s\n", Label(*t).c_str(),
                  hit ? ("hit (the result of run " + t->cache_from_run + ")").c_str() : "miss",
                  t->cache_key.c_str());
      std::printf("  made of:\n");
      for (const auto& leaf : Leaves(t->cache_parts)) {
        std::printf("    %-40s %s\n", Describe(leaf.path).c_str(), Shown(leaf.value).c_str());
      }
    }
    if (!hit) {
      auto previous =
          home.store->PreviousKeyedTask(run->workflow, t->step, t->item_index, t->task_id);
      if (!previous.ok()) {
        PrintError(previous.status().message());
        return kExitInternal;
      }
      if (!*previous) {
        tj["compared_with"] = nullptr;
        if (!json) std::printf("  no earlier task of this step has a cache key to compare with\n");
      } else {
        const TaskRecord& p = **previous;
        tj["compared_with"] = {{"run_id", p.run_id}, {"key", p.cache_key}};
        tj["differences"] = OJson::array();
        std::vector<Difference> diff = Diff(p.cache_parts, t->cache_parts);
        if (!json) {
          std::printf("  compared with run %s (key %s):\n", p.run_id.c_str(), p.cache_key.c_str());
        }
        for (const auto& d : diff) {
          tj["differences"].push_back(
              {{"what", Describe(d.path)},
               {"path", d.path},
               {"before", d.before ? OJson::parse(d.before->dump()) : OJson(nullptr)},
               {"after", d.after ? OJson::parse(d.after->dump()) : OJson(nullptr)}});
          if (json) continue;
          if (!d.before) {
            std::printf("    %s is new: %s\n", Describe(d.path).c_str(), Shown(*d.after).c_str());
          } else if (!d.after) {
            std::printf("    %s is gone (was %s)\n", Describe(d.path).c_str(),
                        Shown(*d.before).c_str());
          } else {
            std::printf("    %s changed: %s -> %s\n", Describe(d.path).c_str(),
                        Shown(*d.before).c_str(), Shown(*d.after).c_str());
          }
        }
        if (diff.empty() && !json) {
          std::printf(
              "    nothing differs: that task had not succeeded (or its artifacts are "
              "gone), or --no-cache was given\n");
        }
      }
    }
    out["tasks"].push_back(tj);
  }
  if (json) std::cout << JsonText(out) << "\n";
  return kExitOk;
}

}  // namespace

void AddExplainCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand(
      "explain", "Say what a task's cache key is made of and, on a miss, what changed");
  auto run_id = std::make_shared<std::string>();
  auto step = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("RUN_ID", *run_id, "the run (a unique prefix is enough)")->required();
  cmd->add_option("STEP", *step, "the step")->required();
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&options, run_id, step, json] {
    options.action = [&options, run_id, step, json]() -> int {
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      return Explain(home, *run_id, *step, *json);
    };
  });
}

}  // namespace reel::cli
