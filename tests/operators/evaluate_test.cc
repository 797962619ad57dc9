#include "operators/evaluate.h"

#include <cmath>
#include <fstream>
#include <iterator>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "home/home.h"
#include "models/model_file.h"
#include "models/registry.h"
#include "tests/operators/rec_testdata.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::FakeContext;
using reel::testing::MakeRecTestData;
using reel::testing::ModelRecallAtK;
using reel::testing::PopularityRecallAtK;
using reel::testing::RecTestData;
using reel::testing::TempDir;
using reel::testing::WriteFile;

namespace {

// A model that knows the planted structure: user and item vectors are one-hot clusters, so
// every item of the user's own group scores 1 and every other item 0.
RecModel ClusterModel(const RecTestData& d, int clusters, int users_per_cluster,
                      int items_per_group, bool wrong = false) {
  RecModel m;
  m.dim = clusters;
  for (const auto& [user, held] : d.holdout) {
    int c = std::stoi(user.substr(4)) / users_per_cluster;
    if (wrong) c = (c + 1) % clusters;  // a model that recommends the neighbour's group
    m.users.push_back(user);
    for (int j = 0; j < clusters; ++j) m.user_vecs.push_back(j == c ? 1.0f : 0.0f);
  }
  for (std::size_t i = 0; i < d.items.size(); ++i) {
    int g = static_cast<int>(i) / items_per_group;
    m.items.push_back(d.items[i]);
    for (int j = 0; j < clusters; ++j) m.item_vecs.push_back(j == g ? 1.0f : 0.0f);
  }
  m.Reindex();
  return m;
}

std::string HoldoutCsv(const RecTestData& d) {
  std::string csv = "user_id,item_id\n";
  for (const auto& [user, item] : d.holdout) csv += user + "," + item + "\n";
  return csv;
}

struct Fixture {
  TempDir dir;
  RecTestData data = MakeRecTestData(6, 40, 20, 14, 7);
  FakeContext ctx{dir / "home", EvaluateOperator::Info()};

  Fixture() {
    WriteFile(dir / "train.csv", data.interactions_csv);
    WriteFile(dir / "holdout.csv", HoldoutCsv(data));
    ctx.workflow_ = "recs";
    ctx.config_ = Json({{"model", (dir / "good.reelmdl").string()},
                        {"holdout", (dir / "holdout.csv").string()},
                        {"interactions", (dir / "train.csv").string()}});
  }
  void Save(const RecModel& m, const std::string& name) {
    REQUIRE(SaveRecModel(m, dir / name).ok());
  }
};

}  // namespace

TEST_CASE("evaluate: a model that learned the clusters beats popularity") {
  Fixture f;
  RecModel good = ClusterModel(f.data, 6, 40, 20);
  f.Save(good, "good.reelmdl");
  Status s = EvaluateOperator().Execute(f.ctx);
  REQUIRE_MESSAGE(s.ok(), s.ToString());

  const Json& out = f.ctx.outputs;
  CHECK(out["users"] == 240);
  CHECK(out["k"] == 10);
  CHECK(out["production"].is_null());
  CHECK(out["production_version"].is_null());
  double cand = out["candidate"]["recall_at_10"].get<double>();
  double base = out["baseline"]["recall_at_10"].get<double>();
  // One held-out item per user: recall is the hit rate, which the reference helpers compute.
  CHECK(cand == doctest::Approx(ModelRecallAtK(good, f.data, 10)));
  CHECK(cand == doctest::Approx(1.0));
  CHECK(base == doctest::Approx(PopularityRecallAtK(f.data, 10)));
  CHECK(base < 0.5);
  CHECK(out["candidate"]["ndcg_at_10"].get<double>() > out["baseline"]["ndcg_at_10"].get<double>());
  CHECK(out["candidate"]["users_without_vector"] == 0);
  // Popularity recommends nearly the same few items to everyone; the model covers every group.
  CHECK(out["candidate"]["coverage_at_10"].get<double>() >
        out["baseline"]["coverage_at_10"].get<double>());

  CHECK(f.ctx.Metric("candidate.recall_at_10") == doctest::Approx(cand));
  CHECK(f.ctx.Metric("baseline.recall_at_10") == doctest::Approx(base));
  CHECK(!std::isnan(f.ctx.Metric("candidate.coverage_at_10")));
  CHECK(std::isnan(f.ctx.Metric("production.recall_at_10")));

  // Another K changes the keys.
  f.ctx.config_["k"] = 5;
  f.ctx.metrics.clear();
  REQUIRE(EvaluateOperator().Execute(f.ctx).ok());
  CHECK(!std::isnan(f.ctx.Metric("candidate.ndcg_at_5")));
  CHECK(f.ctx.outputs["candidate"].contains("recall_at_5"));
}

TEST_CASE("evaluate: compares with the registry's production model") {
  Fixture f;
  f.Save(ClusterModel(f.data, 6, 40, 20), "good.reelmdl");
  f.Save(ClusterModel(f.data, 6, 40, 20, /*wrong=*/true), "wrong.reelmdl");
  auto ref = f.ctx.PutArtifact("model", f.dir / "wrong.reelmdl");
  REQUIRE(ref.ok());
  {
    auto store = OpenStateStore(f.ctx.home());
    REQUIRE(store.ok());
    ModelRegistry registry(**store);
    ModelVersion v;
    v.name = "recs";
    v.artifact_uri = ref->uri;
    REQUIRE(registry.RegisterVersion(v).ok());
    REQUIRE(registry.Promote("recs", 1, "", "test").ok());
  }
  Status s = EvaluateOperator().Execute(f.ctx);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  const Json& out = f.ctx.outputs;
  REQUIRE(out["production"].is_object());
  CHECK(out["production_version"] == 1);
  CHECK(out["production"]["recall_at_10"].get<double>() == doctest::Approx(0.0));
  CHECK(out["candidate"]["recall_at_10"].get<double>() == doctest::Approx(1.0));
  CHECK(f.ctx.Metric("production.recall_at_10") == doctest::Approx(0.0));

  // Another model name has no production version.
  f.ctx.config_["model_name"] = "other";
  REQUIRE(EvaluateOperator().Execute(f.ctx).ok());
  CHECK(f.ctx.outputs["production"].is_null());
}

TEST_CASE("evaluate: seen items are excluded from every ranking") {
  TempDir dir;
  // Popularity: a (3 users) > c (2) > b (1). u1 and u2 saw a; the model likes a best.
  WriteFile(dir / "train.csv",
            "user_id,item_id,weight\nu1,a,1\nu2,a,1\nu3,a,1\nu3,c,1\nu4,c,1\nu4,b,1\n");
  WriteFile(dir / "holdout.csv", "user_id,item_id\nu1,b\nu2,c\nu5,a\n");
  RecModel m;
  m.dim = 1;
  m.users = {"u1", "u2"};
  m.user_vecs = {1.0f, 1.0f};
  m.items = {"a", "b", "c"};
  m.item_vecs = {3.0f, 2.0f, 1.0f};
  m.Reindex();
  REQUIRE(SaveRecModel(m, dir / "m.reelmdl").ok());
  FakeContext ctx(dir / "home", EvaluateOperator::Info());
  ctx.config_ = Json({{"model", (dir / "m.reelmdl").string()},
                      {"holdout", (dir / "holdout.csv").string()},
                      {"interactions", (dir / "train.csv").string()},
                      {"k", 1}});
  Status s = EvaluateOperator().Execute(ctx);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  const Json& out = ctx.outputs;
  CHECK(out["users"] == 3);  // u5 was never seen in training but is evaluated
  // Model: u1 -> b (a is seen): hit; u2 -> b: miss; u5 has no vector -> popularity -> a: hit.
  CHECK(out["candidate"]["recall_at_1"].get<double>() == doctest::Approx(2.0 / 3));
  CHECK(out["candidate"]["users_without_vector"] == 1);
  // Baseline: u1 -> c: miss; u2 -> c: hit; u5 -> a: hit.
  CHECK(out["baseline"]["recall_at_1"].get<double>() == doctest::Approx(2.0 / 3));
  // Coverage over the catalog {a, b, c}: the model recommended {b, a}, popularity {c, a}.
  CHECK(out["candidate"]["coverage_at_1"].get<double>() == doctest::Approx(2.0 / 3));
}

TEST_CASE("evaluate: max_users takes the same deterministic sample every time") {
  Fixture f;
  f.Save(ClusterModel(f.data, 6, 40, 20), "good.reelmdl");
  f.ctx.config_["max_users"] = 50;
  f.ctx.config_["threads"] = 3;
  REQUIRE(EvaluateOperator().Execute(f.ctx).ok());
  Json first = f.ctx.outputs;
  CHECK(first["users"] == 50);
  f.ctx.config_["threads"] = 1;
  REQUIRE(EvaluateOperator().Execute(f.ctx).ok());
  // The per-user file has the same content (the fake artifact store numbers each copy).
  auto read = [&](const Json& uri) {
    auto path = f.ctx.ArtifactPath(uri.get<std::string>());
    REQUIRE(path.ok());
    std::ifstream in(*path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  CHECK(read(f.ctx.outputs["per_user"]) == read(first["per_user"]));
  f.ctx.outputs.erase("per_user");
  first.erase("per_user");
  CHECK(f.ctx.outputs == first);
}

TEST_CASE("evaluate: unusable inputs fail with the file and the fix") {
  Fixture f;
  f.Save(ClusterModel(f.data, 6, 40, 20), "good.reelmdl");
  WriteFile(f.dir / "bad.csv", "user,item\nu1,a\n");
  f.ctx.config_["holdout"] = (f.dir / "bad.csv").string();
  Status s = EvaluateOperator().Execute(f.ctx);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("bad.csv") != std::string::npos);
  CHECK(s.message().find("user_id") != std::string::npos);

  f.ctx.config_["holdout"] = "sha256:0000";
  s = EvaluateOperator().Execute(f.ctx);
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(s.message().find("`holdout`") != std::string::npos);

  f.ctx.config_["holdout"] = (f.dir / "holdout.csv").string();
  f.ctx.config_["k"] = 0;
  CHECK(EvaluateOperator().Execute(f.ctx).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("evaluate: reports warm and cold users separately, and each user's values") {
  TempDir dir;
  // Popularity: a (3) > c (2) > b (1). u1 and u2 have training history (warm); u5 and u6 have
  // none (cold), so every ranker gives them the popularity ranking a, c.
  WriteFile(dir / "train.csv", "user_id,item_id\nu1,a\nu2,a\nu3,a\nu3,c\nu4,c\nu4,b\n");
  WriteFile(dir / "holdout.csv", "user_id,item_id\nu1,b\nu1,c\nu2,c\nu5,a\nu6,b\n");
  RecModel m;
  m.dim = 1;
  m.users = {"u1", "u2"};
  m.user_vecs = {1.0f, 1.0f};
  m.items = {"a", "b", "c"};
  m.item_vecs = {3.0f, 2.0f, 1.0f};
  m.Reindex();
  REQUIRE(SaveRecModel(m, dir / "m.reelmdl").ok());
  FakeContext ctx(dir / "home", EvaluateOperator::Info());
  ctx.config_ = Json({{"model", (dir / "m.reelmdl").string()},
                      {"holdout", (dir / "holdout.csv").string()},
                      {"interactions", (dir / "train.csv").string()},
                      {"k", 2}});
  Status s = EvaluateOperator().Execute(ctx);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  const Json& out = ctx.outputs;
  // By hand, k = 2, a seen item is never ranked:
  //   candidate: u1 -> b, c (both relevant: recall 1, ndcg 1); u2 -> b, c (c second:
  //              recall 1, ndcg 1/log2(3)); u5 -> a, c (hit first: 1, 1); u6 -> a, c (0, 0)
  //   baseline:  u1 -> c, b (1, 1); u2 -> c, b (1, 1); u5 -> a, c (1, 1); u6 -> a, c (0, 0)
  const double second = 1.0 / std::log2(3.0);
  const Json& cand = out["candidate"];
  CHECK(cand["users"] == Json({{"all", 4}, {"warm", 2}, {"cold", 2}}));
  CHECK(cand["recall_at_2"].get<double>() == doctest::Approx(3.0 / 4));
  CHECK(cand["ndcg_at_2"].get<double>() == doctest::Approx((1 + second + 1 + 0) / 4));
  CHECK(cand["coverage_at_2"].get<double>() == doctest::Approx(1.0));
  const Json& warm = cand["segments"]["warm"];
  CHECK(warm["recall_at_2"].get<double>() == doctest::Approx(1.0));
  CHECK(warm["ndcg_at_2"].get<double>() == doctest::Approx((1 + second) / 2));
  CHECK(warm["coverage_at_2"].get<double>() == doctest::Approx(2.0 / 3));  // {b, c}
  const Json& cold = cand["segments"]["cold"];
  CHECK(cold["recall_at_2"].get<double>() == doctest::Approx(0.5));
  CHECK(cold["ndcg_at_2"].get<double>() == doctest::Approx(0.5));
  CHECK(cold["coverage_at_2"].get<double>() == doctest::Approx(2.0 / 3));  // {a, c}

  const Json& base = out["baseline"];
  CHECK(base["users"] == Json({{"all", 4}, {"warm", 2}, {"cold", 2}}));
  CHECK(base["recall_at_2"].get<double>() == doctest::Approx(3.0 / 4));
  CHECK(base["ndcg_at_2"].get<double>() == doctest::Approx(3.0 / 4));
  CHECK(base["segments"]["warm"]["ndcg_at_2"].get<double>() == doctest::Approx(1.0));
  CHECK(base["segments"]["cold"]["recall_at_2"].get<double>() == doctest::Approx(0.5));
  CHECK(!base.contains("users_without_vector"));
  CHECK(out["users"] == 4);
  CHECK(out["production"].is_null());

  // Each user's values, for the gate's bootstrap.
  REQUIRE(out["per_user"].is_string());
  auto path = ctx.ArtifactPath(out["per_user"].get<std::string>());
  REQUIRE(path.ok());
  std::ifstream in(*path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == fmt::format("user_id,segment,candidate_recall_at_2,candidate_ndcg_at_2,"
                            "baseline_recall_at_2,baseline_ndcg_at_2\n"
                            "u1,warm,1,1,1,1\nu2,warm,1,{},1,1\nu5,cold,1,1,1,1\nu6,cold,0,0,0,0\n",
                            second));
}

TEST_CASE("evaluate: an item-kNN baseline, and best_of picks the stronger baseline") {
  Fixture f;
  f.Save(ClusterModel(f.data, 6, 40, 20), "good.reelmdl");
  REQUIRE(EvaluateOperator().Execute(f.ctx).ok());
  const Json popularity = f.ctx.outputs["baseline"];
  CHECK(f.ctx.outputs["baseline_kind"] == "popularity");
  CHECK(f.ctx.outputs["baselines"].size() == 1);

  // The planted groups: users' training items share neighbours with their held-out item,
  // which item-kNN finds and popularity cannot.
  f.ctx.config_["baseline"] = "item_knn";
  REQUIRE(EvaluateOperator().Execute(f.ctx).ok());
  const Json knn = f.ctx.outputs["baseline"];
  CHECK(f.ctx.outputs["baseline_kind"] == "item_knn");
  MESSAGE("recall@10 item_knn " << knn["recall_at_10"] << " popularity "
                                << popularity["recall_at_10"]);
  CHECK(knn["recall_at_10"].get<double>() > 2 * popularity["recall_at_10"].get<double>());
  CHECK(knn["users"]["all"] == 240);

  f.ctx.config_["baseline"] = "best_of [popularity, item_knn]";
  REQUIRE(EvaluateOperator().Execute(f.ctx).ok());
  CHECK(f.ctx.outputs["baseline_kind"] == "item_knn");
  CHECK(f.ctx.outputs["baseline"] == knn);
  CHECK(f.ctx.outputs["baselines"]["popularity"] == popularity);
  CHECK(f.ctx.outputs["baselines"]["item_knn"] == knn);

  f.ctx.config_["baseline"] = "best_of [popularity, svd]";
  Status s = EvaluateOperator().Execute(f.ctx);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("`baseline` must be popularity, item_knn or best_of") !=
        std::string::npos);
}
