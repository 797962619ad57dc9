#include "operators/feature_etl.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <tuple>

#include "engine/csv.h"
#include "engine/fact_store.h"
#include "engine/sha256.h"
#include "operators/feature_spec.h"

namespace reel {
namespace {

using features::EntityIndex;
using features::FeatureComputer;
using features::FeatureDef;
using features::Filter;

// Integral values print as integers, others in the shortest form that reads back exactly.
void AppendNumber(std::string& out, double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<std::int64_t>(v));
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

FactTime AtMs(std::int64_t ms) { return FactTime(std::chrono::milliseconds(ms)); }

// A CSV file written through a buffer.
class CsvOut {
 public:
  explicit CsvOut(const std::filesystem::path& path) : path_(path), out_(path, std::ios::binary) {}
  std::string& buf() { return buf_; }
  void MaybeFlush() {
    if (buf_.size() >= (1 << 20)) Flush();
  }
  Status Close() {
    Flush();
    out_.close();
    if (!out_) return Status::IoError("feature_etl: cannot write " + path_.string());
    return Status::Ok();
  }

 private:
  void Flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }
  std::filesystem::path path_;
  std::ofstream out_;
  std::string buf_;
};

struct InteractionSpec {
  std::string fact, user = "user_id", item = "item_id", weight;
  std::vector<Filter> filters;
  int user_index = -1, item_index = -1, weight_index = -1;
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

// Streams the rows of event table `info` with event time in [from_ms, to_ms), `to_ms` the start
// of a day, reading only the partitions of those days; from_ms = INT64_MIN reads everything
// visible at to_ms (as_of). Both read nothing at or after to_ms.
Status ScanEvents(FactStore& store, const FactTableInfo& info, std::int64_t from_ms,
                  std::int64_t to_ms, const FactVisitor& visit) {
  if (from_ms == INT64_MIN) return store.AsOf(info.name, AtMs(to_ms), visit);
  auto parts = store.Partitions(info.name);
  if (!parts.ok()) return parts.status();
  const std::int32_t first = DayOfMs(from_ms), end = DayOfMs(to_ms);
  bool stopped = false;
  for (const auto& p : *parts) {
    if (stopped) break;
    if (p.day < first || p.day >= end) continue;
    REEL_RETURN_IF_ERROR(store.ScanPartition(info.name, p.ds, [&](const FactRow& row) {
      std::int64_t t = row.TimeMs();
      if (t < from_ms || t >= to_ms) return true;
      if (!visit(row)) stopped = true;
      return !stopped;
    }));
  }
  return Status::Ok();
}

// The features of one entity kind, written as `<entity>_id,<feature...>` for every entity of
// the training interactions, with per-feature summary metrics.
Status WriteFeatureTable(const std::filesystem::path& path, const std::string& entity,
                         const EntityIndex& entities,
                         const std::vector<const FeatureComputer*>& computers, Context& ctx) {
  CsvOut out(path);
  out.buf() += entity + "_id";
  for (const auto* c : computers) out.buf() += "," + c->def().name;
  out.buf() += "\n";
  std::vector<std::uint32_t> ids = entities.SortedIds();
  for (std::uint32_t id : ids) {
    AppendCsvField(out.buf(), entities.key(id));
    for (const auto* c : computers) {
      out.buf() += ',';
      AppendNumber(out.buf(), c->Value(id));
    }
    out.buf() += '\n';
    out.MaybeFlush();
  }
  REEL_RETURN_IF_ERROR(out.Close());
  for (const auto* c : computers) {
    double sum = 0, mn = 0, mx = 0;
    std::size_t covered = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      double v = c->Value(ids[i]);
      mn = i == 0 ? v : std::min(mn, v);
      mx = i == 0 ? v : std::max(mx, v);
      sum += v;
      covered += c->Has(ids[i]);
    }
    double n = ids.empty() ? 1 : static_cast<double>(ids.size());
    std::string prefix = "feature." + entity + "." + c->def().name;
    ctx.LogMetric(prefix + ".mean", sum / n);
    ctx.LogMetric(prefix + ".min", mn);
    ctx.LogMetric(prefix + ".max", mx);
    ctx.LogMetric(prefix + ".coverage", static_cast<double>(covered) / n);
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

  // Training [train_from, cutoff) and holdout [cutoff, T) interactions in one scan.
  auto dir = ctx.work_dir() / "features";
  std::filesystem::create_directories(dir);
  CsvOut train(dir / "interactions.csv"), holdout(dir / "holdout.csv");
  train.buf() = holdout.buf() = "user_id,item_id,weight,ts\n";
  std::int64_t train_rows = 0, holdout_rows = 0, scanned = 0;
  EntityIndex users, items;
  const auto& cancel = ctx.cancellation();
  auto is_int_column = [&](int i) {
    return table->schema.columns[static_cast<std::size_t>(i)].type == ColumnType::kInt;
  };
  const bool user_is_int = is_int_column(spec->user_index);
  const bool item_is_int = is_int_column(spec->item_index);
  Status scan = ScanEvents(store, *table, train_from_ms, t_ms, [&](const FactRow& row) {
    if ((++scanned & 0xffff) == 0 && cancel.cancelled()) return false;
    for (const auto& f : spec->filters) {
      if (!f.Matches(row)) return true;
    }
    if (row.IsNull(spec->user_index) || row.IsNull(spec->item_index)) return true;
    const std::int64_t ts = row.TimeMs();
    const bool is_train = ts < cutoff_ms;
    std::string& out = is_train ? train.buf() : holdout.buf();
    for (auto [index, is_int, entities] : {std::tuple{spec->user_index, user_is_int, &users},
                                           std::tuple{spec->item_index, item_is_int, &items}}) {
      if (is_int) {
        const std::int64_t id = row.Int(index);
        fmt::format_to(std::back_inserter(out), "{},", id);
        if (is_train) entities->InternInt(id);
      } else {
        const std::string_view id = row.Text(index);
        AppendCsvField(out, id);
        out += ',';
        if (is_train) entities->Intern(id);
      }
    }
    AppendNumber(out, spec->weight_index >= 0 && !row.IsNull(spec->weight_index)
                          ? row.Float(spec->weight_index)
                          : 1.0);
    out += ',';
    fmt::format_to(std::back_inserter(out), "{}\n",
                   ts >= 0 ? ts / 1000 : -((-ts + 999) / 1000));  // floor to seconds
    ++(is_train ? train_rows : holdout_rows);
    (is_train ? train : holdout).MaybeFlush();
    return true;
  });
  REEL_RETURN_IF_ERROR(scan);
  if (cancel.cancelled()) return Status::Cancelled("feature_etl: cancelled");
  REEL_RETURN_IF_ERROR(train.Close());
  REEL_RETURN_IF_ERROR(holdout.Close());
  if (train_rows == 0) {
    return Status::Failed("feature_etl: no training interactions in '" + spec->fact + "' from " +
                          train_from_ds + " to " + cutoff_ds + " (exclusive) for ds " + ds +
                          "; snapshot that history first (fact_snapshot with from/to) or lower "
                          "holdout_days/raise train_days");
  }

  // Features as of the cutoff: one scan per fact table computes all of its features, reading
  // only the days the longest window needs.
  std::vector<FeatureComputer> computers;
  computers.reserve(defs.size());
  for (auto& def : defs) {
    std::size_t n = def.entity == "user" ? users.size() : items.size();
    computers.emplace_back(std::move(def), n);
  }
  for (const auto& [fact, info] : fact_tables) {
    std::vector<std::pair<FeatureComputer*, int>> these;  // and the entity: 0 user, 1 item
    std::int64_t from_ms = cutoff_ms;
    for (auto& c : computers) {
      if (c.def().fact != fact) continue;
      these.emplace_back(&c, c.def().entity == "user" ? 0 : 1);
      from_ms = c.def().window_days == 0
                    ? INT64_MIN
                    : std::min(from_ms, cutoff_ms - c.def().window_days * kMsPerDay);
    }
    const bool is_event = info.kind == FactKind::kEvent;
    auto visit = [&](const FactRow& row) {
      if ((++scanned & 0xffff) == 0 && cancel.cancelled()) return false;
      const std::int64_t ts = is_event ? row.TimeMs() : cutoff_ms - 1;
      // The entity id of this row, looked up once per entity and key column.
      int cached_key[2] = {-1, -1};
      std::uint32_t cached_id[2] = {EntityIndex::kNone, EntityIndex::kNone};
      for (auto [c, entity] : these) {
        if (!c->Accepts(row, ts, cutoff_ms)) continue;
        const int key = c->def().key_index;
        if (cached_key[entity] != key) {
          cached_key[entity] = key;
          const EntityIndex& index = entity == 0 ? users : items;
          cached_id[entity] = row.IsNull(key)         ? EntityIndex::kNone
                              : c->def().key_is_int ? index.FindInt(row.Int(key))
                                                    : index.Find(row.Text(key));
        }
        if (cached_id[entity] != EntityIndex::kNone) c->Add(row, cached_id[entity], ts);
      }
      return true;
    };
    Status s = is_event ? ScanEvents(store, info, from_ms, cutoff_ms, visit)
                        : store.AsOf(fact, AtMs(cutoff_ms), visit);
    REEL_RETURN_IF_ERROR(s);
    if (cancel.cancelled()) return Status::Cancelled("feature_etl: cancelled");
  }
  std::vector<const FeatureComputer*> user_computers, item_computers;
  for (auto& c : computers) {
    c.Finish();
    (c.def().entity == "user" ? user_computers : item_computers).push_back(&c);
  }
  REEL_RETURN_IF_ERROR(
      WriteFeatureTable(dir / "user_features.csv", "user", users, user_computers, ctx));
  REEL_RETURN_IF_ERROR(
      WriteFeatureTable(dir / "item_features.csv", "item", items, item_computers, ctx));

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
  ctx.SetOutput("users", users.size());
  ctx.SetOutput("items", items.size());
  ctx.SetOutput("train_from", train_from_ds);
  ctx.SetOutput("cutoff", cutoff_ds);
  ctx.SetOutput("rows_scanned", scanned);
  ctx.LogMetric("train_rows", static_cast<double>(train_rows));
  ctx.LogMetric("holdout_rows", static_cast<double>(holdout_rows));
  ctx.Info("{} training interactions ({} users, {} items) from {} to {}, {} holdout "
           "interactions from {} to {} (exclusive); {} features",
           train_rows, users.size(), items.size(), train_from_ds, cutoff_ds, holdout_rows,
           cutoff_ds, ds, computers.size());
  return Status::Ok();
}

}  // namespace reel
