#include "engine/exec/task_context.h"

#include <sys/stat.h>

#include <fstream>

#include <doctest/doctest.h>

#include "tests/support/fake_context.h"

namespace reel {
namespace {

using reel::testing::ReadFile;
using reel::testing::TempDir;

struct Attempt {
  TempDir dir;
  ArtifactStore artifacts{dir.path()};
  std::filesystem::path log = dir / "logs" / "run" / "step" / "1.log";

  std::unique_ptr<TaskContext> Context(std::vector<std::string> secrets) {
    TaskIdentity id{"run", "wf", "step", "2026-01-01", Json(), -1, 1};
    return std::make_unique<TaskContext>(id, Json::object(), Json::object(), Json::object(),
                                         dir.path(), dir / "work", log, artifacts,
                                         std::move(secrets));
  }
};

}  // namespace

TEST_CASE("task context: nothing written, no log file; output creates it") {
  Attempt a;
  auto ctx = a.Context({});
  ctx->WriteOutput("");
  CHECK_FALSE(std::filesystem::exists(a.log.parent_path()));
  ctx->WriteOutput("hello ");
  ctx->WriteOutput("world\n");
  CHECK(ReadFile(a.log) == "hello world\n");
}

TEST_CASE("task context: a log that cannot be written is reported, not dropped") {
  Attempt a;
  std::filesystem::create_directories(a.dir / "logs" / "run");
  { std::ofstream(a.dir / "logs" / "run" / "step") << "a file where the folder should be"; }
  auto ctx = a.Context({});
  CHECK(ctx->log_status().ok());
  ctx->WriteOutput("lost?\n");
  Status s = ctx->log_status();
  CHECK(s.code() == Status::Code::kIoError);
  CHECK(s.message().find("cannot create the attempt's log") != std::string::npos);
  CHECK(s.message().find(a.log.string()) != std::string::npos);
}

TEST_CASE("task context: a secret split across output chunks is still redacted") {
  Attempt a;
  {
    auto ctx = a.Context({"hunter2", "s3cr3t-token"});
    ctx->WriteOutput("password=hun");
    ctx->WriteOutput("ter2; token=s3cr");
    ctx->WriteOutput("3t-tok");
    ctx->WriteOutput("en; again hunter2 and a tail hunt");
    ctx->Info("a line from the engine: {}", "hunter2");
    ctx->WriteOutput("er2 ends it, then s3cr");
  }  // the end of the attempt writes what was held back
  std::string log = ReadFile(a.log);
  CHECK(log.find("hunter2") == std::string::npos);
  CHECK(log.find("s3cr3t-token") == std::string::npos);
  CHECK(log.find("password=***; token=***; again *** and a tail hunt") == 0);
  CHECK(log.find("INFO a line from the engine: ***\ner2 ends it, then s3cr") != std::string::npos);
  CHECK(log.substr(log.size() - 5) == " s3cr");
}

TEST_CASE("task context: a secret is redacted as is, shell-quoted and JSON-escaped") {
  Attempt a;
  const std::string secret = "it's \"q\\uoted\"";  // it's "q\uoted"
  {
    auto ctx = a.Context({secret});
    ctx->Info("raw: {}", secret);
    ctx->Info("shell: 'it'\\''s \"q\\uoted\"'");
    ctx->Info("json: {}", Json(secret).dump());
    ctx->WriteOutput("split: it'\\''s \"q");
    ctx->WriteOutput("\\uoted\"\n");
    CHECK(ctx->Redact("x=it'\\''s \"q\\uoted\"") == "x=***");
    ctx->RecordEvent("custom", {{"note", "token " + secret}, {secret, 1}});
    auto events = ctx->TakeEvents();
    REQUIRE(events.size() == 1);
    CHECK(events[0].second == Json{{"note", "token ***"}, {"***", 1}});
  }
  std::string log = ReadFile(a.log);
  CHECK(log.find("uoted") == std::string::npos);
  CHECK(log.find("raw: ***\n") != std::string::npos);
  CHECK(log.find("shell: '***'\n") != std::string::npos);
  CHECK(log.find("json: \"***\"\n") != std::string::npos);
  CHECK(log.find("split: ***\n") != std::string::npos);
}

TEST_CASE("task context: the log file and work folder are private whatever the umask") {
  Attempt a;
  mode_t old = ::umask(0);
  {
    auto ctx = a.Context({});
    ctx->Info("hello");
    std::filesystem::path work = ctx->work_dir();
    struct stat st;
    REQUIRE(::stat(work.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
  }
  ::umask(old);
  struct stat st;
  REQUIRE(::stat(a.log.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(a.log.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("task context: output is visible while the attempt runs") {
  Attempt a;
  auto ctx = a.Context({"a-secret-value"});  // 14 bytes: up to 13 may be held back
  std::string line = "epoch 1 of 10, loss 0.6931, 412 examples/s\n";
  ctx->WriteOutput(line);
  CHECK(ReadFile(a.log) == line.substr(0, line.size() - 13));
  ctx.reset();
  CHECK(ReadFile(a.log) == line);
}

}  // namespace reel
