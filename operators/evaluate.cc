#include "home/home.h"
#include "operators/evaluate.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/base/csv.h"
#include "models/model_file.h"
#include "models/registry.h"
#include "models/ranking_metrics.h"
#include "engine/store/state_store.h"

namespace reel {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxK = 10000;

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
  return Status::NotFound(fmt::format(
      "evaluate: `{}`: {} (pass the uri of an upstream output, e.g. "
      "\"{{{{ steps.train.outputs.model }}}}\", or the path of a file)",
      key, path.status().message()));
}

// Reads a CSV with a header naming `user_id` and `item_id` (other columns are ignored).
// `counts`, when given, receives the number of rows of each item.
Status LoadUserItems(const fs::path& path, const std::string& key, ItemDict& dict,
                     UserItems& out, std::vector<std::int64_t>* counts) {
  auto reader = CsvReader::Open(path);
  if (!reader.ok()) return reader.status();
  CsvRecord rec;
  int user_col = -1, item_col = -1;
  if ((*reader)->Next(rec)) {
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
  while ((*reader)->Next(rec)) {
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
  REEL_RETURN_IF_ERROR((*reader)->status());
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

struct ModelResult {
  RankingMetrics metrics;
  std::size_t users_without_vector = 0;
};

Json MetricsJson(const RankingMetrics& m, std::size_t k, const ModelResult* model) {
  Json j = {{fmt::format("recall_at_{}", k), m.recall},
            {fmt::format("ndcg_at_{}", k), m.ndcg},
            {fmt::format("coverage_at_{}", k), m.coverage}};
  if (model) j["users_without_vector"] = model->users_without_vector;
  return j;
}

void LogMetrics(Context& ctx, const std::string& who, const RankingMetrics& m, std::size_t k) {
  ctx.LogMetric(fmt::format("{}.recall_at_{}", who, k), m.recall);
  ctx.LogMetric(fmt::format("{}.ndcg_at_{}", who, k), m.ndcg);
  ctx.LogMetric(fmt::format("{}.coverage_at_{}", who, k), m.coverage);
  ctx.Info("{:<10} recall@{} {:.4f}  ndcg@{} {:.4f}  coverage@{} {:.4f}", who, k, m.recall, k,
           m.ndcg, k, m.coverage);
}

// The production model of `name`, if the registry has one. Errors when the registry says
// there is one but its file cannot be read.
Result<std::optional<std::pair<std::int64_t, RecModel>>> LoadProduction(Context& ctx,
                                                                       const std::string& name) {
  using Out = std::optional<std::pair<std::int64_t, RecModel>>;
  auto store = OpenStateStore(ctx.home());
  if (!store.ok()) return store.status();
  ModelRegistry registry(**store);
  auto alias = registry.GetAlias(name, kProductionAlias);
  if (alias.status().code() == Status::Code::kNotFound) return Out();
  if (!alias.ok()) return alias.status();
  if (!*alias) return Out();
  auto version = registry.GetVersion(name, **alias);
  if (!version.ok()) return version.status();
  auto path = ctx.ArtifactPath(version->artifact_uri);
  if (!path.ok()) {
    return Status::NotFound(fmt::format(
        "evaluate: the production model {} v{} points at {}, which is not in the artifact "
        "store: {}",
        name, version->version, version->artifact_uri, path.status().message()));
  }
  auto model = LoadRecModel(*path);
  if (!model.ok()) return model.status();
  return Out(std::make_pair(version->version, std::move(*model)));
}

std::int64_t IntSetting(const Json& config, const char* key, std::int64_t def) {
  auto it = config.find(key);
  return it != config.end() && it->is_number_integer() ? it->get<std::int64_t>() : def;
}

std::string StringSetting(const Json& config, const char* key) {
  auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

OperatorInfo EvaluateOperator::Info() {
  OperatorInfo info;
  info.name = "evaluate";
  info.description =
      "Offline ranking metrics (recall@K, NDCG@K, coverage@K) of a candidate model on held-out "
      "interactions, next to the production model and a popularity baseline; seen items are "
      "excluded from every ranking.";
  info.config = {
      {"model", ConfigType::kString, true, nullptr, "the candidate model: artifact uri or path"},
      {"holdout", ConfigType::kString, true, nullptr,
       "held-out interactions CSV (user_id,item_id,...): artifact uri or path"},
      {"interactions", ConfigType::kString, true, nullptr,
       "training interactions CSV: seen items to exclude and the popularity baseline"},
      {"k", ConfigType::kInt, false, 10, "length of each ranking"},
      {"model_name", ConfigType::kString, false, nullptr,
       "registry model whose production version to compare with (default: the workflow name)"},
      {"max_users", ConfigType::kInt, false, 0,
       "evaluate at most this many users, a deterministic sample (0: all)"},
      {"threads", ConfigType::kInt, false, 0, "scoring threads (0: one per core, at most 8)"},
  };
  info.example =
      "evaluate:\n  operator: evaluate\n  needs: [train, features]\n  with:\n"
      "    model: \"{{ steps.train.outputs.model }}\"\n"
      "    holdout: \"{{ steps.features.outputs.holdout }}\"\n"
      "    interactions: \"{{ steps.features.outputs.interactions }}\"\n    k: 10\n";
  return info;
}

Status EvaluateOperator::Execute(Context& ctx) {
  const Json& config = ctx.config();
  std::int64_t k_setting = IntSetting(config, "k", 10);
  if (k_setting < 1 || k_setting > kMaxK) {
    return Status::InvalidArgument(
        fmt::format("evaluate: `k` must be between 1 and {}, got {}", kMaxK, k_setting));
  }
  std::size_t k = static_cast<std::size_t>(k_setting);
  std::int64_t max_users = IntSetting(config, "max_users", 0);
  if (max_users < 0) return Status::InvalidArgument("evaluate: `max_users` must be >= 0");
  std::string model_name = StringSetting(config, "model_name");
  if (model_name.empty()) model_name = ctx.workflow_name();

  fs::path model_path, holdout_path, train_path;
  for (auto [key, out] : {std::pair{"model", &model_path}, std::pair{"holdout", &holdout_path},
                          std::pair{"interactions", &train_path}}) {
    auto p = ResolveInput(ctx, key, StringSetting(config, key));
    if (!p.ok()) return p.status();
    *out = *p;
  }
  auto candidate = LoadRecModel(model_path);
  if (!candidate.ok()) return candidate.status();
  auto production = LoadProduction(ctx, model_name);
  if (!production.ok()) return production.status();

  ItemDict dict;
  UserItems train, holdout, relevant;
  std::vector<std::int64_t> counts;
  REEL_RETURN_IF_ERROR(LoadUserItems(train_path, "interactions", dict, train, &counts));
  counts.resize(dict.names.size(), 0);
  for (std::size_t i = 0; i < dict.names.size(); ++i) dict.rankable[i] = 1;
  REEL_RETURN_IF_ERROR(LoadUserItems(holdout_path, "holdout", dict, holdout, nullptr));
  Ranker cand_ranker(*candidate, dict);
  std::optional<Ranker> prod_ranker;
  if (*production) prod_ranker.emplace((*production)->second, dict);

  std::vector<ItemId> popular;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) popular.push_back(static_cast<ItemId>(i));
  }
  std::sort(popular.begin(), popular.end(), [&](ItemId a, ItemId b) {
    auto ca = counts[static_cast<std::size_t>(a)], cb = counts[static_cast<std::size_t>(b)];
    return ca != cb ? ca > cb : dict.names[static_cast<std::size_t>(a)] <
                                    dict.names[static_cast<std::size_t>(b)];
  });

  std::vector<std::string> users = ChooseUsers(holdout, train, relevant, max_users);
  if (users.empty()) {
    return Status::InvalidArgument(fmt::format(
        "evaluate: no user to evaluate: the holdout ({}) has no interaction with an item the "
        "user did not already see in training",
        holdout_path.string()));
  }
  ctx.Info("evaluating {} users on {} items (catalog {}), k={}, model '{}'{}", users.size(),
           dict.names.size(), dict.CatalogSize(), k, model_name,
           *production ? fmt::format(", production v{}", (*production)->first)
                       : ", no production version");

  // Rankings per user, filled in parallel and summarized in user order (deterministic).
  std::size_t n = users.size();
  std::vector<std::vector<ItemId>> cand_top(n), prod_top(prod_ranker ? n : 0), base_top(n);
  std::vector<char> cand_fallback(n, 0), prod_fallback(n, 0);
  std::int64_t threads_setting = IntSetting(config, "threads", 0);
  std::size_t threads =
      threads_setting > 0
          ? static_cast<std::size_t>(threads_setting)
          : std::min<std::size_t>(8, std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min(threads, std::max<std::size_t>(1, n / 64));
  std::atomic<bool> cancelled{false};
  auto work = [&](std::size_t begin, std::size_t end) {
    Scratch s;
    s.seen.assign(dict.names.size(), 0);
    for (std::size_t i = begin; i < end; ++i) {
      if ((i & 255) == 0 && ctx.cancellation().cancelled()) {
        cancelled = true;
        return;
      }
      auto seen = train.find(users[i]);
      if (seen != train.end()) {
        for (ItemId item : seen->second) s.seen[static_cast<std::size_t>(item)] = 1;
      }
      PopularTopK(popular, s, k, base_top[i]);
      cand_fallback[i] = !ModelTopK(cand_ranker, users[i], popular, s, k, cand_top[i]);
      if (prod_ranker) {
        prod_fallback[i] = !ModelTopK(*prod_ranker, users[i], popular, s, k, prod_top[i]);
      }
      if (seen != train.end()) {
        for (ItemId item : seen->second) s.seen[static_cast<std::size_t>(item)] = 0;
      }
    }
  };
  std::vector<std::thread> pool;
  std::size_t chunk = (n + threads - 1) / threads;
  for (std::size_t t = 1; t < threads; ++t) {
    pool.emplace_back(work, std::min(n, t * chunk), std::min(n, (t + 1) * chunk));
  }
  work(0, std::min(n, chunk));
  for (auto& th : pool) th.join();
  if (cancelled) return Status::Cancelled("evaluate: cancelled");

  std::size_t catalog = dict.CatalogSize();
  auto summarize = [&](const std::vector<std::vector<ItemId>>& tops,
                       const std::vector<char>& fallback) {
    RankingSummary summary(k, catalog);
    ModelResult r;
    for (std::size_t i = 0; i < n; ++i) {
      summary.Add(tops[i], relevant[users[i]]);
      r.users_without_vector += fallback[i] ? 1 : 0;
    }
    r.metrics = summary.Finish();
    return r;
  };
  std::vector<char> no_fallback(n, 0);
  ModelResult cand = summarize(cand_top, cand_fallback);
  ModelResult base = summarize(base_top, no_fallback);
  LogMetrics(ctx, "candidate", cand.metrics, k);
  if (cand.users_without_vector > 0) {
    ctx.Warn("candidate has no vector for {} of {} users; they got the popularity ranking",
             cand.users_without_vector, n);
  }
  Json prod_json = nullptr;
  if (prod_ranker) {
    ModelResult prod = summarize(prod_top, prod_fallback);
    LogMetrics(ctx, "production", prod.metrics, k);
    prod_json = MetricsJson(prod.metrics, k, &prod);
  }
  LogMetrics(ctx, "baseline", base.metrics, k);

  ctx.SetOutput("candidate", MetricsJson(cand.metrics, k, &cand));
  ctx.SetOutput("production", prod_json);
  ctx.SetOutput("baseline", MetricsJson(base.metrics, k, nullptr));
  ctx.SetOutput("k", k);
  ctx.SetOutput("users", n);
  ctx.SetOutput("model_name", model_name);
  ctx.SetOutput("production_version",
                *production ? Json((*production)->first) : Json(nullptr));
  return Status::Ok();
}

}  // namespace reel
