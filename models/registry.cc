#include "models/registry.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace reel {
namespace {

Json ParseJsonColumn(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json::object() : j;
}

ModelVersion ReadVersion(const Stmt& s) {
  ModelVersion v;
  v.name = s.Text(0);
  v.version = s.Int(1);
  v.artifact_uri = s.Text(2);
  v.run_id = s.Text(3);
  v.step = s.Text(4);
  v.metrics = ParseJsonColumn(s.Text(5));
  v.trained_on = ParseJsonColumn(s.Text(6));
  v.created_at = s.Int(7);
  return v;
}

constexpr const char* kVersionColumns =
    "name, version, artifact_uri, run_id, step, metrics, trained_on, created_at";

std::optional<std::string> OptString(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

}  // namespace

Status ModelRegistry::ValidateName(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("a model needs a name");
  if (name.size() > 200) return Status::InvalidArgument("model name is longer than 200 bytes");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) {
      return Status::InvalidArgument(
          fmt::format("model name '{}' may only hold letters, digits, '_', '-' and '.'", name));
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ModelRegistry::Lineage(const std::string& run_id) {
  std::vector<std::string> lineage;
  std::string current = run_id;
  while (!current.empty() && lineage.size() < 1000 &&
         std::find(lineage.begin(), lineage.end(), current) == lineage.end()) {
    lineage.push_back(current);
    REEL_ASSIGN_OR_RETURN(auto st,
                          store_.db().Prepare("SELECT origin_run_id FROM runs WHERE run_id = ?"));
    st.Bind(1, current);
    REEL_ASSIGN_OR_RETURN(auto row, st.Step());
    current = row ? st.Text(0) : "";
  }
  return lineage;
}

Status ModelRegistry::RequireModel(const std::string& name) {
  REEL_ASSIGN_OR_RETURN(auto st, store_.db().Prepare("SELECT 1 FROM models WHERE name = ?"));
  st.Bind(1, name);
  REEL_ASSIGN_OR_RETURN(auto row, st.Step());
  if (row) return Status::Ok();
  REEL_ASSIGN_OR_RETURN(auto all, store_.db().Prepare("SELECT name FROM models ORDER BY name"));
  std::vector<std::string> names;
  while (true) {
    REEL_ASSIGN_OR_RETURN(auto r, all.Step());
    if (!r) break;
    names.push_back(all.Text(0));
  }
  return Status::NotFound(fmt::format("no model named '{}' in the registry (known: {})", name,
                                      names.empty()
                                          ? "none yet; a workflow's promote step registers models"
                                          : fmt::format("{}", fmt::join(names, ", "))));
}

Status ModelRegistry::AddEvent(const ModelEvent& e) {
  REEL_ASSIGN_OR_RETURN(
      auto st,
      store_.db().Prepare(
          "INSERT INTO model_events(name, kind, alias, from_version, to_version, run_id, at, actor)"
          " VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
  return st
      .BindAll(e.name, e.kind, OptString(e.alias), e.from_version, e.to_version,
               OptString(e.run_id), e.at ? e.at : NowMillis(), e.actor)
      .Run();
}

Result<ModelVersion> ModelRegistry::RegisterVersion(const ModelVersion& version,
                                                    const std::string& actor) {
  REEL_RETURN_IF_ERROR(ValidateName(version.name));
  if (version.artifact_uri.empty()) {
    return Status::InvalidArgument("model '" + version.name + "': a version needs an artifact uri");
  }
  ModelVersion out;
  Status s = store_.Transaction([&]() -> Status {
    int64_t now = version.created_at ? version.created_at : NowMillis();
    REEL_ASSIGN_OR_RETURN(
        auto ins,
        store_.db().Prepare("INSERT OR IGNORE INTO models(name, created_at) VALUES(?, ?)"));
    REEL_RETURN_IF_ERROR(ins.BindAll(version.name, now).Run());
    if (!version.run_id.empty()) {
      REEL_ASSIGN_OR_RETURN(auto lineage, Lineage(version.run_id));
      for (const auto& run : lineage) {
        REEL_ASSIGN_OR_RETURN(
            auto st,
            store_.db().Prepare(fmt::format(
                "SELECT {} FROM model_versions WHERE name = ? AND run_id = ? AND artifact_uri = ?"
                " ORDER BY version LIMIT 1",
                kVersionColumns)));
        st.BindAll(version.name, run, version.artifact_uri);
        REEL_ASSIGN_OR_RETURN(auto row, st.Step());
        if (row) {
          out = ReadVersion(st);
          return Status::Ok();
        }
      }
    }
    REEL_ASSIGN_OR_RETURN(
        auto next, store_.db().Prepare(
                       "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = ?"));
    next.Bind(1, version.name);
    REEL_RETURN_IF_ERROR((next.Step()).status());
    out = version;
    out.version = next.Int(0);
    out.created_at = now;
    REEL_ASSIGN_OR_RETURN(
        auto put,
        store_.db().Prepare(
            "INSERT INTO model_versions(name, version, artifact_uri, run_id, step, metrics,"
            " trained_on, created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
    REEL_RETURN_IF_ERROR(
        put.BindAll(out.name, out.version, out.artifact_uri, OptString(out.run_id),
                    OptString(out.step), out.metrics.is_null() ? "{}" : out.metrics.dump(),
                    out.trained_on.is_null() ? "{}" : out.trained_on.dump(), out.created_at)
            .Run());
    ModelEvent e;
    e.name = out.name;
    e.kind = "registered";
    e.to_version = out.version;
    e.run_id = out.run_id;
    e.at = now;
    e.actor = actor;
    return AddEvent(e);
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<ModelVersion>> ModelRegistry::Versions(const std::string& name) {
  REEL_ASSIGN_OR_RETURN(
      auto st,
      store_.db().Prepare(fmt::format(
          "SELECT {} FROM model_versions WHERE name = ? ORDER BY version", kVersionColumns)));
  st.Bind(1, name);
  std::vector<ModelVersion> out;
  while (true) {
    REEL_ASSIGN_OR_RETURN(auto row, st.Step());
    if (!row) break;
    out.push_back(ReadVersion(st));
  }
  return out;
}

Result<std::map<std::string, int64_t>> ModelRegistry::Aliases(const std::string& name) {
  REEL_ASSIGN_OR_RETURN(
      auto st, store_.db().Prepare("SELECT alias, version FROM model_aliases WHERE name = ?"));
  st.Bind(1, name);
  std::map<std::string, int64_t> out;
  while (true) {
    REEL_ASSIGN_OR_RETURN(auto row, st.Step());
    if (!row) break;
    out[st.Text(0)] = st.Int(1);
  }
  return out;
}

Result<ModelVersion> ModelRegistry::GetVersion(const std::string& name, int64_t version) {
  REEL_RETURN_IF_ERROR(RequireModel(name));
  REEL_ASSIGN_OR_RETURN(auto versions, Versions(name));
  for (const auto& v : versions) {
    if (v.version == version) return v;
  }
  std::vector<int64_t> numbers;
  for (const auto& v : versions) numbers.push_back(v.version);
  return Status::NotFound(fmt::format("model '{}' has no version {} (versions: {})", name, version,
                                      fmt::join(numbers, ", ")));
}

Result<std::optional<int64_t>> ModelRegistry::GetAlias(const std::string& name,
                                                       const std::string& alias) {
  REEL_RETURN_IF_ERROR(RequireModel(name));
  REEL_ASSIGN_OR_RETURN(auto aliases, Aliases(name));
  auto it = aliases.find(alias);
  if (it == aliases.end()) return std::optional<int64_t>();
  return std::optional<int64_t>(it->second);
}

Result<ModelSummary> ModelRegistry::GetModel(const std::string& name) {
  REEL_RETURN_IF_ERROR(RequireModel(name));
  REEL_ASSIGN_OR_RETURN(auto st,
                        store_.db().Prepare("SELECT created_at FROM models WHERE name = ?"));
  st.Bind(1, name);
  REEL_ASSIGN_OR_RETURN(auto row, st.Step());
  ModelSummary m;
  m.name = name;
  m.created_at = row ? st.Int(0) : 0;
  REEL_ASSIGN_OR_RETURN(auto versions, Versions(name));
  m.versions = std::move(versions);
  REEL_ASSIGN_OR_RETURN(auto aliases, Aliases(name));
  m.aliases = std::move(aliases);
  return m;
}

Result<std::vector<ModelSummary>> ModelRegistry::ListModels() {
  std::vector<std::string> names;
  {
    REEL_ASSIGN_OR_RETURN(auto st, store_.db().Prepare("SELECT name FROM models ORDER BY name"));
    while (true) {
      REEL_ASSIGN_OR_RETURN(auto row, st.Step());
      if (!row) break;
      names.push_back(st.Text(0));
    }
  }
  std::vector<ModelSummary> out;
  for (const auto& name : names) {
    REEL_ASSIGN_OR_RETURN(auto m, GetModel(name));
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<ModelEvent>> ModelRegistry::History(const std::string& name) {
  REEL_RETURN_IF_ERROR(RequireModel(name));
  REEL_ASSIGN_OR_RETURN(
      auto st, store_.db().Prepare(
                   "SELECT id, name, kind, alias, from_version, to_version, run_id, at, actor"
                   " FROM model_events WHERE name = ? ORDER BY id"));
  st.Bind(1, name);
  std::vector<ModelEvent> out;
  while (true) {
    REEL_ASSIGN_OR_RETURN(auto row, st.Step());
    if (!row) break;
    ModelEvent e;
    e.id = st.Int(0);
    e.name = st.Text(1);
    e.kind = st.Text(2);
    e.alias = st.Text(3);
    e.from_version = st.OptInt(4);
    e.to_version = st.OptInt(5);
    e.run_id = st.Text(6);
    e.at = st.Int(7);
    e.actor = st.Text(8);
    out.push_back(std::move(e));
  }
  return out;
}

// Sets the alias row; `version` nullopt is never passed (aliases are only moved, not removed).
static Status SetAlias(Database& db, const std::string& name, const std::string& alias,
                       int64_t version, int64_t now) {
  REEL_ASSIGN_OR_RETURN(
      auto st,
      db.Prepare("INSERT INTO model_aliases(name, alias, version, updated_at) VALUES(?, ?, ?, ?)"
                 " ON CONFLICT(name, alias) DO UPDATE SET version = excluded.version,"
                 " updated_at = excluded.updated_at"));
  return st.BindAll(name, alias, version, now).Run();
}

Result<PromoteResult> ModelRegistry::Promote(const std::string& name, int64_t version,
                                             const std::string& run_id, const std::string& actor,
                                             const std::string& alias) {
  if (alias.empty()) return Status::InvalidArgument("an alias needs a name");
  PromoteResult result;
  Status s = store_.Transaction([&]() -> Status {
    REEL_RETURN_IF_ERROR((GetVersion(name, version)).status());
    if (!run_id.empty()) {
      REEL_ASSIGN_OR_RETURN(auto lineage, Lineage(run_id));
      for (const auto& run : lineage) {
        REEL_ASSIGN_OR_RETURN(
            auto st,
            store_.db().Prepare(
                "SELECT from_version, to_version FROM model_events WHERE name = ? AND alias = ?"
                " AND kind = 'promoted' AND run_id = ? ORDER BY id DESC LIMIT 1"));
        st.BindAll(name, alias, run);
        REEL_ASSIGN_OR_RETURN(auto row, st.Step());
        if (row) {
          result.previous_version = st.OptInt(0);
          result.version = st.OptInt(1).value_or(0);
          result.promoted = true;
          result.replayed = true;
          return Status::Ok();
        }
      }
    }
    REEL_ASSIGN_OR_RETURN(auto current, GetAlias(name, alias));
    result.version = version;
    result.previous_version = current;
    if (current && *current == version) return Status::Ok();  // already there
    int64_t now = NowMillis();
    REEL_RETURN_IF_ERROR(SetAlias(store_.db(), name, alias, version, now));
    result.promoted = true;
    ModelEvent e;
    e.name = name;
    e.kind = "promoted";
    e.alias = alias;
    e.from_version = current;
    e.to_version = version;
    e.run_id = run_id;
    e.at = now;
    e.actor = actor;
    return AddEvent(e);
  });
  if (!s.ok()) return s;
  return result;
}

Result<PromoteResult> ModelRegistry::Rollback(const std::string& name, const std::string& actor,
                                              const std::string& alias, const std::string& run_id) {
  PromoteResult result;
  Status s = store_.Transaction([&]() -> Status {
    REEL_ASSIGN_OR_RETURN(auto history, History(name));
    // Newest first: each rollback cancels the newest promotion not yet cancelled.
    std::optional<int64_t> target;
    bool found = false;
    int undone = 0;
    for (auto it = history.rbegin(); it != history.rend() && !found; ++it) {
      if (it->alias != alias) continue;
      if (it->kind == "rolled_back") {
        ++undone;
      } else if (it->kind == "promoted") {
        if (undone > 0) {
          --undone;
        } else {
          found = true;
          target = it->from_version;
        }
      }
    }
    if (!target) {
      return Status::Conflict(fmt::format(
          "model '{}': {} has no earlier version to roll back to{}", name, alias,
          found ? " (the version it points at was its first)" : " (it was never promoted)"));
    }
    REEL_ASSIGN_OR_RETURN(auto current, GetAlias(name, alias));
    int64_t now = NowMillis();
    REEL_RETURN_IF_ERROR(SetAlias(store_.db(), name, alias, *target, now));
    result.version = *target;
    result.previous_version = current;
    result.promoted = true;
    ModelEvent e;
    e.name = name;
    e.kind = "rolled_back";
    e.alias = alias;
    e.from_version = current;
    e.to_version = *target;
    e.run_id = run_id;
    e.at = now;
    e.actor = actor;
    return AddEvent(e);
  });
  if (!s.ok()) return s;
  return result;
}

}  // namespace reel
