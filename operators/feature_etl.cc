#include "operators/feature_etl.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "engine/base/csv.h"
#include "engine/base/sha256.h"
#include "facts/fact_store.h"
#include "features/scan.h"
#include "features/spec.h"
#include "features/state.h"

namespace reel {
namespace {

using features::AppendNumber;
using features::CsvOut;
using features::Entities;
using features::EntityFeatures;
using features::EtlTimes;
using features::FeatureDef;
using features::InteractionSpec;

using FactTables = std::map<std::string, FactTableInfo>;

struct EtlConfig {
  std::string ds;
  std::int32_t day = 0;
  int train_days = 0, holdout_days = 0;
  InteractionSpec interactions;
  std::vector<FeatureDef> features;  // the user features, then the item features
  std::filesystem::path db;
};

// The instants of the run (T, the cutoff C and the training start) and the days they fall on.
struct Window {
  EtlTimes times;
  std::string train_from_ds, cutoff_ds;
};

struct InteractionCounts {
  std::int64_t train_rows = 0, holdout_rows = 0;
};

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

// A number of days; the schema's default stands in for a missing value.
Result<int> GetDays(const Json& cfg, const char* key) {
  const Json& v = cfg.at(key);
  if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 100000) {
    return Status::InvalidArgument(std::string("feature_etl: '") + key +
                                   "' must be a whole number of days >= 1, got " + v.dump());
  }
  return v.get<int>();
}

bool ValidFeatureName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Appends the definitions of `<entity>_features` to `defs`; names are unique per entity.
Status ParseFeatureList(const Json& cfg, const std::string& entity, std::vector<FeatureDef>* defs) {
  const std::string list = entity + "_features";
  if (!cfg.at(list).is_array()) {
    return Status::InvalidArgument("feature_etl: '" + list + "' must be a list of features");
  }
  for (const auto& j : cfg.at(list)) {
    auto def = features::ParseFeature(j, entity);
    if (!def.ok()) return Status::InvalidArgument("feature_etl: " + def.status().message());
    if (!ValidFeatureName(def->name) || def->name == entity + "_id") {
      return Status::InvalidArgument("feature_etl: " + list + ": feature name '" + def->name +
                                     "' must be letters, digits and '_', and not " + entity +
                                     "_id");
    }
    for (const auto& d : *defs) {
      if (d.entity == entity && d.name == def->name) {
        return Status::InvalidArgument("feature_etl: " + list + ": duplicate feature name '" +
                                       def->name + "'");
      }
    }
    defs->push_back(std::move(*def));
  }
  return Status::Ok();
}

// The config after the engine applied the schema: keys with a default are always present.
Result<EtlConfig> ParseConfig(const Context& ctx) {
  const Json& cfg = ctx.config();
  EtlConfig out;
  if (!cfg.contains("ds") || !cfg["ds"].is_string()) {
    return Status::InvalidArgument("feature_etl: 'ds' (the logical date, YYYY-MM-DD) is required");
  }
  out.ds = cfg["ds"].get<std::string>();
  auto day = ParseDay(out.ds);
  if (!day.ok()) return Status::InvalidArgument("feature_etl: ds: " + day.status().message());
  out.day = *day;
  REEL_ASSIGN_OR_RETURN(out.train_days, GetDays(cfg, "train_days"));
  REEL_ASSIGN_OR_RETURN(out.holdout_days, GetDays(cfg, "holdout_days"));
  if (!cfg.contains("interactions")) {
    return Status::InvalidArgument("feature_etl: 'interactions' ({fact: TABLE, ...}) is required");
  }
  REEL_ASSIGN_OR_RETURN(out.interactions, ParseInteractions(cfg["interactions"]));
  for (const char* entity : {"user", "item"}) {
    REEL_RETURN_IF_ERROR(ParseFeatureList(cfg, entity, &out.features));
  }
  out.db = cfg.contains("db") && cfg["db"].is_string()
               ? std::filesystem::path(cfg["db"].get<std::string>())
               : ctx.home() / "facts.db";
  return out;
}

Result<std::unique_ptr<FactStore>> OpenStore(const std::filesystem::path& db) {
  if (!std::filesystem::exists(db)) {
    return Status::NotFound("feature_etl: no fact store at " + db.string() +
                            "; load facts with a fact_snapshot step first");
  }
  return FactStore::Open(db, /*create=*/false);
}

Status ResolveColumn(const FactTableInfo& info, const std::string& role, const std::string& name,
                     int* index) {
  *index = info.schema.IndexOf(name);
  if (*index >= 0) return Status::Ok();
  return Status::NotFound("feature_etl: interactions: fact table '" + info.name +
                          "' has no column '" + name + "' (the " + role + " column; set '" + role +
                          ":'); its columns: " + info.schema.Describe());
}

// The interactions' table, an event table; binds `spec`'s columns and filters to it.
Result<FactTableInfo> ResolveInteractions(FactStore& store, InteractionSpec* spec) {
  auto table = store.Table(spec->fact);
  if (!table.ok())
    return Status::NotFound("feature_etl: interactions: " + table.status().message());
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
  return table;
}

// The fact tables the features read, by name; binds every feature to its table.
Result<FactTables> ResolveFeatures(FactStore& store, std::vector<FeatureDef>* defs) {
  FactTables tables;
  for (auto& def : *defs) {
    if (!tables.count(def.fact)) {
      auto info = store.Table(def.fact);
      if (!info.ok()) {
        return Status::NotFound("feature_etl: " + def.entity + "_features: feature '" + def.name +
                                "': " + info.status().message());
      }
      tables.emplace(def.fact, std::move(*info));
    }
    Status s = features::BindFeature(def, tables.at(def.fact).schema);
    if (!s.ok()) return Status::NotFound("feature_etl: " + s.message());
  }
  return tables;
}

Window WindowOf(const EtlConfig& cfg) {
  const std::int64_t t_ms = DayStartMs(cfg.day);
  const std::int64_t cutoff_ms = t_ms - std::int64_t{cfg.holdout_days} * kMsPerDay;
  const std::int64_t train_from_ms = cutoff_ms - std::int64_t{cfg.train_days} * kMsPerDay;
  return {.times = {.train_from_ms = train_from_ms, .cutoff_ms = cutoff_ms, .t_ms = t_ms},
          .train_from_ds = FormatDay(DayOfMs(train_from_ms)),
          .cutoff_ds = FormatDay(DayOfMs(cutoff_ms))};
}

// One scan of the interactions' table writes interactions.csv (training, [train_from, C)) and
// holdout.csv ([C, T)) into `dir` and computes the features over that table. No training
// interaction fails the step.
Result<InteractionCounts> ScanInteractions(const Context& ctx, FactStore& store,
                                           const FactTableInfo& table, const EtlConfig& cfg,
                                           const Window& window, const std::filesystem::path& dir,
                                           Entities (&entities)[2], EntityFeatures (&features)[2],
                                           std::int64_t* scanned) {
  CsvOut train(dir / "interactions.csv"), holdout(dir / "holdout.csv");
  train.buf() = holdout.buf() = "user_id,item_id,weight,ts\n";
  features::InteractionSink sink{.spec = &cfg.interactions, .train = &train, .holdout = &holdout};
  const auto& cancel = ctx.cancellation();
  REEL_RETURN_IF_ERROR(features::ScanFactTable(store, table, window.times, &sink, entities,
                                               features, cancel, scanned));
  if (cancel.cancelled()) return Status::Cancelled("feature_etl: cancelled");
  REEL_RETURN_IF_ERROR(train.Close());
  REEL_RETURN_IF_ERROR(holdout.Close());
  if (sink.train_rows == 0) {
    return Status::Failed("feature_etl: no training interactions in '" + cfg.interactions.fact +
                          "' from " + window.train_from_ds + " to " + window.cutoff_ds +
                          " (exclusive) for ds " + cfg.ds +
                          "; snapshot that history first (fact_snapshot with from/to) or lower "
                          "holdout_days/raise train_days");
  }
  return InteractionCounts{.train_rows = sink.train_rows, .holdout_rows = sink.holdout_rows};
}

// Reads each other fact table once, for all of its features.
Status ScanFeatureTables(const Context& ctx, FactStore& store, const FactTables& tables,
                         const std::string& interactions_fact, const EtlTimes& times,
                         Entities (&entities)[2], EntityFeatures (&features)[2],
                         std::int64_t* scanned) {
  const auto& cancel = ctx.cancellation();
  for (const auto& [fact, info] : tables) {
    if (fact == interactions_fact) continue;  // read with the interactions
    REEL_RETURN_IF_ERROR(
        features::ScanFactTable(store, info, times, nullptr, entities, features, cancel, scanned));
    if (cancel.cancelled()) return Status::Cancelled("feature_etl: cancelled");
  }
  return Status::Ok();
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

Status PutArtifacts(Context& ctx, const std::filesystem::path& dir) {
  for (const char* name : {"interactions", "holdout", "user_features", "item_features"}) {
    const std::string file = std::string(name) + ".csv";
    REEL_ASSIGN_OR_RETURN(const ArtifactRef ref, ctx.PutArtifact(file, dir / file));
    ctx.SetOutput(name, ref.uri);
  }
  return Status::Ok();
}

// The definitions' hash (also recorded as an event), the counts as outputs and metrics, and a
// summary line.
void Publish(Context& ctx, const EtlConfig& cfg, const Window& window,
             const InteractionCounts& counts, const Entities (&entities)[2],
             std::size_t feature_count, std::int64_t scanned) {
  const Json& config = ctx.config();
  const Json definitions = {{"interactions", config.at("interactions")},
                            {"train_days", cfg.train_days},
                            {"holdout_days", cfg.holdout_days},
                            {"user_features", config.at("user_features")},
                            {"item_features", config.at("item_features")}};
  const std::string definitions_hash = Sha256::HexOf(definitions.dump());
  ctx.RecordEvent("features.definitions",
                  {{"hash", definitions_hash}, {"definitions", definitions}});
  ctx.SetOutput("definitions_hash", definitions_hash);
  ctx.SetOutput("train_rows", counts.train_rows);
  ctx.SetOutput("holdout_rows", counts.holdout_rows);
  ctx.SetOutput("users", entities[0].training.size());
  ctx.SetOutput("items", entities[1].training.size());
  ctx.SetOutput("train_from", window.train_from_ds);
  ctx.SetOutput("cutoff", window.cutoff_ds);
  ctx.SetOutput("rows_scanned", scanned);
  ctx.LogMetric("train_rows", static_cast<double>(counts.train_rows));
  ctx.LogMetric("holdout_rows", static_cast<double>(counts.holdout_rows));
  ctx.Info(
      "{} training interactions ({} users, {} items) from {} to {}, {} holdout "
      "interactions from {} to {} (exclusive); {} features",
      counts.train_rows, entities[0].training.size(), entities[1].training.size(),
      window.train_from_ds, window.cutoff_ds, counts.holdout_rows, window.cutoff_ds, cfg.ds,
      feature_count);
}

}  // namespace

OperatorInfo FeatureEtlOperator::Info() {
  OperatorInfo info{
      .name = "feature_etl",
      .description =
          "Computes point-in-time features and the training/holdout interactions as "
          "of ds, strictly before ds, from the fact store.",
      .config =
          {
              {.name = "ds",
               .type = ConfigType::kString,
               .required = true,
               .description = "the logical date YYYY-MM-DD; nothing at or after it is read"},
              {.name = "interactions",
               .type = ConfigType::kMap,
               .required = true,
               .description = "{fact, user: user_id, item: item_id, weight: COLUMN, filter: "
                              "{column, op, value}}"},
              {.name = "train_days",
               .type = ConfigType::kInt,
               .default_value = 28,
               .description = "days of training interactions before the holdout"},
              {.name = "holdout_days",
               .type = ConfigType::kInt,
               .default_value = 7,
               .description = "the last days before ds, held out for evaluation"},
              {.name = "user_features",
               .type = ConfigType::kList,
               .default_value = Json::array(),
               .description = "[{name, fact, aggregation: "
                              "count|sum|mean|min|max|distinct_count|last|ratio, column, "
                              "window_days, filter, numerator, key}]"},
              {.name = "item_features",
               .type = ConfigType::kList,
               .default_value = Json::array(),
               .description = "as user_features, keyed by item"},
              {.name = "db",
               .type = ConfigType::kString,
               .description = "fact store file (default <home>/facts.db)"},
          },
      .example =
          "features:\n  operator: feature_etl\n  with:\n    ds: \"{{ params.ds }}\"\n"
          "    interactions: {fact: viewing_history, weight: watch_seconds}\n"
          "    train_days: 28\n    holdout_days: 7\n    user_features:\n"
          "      - {name: watches_28d, fact: viewing_history, aggregation: count, "
          "window_days: 28}\n",
  };
  info.declares_outputs = true;
  info.outputs = {
      {.name = "interactions",
       .type = ConfigType::kString,
       .description = "artifact uri of interactions.csv, the training interactions"},
      {.name = "holdout",
       .type = ConfigType::kString,
       .description = "artifact uri of holdout.csv"},
      {.name = "user_features",
       .type = ConfigType::kString,
       .description = "artifact uri of user_features.csv"},
      {.name = "item_features",
       .type = ConfigType::kString,
       .description = "artifact uri of item_features.csv"},
      {.name = "definitions_hash",
       .type = ConfigType::kString,
       .description = "SHA-256 of the feature definitions"},
      {.name = "train_rows", .type = ConfigType::kInt, .description = "training interactions"},
      {.name = "holdout_rows", .type = ConfigType::kInt, .description = "holdout interactions"},
      {.name = "users", .type = ConfigType::kInt, .description = "users in the training window"},
      {.name = "items", .type = ConfigType::kInt, .description = "items in the training window"},
      {.name = "train_from",
       .type = ConfigType::kString,
       .description = "the first training day, YYYY-MM-DD"},
      {.name = "cutoff",
       .type = ConfigType::kString,
       .description = "the first holdout day, YYYY-MM-DD"},
      {.name = "rows_scanned", .type = ConfigType::kInt, .description = "fact rows read"},
  };
  info.artifacts = {"interactions.csv", "holdout.csv", "user_features.csv", "item_features.csv"};
  return info;
}

Status FeatureEtlOperator::Execute(Context& ctx) {
  REEL_ASSIGN_OR_RETURN(EtlConfig cfg, ParseConfig(ctx));
  REEL_ASSIGN_OR_RETURN(const std::unique_ptr<FactStore> store, OpenStore(cfg.db));
  // Resolve every table and column before reading anything.
  REEL_ASSIGN_OR_RETURN(const FactTableInfo table, ResolveInteractions(*store, &cfg.interactions));
  REEL_ASSIGN_OR_RETURN(const FactTables fact_tables, ResolveFeatures(*store, &cfg.features));
  const Window window = WindowOf(cfg);

  const std::filesystem::path dir = ctx.work_dir() / "features";
  std::filesystem::create_directories(dir);
  Entities entities[2];  // users, items
  std::vector<FeatureDef> entity_defs[2];
  for (auto& def : cfg.features)
    entity_defs[def.entity == "user" ? 0 : 1].push_back(std::move(def));
  EntityFeatures features[2] = {EntityFeatures(std::move(entity_defs[0]), window.times.cutoff_ms),
                                EntityFeatures(std::move(entity_defs[1]), window.times.cutoff_ms)};
  std::int64_t scanned = 0;
  REEL_ASSIGN_OR_RETURN(
      const InteractionCounts counts,
      ScanInteractions(ctx, *store, table, cfg, window, dir, entities, features, &scanned));
  REEL_RETURN_IF_ERROR(ScanFeatureTables(ctx, *store, fact_tables, cfg.interactions.fact,
                                         window.times, entities, features, &scanned));
  for (auto& f : features) f.Finish();
  REEL_RETURN_IF_ERROR(
      WriteFeatureTable(dir / "user_features.csv", "user", entities[0], features[0], ctx));
  REEL_RETURN_IF_ERROR(
      WriteFeatureTable(dir / "item_features.csv", "item", entities[1], features[1], ctx));
  REEL_RETURN_IF_ERROR(PutArtifacts(ctx, dir));
  Publish(ctx, cfg, window, counts, entities, features[0].size() + features[1].size(), scanned);
  return Status::Ok();
}

}  // namespace reel
