#include "models/registry.h"

#include <thread>

#include <doctest/doctest.h>

#include "home/home.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::TempDir;
using Code = Status::Code;

namespace {

std::unique_ptr<StateStore> OpenRegistryStore(const std::filesystem::path& home) {
  auto store = OpenStateStore(home);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return std::move(*store);
}

ModelVersion Candidate(const std::string& uri, const std::string& run_id) {
  ModelVersion v;
  v.name = "recs";
  v.artifact_uri = uri;
  v.run_id = run_id;
  v.step = "promote";
  v.metrics = {{"recall_at_10", 0.2}};
  v.trained_on = {{"interactions", "sha256:aa"}};
  return v;
}

int CountEvents(ModelRegistry& registry, const std::string& kind) {
  auto history = registry.History("recs");
  REQUIRE(history.ok());
  int n = 0;
  for (const auto& e : *history) n += e.kind == kind ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("model registry numbers versions per model and registers idempotently per run") {
  TempDir home;
  auto store = OpenRegistryStore(home.path());
  ModelRegistry registry(*store);

  auto v1 = registry.RegisterVersion(Candidate("sha256:01", "run-a"));
  REQUIRE_MESSAGE(v1.ok(), v1.status().ToString());
  CHECK(v1->version == 1);
  auto again = registry.RegisterVersion(Candidate("sha256:01", "run-a"));
  REQUIRE(again.ok());
  CHECK(again->version == 1);  // same run, same artifact: the same version
  auto v2 = registry.RegisterVersion(Candidate("sha256:01", "run-b"));
  CHECK(v2->version == 2);  // same artifact from another run: a new version
  auto v3 = registry.RegisterVersion(Candidate("sha256:02", "run-b"));
  CHECK(v3->version == 3);

  ModelVersion other = Candidate("sha256:01", "run-a");
  other.name = "other";
  CHECK(registry.RegisterVersion(other)->version == 1);  // numbering is per model

  auto got = registry.GetVersion("recs", 3);
  REQUIRE(got.ok());
  CHECK(got->artifact_uri == "sha256:02");
  CHECK(got->run_id == "run-b");
  CHECK(got->metrics["recall_at_10"] == 0.2);
  CHECK(got->trained_on["interactions"] == "sha256:aa");
  CHECK(CountEvents(registry, "registered") == 3);

  auto missing = registry.GetVersion("recs", 9);
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("versions: 1, 2, 3") != std::string::npos);
  auto unknown = registry.GetVersion("nope", 1);
  CHECK(unknown.status().code() == Code::kNotFound);
  CHECK(unknown.status().message().find("known: other, recs") != std::string::npos);
  CHECK(registry.RegisterVersion(Candidate("", "r")).status().code() == Code::kInvalidArgument);
  ModelVersion bad = Candidate("sha256:01", "r");
  bad.name = "a b";
  CHECK(registry.RegisterVersion(bad).status().code() == Code::kInvalidArgument);

  auto models = registry.ListModels();
  REQUIRE(models.ok());
  REQUIRE(models->size() == 2);
  CHECK((*models)[0].name == "other");
  CHECK((*models)[1].versions.size() == 3);
}

TEST_CASE("model registry promotes exactly once per run") {
  TempDir home;
  auto store = OpenRegistryStore(home.path());
  ModelRegistry registry(*store);
  REQUIRE(registry.RegisterVersion(Candidate("sha256:01", "run-a")).ok());
  REQUIRE(registry.RegisterVersion(Candidate("sha256:02", "run-b")).ok());
  CHECK(!registry.GetAlias("recs", "production")->has_value());

  auto first = registry.Promote("recs", 1, "run-a", "workflow:wf");
  REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  CHECK(first->promoted);
  CHECK(!first->replayed);
  CHECK(first->version == 1);
  CHECK(!first->previous_version);

  auto second = registry.Promote("recs", 2, "run-b", "workflow:wf");
  REQUIRE(second.ok());
  CHECK(second->version == 2);
  CHECK(second->previous_version == 1);

  // A retried promote of run-b: nothing moves, the earlier result comes back.
  auto retry = registry.Promote("recs", 2, "run-b", "workflow:wf");
  REQUIRE(retry.ok());
  CHECK(retry->replayed);
  CHECK(retry->promoted);
  CHECK(retry->version == 2);
  CHECK(retry->previous_version == 1);
  // Even run-a, promoting again after run-b, does not move the alias back.
  auto late = registry.Promote("recs", 1, "run-a", "workflow:wf");
  REQUIRE(late.ok());
  CHECK(late->replayed);
  CHECK(**registry.GetAlias("recs", "production") == 2);
  CHECK(CountEvents(registry, "promoted") == 2);

  // Promoting the version the alias already points at changes nothing.
  auto same = registry.Promote("recs", 2, "", "cli");
  REQUIRE(same.ok());
  CHECK(!same->promoted);
  CHECK(CountEvents(registry, "promoted") == 2);

  CHECK(registry.Promote("recs", 7, "run-c", "cli").status().code() == Code::kNotFound);
}

TEST_CASE("model registry treats a resumed run as the run it resumes") {
  TempDir home;
  auto store = OpenRegistryStore(home.path());
  RunRecord origin;
  origin.run_id = "run-1";
  origin.workflow = "wf";
  REQUIRE(store->CreateRun(origin).ok());
  RunRecord resumed = origin;
  resumed.run_id = "run-2";
  resumed.trigger = RunTrigger::kResume;
  resumed.origin_run_id = "run-1";
  REQUIRE(store->CreateRun(resumed).ok());

  ModelRegistry registry(*store);
  auto v = registry.RegisterVersion(Candidate("sha256:01", "run-1"));
  REQUIRE(v.ok());
  CHECK(registry.RegisterVersion(Candidate("sha256:01", "run-2"))->version == v->version);
  REQUIRE(registry.Promote("recs", 1, "run-1", "workflow:wf").ok());
  auto resumed_promote = registry.Promote("recs", 1, "run-2", "workflow:wf");
  REQUIRE(resumed_promote.ok());
  CHECK(resumed_promote->replayed);
  CHECK(CountEvents(registry, "promoted") == 1);
}

TEST_CASE("model registry rolls back along the promotion history") {
  TempDir home;
  auto store = OpenRegistryStore(home.path());
  ModelRegistry registry(*store);
  for (int i = 1; i <= 4; ++i) {
    REQUIRE(registry.RegisterVersion(Candidate("sha256:0" + std::to_string(i), "r")).ok());
  }
  auto nothing = registry.Rollback("recs", "cli");
  CHECK(nothing.status().code() == Code::kConflict);
  CHECK(nothing.status().message().find("never promoted") != std::string::npos);

  REQUIRE(registry.Promote("recs", 1, "run-1", "wf").ok());
  REQUIRE(registry.Promote("recs", 2, "run-2", "wf").ok());
  REQUIRE(registry.Promote("recs", 3, "run-3", "wf").ok());

  auto back = registry.Rollback("recs", "cli");
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CHECK(back->version == 2);
  CHECK(back->previous_version == 3);
  CHECK(**registry.GetAlias("recs", "production") == 2);
  auto back2 = registry.Rollback("recs", "cli");
  REQUIRE(back2.ok());
  CHECK(back2->version == 1);
  auto none = registry.Rollback("recs", "cli");
  CHECK(none.status().code() == Code::kConflict);
  CHECK(**registry.GetAlias("recs", "production") == 1);

  // A new promotion after rollbacks rolls back to where it came from.
  REQUIRE(registry.Promote("recs", 4, "run-4", "wf").ok());
  auto back3 = registry.Rollback("recs", "cli");
  REQUIRE(back3.ok());
  CHECK(back3->version == 1);

  auto history = registry.History("recs");
  REQUIRE(history.ok());
  const ModelEvent& last = history->back();
  CHECK(last.kind == "rolled_back");
  CHECK(last.from_version == 4);
  CHECK(last.to_version == 1);
  CHECK(last.actor == "cli");
  CHECK(CountEvents(registry, "rolled_back") == 3);
}

TEST_CASE("model registry: concurrent promotes of one run from two connections move once") {
  TempDir home;
  {
    auto store = OpenRegistryStore(home.path());
    ModelRegistry registry(*store);
    REQUIRE(registry.RegisterVersion(Candidate("sha256:01", "run-x")).ok());
  }
  std::vector<std::thread> threads;
  std::atomic<int> fresh{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto store = OpenStateStore(home.path());
      if (!store.ok()) return;
      ModelRegistry registry(**store);
      auto r = registry.Promote("recs", 1, "run-x", "wf");
      if (r.ok() && !r->replayed) ++fresh;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(fresh.load() == 1);
  auto store = OpenRegistryStore(home.path());
  ModelRegistry registry(*store);
  CHECK(CountEvents(registry, "promoted") == 1);
}
