#include "operators/feature_etl.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "engine/base/csv.h"
#include "facts/fact_store.h"
#include "engine/base/sha256.h"
#include "features/scan.h"
#include "features/spec.h"
#include "features/state.h"

namespace reel {
namespace {

using features::AppendNumber;
using features::CsvOut;
using features::Entities;
using features::EntityFeatures;
using features::FeatureDef;
using features::InteractionSpec;

Result<InteractionSpec> ParseInteractions(const Json& j) {
  const char* usage =
      "feature_etl: 'interactions' is {fact: TABLE, user: user_id, item: item_id, weight: COLUMN, "
      "filter: {column, op, value}}";
  if (!j.is_object() || !j.contains("fact") || !j["fact"].is_string()) {
    return Status::InvalidArgument(std::string(usage) + ", got " + j.dump());
  }
  InteractionSpec spec;
  for (const auto& [k, v] : j.items()) {
    if (k == "filter") continue;
    if (k != "fact" && k != "user" && k != "item" && k != "weight") {
      return Status::InvalidArgument("feature_etl: interactions: unknown key '" + k + "'; " +
                                     usage);
    }
    if (!v.is_string()) {
      return Status::InvalidArgument("feature_etl: interactions: '" + k +
                                     "' must be a column name, got " + v.dump());
    }
  }
  spec.fact = j["fact"].get<std::string>();
  spec.user = j.value("user", spec.user);
  spec.item = j.value("item", spec.item);
  spec.weight = j.value("weight", std::string());
  REEL_RETURN_IF_ERROR(features::ParseFilters(j.contains("filter") ? j["filter"] : Json(),
                                              &spec.filters, "feature_etl: interactions"));
  return spec;
}

Status GetDays(const Json& cfg, const char* key, int fallback, int* out) {
  *out = fallback;
  if (!cfg.contains(key) || cfg[key].is_null()) return Status::Ok();
  const Json& v = cfg[key];
  if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 100000) {
    return Status::InvalidArgument(std::string("feature_etl: '") + key +
                                   "' must be a whole number of days >= 1, got " + v.dump());
  }
  *out = v.get<int>();
  return Status::Ok();
}

Status ResolveColumn(const FactTableInfo& info, const std::string& role, const std::string& name,
                     int* index) {
  *index = info.schema.IndexOf(name);
  if (*index >= 0) return Status::Ok();
  return Status::NotFound("feature_etl: interactions: fact table '" + info.name +
                          "' has no column '" + name + "' (the " + role + " column; set '" +
                          role + ":'); its columns: " + info.schema.Describe());
}

// The features of one entity kind, written as `<entity>_id,<feature...>` for every entity with
// a training interaction, ordered by key, with per-feature summary metrics.
Status WriteFeatureTable(const std::filesystem::path& path, const std::string& entity,
                         const Entities& entities, const EntityFeatures& features, Context& ctx) {
  CsvOut out(path);
  out.buf() += entity + "_id";
  for (std::size_t f = 0; f < features.size(); ++f) out.buf() += "," + features.def(f).name;
  out.buf() += "\n";
  struct Summary {
    double sum = 0, min = 0, max = 0;
    std::size_t covered = 0;
  };
  std::vector<Summary> summary(features.size());
  const std::vector<std::uint32_t> ids = entities.index.Sorted(entities.training);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::uint32_t id = ids[i];
    AppendCsvField(out.buf(), entities.index.key(id));
    for (std::size_t f = 0; f < features.size(); ++f) {
      const double v = features.Value(f, id);
      out.buf() += ',';
      AppendNumber(out.buf(), v);
      Summary& s = summary[f];
      s.min = i == 0 ? v : std::min(s.min, v);
      s.max = i == 0 ? v : std::max(s.max, v);
      s.sum += v;
      s.covered += features.Has(f, id);
    }
    out.buf() += '\n';
    out.MaybeFlush();
  }
  REEL_RETURN_IF_ERROR(out.Close());
  const double n = ids.empty() ? 1 : static_cast<double>(ids.size());
  for (std::size_t f = 0; f < features.size(); ++f) {
    const std::string prefix = "feature." + entity + "." + features.def(f).name;
    ctx.LogMetric(prefix + ".mean", summary[f].sum / n);
    ctx.LogMetric(prefix + ".min", summary[f].min);
    ctx.LogMetric(prefix + ".max", summary[f].max);
    ctx.LogMetric(prefix + ".coverage", static_cast<double>(summary[f].covered) / n);
  }
  return Status::Ok();
}

bool ValidFeatureName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

OperatorInfo FeatureEtlOperator::Info() {
  OperatorInfo info;
  info.name = "feature_etl";
  info.description =
      "Computes point-in-time features and the training/holdout interactions as of ds, strictly "
      "before ds, from the fact store.";
  info.config = {
      {"ds", ConfigType::kString, true, nullptr,
       "the logical date YYYY-MM-DD; nothing at or after it is read"},
      {"interactions", ConfigType::kMap, true, nullptr,
       "{fact, user: user_id, item: item_id, weight: COLUMN, filter: {column, op, value}}"},
      {"train_days", ConfigType::kInt, false, 28, "days of training interactions before the holdout"},
      {"holdout_days", ConfigType::kInt, false, 7,
       "the last days before ds, held out for evaluation"},
      {"user_features", ConfigType::kList, false, Json::array(),
       "[{name, fact, aggregation: count|sum|mean|min|max|distinct_count|last|ratio, column, "
       "window_days, filter, numerator, key}]"},
      {"item_features", ConfigType::kList, false, Json::array(), "as user_features, keyed by item"},
      {"db", ConfigType::kString, false, nullptr, "fact store file (default <home>/facts.db)"},
  };
  info.example =
      "features:\n  operator: feature_etl\n  with:\n    ds: \"{{ params.ds }}\"\n"
      "    interactions: {fact: viewing_history, weight: watch_seconds}\n"
      "    train_days: 28\n    holdout_days: 7\n    user_features:\n"
      "      - {name: watches_28d, fact: viewing_history, aggregation: count, window_days: 28}\n";
  return info;
}

Status FeatureEtlOperator::Execute(Context& ctx) {
  const Json& cfg = ctx.config();
  if (!cfg.contains("ds") || !cfg["ds"].is_string()) {
    return Status::InvalidArgument("feature_etl: 'ds' (the logical date, YYYY-MM-DD) is required");
  }
  const std::string ds = cfg["ds"].get<std::string>();
  auto day = ParseDay(ds);
  if (!day.ok()) return Status::InvalidArgument("feature_etl: ds: " + day.status().message());
  int train_days, holdout_days;
  REEL_RETURN_IF_ERROR(GetDays(cfg, "train_days", 28, &train_days));
  REEL_RETURN_IF_ERROR(GetDays(cfg, "holdout_days", 7, &holdout_days));
  if (!cfg.contains("interactions")) {
    return Status::InvalidArgument("feature_etl: 'interactions' ({fact: TABLE, ...}) is required");
  }
  auto spec = ParseInteractions(cfg["interactions"]);
  if (!spec.ok()) return spec.status();
  std::vector<FeatureDef> defs;
  for (std::string entity : {"user", "item"}) {
    std::string list = entity + "_features";
    if (!cfg.contains(list) || cfg[list].is_null()) continue;
    if (!cfg[list].is_array()) {
      return Status::InvalidArgument("feature_etl: '" + list + "' must be a list of features");
    }
    for (const auto& j : cfg[list]) {
      auto def = features::ParseFeature(j, entity);
      if (!def.ok()) return Status::InvalidArgument("feature_etl: " + def.status().message());
      if (!ValidFeatureName(def->name) || def->name == entity + "_id") {
        return Status::InvalidArgument("feature_etl: " + list + ": feature name '" + def->name +
                                       "' must be letters, digits and '_', and not " + entity +
                                       "_id");
      }
      for (const auto& d : defs) {
        if (d.entity == entity && d.name == def->name) {
          return Status::InvalidArgument("feature_etl: " + list + ": duplicate feature name '" +
                                         def->name + "'");
        }
      }
      defs.push_back(std::move(*def));
    }
  }

  std::filesystem::path db = cfg.contains("db") && cfg["db"].is_string()
                                 ? std::filesystem::path(cfg["db"].get<std::string>())
                                 : ctx.home() / "facts.db";
  if (!std::filesystem::exists(db)) {
    return Status::NotFound("feature_etl: no fact store at " + db.string() +
                            "; load facts with a fact_snapshot step first");
  }
  auto opened = FactStore::Open(db, /*create=*/false);
  if (!opened.ok()) return opened.status();
  FactStore& store = **opened;

  // Resolve every table and column before reading anything.
  auto table = store.Table(spec->fact);
  if (!table.ok()) return Status::NotFound("feature_etl: interactions: " + table.status().message());
  if (table->kind != FactKind::kEvent) {
    return Status::InvalidArgument("feature_etl: interactions come from an event table; '" +
                                   spec->fact + "' is a state table");
  }
  REEL_RETURN_IF_ERROR(ResolveColumn(*table, "user", spec->user, &spec->user_index));
  REEL_RETURN_IF_ERROR(ResolveColumn(*table, "item", spec->item, &spec->item_index));
  if (!spec->weight.empty()) {
    REEL_RETURN_IF_ERROR(ResolveColumn(*table, "weight", spec->weight, &spec->weight_index));
  }
  auto is_int_column = [&](int i) {
    return table->schema.columns[static_cast<std::size_t>(i)].type == ColumnType::kInt;
  };
  spec->user_is_int = is_int_column(spec->user_index);
  spec->item_is_int = is_int_column(spec->item_index);
  for (auto& f : spec->filters) {
    Status s = features::BindFilter(f, table->schema, spec->fact);
    if (!s.ok()) return Status::NotFound("feature_etl: interactions: " + s.message());
  }
  std::map<std::string, FactTableInfo> fact_tables;
  for (auto& def : defs) {
    if (!fact_tables.count(def.fact)) {
      auto info = store.Table(def.fact);
      if (!info.ok()) {
        return Status::NotFound("feature_etl: " + def.entity + "_features: feature '" + def.name +
                                "': " + info.status().message());
      }
      fact_tables.emplace(def.fact, std::move(*info));
    }
    Status s = features::BindFeature(def, fact_tables.at(def.fact).schema);
    if (!s.ok()) return Status::NotFound("feature_etl: " + s.message());
  }

  const std::int64_t t_ms = DayStartMs(*day);
  const std::int64_t cutoff_ms = t_ms - std::int64_t{holdout_days} * kMsPerDay;
  const std::int64_t train_from_ms = cutoff_ms - std::int64_t{train_days} * kMsPerDay;
  const std::string cutoff_ds = FormatDay(DayOfMs(cutoff_ms));
  const std::string train_from_ds = FormatDay(DayOfMs(train_from_ms));

  // One scan of the interactions' table writes the training [train_from, cutoff) and holdout
  // [cutoff, T) interactions and computes its features; then each other fact table is read
  // once for all of its features.
  auto dir = ctx.work_dir() / "features";
  std::filesystem::create_directories(dir);
  CsvOut train(dir / "interactions.csv"), holdout(dir / "holdout.csv");
  train.buf() = holdout.buf() = "user_id,item_id,weight,ts\n";
  const features::EtlTimes times{train_from_ms, cutoff_ms, t_ms};
  features::InteractionSink sink{&*spec, &train, &holdout};
  std::int64_t scanned = 0;
  Entities entities[2];
  std::vector<FeatureDef> entity_defs[2];
  for (auto& def : defs) entity_defs[def.entity == "user" ? 0 : 1].push_back(std::move(def));
  EntityFeatures features[2] = {EntityFeatures(std::move(entity_defs[0]), cutoff_ms),
                                EntityFeatures(std::move(entity_defs[1]), cutoff_ms)};
  const auto& cancel = ctx.cancellation();
  REEL_RETURN_IF_ERROR(
      features::ScanFactTable(store, *table, times, &sink, entities, features, cancel, &scanned));
  if (cancel.cancelled()) return Status::Cancelled("feature_etl: cancelled");
  REEL_RETURN_IF_ERROR(train.Close());
  REEL_RETURN_IF_ERROR(holdout.Close());
  const std::int64_t train_rows = sink.train_rows, holdout_rows = sink.holdout_rows;
  if (train_rows == 0) {
    return Status::Failed("feature_etl: no training interactions in '" + spec->fact + "' from " +
                          train_from_ds + " to " + cutoff_ds + " (exclusive) for ds " + ds +
                          "; snapshot that history first (fact_snapshot with from/to) or lower "
                          "holdout_days/raise train_days");
  }
  for (const auto& [fact, info] : fact_tables) {
    if (fact == spec->fact) continue;  // read above
    REEL_RETURN_IF_ERROR(
        features::ScanFactTable(store, info, times, nullptr, entities, features, cancel, &scanned));
    if (cancel.cancelled()) return Status::Cancelled("feature_etl: cancelled");
  }
  for (auto& f : features) f.Finish();
  REEL_RETURN_IF_ERROR(
      WriteFeatureTable(dir / "user_features.csv", "user", entities[0], features[0], ctx));
  REEL_RETURN_IF_ERROR(
      WriteFeatureTable(dir / "item_features.csv", "item", entities[1], features[1], ctx));

  for (const char* name : {"interactions", "holdout", "user_features", "item_features"}) {
    auto ref = ctx.PutArtifact(std::string(name) + ".csv", dir / (std::string(name) + ".csv"));
    if (!ref.ok()) return ref.status();
    ctx.SetOutput(name, ref->uri);
  }
  Json definitions = {{"interactions", cfg["interactions"]},
                      {"train_days", train_days},
                      {"holdout_days", holdout_days},
                      {"user_features", cfg.value("user_features", Json::array())},
                      {"item_features", cfg.value("item_features", Json::array())}};
  std::string definitions_hash = Sha256::HexOf(definitions.dump());
  ctx.RecordEvent("features.definitions",
                  {{"hash", definitions_hash}, {"definitions", definitions}});
  ctx.SetOutput("definitions_hash", definitions_hash);
  ctx.SetOutput("train_rows", train_rows);
  ctx.SetOutput("holdout_rows", holdout_rows);
  ctx.SetOutput("users", entities[0].training.size());
  ctx.SetOutput("items", entities[1].training.size());
  ctx.SetOutput("train_from", train_from_ds);
  ctx.SetOutput("cutoff", cutoff_ds);
  ctx.SetOutput("rows_scanned", scanned);
  ctx.LogMetric("train_rows", static_cast<double>(train_rows));
  ctx.LogMetric("holdout_rows", static_cast<double>(holdout_rows));
  ctx.Info(
      "{} training interactions ({} users, {} items) from {} to {}, {} holdout "
      "interactions from {} to {} (exclusive); {} features",
      train_rows, entities[0].training.size(), entities[1].training.size(), train_from_ds,
      cutoff_ds, holdout_rows, cutoff_ds, ds, features[0].size() + features[1].size());
  return Status::Ok();
}

}  // namespace reel
