#include "operators/torch_train.h"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>

#include <doctest/doctest.h>

#include "models/model_file.h"
#include "operators/torch_train_ranks.h"
#include "tests/operators/rec_testdata.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::FakeContext;
using reel::testing::MakeRecTestData;
using reel::testing::ModelRecallAtK;
using reel::testing::PopularityRecallAtK;
using reel::testing::ReadFile;
using reel::testing::RecTestData;
using reel::testing::TempDir;
using reel::testing::WriteFile;

namespace {

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

const RecTestData& Data() {
  static const RecTestData data = MakeRecTestData();
  return data;
}

// A context whose config points at the synthetic data stored as artifacts.
struct TrainFixture {
  TempDir dir;
  FakeContext ctx{dir.path()};

  explicit TrainFixture(Json overrides = Json::object()) {
    ctx.workflow_ = "recs";
    ctx.config_ = {{"interactions", Put("train.csv", Data().interactions_csv)},
                   {"epochs", 8},
                   {"batch_size", 128},
                   {"dim", 16},
                   {"lr", 0.1},
                   {"seed", 11}};
    ctx.config_.update(overrides);
  }
  std::string Put(const std::string& name, const std::string& content) {
    WriteFile(dir / ("in-" + name), content);
    auto ref = ctx.PutArtifact(name, dir / ("in-" + name));
    REQUIRE(ref.ok());
    return ref->uri;
  }
  Status Run() { return TorchTrainOperator().Execute(ctx); }
  std::filesystem::path ModelPath() const {
    auto path = ctx.ArtifactPath(ctx.outputs.at("model").get<std::string>());
    REQUIRE(path.ok());
    return *path;
  }
  RecModel Model() const {
    auto model = LoadRecModel(ModelPath());
    REQUIRE(model.ok());
    return std::move(model).value();
  }
  bool Logged(const std::string& needle) const {
    for (const auto& line : ctx.log_lines) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

}  // namespace

TEST_CASE("torch_train: without a worker it says reel was built without LibTorch") {
  ScopedEnv env("REEL_TRAIN_WORKER", "/nonexistent/reel-train-worker");
  TrainFixture f;
  Status s = f.Run();
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("REEL_WITH_TORCH=OFF") != std::string::npos);
  CHECK(s.message().find("torch_train is unavailable") != std::string::npos);
}

TEST_CASE("torch_train: ranks inherit no REEL_SECRET_ variable") {
  TempDir dir;
  WriteFile(dir / "worker", "#!/bin/sh\necho \"secret=${REEL_SECRET_rank_test:-unset}\"\n");
  std::filesystem::permissions(dir / "worker", std::filesystem::perms::owner_all);
  ScopedEnv secret("REEL_SECRET_rank_test", "rank-secret");
  FakeContext ctx(dir.path());
  RankJob job;
  job.worker = dir / "worker";
  job.config = dir / "config.json";
  REQUIRE(RunRanks(ctx, job).ok());
  std::string log;
  for (const auto& line : ctx.log_lines) log += line + "\n";
  CHECK(log.find("secret=unset") != std::string::npos);
  CHECK(log.find("rank-secret") == std::string::npos);
}

TEST_CASE("torch_train: bad settings fail before any rank starts") {
  TrainFixture bad_loss(Json{{"loss", "hinge"}});
  Status s = bad_loss.Run();
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("`loss` must be softmax or bpr") != std::string::npos);

  TrainFixture bad_world(Json{{"world_size", 0}});
  CHECK(bad_world.Run().message().find("`world_size` must be in [1, 64]") != std::string::npos);

  TrainFixture missing_input(Json{{"interactions", "fake:999"}});
  Status m = missing_input.Run();
  CHECK(m.code() == Status::Code::kNotFound);
  CHECK(m.message().find("`interactions`") != std::string::npos);
}

#ifdef REEL_WITH_TORCH

namespace {
const ScopedEnv kWorkerEnv("REEL_TRAIN_WORKER", REEL_TRAIN_WORKER_BINARY);
}  // namespace

TEST_CASE("torch_train: learns the planted structure, far above popularity") {
  TrainFixture f;
  Status s = f.Run();
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  RecModel model = f.Model();
  double recall = ModelRecallAtK(model, Data(), 10);
  double popularity = PopularityRecallAtK(Data(), 10);
  MESSAGE("recall@10 model " << recall << " popularity " << popularity);
  CHECK(recall > 0.6);
  CHECK(recall > 3 * popularity);

  CHECK(model.dim == 16);
  CHECK(model.users.size() == Data().train.size());
  CHECK(model.header["model_name"] == "recs");
  CHECK(model.header["model_type"] == "two_tower");
  CHECK(model.header["config"]["epochs"] == 8);
  CHECK(model.header["trained_on"]["interactions"] == f.ctx.config_["interactions"]);
  CHECK(f.ctx.outputs["epochs"] == 8);
  CHECK(f.ctx.outputs["final_loss"].is_number());
  CHECK(f.ctx.outputs["examples_per_s"].get<double>() > 0);
  int loss_points = 0;
  double first_loss = 0, last_loss = 0;
  for (const auto& m : f.ctx.metrics) {
    if (m.key != "train.loss") continue;
    if (++loss_points == 1) first_loss = m.value;
    last_loss = m.value;
    CHECK(m.step == loss_points);
  }
  CHECK(loss_points == 8);
  CHECK(last_loss < first_loss);
  CHECK(f.ctx.Metric("train.examples_per_s") > 0);
  CHECK(f.Logged("[rank 0] epoch 8/8"));
}

TEST_CASE("torch_train: two ranks reach the quality of one") {
  TrainFixture one;
  TrainFixture two(Json{{"world_size", 2}, {"batch_size", 64}});
  REQUIRE(one.Run().ok());
  Status s = two.Run();
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  double r1 = ModelRecallAtK(one.Model(), Data(), 10);
  double r2 = ModelRecallAtK(two.Model(), Data(), 10);
  MESSAGE("recall@10 one rank " << r1 << ", two ranks " << r2);
  CHECK(r2 > 0.6);
  CHECK(std::abs(r1 - r2) < 0.15);
}

TEST_CASE("torch_train: the same seed gives the same model file, another seed another") {
  TrainFixture a(Json{{"epochs", 3}}), b(Json{{"epochs", 3}}), c(Json{{"epochs", 3}, {"seed", 12}});
  REQUIRE(a.Run().ok());
  REQUIRE(b.Run().ok());
  REQUIRE(c.Run().ok());
  CHECK(ReadFile(a.ModelPath()) == ReadFile(b.ModelPath()));
  CHECK(a.Model().item_vecs != c.Model().item_vecs);
}

TEST_CASE("torch_train: a dead rank fails the step with its error, without a hang") {
  ScopedEnv fail_epoch("REEL_TRAIN_FAIL_AFTER_EPOCH", "1");
  ScopedEnv fail_rank("REEL_TRAIN_FAIL_RANK", "1");
  TrainFixture f(Json{{"world_size", 2}, {"epochs", 1000}});
  auto started = std::chrono::steady_clock::now();
  Status s = f.Run();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kFailed);
  CHECK(s.message().find("rank 1 of 2 exited with code 1") != std::string::npos);
  CHECK(s.message().find("injected failure after epoch 1") != std::string::npos);
  // Well below the 60 s collective timeout: rank 0 was stopped, not left waiting.
  CHECK(seconds < 40);
  CHECK(f.Logged("[rank 1] error: injected failure"));
}

TEST_CASE("torch_train: a retry resumes from the checkpoint and equals an uninterrupted run") {
  TrainFixture straight(Json{{"epochs", 4}, {"loss", "bpr"}});
  REQUIRE(straight.Run().ok());

  TrainFixture crashed(Json{{"epochs", 4}, {"loss", "bpr"}});
  {
    ScopedEnv fail("REEL_TRAIN_FAIL_AFTER_EPOCH", "2");
    Status first = crashed.Run();
    REQUIRE_FALSE(first.ok());
    CHECK(first.message().find("rank 0 of 1") != std::string::npos);
  }
  crashed.ctx.attempt_ = 2;
  Status retry = crashed.Run();
  REQUIRE_MESSAGE(retry.ok(), retry.ToString());
  CHECK(crashed.Logged("resuming from the checkpoint after epoch 2"));
  RecModel a = straight.Model(), b = crashed.Model();
  CHECK(a.user_vecs == b.user_vecs);
  CHECK(a.item_vecs == b.item_vecs);
  CHECK(straight.ctx.outputs["final_loss"] == crashed.ctx.outputs["final_loss"]);
  CHECK(crashed.ctx.outputs["epochs"] == 4);
  // Only epochs 3 and 4 ran in the retry.
  int retry_points = 0;
  for (const auto& m : crashed.ctx.metrics) retry_points += m.key == "train.loss" && m.step > 2;
  CHECK(retry_points == 2);
}

TEST_CASE("torch_train: a damaged checkpoint makes the retry train from scratch") {
  TrainFixture straight(Json{{"epochs", 3}, {"loss", "bpr"}});
  REQUIRE(straight.Run().ok());
  TrainFixture crashed(Json{{"epochs", 3}, {"loss", "bpr"}});
  {
    ScopedEnv fail("REEL_TRAIN_FAIL_AFTER_EPOCH", "1");
    REQUIRE_FALSE(crashed.Run().ok());
  }
  std::filesystem::path checkpoint;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(crashed.dir.path())) {
    if (entry.path().filename() == "checkpoint.pt") checkpoint = entry.path();
  }
  REQUIRE_FALSE(checkpoint.empty());
  std::string bytes = ReadFile(checkpoint);
  WriteFile(checkpoint, bytes.substr(0, bytes.size() / 2));  // cut short, as by a bad disk
  crashed.ctx.attempt_ = 2;
  Status retry = crashed.Run();
  REQUIRE_MESSAGE(retry.ok(), retry.ToString());
  CHECK(crashed.Logged("is damaged"));
  CHECK(crashed.Logged("training from scratch"));
  CHECK(straight.Model().user_vecs == crashed.Model().user_vecs);
}

TEST_CASE("torch_train: features, bpr and zero epochs") {
  TrainFixture f(Json{{"loss", "bpr"}, {"negatives", 3}, {"epochs", 6}});
  f.ctx.config_["user_features"] = f.Put("users.csv", Data().user_features_csv);
  f.ctx.config_["item_features"] = f.Put("items.csv", Data().item_features_csv);
  Status s = f.Run();
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  RecModel model = f.Model();
  CHECK(model.header["user_feature_dim"] == 2);
  CHECK(model.header["item_feature_dim"] == 2);
  CHECK(model.header["config"]["loss"] == "bpr");
  CHECK(ModelRecallAtK(model, Data(), 10) > 2 * PopularityRecallAtK(Data(), 10));

  TrainFixture untrained(Json{{"epochs", 0}});
  REQUIRE(untrained.Run().ok());
  CHECK(untrained.ctx.outputs["final_loss"].is_null());
  CHECK(untrained.ctx.outputs["epochs"] == 0);
  CHECK(untrained.Model().items.size() == Data().items.size());
}

TEST_CASE("torch_train: cancelling the attempt stops the ranks") {
  TrainFixture f(Json{{"world_size", 2}, {"epochs", 100000}});
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    f.ctx.token.Cancel();
  });
  Status s = f.Run();
  canceller.join();
  CHECK(s.code() == Status::Code::kCancelled);
}

TEST_CASE("torch_train: bad input data fails with the file and line") {
  TrainFixture f;
  f.ctx.config_["interactions"] =
      f.Put("bad.csv", "user_id,item_id,weight\nu1,i1,1\nu2,i2,heavy\n");
  Status s = f.Run();
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find(":3 column `weight`: 'heavy' is not a number") != std::string::npos);
}

#endif  // REEL_WITH_TORCH

TEST_CASE("torch_train: logQ correction, uniform negatives and feature clipping are settings") {
  TrainFixture corrected;
  REQUIRE(corrected.Run().ok());
  TrainFixture plain(Json{{"logq_correction", false}});
  REQUIRE(plain.Run().ok());
  TrainFixture mixed(Json{{"uniform_negatives", 64}, {"feature_clip", 3.0}});
  REQUIRE(mixed.Run().ok());
  for (TrainFixture* f : {&corrected, &plain, &mixed}) {
    double recall = ModelRecallAtK(f->Model(), Data(), 10);
    MESSAGE("recall@10 " << recall);
    CHECK(recall > 0.6);
  }
  // On by default, recorded with the model, and it changes what is learnt.
  CHECK(corrected.Model().header["config"]["logq_correction"] == true);
  CHECK(plain.Model().header["config"]["logq_correction"] == false);
  CHECK(mixed.Model().header["config"]["uniform_negatives"] == 64);
  CHECK(mixed.Model().header["config"]["feature_clip"] == 3.0);
  CHECK(ReadFile(corrected.ModelPath()) != ReadFile(plain.ModelPath()));
  CHECK(ReadFile(corrected.ModelPath()) != ReadFile(mixed.ModelPath()));

  TrainFixture bad(Json{{"logq_correction", "yes"}});
  Status s = bad.Run();
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("`logq_correction` must be true or false") != std::string::npos);
}

TEST_CASE("torch_train: item_knn and ease are model kinds of the same file, far above popularity") {
  double popularity = PopularityRecallAtK(Data(), 10);
  for (const char* kind : {"item_knn", "ease"}) {
    CAPTURE(kind);
    TrainFixture f(Json{{"model", kind}, {"neighbors", 20}, {"lambda", 50.0}});
    Status s = f.Run();
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    RecModel model = f.Model();
    double recall = ModelRecallAtK(model, Data(), 10);
    MESSAGE(std::string(kind) << " recall@10 " << recall << " popularity " << popularity);
    CHECK(recall > 2 * popularity);
    CHECK(model.header["model_type"] == kind);
    CHECK(model.dim == static_cast<int>(model.items.size()));  // a vector per item column
    CHECK(f.ctx.outputs["epochs"] == 0);
  }
  TrainFixture bad(Json{{"model", "svd"}});
  Status s = bad.Run();
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("`model` must be two_tower, item_knn or ease") != std::string::npos);
}
