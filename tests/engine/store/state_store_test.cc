#include "engine/store/state_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "home/home.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::TempDir;
using Code = Status::Code;

namespace {

RunRecord MakeRun(const std::string& id, const std::string& workflow = "wf") {
  RunRecord r;
  r.run_id = id;
  r.workflow = workflow;
  r.params = {{"epochs", 3}};
  r.logical_date = "2026-11-28";
  return r;
}

std::unique_ptr<StateStore> OpenStore(const std::filesystem::path& home) {
  auto store = OpenStateStore(home);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return std::move(*store);
}

// A pid that certainly does not exist any more: a child that has exited and been reaped.
int64_t DeadPid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int wstatus = 0;
  ::waitpid(child, &wstatus, 0);
  return child;
}

}  // namespace

TEST_CASE("state store creates its schema once and refuses a newer one") {
  TempDir home;
  {
    auto store = OpenStore(home.path() / "nested/home");
    CHECK(std::filesystem::exists(home.path() / "nested/home/reel.db"));
    CHECK(*store->db().UserVersion() == static_cast<int>(HomeSchema().size()));
    REQUIRE(store->CreateRun(MakeRun("r1")).ok());
  }
  {
    auto store = OpenStore(home.path() / "nested/home");  // reopening migrates nothing
    CHECK(store->GetRun("r1").ok());
    REQUIRE(store->db().Exec("PRAGMA user_version = 999").ok());
  }
  auto newer = OpenStateStore(home.path() / "nested/home");
  REQUIRE(!newer.ok());
  CHECK(newer.status().message().find("newer than this reel") != std::string::npos);
}

TEST_CASE("state store keeps one version per distinct workflow text") {
  TempDir home;
  auto store = OpenStore(home.path());
  auto v1 = store->PutWorkflowVersion("daily", "name: daily\n");
  auto v1again = store->PutWorkflowVersion("daily", "name: daily\n");
  auto v2 = store->PutWorkflowVersion("daily", "name: daily\nsteps: {}\n");
  REQUIRE((v1.ok() && v1again.ok() && v2.ok()));
  CHECK(*v1 == *v1again);
  CHECK(*v1 != *v2);
  CHECK(v1->size() == 64);
  CHECK(*store->GetWorkflowYaml("daily", *v2) == "name: daily\nsteps: {}\n");
  CHECK(store->GetWorkflowYaml("other", *v1).status().code() == Code::kNotFound);
}

TEST_CASE("state store records runs and finds them by filter and id prefix") {
  TempDir home;
  auto store = OpenStore(home.path());
  RunRecord a = MakeRun("20261128T030000-aaaaaa", "train");
  a.created_at = 1000;
  RunRecord b = MakeRun("20261128T030000-aabbbb", "train");
  b.created_at = 2000;
  b.trigger = RunTrigger::kBackfill;
  RunRecord c = MakeRun("20261129T030000-cccccc", "etl");
  c.created_at = 3000;
  c.logical_date = "";
  for (const RunRecord& r : {a, b, c}) REQUIRE(store->CreateRun(r).ok());
  CHECK(store->CreateRun(a).code() == Code::kAlreadyExists);

  // States are typed; text becomes one only through the one mapping, which knows every word.
  CHECK_FALSE(ParseEnum<RunStatus>("done").has_value());
  CHECK(ParseEnum<TaskStatus>("upstream_failed") == TaskStatus::kUpstreamFailed);
  CHECK(ToString(AttemptStatus::kTimedOut) == "timed_out");
  CHECK(EnumChoices<RunStatus>() == "queued, running, succeeded, failed or cancelled");
  for (const auto& [value, name] : EnumNames<TaskStatus>::kNames) {
    CHECK(ParseEnum<TaskStatus>(name) == value);
  }

  Result<RunRecord> got = store->GetRun(a.run_id);
  REQUIRE(got.ok());
  CHECK(got->workflow == "train");
  CHECK(got->params == Json{{"epochs", 3}});
  CHECK(got->logical_date == "2026-11-28");
  CHECK(ToString(got->status) == "queued");
  CHECK(ToString(got->trigger) == "manual");
  CHECK(got->pid == ::getpid());
  CHECK(!got->host.empty());
  CHECK(got->heartbeat_at.has_value());
  CHECK(!got->started_at.has_value());
  CHECK(store->GetRun(c.run_id)->logical_date.empty());

  // Status transitions set the times.
  REQUIRE(store->UpdateRunStatus(a.run_id, RunStatus::kRunning).ok());
  got = store->GetRun(a.run_id);
  CHECK(got->started_at.has_value());
  CHECK(!got->ended_at.has_value());
  REQUIRE(store->UpdateRunStatus(a.run_id, RunStatus::kFailed, std::string("step x failed")).ok());
  got = store->GetRun(a.run_id);
  CHECK(ToString(got->status) == "failed");
  CHECK(got->ended_at.has_value());
  CHECK(got->error == "step x failed");
  CHECK(store->UpdateRunStatus("nope", RunStatus::kRunning).code() == Code::kNotFound);

  // Listing: newest first, filtered, limited.
  auto all = store->ListRuns({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].run_id == c.run_id);
  CHECK((*all)[2].run_id == a.run_id);
  RunFilter train;
  train.workflow = "train";
  CHECK(store->ListRuns(train)->size() == 2);
  train.status = RunStatus::kFailed;
  CHECK(store->ListRuns(train)->size() == 1);
  RunFilter backfills;
  backfills.trigger = RunTrigger::kBackfill;
  backfills.logical_date = "2026-11-28";
  REQUIRE(store->ListRuns(backfills)->size() == 1);
  CHECK(store->ListRuns(backfills)->front().run_id == b.run_id);
  RunFilter limited;
  limited.limit = 1;
  CHECK(store->ListRuns(limited)->size() == 1);

  // Prefixes: unique, ambiguous, unknown.
  CHECK(store->GetRun("20261129")->run_id == c.run_id);
  CHECK(store->GetRun("20261128T030000-aab")->run_id == b.run_id);
  Result<RunRecord> ambiguous = store->GetRun("20261128T030000-aa");
  CHECK(ambiguous.status().code() == Code::kInvalidArgument);
  CHECK(ambiguous.status().message().find("ambiguous") != std::string::npos);
  CHECK(ambiguous.status().message().find(a.run_id) != std::string::npos);
  Result<RunRecord> missing = store->GetRun("1999");
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("reel runs") != std::string::npos);
}

TEST_CASE("state store keeps a run's tags and note and filters runs by tags") {
  TempDir home;
  auto store = OpenStore(home.path());
  RunRecord a = MakeRun("20261128T030000-aaaaaa");
  a.tags = {{"team", "recs"}, {"exp", "lr"}};
  a.note = "first try";
  RunRecord b = MakeRun("20261128T030000-bbbbbb");
  b.tags = {{"team", "recs"}};
  RunRecord c = MakeRun("20261128T030000-cccccc");
  for (const RunRecord& r : {a, b, c}) REQUIRE(store->CreateRun(r).ok());

  auto got = store->GetRun("20261128T030000-aa");
  REQUIRE(got.ok());
  CHECK(got->tags == a.tags);
  CHECK(got->note == "first try");
  CHECK(store->GetRun(c.run_id)->tags.empty());

  auto ids = [&](std::map<std::string, std::string> tags) {
    RunFilter filter;
    filter.tags = std::move(tags);
    auto runs = store->ListRuns(filter);
    REQUIRE(runs.ok());
    std::set<std::string> out;
    for (const auto& r : *runs) out.insert(r.run_id);
    return out;
  };
  CHECK(ids({{"team", "recs"}}) == std::set<std::string>{a.run_id, b.run_id});
  CHECK(ids({{"team", "recs"}, {"exp", "lr"}}) == std::set<std::string>{a.run_id});
  CHECK(ids({{"team", "other"}}).empty());
  CHECK(ids({}).size() == 3);
}

TEST_CASE("state store records tasks, attempts, metrics, artifacts and events") {
  TempDir home;
  auto store = OpenStore(home.path());
  REQUIRE(store->CreateRun(MakeRun("r1")).ok());

  TaskRecord t;
  t.run_id = "r1";
  t.step = "sweep";
  t.item_index = 0;
  t.item = 0.01;
  Result<int64_t> id = store->CreateTask(t);
  REQUIRE(id.ok());
  CHECK(store->CreateTask(t).status().code() == Code::kAlreadyExists);
  t.item_index = 1;
  t.item = 0.03;
  Result<int64_t> id2 = store->CreateTask(t);
  REQUIRE(id2.ok());
  TaskRecord orphan;
  orphan.run_id = "no-such-run";
  orphan.step = "x";
  CHECK(store->CreateTask(orphan).status().code() == Code::kInvalidArgument);

  REQUIRE(store->UpdateTask(*id, TaskStatus::kRunning).ok());
  AttemptRecord a1;
  a1.task_id = *id;
  a1.attempt = 1;
  a1.log_path = "logs/r1/sweep/1.log";
  REQUIRE(store->StartAttempt(a1).ok());
  CHECK(store->StartAttempt(a1).code() == Code::kAlreadyExists);
  REQUIRE(store->FinishAttempt(*id, 1, AttemptStatus::kFailed, "boom", 3).ok());
  AttemptRecord a2 = a1;
  a2.attempt = 2;
  REQUIRE(store->StartAttempt(a2).ok());
  REQUIRE(store->FinishAttempt(*id, 2, AttemptStatus::kSucceeded).ok());
  CHECK(store->FinishAttempt(*id, 7, AttemptStatus::kSucceeded).code() == Code::kNotFound);
  Json outputs = {{"model", "sha256:abc"}, {"loss", 0.5}};
  REQUIRE(store->UpdateTask(*id, TaskStatus::kSucceeded, &outputs).ok());
  REQUIRE(store->UpdateTask(*id2, TaskStatus::kUpstreamFailed, nullptr, std::string("gate failed"))
              .ok());

  auto tasks = store->GetTasks("r1");
  REQUIRE(tasks.ok());
  REQUIRE(tasks->size() == 2);
  const TaskRecord& first = (*tasks)[0];
  CHECK(first.task_id == *id);
  CHECK(first.item == Json(0.01));
  CHECK(ToString(first.status) == "succeeded");
  CHECK(first.attempts == 2);
  CHECK(first.outputs == outputs);
  CHECK(first.started_at.has_value());
  CHECK(first.ended_at.has_value());
  CHECK((*tasks)[1].error == "gate failed");
  CHECK((*tasks)[1].outputs == Json::object());

  auto attempts = store->GetAttempts(*id);
  REQUIRE(attempts.ok());
  REQUIRE(attempts->size() == 2);
  CHECK(ToString((*attempts)[0].status) == "failed");
  CHECK((*attempts)[0].error == "boom");
  CHECK((*attempts)[0].exit_code == 3);
  CHECK((*attempts)[0].log_path == "logs/r1/sweep/1.log");
  CHECK((*attempts)[0].ended_at.has_value());
  CHECK(ToString((*attempts)[1].status) == "succeeded");
  CHECK(!(*attempts)[1].exit_code.has_value());
  CHECK(store->GetRunAttempts("r1")->size() == 2);

  auto metric = [](std::optional<int64_t> task, const char* key, double value, int64_t step) {
    MetricRecord m;
    m.run_id = "r1";
    m.task_id = task;
    m.key = key;
    m.value = value;
    m.step = step;
    return m;
  };
  for (int epoch = 0; epoch < 3; ++epoch) {
    REQUIRE(store->AddMetric(metric(*id, "loss", 1.0 / (epoch + 1), epoch)).ok());
  }
  REQUIRE(store->AddMetric(metric(std::nullopt, "rows", NAN, -1)).ok());
  auto metrics = store->GetMetrics("r1");
  REQUIRE(metrics.ok());
  REQUIRE(metrics->size() == 4);
  CHECK((*metrics)[0].task_step == "");  // the run-level metric sorts first
  CHECK(std::isnan((*metrics)[0].value));
  CHECK((*metrics)[1].key == "loss");
  CHECK((*metrics)[1].task_step == "sweep");
  CHECK((*metrics)[3].value == doctest::Approx(1.0 / 3));

  ArtifactRecord art;
  art.run_id = "r1";
  art.task_id = *id;
  art.name = "model";
  art.uri = "sha256:abc";
  art.size = 42;
  REQUIRE(store->AddArtifact(art).ok());
  auto arts = store->GetArtifacts("r1");
  REQUIRE(arts->size() == 1);
  CHECK((*arts)[0].step == "sweep");
  CHECK((*arts)[0].size == 42);

  EventRecord ev;
  ev.run_id = "r1";
  ev.kind = "gate.decision";
  ev.payload = {{"passed", false}};
  REQUIRE(store->AddEvent(ev).ok());
  EventRecord global;
  global.kind = "model.promoted";
  REQUIRE(store->AddEvent(global).ok());
  auto events = store->GetEvents("r1");
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].payload == Json{{"passed", false}});
  auto promoted = store->ListEvents("model.promoted");
  REQUIRE(promoted->size() == 1);
  CHECK(promoted->front().run_id.empty());
  CHECK(store->ListEvents("")->size() == 2);
}

TEST_CASE("state store transactions nest: inner failures undo only their own writes") {
  TempDir home;
  auto store = OpenStore(home.path());
  Status s = store->Transaction([&]() -> Status {
    REEL_RETURN_IF_ERROR(store->CreateRun(MakeRun("outer")));
    Status inner = store->Transaction([&]() -> Status {
      REEL_RETURN_IF_ERROR(store->CreateRun(MakeRun("inner")));
      return Status::Failed("inner gives up");
    });
    CHECK(inner.code() == Code::kFailed);
    return store->Transaction([&] { return store->CreateRun(MakeRun("second")); });
  });
  REQUIRE(s.ok());
  CHECK(store->GetRun("outer").ok());
  CHECK(store->GetRun("inner").status().code() == Code::kNotFound);
  CHECK(store->GetRun("second").ok());

  s = store->Transaction([&]() -> Status {
    REEL_RETURN_IF_ERROR(store->CreateRun(MakeRun("doomed")));
    return store->CreateRun(MakeRun("outer"));  // duplicate: the whole transaction fails
  });
  CHECK(s.code() == Code::kAlreadyExists);
  CHECK(store->GetRun("doomed").status().code() == Code::kNotFound);

  CHECK_THROWS(store->Transaction([&]() -> Status {
    REQUIRE(store->CreateRun(MakeRun("thrown")).ok());
    throw std::runtime_error("bug");
  }));
  CHECK(store->GetRun("thrown").status().code() == Code::kNotFound);
  CHECK(!store->db().in_transaction());
  CHECK(store->CreateRun(MakeRun("after")).ok());
}

TEST_CASE("two connections write concurrently without errors reaching the caller") {
  TempDir home;
  auto store_a = OpenStore(home.path());
  auto store_b = OpenStore(home.path());
  constexpr int kThreadsPerStore = 2;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::atomic<int> runs_done{0};
  std::atomic<int> tasks_done{0};
  std::mutex error_mu;
  std::string first_error;
  auto record_error = [&](const Status& s) {
    if (s.ok()) return;
    ++errors;
    std::lock_guard<std::mutex> lock(error_mu);
    if (first_error.empty()) first_error = s.ToString();
  };
  auto worker = [&](StateStore* store, int id) {
    for (int n = 0; !stop.load(); ++n) {
      std::string run_id = fmt::format("w{}-{}", id, n);
      record_error(store->CreateRun(MakeRun(run_id)));
      for (int t = 0; t < 5; ++t) {
        Status s = store->Transaction([&]() -> Status {
          TaskRecord task;
          task.run_id = run_id;
          task.step = fmt::format("s{}", t);
          Result<int64_t> task_id = store->CreateTask(task);
          if (!task_id.ok()) return task_id.status();
          AttemptRecord attempt;
          attempt.task_id = *task_id;
          REEL_RETURN_IF_ERROR(store->StartAttempt(attempt));
          REEL_RETURN_IF_ERROR(store->FinishAttempt(*task_id, 1, AttemptStatus::kSucceeded));
          return store->UpdateTask(*task_id, TaskStatus::kSucceeded);
        });
        record_error(s);
        if (s.ok()) ++tasks_done;
      }
      record_error(store->UpdateRunStatus(run_id, RunStatus::kSucceeded));
      ++runs_done;
    }
  };
  auto reader = [&](StateStore* store) {
    while (!stop.load()) {
      auto runs = store->ListRuns({});
      record_error(runs.status());
      if (runs.ok() && !runs->empty()) record_error(store->GetTasks(runs->front().run_id).status());
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreadsPerStore; ++i) {
    threads.emplace_back(worker, store_a.get(), i);
    threads.emplace_back(worker, store_b.get(), 100 + i);
  }
  threads.emplace_back(reader, store_a.get());
  threads.emplace_back(reader, store_b.get());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stop = true;
  for (auto& t : threads) t.join();

  CHECK_MESSAGE(errors.load() == 0, first_error);
  CHECK(runs_done.load() > 0);
  RunFilter all;
  all.limit = 0;
  all.status = RunStatus::kSucceeded;
  CHECK(static_cast<int>(store_b->ListRuns(all)->size()) == runs_done.load());
  Result<Stmt> count = store_a->db().Prepare(
      "SELECT count(*) FROM tasks t JOIN attempts a USING(task_id) WHERE t.status = 'succeeded'"
      " AND t.attempts = 1 AND a.status = 'succeeded'");
  REQUIRE(count.ok());
  REQUIRE(*count->Step());
  CHECK(count->Int(0) == tasks_done.load());
}

TEST_CASE("a writer waits out another connection's long transaction, up to lock_wait") {
  TempDir home;
  auto holder = OpenStore(home.path());
  Database::Options patient;
  patient.lock_wait = std::chrono::seconds(60);
  auto waiter = OpenStateStore(home.path(), patient);
  Database::Options impatient;
  impatient.lock_wait = std::chrono::milliseconds(200);
  auto hasty = OpenStateStore(home.path(), impatient);
  REQUIRE((waiter.ok() && hasty.ok()));

  std::atomic<bool> hasty_done{false};
  Status hasty_status, waiter_status;
  std::thread writer;
  // Hold the write lock longer than SQLite's own busy handler waits (1 s) while the others
  // try to write; release it only after the impatient one has given up.
  Status held = holder->Transaction([&]() -> Status {
    REEL_RETURN_IF_ERROR(holder->CreateRun(MakeRun("first")));
    writer = std::thread([&] { waiter_status = (*waiter)->CreateRun(MakeRun("second")); });
    hasty_status = (*hasty)->CreateRun(MakeRun("third"));
    hasty_done = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return Status::Ok();
  });
  writer.join();
  REQUIRE(held.ok());
  CHECK(hasty_done.load());
  CHECK(hasty_status.code() == Code::kTimeout);
  CHECK(hasty_status.message().find("reel.db") != std::string::npos);
  CHECK(hasty_status.message().find("locked by another process") != std::string::npos);
  CHECK_MESSAGE(waiter_status.ok(), waiter_status.ToString());
  CHECK(holder->GetRun("second").ok());
  CHECK(holder->GetRun("third").status().code() == Code::kNotFound);
}

TEST_CASE("state store reports a damaged database file clearly") {
  TempDir home;
  reel::testing::WriteFile(home / "reel.db", std::string(8192, 'z'));
  auto store = OpenStateStore(home.path());
  REQUIRE(!store.ok());
  CHECK(store.status().message().find("reel.db") != std::string::npos);
  CHECK(store.status().message().find("not a reel database") != std::string::npos);
}

TEST_CASE("state store keeps JSON with invalid UTF-8 instead of throwing") {
  TempDir home;
  auto store = OpenStore(home.path());
  RunRecord run = MakeRun("r");
  run.params = {{"name", std::string("bad \xff byte")}};
  REQUIRE(store->CreateRun(run).ok());
  CHECK(store->GetRun("r")->params["name"].get<std::string>().find("bad") == 0);
}

TEST_CASE("state store keeps free text as valid UTF-8") {
  TempDir home;
  auto store = OpenStore(home.path());
  REQUIRE(store->CreateRun(MakeRun("r")).ok());
  TaskRecord t;
  t.run_id = "r";
  t.step = "s";
  auto id = store->CreateTask(t);
  REQUIRE(id.ok());
  AttemptRecord a;
  a.task_id = *id;
  a.attempt = 1;
  REQUIRE(store->StartAttempt(a).ok());
  const std::string bad = "exit 3; output: bad \xFF\xFE bytes";
  REQUIRE(store->FinishAttempt(*id, 1, AttemptStatus::kFailed, bad, 3).ok());
  REQUIRE(store->UpdateTask(*id, TaskStatus::kFailed, nullptr, bad).ok());
  REQUIRE(store->UpdateRunStatus("r", RunStatus::kFailed, bad).ok());
  REQUIRE(store->AddMetric({.run_id = "r", .task_id = *id, .key = "loss\xFF", .value = 1}).ok());
  const std::string repaired = "exit 3; output: bad \xEF\xBF\xBD\xEF\xBF\xBD bytes";
  CHECK(store->GetRunAttempts("r")->at(0).error == repaired);
  CHECK(store->GetTask(*id)->error == repaired);
  CHECK(store->GetRun("r")->error == repaired);
  CHECK(store->GetMetrics("r")->at(0).key == "loss\xEF\xBF\xBD");
}

TEST_CASE("orphaned runs of dead processes are reaped; live ones are not") {
  TempDir home;
  auto store = OpenStore(home.path());
  const int64_t now = NowMillis();

  RunRecord dead = MakeRun("dead");
  dead.status = RunStatus::kRunning;
  dead.pid = DeadPid();
  RunRecord mine = MakeRun("mine");
  mine.status = RunStatus::kRunning;
  mine.heartbeat_at = now - 3'600'000;  // stale, but this process is plainly alive
  RunRecord remote_stale = MakeRun("remote-stale");
  remote_stale.host = "some-other-host.example";
  remote_stale.pid = 1;
  remote_stale.heartbeat_at = now - 600'000;
  RunRecord remote_fresh = MakeRun("remote-fresh");
  remote_fresh.host = "some-other-host.example";
  remote_fresh.pid = 1;
  RunRecord finished = MakeRun("finished");
  finished.status = RunStatus::kSucceeded;
  finished.pid = dead.pid;
  for (const RunRecord& r : {dead, mine, remote_stale, remote_fresh, finished}) {
    REQUIRE(store->CreateRun(r).ok());
  }
  TaskRecord running_task;
  running_task.run_id = "dead";
  running_task.step = "train";
  running_task.status = TaskStatus::kRunning;
  Result<int64_t> running_id = store->CreateTask(running_task);
  TaskRecord queued_task = running_task;
  queued_task.step = "eval";
  queued_task.status = TaskStatus::kQueued;
  Result<int64_t> queued_id = store->CreateTask(queued_task);
  REQUIRE((running_id.ok() && queued_id.ok()));
  AttemptRecord attempt;
  attempt.task_id = *running_id;
  REQUIRE(store->StartAttempt(attempt).ok());

  auto reaped = store->ReapOrphanedRuns(std::chrono::minutes(5));
  REQUIRE(reaped.ok());
  CHECK(std::set<std::string>(reaped->begin(), reaped->end()) ==
        std::set<std::string>{"dead", "remote-stale"});

  Result<RunRecord> run = store->GetRun("dead");
  CHECK(ToString(run->status) == "failed");
  CHECK(run->ended_at.has_value());
  CHECK(run->error.find("exited") != std::string::npos);
  CHECK(run->error.find("reel resume dead") != std::string::npos);
  CHECK(store->GetRun("remote-stale")->error.find("no heartbeat for 10 min") != std::string::npos);
  CHECK(ToString(store->GetRun("mine")->status) == "running");
  CHECK(ToString(store->GetRun("remote-fresh")->status) == "queued");
  CHECK(ToString(store->GetRun("finished")->status) == "succeeded");
  CHECK(ToString(store->GetTask(*running_id)->status) == "failed");
  CHECK(ToString(store->GetTask(*queued_id)->status) == "cancelled");
  CHECK(ToString(store->GetAttempts(*running_id)->front().status) == "failed");
  auto events = store->GetEvents("dead");
  REQUIRE(events->size() == 1);
  CHECK(events->front().kind == "run.reaped");

  // Reaping again finds nothing new.
  CHECK(store->ReapOrphanedRuns(std::chrono::minutes(5))->empty());
}

TEST_CASE("a stopped process on this host is never reaped; a reused pid is") {
  TempDir home;
  auto store = OpenStore(home.path());
  // A live process that sends no heartbeat: stopped, as by Ctrl-Z or a suspended machine.
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  REQUIRE(child > 0);
  ::kill(child, SIGSTOP);
  const int64_t hour_ago = NowMillis() - 3'600'000;
  RunRecord paused = MakeRun("paused");
  paused.status = RunStatus::kRunning;
  paused.pid = child;
  paused.heartbeat_at = hour_ago;
  RunRecord reused = MakeRun("reused");  // same pid, but recorded for another process
  reused.status = RunStatus::kRunning;
  reused.pid = child;
  reused.pid_start = "another-boot/12345";
  reused.heartbeat_at = hour_ago;
  REQUIRE(store->CreateRun(paused).ok());
  REQUIRE(store->CreateRun(reused).ok());
  CHECK(store->GetRun("paused")->pid_start == ProcessStartId(child));
  CHECK_FALSE(store->GetRun("paused")->pid_start.empty());

  auto other = OpenStore(home.path());  // the next command, in another process
  auto reaped = other->ReapOrphanedRuns(std::chrono::minutes(2));
  REQUIRE(reaped.ok());
  CHECK(*reaped == std::vector<std::string>{"reused"});
  CHECK(ToString(other->GetRun("paused")->status) == "running");

  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  reaped = other->ReapOrphanedRuns(std::chrono::minutes(2));
  CHECK(*reaped == std::vector<std::string>{"paused"});
}

TEST_CASE("a process that exited but is not reaped yet counts as gone") {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  // Until waitpid, the child is a zombie: kill(pid, 0) still succeeds.
  for (int i = 0; i < 200 && ProcessAlive(child); ++i) ::usleep(10'000);
  CHECK_FALSE(ProcessAlive(child));
  CHECK(ProcessStartId(child).empty());
  CHECK(::kill(child, 0) == 0);
  ::waitpid(child, nullptr, 0);
  CHECK(ProcessAlive(::getpid()));
  CHECK_FALSE(ProcessStartId(::getpid()).empty());
}

TEST_CASE("a run taken from a silent process on another host rejects that process's writes") {
  TempDir home;
  auto owner = OpenStore(home.path());  // executes the run on "its" host
  auto reaper = OpenStore(home.path());
  CHECK(owner->owner_token() != reaper->owner_token());
  RunRecord run = MakeRun("remote");
  run.status = RunStatus::kRunning;
  run.host = "some-other-host.example";
  run.heartbeat_at = NowMillis() - 600'000;
  REQUIRE(owner->CreateRun(run).ok());
  TaskRecord task;
  task.run_id = "remote";
  task.step = "train";
  task.status = TaskStatus::kRunning;
  auto task_id = owner->CreateTask(task);
  REQUIRE(task_id.ok());
  // Writes of the owner go through while it owns the run; nobody else's run writes do.
  CHECK(owner->Heartbeat("remote").ok());
  CHECK(reaper->UpdateTask(*task_id, TaskStatus::kSucceeded).code() == Code::kConflict);

  // Make it silent again and let the lease run out.
  REQUIRE(owner->db().Exec("UPDATE runs SET heartbeat_at = 0 WHERE run_id = 'remote'").ok());
  auto reaped = reaper->ReapOrphanedRuns(std::chrono::minutes(2));
  REQUIRE(reaped.ok());
  CHECK(*reaped == std::vector<std::string>{"remote"});

  // The old owner comes back: every write for the run is refused, nothing is overwritten.
  Status beat = owner->Heartbeat("remote");
  CHECK(beat.code() == Code::kConflict);
  CHECK(beat.message().find("no longer executes run remote") != std::string::npos);
  CHECK(beat.message().find("no heartbeat") != std::string::npos);
  CHECK(owner->UpdateTask(*task_id, TaskStatus::kSucceeded).code() == Code::kConflict);
  CHECK(owner->UpdateRunStatus("remote", RunStatus::kSucceeded).code() == Code::kConflict);
  AttemptRecord attempt;
  attempt.task_id = *task_id;
  CHECK(owner->StartAttempt(attempt).code() == Code::kConflict);
  MetricRecord metric;
  metric.run_id = "remote";
  metric.key = "loss";
  CHECK(owner->AddMetric(metric).code() == Code::kConflict);
  CHECK(ToString(reaper->GetRun("remote")->status) == "failed");
  CHECK(ToString(reaper->GetTask(*task_id)->status) == "failed");
}

TEST_CASE("claims: one run per logical date, one active or successful resume per run") {
  TempDir home;
  auto a = OpenStore(home.path());
  auto b = OpenStore(home.path());
  CHECK(a->ClaimLogicalDate("wf", "2026-03-01", "").ok());
  RunRecord first = MakeRun("first");
  first.logical_date = "2026-03-01";
  REQUIRE(a->CreateRun(first).ok());
  // b decided before `first` existed: its claim fails and names the run it lost to.
  Status lost = b->ClaimLogicalDate("wf", "2026-03-01", "");
  CHECK(lost.code() == Code::kConflict);
  CHECK(lost.message().find("another process started run first") != std::string::npos);
  CHECK(b->ClaimLogicalDate("wf", "2026-03-01", "first").ok());
  CHECK(b->ClaimLogicalDate("wf", "2026-03-02", "").ok());

  CHECK(a->ClaimResume("first").ok());
  RunRecord resume = MakeRun("resume-1");
  resume.origin_run_id = "first";
  resume.trigger = RunTrigger::kResume;
  resume.status = RunStatus::kRunning;
  REQUIRE(a->CreateRun(resume).ok());
  Status busy = b->ClaimResume("first");
  CHECK(busy.code() == Code::kConflict);
  CHECK(busy.message().find("already being resumed by run resume-1") != std::string::npos);
  REQUIRE(a->UpdateRunStatus("resume-1", RunStatus::kFailed).ok());
  CHECK(b->ClaimResume("first").ok());  // a failed resume may be tried again
  REQUIRE(a->UpdateRunStatus("resume-1", RunStatus::kSucceeded).ok());
  CHECK(b->ClaimResume("first").message().find("which succeeded") != std::string::npos);
  CHECK(b->ClaimResume("first", /*again=*/true).ok());  // --from runs steps again on purpose
}

TEST_CASE("cancel requests are recorded for the executing process to see") {
  TempDir home;
  auto store = OpenStore(home.path());
  auto other = OpenStore(home.path());  // as `reel cancel` in another process
  RunRecord run = MakeRun("20261128T030000-abcdef");
  run.status = RunStatus::kRunning;
  REQUIRE(store->CreateRun(run).ok());
  CHECK(!store->CancelRequested(run.run_id));
  REQUIRE(other->RequestCancel("20261128T030000-abc").ok());  // a prefix will do
  CHECK(store->CancelRequested(run.run_id));
  CHECK(ToString(store->GetRun(run.run_id)->status) ==
        "running");  // the executor decides when to stop
  CHECK(other->RequestCancel("nope").code() == Code::kNotFound);
  CHECK(!store->CancelRequested("nope"));

  REQUIRE(store->UpdateRunStatus(run.run_id, RunStatus::kCancelled).ok());
  Status late = other->RequestCancel(run.run_id);
  CHECK(late.code() == Code::kConflict);
  CHECK(late.message().find("already finished") != std::string::npos);

  // A run whose process is gone is cancelled on the spot.
  RunRecord abandoned = MakeRun("abandoned");
  abandoned.status = RunStatus::kRunning;
  abandoned.pid = DeadPid();
  REQUIRE(store->CreateRun(abandoned).ok());
  TaskRecord task;
  task.run_id = "abandoned";
  task.step = "s";
  task.status = TaskStatus::kRunning;
  Result<int64_t> task_id = store->CreateTask(task);
  REQUIRE(task_id.ok());
  REQUIRE(other->RequestCancel("abandoned").ok());
  CHECK(ToString(store->GetRun("abandoned")->status) == "cancelled");
  CHECK(ToString(store->GetTask(*task_id)->status) == "cancelled");
}

TEST_CASE("run ids sort by time and do not collide; times render as ISO-8601") {
  // YYYYMMDDTHHMMSS-xxxxxx
  auto shape_ok = [](const std::string& id) {
    if (id.size() != 22 || id[8] != 'T' || id[15] != '-') return false;
    for (size_t i = 0; i < id.size(); ++i) {
      if (i == 8 || i == 15) continue;
      bool digit = id[i] >= '0' && id[i] <= '9';
      if (i < 15 ? !digit : !(digit || (id[i] >= 'a' && id[i] <= 'f'))) return false;
    }
    return true;
  };
  std::set<std::string> ids;
  std::string previous;
  for (int i = 0; i < 20000; ++i) {
    std::string id = NewRunId();
    REQUIRE(shape_ok(id));
    REQUIRE(id > previous);
    previous = id;
    ids.insert(id);
  }
  CHECK(ids.size() == 20000);

  CHECK(FormatMillisIso(0) == "1970-01-01T00:00:00.000Z");
  CHECK(FormatMillisIso(1795921500123) == "2026-11-29T03:05:00.123Z");
  CHECK(FormatMillisIso(1795921500123, false) == "2026-11-29T03:05:00Z");
  CHECK(FormatMillisIso(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("state store: a cache key finds the latest succeeded task, and lends what it made") {
  TempDir home;
  auto store = OpenStore(home.path());
  for (const char* id : {"r1", "r2", "r3"}) REQUIRE(store->CreateRun(MakeRun(id)).ok());
  auto task = [&](const std::string& run, TaskStatus status) {
    TaskRecord t;
    t.run_id = run;
    t.step = "train";
    t.status = status;
    t.outputs = {{"rows", run == "r1" ? 1 : 2}};
    auto id = store->CreateTask(t);
    REQUIRE(id.ok());
    return *id;
  };
  Json parts = {{"operator", "shell"}, {"params", {{"x", 1}}}};
  int64_t t1 = task("r1", TaskStatus::kSucceeded);
  REQUIRE(store->SetTaskCacheKey(t1, "sha256:k", parts).ok());
  REQUIRE(
      store
          ->AddArtifact({.run_id = "r1", .task_id = t1, .name = "m", .uri = "sha256:aa", .size = 3})
          .ok());
  REQUIRE(store->AddMetric({.run_id = "r1", .task_id = t1, .key = "loss", .value = 0.5, .step = 2})
              .ok());
  int64_t failed = task("r2", TaskStatus::kFailed);
  REQUIRE(store->SetTaskCacheKey(failed, "sha256:k", parts).ok());

  // A failed task is never lent; the run asking is excluded.
  auto hit = store->FindCachedTask("sha256:k", "r3");
  REQUIRE(hit.ok());
  REQUIRE(hit->has_value());
  CHECK((*hit)->task_id == t1);
  CHECK((*hit)->run_id == "r1");
  CHECK((*hit)->outputs["rows"] == 1);
  REQUIRE((*hit)->artifacts.size() == 1);
  CHECK((*hit)->artifacts[0].uri == "sha256:aa");
  REQUIRE((*hit)->metrics.size() == 1);
  CHECK((*hit)->metrics[0].step == 2);
  CHECK_FALSE(store->FindCachedTask("sha256:k", "r1")->has_value());
  CHECK_FALSE(store->FindCachedTask("sha256:other", "r3")->has_value());

  // Completing from the cache copies outputs, artifacts and metrics, and names the origin; a
  // later lookup that finds the copy still names the task that ran.
  int64_t t3 = task("r3", TaskStatus::kQueued);
  REQUIRE(store->CompleteFromCache(t3, "sha256:k", parts, **hit).ok());
  auto got = store->GetTask(t3);
  REQUIRE(got.ok());
  CHECK(got->status == TaskStatus::kSucceeded);
  CHECK(got->outputs["rows"] == 1);
  CHECK(got->cache_key == "sha256:k");
  CHECK(got->cache_parts == parts);
  CHECK(got->cache_from_task == t1);
  CHECK(got->cache_from_run == "r1");
  CHECK(store->GetArtifacts("r3")->size() == 1);
  CHECK(store->GetMetrics("r3")->size() == 1);
  REQUIRE(store->CreateRun(MakeRun("r4")).ok());
  auto again = store->FindCachedTask("sha256:k", "r4");
  REQUIRE(again.ok());
  REQUIRE(again->has_value());
  CHECK((*again)->task_id == t1);
  CHECK((*again)->run_id == "r1");

  // What explain compares with: the latest earlier keyed task of the step in the workflow.
  auto previous = store->PreviousKeyedTask("wf", "train", -1, t3);
  REQUIRE(previous.ok());
  REQUIRE(previous->has_value());
  CHECK((*previous)->task_id == failed);
  CHECK_FALSE(store->PreviousKeyedTask("other_wf", "train", -1, t3)->has_value());
  CHECK_FALSE(store->PreviousKeyedTask("wf", "train", -1, t1)->has_value());
}
