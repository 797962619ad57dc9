#include "operators/evaluate.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/ranges.h>

#include "engine/base/csv.h"
#include "engine/store/state_store.h"
#include "home/home.h"
#include "models/model_file.h"
#include "models/ranking_metrics.h"
#include "models/registry.h"

namespace reel {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxK = 10000;
// The item-kNN baseline's neighbours per item and shrinkage (as torch_train's item_knn).
constexpr std::size_t kKnnNeighbors = 100;
constexpr double kKnnShrinkage = 10.0;

// Every item any input mentions, numbered densely; `rankable` marks the catalog (items that
// some ranker can recommend), which coverage divides by.
struct ItemDict {
  std::unordered_map<std::string, ItemId> ids;
  std::vector<std::string> names;
  std::vector<char> rankable;

  ItemId Intern(std::string_view name) {
    auto [it, inserted] = ids.try_emplace(std::string(name), static_cast<ItemId>(names.size()));
    if (inserted) {
      names.emplace_back(name);
      rankable.push_back(0);
    }
    return it->second;
  }
  std::size_t CatalogSize() const {
    return static_cast<std::size_t>(std::count(rankable.begin(), rankable.end(), 1));
  }
};

// user -> items, sorted and unique.
using UserItems = std::unordered_map<std::string, std::vector<ItemId>>;

// An input named by an artifact uri or, for hand-written workflows, a local file path.
Result<fs::path> ResolveInput(Context& ctx, const std::string& key, const std::string& value) {
  if (value.empty()) return Status::InvalidArgument("evaluate: `" + key + "` is required");
  auto path = ctx.ArtifactPath(value);
  if (path.ok()) return path;
  std::error_code ec;
  if (value.find(':') == std::string::npos && fs::is_regular_file(value, ec)) {
    return fs::absolute(value);
  }
  return Status::NotFound(
      fmt::format("evaluate: `{}`: {} (pass the uri of an upstream output, e.g. "
                  "\"{{{{ steps.train.outputs.model }}}}\", or the path of a file)",
                  key, path.status().message()));
}

// Reads a CSV with a header naming `user_id` and `item_id` (other columns are ignored).
// `counts`, when given, receives the number of rows of each item.
Status LoadUserItems(const fs::path& path, const std::string& key, ItemDict& dict, UserItems& out,
                     std::vector<std::int64_t>* counts) {
  REEL_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::Open(path));
  CsvRecord rec;
  int user_col = -1, item_col = -1;
  if (reader->Next(rec)) {
    for (std::size_t i = 0; i < rec.fields.size(); ++i) {
      if (rec.fields[i] == "user_id") user_col = static_cast<int>(i);
      if (rec.fields[i] == "item_id") item_col = static_cast<int>(i);
    }
  }
  if (user_col < 0 || item_col < 0) {
    return Status::InvalidArgument(fmt::format(
        "evaluate: `{}` ({}): the first line must be a header naming the columns user_id and "
        "item_id",
        key, path.string()));
  }
  std::size_t need = static_cast<std::size_t>(std::max(user_col, item_col)) + 1;
  while (reader->Next(rec)) {
    if (!rec.error.empty() || rec.fields.size() < need) {
      return Status::InvalidArgument(fmt::format(
          "evaluate: `{}` ({}:{}): {}", key, path.string(), rec.line,
          rec.error.empty() ? fmt::format("expected at least {} columns", need) : rec.error));
    }
    ItemId item = dict.Intern(rec.fields[static_cast<std::size_t>(item_col)]);
    out[std::string(rec.fields[static_cast<std::size_t>(user_col)])].push_back(item);
    if (counts) {
      if (counts->size() <= static_cast<std::size_t>(item)) counts->resize(dict.names.size(), 0);
      ++(*counts)[static_cast<std::size_t>(item)];
    }
  }
  REEL_RETURN_IF_ERROR(reader->status());
  for (auto& [user, items] : out) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
  }
  return Status::Ok();
}

// A model's vectors, with each item row mapped to the evaluation's item ids.
struct Ranker {
  const RecModel* model = nullptr;
  std::vector<ItemId> item_of_row;

  Ranker(const RecModel& m, ItemDict& dict) : model(&m) {
    item_of_row.reserve(m.items.size());
    for (const auto& name : m.items) {
      ItemId id = dict.Intern(name);
      dict.rankable[static_cast<std::size_t>(id)] = 1;
      item_of_row.push_back(id);
    }
  }
};

// Per-thread buffers: `seen` is a flag per item id, set for one user and cleared after.
struct Scratch {
  std::vector<char> seen;
  std::vector<std::pair<float, std::uint32_t>> scored;
};

void PopularTopK(const std::vector<ItemId>& popular, const Scratch& s, std::size_t k,
                 std::vector<ItemId>& out) {
  out.clear();
  for (ItemId item : popular) {
    if (out.size() >= k) break;
    if (!s.seen[static_cast<std::size_t>(item)]) out.push_back(item);
  }
}

// Returns false (and the popularity ranking) when the model has no vector for `user`.
bool ModelTopK(const Ranker& r, const std::string& user, const std::vector<ItemId>& popular,
               Scratch& s, std::size_t k, std::vector<ItemId>& out) {
  auto u = r.model->UserIndex(user);
  if (!u) {
    PopularTopK(popular, s, k, out);
    return false;
  }
  const RecModel& m = *r.model;
  const float* uv = m.UserVec(*u);
  std::size_t dim = static_cast<std::size_t>(m.dim);
  s.scored.clear();
  for (std::size_t row = 0; row < m.items.size(); ++row) {
    if (s.seen[static_cast<std::size_t>(r.item_of_row[row])]) continue;
    const float* iv = m.ItemVec(row);
    float score = 0;
    for (std::size_t d = 0; d < dim; ++d) score += uv[d] * iv[d];
    s.scored.emplace_back(score, static_cast<std::uint32_t>(row));
  }
  std::size_t n = std::min(k, s.scored.size());
  std::partial_sort(s.scored.begin(), s.scored.begin() + static_cast<std::ptrdiff_t>(n),
                    s.scored.end(), [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  out.clear();
  for (std::size_t i = 0; i < n; ++i) out.push_back(r.item_of_row[s.scored[i].second]);
  return true;
}

std::uint64_t Fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The users to evaluate, sorted by id: held-out users with a held-out item not seen in
// training; at most `max_users` of them (> 0), chosen by a hash of the id, so the same
// inputs always give the same sample.
std::vector<std::string> ChooseUsers(const UserItems& holdout, const UserItems& train,
                                     UserItems& relevant, std::int64_t max_users) {
  std::vector<std::string> users;
  for (const auto& [user, items] : holdout) {
    std::vector<ItemId> fresh;
    auto seen = train.find(user);
    for (ItemId item : items) {
      if (seen == train.end() ||
          !std::binary_search(seen->second.begin(), seen->second.end(), item)) {
        fresh.push_back(item);
      }
    }
    if (fresh.empty()) continue;
    relevant[user] = std::move(fresh);
    users.push_back(user);
  }
  if (max_users > 0 && users.size() > static_cast<std::size_t>(max_users)) {
    std::sort(users.begin(), users.end(), [](const std::string& a, const std::string& b) {
      auto ha = Fnv1a(a), hb = Fnv1a(b);
      return ha != hb ? ha < hb : a < b;
    });
    users.resize(static_cast<std::size_t>(max_users));
  }
  std::sort(users.begin(), users.end());
  return users;
}

// One ranker's metrics over all evaluated users and over each segment: `warm` users have
// training interactions, `cold` users have none. `recall` and `ndcg` hold each user's values,
// in user order.
struct ModelResult {
  RankingMetrics metrics;  // all users
  RankingMetrics warm, cold;
  std::size_t users_without_vector = 0;
  std::vector<double> recall, ndcg;
};

Json MetricsJson(const RankingMetrics& m, std::size_t k) {
  return {{fmt::format("recall_at_{}", k), m.recall},
          {fmt::format("ndcg_at_{}", k), m.ndcg},
          {fmt::format("coverage_at_{}", k), m.coverage}};
}

// The top-level metrics are over all users; `segments` and `users` break them down.
Json ModelJson(const ModelResult& r, std::size_t k, bool count_without_vector) {
  Json j = MetricsJson(r.metrics, k);
  if (count_without_vector) j["users_without_vector"] = r.users_without_vector;
  j["segments"] = {{"warm", MetricsJson(r.warm, k)}, {"cold", MetricsJson(r.cold, k)}};
  j["users"] = {{"all", r.metrics.users}, {"warm", r.warm.users}, {"cold", r.cold.users}};
  return j;
}

void LogMetrics(Context& ctx, const std::string& who, const RankingMetrics& m, std::size_t k) {
  ctx.LogMetric(fmt::format("{}.recall_at_{}", who, k), m.recall);
  ctx.LogMetric(fmt::format("{}.ndcg_at_{}", who, k), m.ndcg);
  ctx.LogMetric(fmt::format("{}.coverage_at_{}", who, k), m.coverage);
  ctx.Info("{:<10} recall@{} {:.4f}  ndcg@{} {:.4f}  coverage@{} {:.4f}", who, k, m.recall, k,
           m.ndcg, k, m.coverage);
}

struct ProductionModel {
  std::int64_t version = 0;
  RecModel model;
};

// The production model of `name`, if the registry has one. Errors when the registry says
// there is one but its file cannot be read.
Result<std::optional<ProductionModel>> LoadProduction(Context& ctx, const std::string& name) {
  REEL_ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store, OpenStateStore(ctx.home()));
  ModelRegistry registry(*store);
  auto alias = registry.GetAlias(name, kProductionAlias);
  if (alias.status().code() == Status::Code::kNotFound) return std::optional<ProductionModel>();
  if (!alias.ok()) return alias.status();
  if (!*alias) return std::optional<ProductionModel>();
  REEL_ASSIGN_OR_RETURN(ModelVersion version, registry.GetVersion(name, **alias));
  auto path = ctx.ArtifactPath(version.artifact_uri);
  if (!path.ok()) {
    return Status::NotFound(fmt::format(
        "evaluate: the production model {} v{} points at {}, which is not in the artifact "
        "store: {}",
        name, version.version, version.artifact_uri, path.status().message()));
  }
  REEL_ASSIGN_OR_RETURN(RecModel model, LoadRecModel(*path));
  return std::optional<ProductionModel>({.version = version.version, .model = std::move(model)});
}

// The step's settings, read as the engine passes them: the schema's defaults applied.
struct EvaluateSettings {
  std::size_t k = 0;
  std::int64_t max_users = 0;  // 0: every user
  std::int64_t threads = 0;    // 0 (or less): one per core, at most 8
  std::string model_name;
  fs::path model, holdout, interactions;
  // The baselines to compute; with several (`best_of [...]`), the one with the best recall@K
  // over all users is published as `baseline`.
  std::vector<std::string> baselines = {"popularity"};
};

// `baseline`: "popularity", "item_knn", or "best_of [popularity, item_knn]".
Result<std::vector<std::string>> ParseBaseline(const Json& value) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "evaluate: `baseline` must be popularity, item_knn or best_of [popularity, item_knn], "
        "got {}",
        value.dump()));
  };
  if (!value.is_string()) return bad();
  std::string text = value.get<std::string>();
  if (text == "popularity" || text == "item_knn") return std::vector<std::string>{text};
  if (!text.starts_with("best_of")) return bad();
  std::size_t open = text.find('['), close = text.rfind(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return bad();
  std::vector<std::string> out;
  std::string list = text.substr(open + 1, close - open - 1);
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string name = list.substr(start, comma - start);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (name != "popularity" && name != "item_knn") return bad();
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    start = comma + 1;
  }
  if (out.empty()) return bad();
  return out;
}

Result<std::int64_t> IntSetting(const Json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || !it->is_number_integer()) {
    return Status::InvalidArgument(
        fmt::format("evaluate: `{}` must be an integer, got {}", key,
                    it == config.end() ? std::string("nothing") : it->dump()));
  }
  return it->get<std::int64_t>();
}

std::string StringSetting(const Json& config, const char* key) {
  auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<EvaluateSettings> ReadSettings(Context& ctx) {
  const Json& config = ctx.config();
  EvaluateSettings settings;
  REEL_ASSIGN_OR_RETURN(std::int64_t k, IntSetting(config, "k"));
  if (k < 1 || k > kMaxK) {
    return Status::InvalidArgument(
        fmt::format("evaluate: `k` must be between 1 and {}, got {}", kMaxK, k));
  }
  settings.k = static_cast<std::size_t>(k);
  REEL_ASSIGN_OR_RETURN(settings.max_users, IntSetting(config, "max_users"));
  if (settings.max_users < 0) return Status::InvalidArgument("evaluate: `max_users` must be >= 0");
  REEL_ASSIGN_OR_RETURN(settings.threads, IntSetting(config, "threads"));
  if (auto it = config.find("baseline"); it != config.end() && !it->is_null()) {
    REEL_ASSIGN_OR_RETURN(settings.baselines, ParseBaseline(*it));
  }
  settings.model_name = StringSetting(config, "model_name");
  if (settings.model_name.empty()) settings.model_name = ctx.workflow_name();
  REEL_ASSIGN_OR_RETURN(settings.model, ResolveInput(ctx, "model", StringSetting(config, "model")));
  REEL_ASSIGN_OR_RETURN(settings.holdout,
                        ResolveInput(ctx, "holdout", StringSetting(config, "holdout")));
  REEL_ASSIGN_OR_RETURN(settings.interactions,
                        ResolveInput(ctx, "interactions", StringSetting(config, "interactions")));
  return settings;
}

// The training and held-out interactions over one dictionary of items. Every training item
// is in the catalog.
struct Interactions {
  ItemDict dict;
  UserItems train, holdout;
  std::vector<std::int64_t> counts;  // training rows per item id
};

Result<Interactions> LoadInteractions(const EvaluateSettings& settings) {
  Interactions data;
  REEL_RETURN_IF_ERROR(
      LoadUserItems(settings.interactions, "interactions", data.dict, data.train, &data.counts));
  data.counts.resize(data.dict.names.size(), 0);
  for (std::size_t i = 0; i < data.dict.names.size(); ++i) data.dict.rankable[i] = 1;
  REEL_RETURN_IF_ERROR(
      LoadUserItems(settings.holdout, "holdout", data.dict, data.holdout, nullptr));
  return data;
}

// The baseline's ranking: training items by their number of interactions, ties by item id.
std::vector<ItemId> PopularityOrder(const Interactions& data) {
  const auto& counts = data.counts;
  const auto& names = data.dict.names;
  std::vector<ItemId> popular;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) popular.push_back(static_cast<ItemId>(i));
  }
  std::sort(popular.begin(), popular.end(), [&](ItemId a, ItemId b) {
    auto ca = counts[static_cast<std::size_t>(a)], cb = counts[static_cast<std::size_t>(b)];
    return ca != cb ? ca > cb
                    : names[static_cast<std::size_t>(a)] < names[static_cast<std::size_t>(b)];
  });
  return popular;
}

// Item-kNN over the training interactions: each item's `neighbors` most similar items by
// cosine similarity of their user sets, shrunk (co / (sqrt(n_a n_b) + shrinkage)).
struct ItemNeighbors {
  std::vector<std::vector<std::pair<ItemId, float>>> of;  // item -> (neighbour, similarity)
};

ItemNeighbors BuildItemNeighbors(const UserItems& train, const std::vector<std::int64_t>& counts,
                                 std::size_t item_count, std::size_t neighbors, double shrinkage) {
  std::vector<std::unordered_map<ItemId, float>> co(item_count);
  for (const auto& [user, items] : train) {
    for (ItemId a : items) {
      auto& row = co[static_cast<std::size_t>(a)];
      for (ItemId b : items) {
        if (a != b) row[b] += 1.0f;
      }
    }
  }
  ItemNeighbors out;
  out.of.resize(item_count);
  for (std::size_t a = 0; a < item_count; ++a) {
    auto& list = out.of[a];
    for (const auto& [b, c] : co[a]) {
      double norm = std::sqrt(double(counts[a]) * double(counts[static_cast<std::size_t>(b)]));
      list.emplace_back(b, static_cast<float>(c / (norm + shrinkage)));
    }
    std::sort(list.begin(), list.end(), [](const auto& x, const auto& y) {
      return x.second != y.second ? x.second > y.second : x.first < y.first;
    });
    if (list.size() > neighbors) list.resize(neighbors);
  }
  return out;
}

// A user's item-kNN top K: the sum of the similarities of their training items' neighbours,
// seen items excluded, ties by item name; filled up with popular items (all of it for a
// cold user).
void ItemKnnTopK(const ItemNeighbors& knn, const ItemDict& dict, const std::vector<ItemId>* history,
                 const std::vector<ItemId>& popular, Scratch& s, std::size_t k,
                 std::vector<ItemId>& out) {
  out.clear();
  std::unordered_map<ItemId, float> scores;
  if (history != nullptr) {
    for (ItemId j : *history) {
      for (const auto& [i, sim] : knn.of[static_cast<std::size_t>(j)]) {
        if (!s.seen[static_cast<std::size_t>(i)]) scores[i] += sim;
      }
    }
  }
  std::vector<std::pair<float, ItemId>> ranked;
  ranked.reserve(scores.size());
  for (const auto& [item, score] : scores) ranked.emplace_back(score, item);
  std::sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first
                              : dict.names[static_cast<std::size_t>(a.second)] <
                                    dict.names[static_cast<std::size_t>(b.second)];
  });
  for (const auto& [score, item] : ranked) {
    if (out.size() >= k) break;
    out.push_back(item);
  }
  for (ItemId item : popular) {
    if (out.size() >= k) break;
    if (!s.seen[static_cast<std::size_t>(item)] &&
        std::find(out.begin(), out.end(), item) == out.end()) {
      out.push_back(item);
    }
  }
}

// One ranker's top K for every evaluated user, in user order.
struct UserRankings {
  std::vector<std::vector<ItemId>> top;
  std::vector<char> fallback;  // 1 where the model had no vector for the user

  explicit UserRankings(std::size_t users) : top(users), fallback(users, 0) {}
};

struct Rankings {
  UserRankings candidate, production, baseline;
  UserRankings item_knn{0};  // empty unless asked for
};

// What every user is ranked with.
struct Rankers {
  const Ranker& candidate;
  const Ranker* production;                 // null without a production model
  const std::vector<ItemId>& popular;       // the baseline
  const ItemNeighbors* item_knn = nullptr;  // the item-kNN baseline, when asked for
  const ItemDict* dict = nullptr;
};

// Calls work(begin, end) on up to `threads` contiguous chunks of [0, n), the first on the
// calling thread, and returns when all are done.
void ForEachChunk(std::size_t n, std::size_t threads,
                  const std::function<void(std::size_t, std::size_t)>& work) {
  std::vector<std::thread> pool;
  std::size_t chunk = (n + threads - 1) / threads;
  for (std::size_t t = 1; t < threads; ++t) {
    pool.emplace_back(work, std::min(n, t * chunk), std::min(n, (t + 1) * chunk));
  }
  work(0, std::min(n, chunk));
  for (auto& thread : pool) thread.join();
}

std::size_t ScoringThreads(std::int64_t setting, std::size_t users) {
  std::size_t threads =
      setting > 0 ? static_cast<std::size_t>(setting)
                  : std::min<std::size_t>(8, std::max(1u, std::thread::hardware_concurrency()));
  return std::min(threads, std::max<std::size_t>(1, users / 64));
}

// Ranks every user with every ranker, in parallel; the result does not depend on `threads`.
Result<Rankings> RankUsers(const Context& ctx, const Rankers& rankers,
                           const std::vector<std::string>& users, const UserItems& train,
                           std::size_t item_count, std::size_t k, std::int64_t threads) {
  const std::size_t n = users.size();
  Rankings r{.candidate = UserRankings(n),
             .production = UserRankings(rankers.production ? n : 0),
             .baseline = UserRankings(n),
             .item_knn = UserRankings(rankers.item_knn ? n : 0)};
  std::atomic<bool> cancelled{false};
  auto rank = [&](std::size_t begin, std::size_t end) {
    Scratch s;
    s.seen.assign(item_count, 0);
    for (std::size_t i = begin; i < end; ++i) {
      if ((i & 255) == 0 && ctx.cancellation().cancelled()) {
        cancelled = true;
        return;
      }
      auto seen = train.find(users[i]);
      if (seen != train.end()) {
        for (ItemId item : seen->second) s.seen[static_cast<std::size_t>(item)] = 1;
      }
      PopularTopK(rankers.popular, s, k, r.baseline.top[i]);
      if (rankers.item_knn) {
        ItemKnnTopK(*rankers.item_knn, *rankers.dict, seen != train.end() ? &seen->second : nullptr,
                    rankers.popular, s, k, r.item_knn.top[i]);
      }
      r.candidate.fallback[i] =
          !ModelTopK(rankers.candidate, users[i], rankers.popular, s, k, r.candidate.top[i]);
      if (rankers.production) {
        r.production.fallback[i] =
            !ModelTopK(*rankers.production, users[i], rankers.popular, s, k, r.production.top[i]);
      }
      if (seen != train.end()) {
        for (ItemId item : seen->second) s.seen[static_cast<std::size_t>(item)] = 0;
      }
    }
  };
  ForEachChunk(n, ScoringThreads(threads, n), rank);
  if (cancelled) return Status::Cancelled("evaluate: cancelled");
  return r;
}

// `warm[i]` is 1 when users[i] has training interactions.
ModelResult Summarize(const UserRankings& rankings, const std::vector<std::string>& users,
                      const std::vector<char>& warm, const UserItems& relevant, std::size_t k,
                      std::size_t catalog) {
  RankingSummary all(k, catalog), warm_summary(k, catalog), cold_summary(k, catalog);
  ModelResult result;
  result.recall.reserve(users.size());
  result.ndcg.reserve(users.size());
  for (std::size_t i = 0; i < users.size(); ++i) {
    const auto& rel = relevant.at(users[i]);
    all.Add(rankings.top[i], rel);
    (warm[i] ? warm_summary : cold_summary).Add(rankings.top[i], rel);
    result.recall.push_back(RecallAtK(rankings.top[i], rel, k));
    result.ndcg.push_back(NdcgAtK(rankings.top[i], rel, k));
    result.users_without_vector += rankings.fallback[i] ? 1 : 0;
  }
  result.metrics = all.Finish();
  result.warm = warm_summary.Finish();
  result.cold = cold_summary.Finish();
  return result;
}

// Writes every user's recall and NDCG for each ranker to `path`, one row per user in user
// order: user_id,segment,candidate_recall_at_K,candidate_ndcg_at_K[,production_...],
// baseline_recall_at_K,baseline_ndcg_at_K. This is what metric_gate resamples.
Status WritePerUser(const fs::path& path, const std::vector<std::string>& users,
                    const std::vector<char>& warm, std::size_t k,
                    const std::vector<std::pair<std::string, const ModelResult*>>& models) {
  std::string out = "user_id,segment";
  for (const auto& [who, result] : models) {
    out += fmt::format(",{0}_recall_at_{1},{0}_ndcg_at_{1}", who, k);
  }
  out += '\n';
  for (std::size_t i = 0; i < users.size(); ++i) {
    AppendCsvField(out, users[i]);
    out += warm[i] ? ",warm" : ",cold";
    for (const auto& [who, result] : models) {
      out += fmt::format(",{},{}", result->recall[i], result->ndcg[i]);
    }
    out += '\n';
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::IoError("evaluate: cannot write " + path.string());
  bool ok = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return Status::IoError("evaluate: cannot write " + path.string());
  return Status::Ok();
}

// The three rankers' results on the same users.
struct Evaluation {
  std::size_t users = 0;
  std::string per_user;  // the uri of the per-user values
  ModelResult candidate;
  std::optional<ModelResult> production = std::nullopt;  // with a production model
  std::optional<std::int64_t> production_version = std::nullopt;
  ModelResult baseline;
  std::string baseline_kind = "popularity";
  std::map<std::string, ModelResult> baselines;  // every baseline computed, by kind
};

// Logs the metrics of the three rankers and sets the step's outputs.
void Publish(Context& ctx, const EvaluateSettings& settings, const Evaluation& e) {
  const std::size_t k = settings.k;
  LogMetrics(ctx, "candidate", e.candidate.metrics, k);
  if (e.candidate.users_without_vector > 0) {
    ctx.Warn("candidate has no vector for {} of {} users; they got the popularity ranking",
             e.candidate.users_without_vector, e.users);
  }
  if (e.production) LogMetrics(ctx, "production", e.production->metrics, k);
  LogMetrics(ctx, "baseline", e.baseline.metrics, k);

  ctx.Info("users: {} warm (with training interactions), {} cold", e.candidate.warm.users,
           e.candidate.cold.users);

  ctx.SetOutput("candidate", ModelJson(e.candidate, k, true));
  ctx.SetOutput("production", e.production ? ModelJson(*e.production, k, true) : Json());
  ctx.SetOutput("baseline", ModelJson(e.baseline, k, false));
  ctx.SetOutput("baseline_kind", e.baseline_kind);
  Json baselines = Json::object();
  for (const auto& [kind, result] : e.baselines) baselines[kind] = ModelJson(result, k, false);
  ctx.SetOutput("baselines", baselines);
  ctx.SetOutput("k", k);
  ctx.SetOutput("users", e.users);
  ctx.SetOutput("model_name", settings.model_name);
  ctx.SetOutput("production_version", e.production_version ? Json(*e.production_version) : Json());
  ctx.SetOutput("per_user", e.per_user);
}

}  // namespace

OperatorInfo EvaluateOperator::Info() {
  OperatorInfo info;
  info.name = "evaluate";
  info.description =
      "Offline ranking metrics (recall@K, NDCG@K, coverage@K) of a candidate model on held-out "
      "interactions, next to the production model and a popularity baseline, for all, warm and "
      "cold users; seen items are excluded from every ranking.";
  info.config = {
      {.name = "model",
       .type = ConfigType::kString,
       .required = true,
       .description = "the candidate model: artifact uri or path"},
      {.name = "holdout",
       .type = ConfigType::kString,
       .required = true,
       .description = "held-out interactions CSV (user_id,item_id,...): artifact uri or path"},
      {.name = "interactions",
       .type = ConfigType::kString,
       .required = true,
       .description =
           "training interactions CSV: seen items to exclude and the popularity baseline"},
      {.name = "k",
       .type = ConfigType::kInt,
       .default_value = 10,
       .description = "length of each ranking"},
      {.name = "model_name",
       .type = ConfigType::kString,
       .description = "registry model whose production version to compare with (default: the "
                      "workflow name)"},
      {.name = "max_users",
       .type = ConfigType::kInt,
       .default_value = 0,
       .description = "evaluate at most this many users, a deterministic sample (0: all)"},
      {.name = "threads",
       .type = ConfigType::kInt,
       .default_value = 0,
       .description = "scoring threads (0: one per core, at most 8)"},
      {.name = "baseline",
       .type = ConfigType::kString,
       .default_value = "popularity",
       .description = "popularity, item_knn (cosine item neighbours of the training "
                      "interactions), or best_of [popularity, item_knn]: the one with the best "
                      "recall@K over all users"},
  };
  info.example =
      "evaluate:\n  operator: evaluate\n  needs: [train, features]\n  with:\n"
      "    model: \"{{ steps.train.outputs.model }}\"\n"
      "    holdout: \"{{ steps.features.outputs.holdout }}\"\n"
      "    interactions: \"{{ steps.features.outputs.interactions }}\"\n    k: 10\n";
  info.declares_outputs = true;
  info.outputs = {
      {.name = "candidate",
       .type = ConfigType::kMap,
       .description =
           "the candidate model's metrics over all users (recall@K, NDCG@K, coverage@K), "
           "`segments: {warm, cold}` and `users: {all, warm, cold}`"},
      {.name = "production",
       .type = ConfigType::kMap,
       .description = "the production model's metrics; null without one"},
      {.name = "baseline",
       .type = ConfigType::kMap,
       .description = "the baseline's metrics (the best of them with best_of)"},
      {.name = "baseline_kind",
       .type = ConfigType::kString,
       .description = "which baseline `baseline` is: popularity or item_knn"},
      {.name = "baselines",
       .type = ConfigType::kMap,
       .description = "every baseline computed, by kind"},
      {.name = "k", .type = ConfigType::kInt, .description = "the cutoff K"},
      {.name = "users", .type = ConfigType::kInt, .description = "holdout users evaluated"},
      {.name = "model_name",
       .type = ConfigType::kString,
       .description = "the registry name compared against"},
      {.name = "production_version",
       .type = ConfigType::kAny,
       .description = "the production version compared against (int), or null"},
      {.name = "per_user",
       .type = ConfigType::kString,
       .description = "uri of the per_user artifact: each user's recall and NDCG per model"},
  };
  info.artifacts = {"per_user"};
  return info;
}

Status EvaluateOperator::Execute(Context& ctx) {
  REEL_ASSIGN_OR_RETURN(EvaluateSettings settings, ReadSettings(ctx));
  REEL_ASSIGN_OR_RETURN(RecModel candidate, LoadRecModel(settings.model));
  REEL_ASSIGN_OR_RETURN(std::optional<ProductionModel> production,
                        LoadProduction(ctx, settings.model_name));
  REEL_ASSIGN_OR_RETURN(Interactions data, LoadInteractions(settings));
  // The models' items join the catalog.
  Ranker candidate_ranker(candidate, data.dict);
  std::optional<Ranker> production_ranker;
  if (production) production_ranker.emplace(production->model, data.dict);
  const std::vector<ItemId> popular = PopularityOrder(data);

  UserItems relevant;
  std::vector<std::string> users =
      ChooseUsers(data.holdout, data.train, relevant, settings.max_users);
  if (users.empty()) {
    return Status::InvalidArgument(fmt::format(
        "evaluate: no user to evaluate: the holdout ({}) has no interaction with an item the "
        "user did not already see in training",
        settings.holdout.string()));
  }
  const std::size_t catalog = data.dict.CatalogSize();
  ctx.Info("evaluating {} users on {} items (catalog {}), k={}, model '{}'{}", users.size(),
           data.dict.names.size(), catalog, settings.k, settings.model_name,
           production ? fmt::format(", production v{}", production->version)
                      : ", no production version");

  const bool want_knn = std::find(settings.baselines.begin(), settings.baselines.end(),
                                  "item_knn") != settings.baselines.end();
  std::optional<ItemNeighbors> knn;
  if (want_knn) {
    knn = BuildItemNeighbors(data.train, data.counts, data.dict.names.size(), kKnnNeighbors,
                             kKnnShrinkage);
  }
  const Rankers rankers{.candidate = candidate_ranker,
                        .production = production_ranker ? &*production_ranker : nullptr,
                        .popular = popular,
                        .item_knn = knn ? &*knn : nullptr,
                        .dict = &data.dict};
  REEL_ASSIGN_OR_RETURN(Rankings rankings,
                        RankUsers(ctx, rankers, users, data.train, data.dict.names.size(),
                                  settings.k, settings.threads));
  std::vector<char> warm(users.size(), 0);
  for (std::size_t i = 0; i < users.size(); ++i) warm[i] = data.train.count(users[i]) > 0;
  auto summarize = [&](const UserRankings& r) {
    return Summarize(r, users, warm, relevant, settings.k, catalog);
  };
  Evaluation evaluation{.users = users.size(), .candidate = summarize(rankings.candidate)};
  // The baselines asked for; the best by recall@K over all users is `baseline`.
  for (const auto& kind : settings.baselines) {
    ModelResult result = summarize(kind == "item_knn" ? rankings.item_knn : rankings.baseline);
    if (evaluation.baselines.empty() ||
        result.metrics.recall > evaluation.baseline.metrics.recall) {
      evaluation.baseline = result;
      evaluation.baseline_kind = kind;
    }
    evaluation.baselines.emplace(kind, std::move(result));
  }
  if (settings.baselines.size() > 1) {
    ctx.Info("baseline: {} (the best recall@{} of {})", evaluation.baseline_kind, settings.k,
             fmt::join(settings.baselines, ", "));
  }
  if (production) {
    evaluation.production = summarize(rankings.production);
    evaluation.production_version = production->version;
  }
  std::vector<std::pair<std::string, const ModelResult*>> models = {
      {"candidate", &evaluation.candidate}};
  if (evaluation.production) models.emplace_back("production", &*evaluation.production);
  models.emplace_back("baseline", &evaluation.baseline);
  std::error_code ec;
  fs::create_directories(ctx.work_dir(), ec);
  const fs::path per_user = ctx.work_dir() / "per_user.csv";
  REEL_RETURN_IF_ERROR(WritePerUser(per_user, users, warm, settings.k, models));
  REEL_ASSIGN_OR_RETURN(ArtifactRef ref, ctx.PutArtifact("per_user", per_user));
  evaluation.per_user = ref.uri;
  Publish(ctx, settings, evaluation);
  return Status::Ok();
}

}  // namespace reel
