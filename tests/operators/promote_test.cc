#include "operators/promote.h"

#include <doctest/doctest.h>

#include "home/home.h"
#include "models/model_file.h"
#include "models/registry.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::FakeContext;
using reel::testing::TempDir;
using reel::testing::WriteFile;

namespace {

void SaveTinyModel(const std::filesystem::path& path, float scale) {
  RecModel m;
  m.dim = 2;
  m.users = {"u1"};
  m.user_vecs = {scale, 0.0f};
  m.items = {"a", "b"};
  m.item_vecs = {1.0f, 0.0f, 0.0f, scale};
  m.header = {{"metrics", {{"final_loss", 0.5}}}, {"trained_on", {{"interactions", "sha256:11"}}}};
  m.Reindex();
  REQUIRE(SaveRecModel(m, path).ok());
}

int PromotedEvents(const std::filesystem::path& home) {
  auto store = OpenStateStore(home);
  REQUIRE(store.ok());
  ModelRegistry registry(**store);
  auto history = registry.History("recs");
  REQUIRE(history.ok());
  int n = 0;
  for (const auto& e : *history) n += e.kind == "promoted" ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("promote registers a model file and moves production exactly once per run") {
  TempDir dir;
  SaveTinyModel(dir / "m1.reelmdl", 1.0f);
  SaveTinyModel(dir / "m2.reelmdl", 2.0f);
  FakeContext ctx(dir / "home");
  ctx.workflow_ = "recs";
  ctx.run_id_ = "run-1";
  ctx.config_ = {{"model", (dir / "m1.reelmdl").string()}};

  Status s = PromoteOperator().Execute(ctx);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(ctx.outputs["model_name"] == "recs");
  CHECK(ctx.outputs["version"] == 1);
  CHECK(ctx.outputs["previous_version"].is_null());
  CHECK(ctx.outputs["promoted"] == true);
  CHECK(ctx.outputs["replayed"] == false);
  CHECK(ctx.artifacts.count("model") == 1);  // the local file was stored as an artifact
  CHECK(ctx.outputs["model"] == ctx.artifacts["model"].uri);
  REQUIRE(ctx.events.size() == 1);
  CHECK(ctx.events[0].first == "model.promoted");
  CHECK(ctx.events[0].second["version"] == 1);

  // A retry of the same step: nothing moves. (The real artifact store gives the same file the
  // same uri again; the fake one does not, so the retry names the stored artifact.)
  ctx.attempt_ = 2;
  ctx.outputs = Json::object();
  ctx.config_["model"] = ctx.artifacts["model"].uri;
  REQUIRE(PromoteOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["version"] == 1);
  CHECK(ctx.outputs["replayed"] == true);
  CHECK(ctx.outputs["registered_version"] == 1);
  CHECK(PromotedEvents(ctx.home()) == 1);

  // The next run promotes its model as version 2.
  FakeContext next(dir / "home");
  next.workflow_ = "recs";
  next.run_id_ = "run-2";
  next.config_ = {{"model", (dir / "m2.reelmdl").string()}, {"metrics", {{"recall_at_10", 0.3}}}};
  REQUIRE(PromoteOperator().Execute(next).ok());
  CHECK(next.outputs["version"] == 2);
  CHECK(next.outputs["previous_version"] == 1);
  CHECK(next.outputs["promoted"] == true);
  CHECK(PromotedEvents(ctx.home()) == 2);

  auto store = OpenStateStore(ctx.home());
  REQUIRE(store.ok());
  ModelRegistry registry(**store);
  CHECK(**registry.GetAlias("recs", "production") == 2);
  auto v1 = registry.GetVersion("recs", 1);
  REQUIRE(v1.ok());
  CHECK(v1->run_id == "run-1");
  CHECK(v1->metrics["final_loss"] == 0.5);  // from the model file's header
  CHECK(v1->trained_on["interactions"] == "sha256:11");
  CHECK(registry.GetVersion("recs", 2)->metrics["recall_at_10"] == 0.3);  // from the config
}

TEST_CASE("promote takes an artifact uri, a model name and an alias") {
  TempDir dir;
  SaveTinyModel(dir / "m.reelmdl", 1.0f);
  FakeContext ctx(dir / "home");
  auto ref = ctx.PutArtifact("model", dir / "m.reelmdl");
  REQUIRE(ref.ok());
  ctx.config_ = {{"model", ref->uri}, {"model_name", "ranker"}, {"alias", "staging"}};
  REQUIRE(PromoteOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["model_name"] == "ranker");
  CHECK(ctx.outputs["alias"] == "staging");
  CHECK(ctx.outputs["model"] == ref->uri);
  auto store = OpenStateStore(ctx.home());
  REQUIRE(store.ok());
  ModelRegistry registry(**store);
  CHECK(**registry.GetAlias("ranker", "staging") == 1);
  CHECK(!registry.GetAlias("ranker", "production")->has_value());
}

TEST_CASE("promote refuses what is not a model file") {
  TempDir dir;
  WriteFile(dir / "junk.bin", "not a model");
  FakeContext ctx(dir / "home");
  ctx.config_ = {{"model", (dir / "junk.bin").string()}};
  Status s = PromoteOperator().Execute(ctx);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("not a usable model file") != std::string::npos);

  ctx.config_ = {{"model", "sha256:0123"}};
  s = PromoteOperator().Execute(ctx);
  CHECK(s.code() == Status::Code::kNotFound);
  ctx.config_ = {{"model", (dir / "m.reelmdl").string()}, {"model_name", "bad name"}};
  CHECK(PromoteOperator().Execute(ctx).code() == Status::Code::kInvalidArgument);
}
