#include "engine/store/sqlite.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <thread>

#include <fmt/format.h>
#include <sqlite3.h>

namespace reel {
namespace {

using Clock = std::chrono::steady_clock;

bool IsBusy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Sleeps a little (growing, jittered) before the next try of a busy operation; false once
// `deadline` has passed.
bool BackoffUntil(Clock::time_point deadline, int attempt) {
  if (Clock::now() >= deadline) return false;
  thread_local std::minstd_rand rng{std::random_device{}()};
  int cap_us = std::min(50000, 200 << std::min(attempt, 8));
  std::this_thread::sleep_for(std::chrono::microseconds(100 + rng() % cap_us));
  return true;
}

}  // namespace

// ----- Stmt -----

Stmt::Stmt(Database* db, sqlite3_stmt* stmt, bool* in_use)
    : db_(db), stmt_(stmt), in_use_(in_use), lock_(db->mu_) {}

Stmt::Stmt(Stmt&& other) noexcept
    : db_(other.db_),
      stmt_(other.stmt_),
      in_use_(other.in_use_),
      stepped_row_(other.stepped_row_),
      bind_error_(other.bind_error_),
      lock_(std::move(other.lock_)) {
  other.stmt_ = nullptr;
}

Stmt::~Stmt() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (in_use_ != nullptr) {
    *in_use_ = false;  // mu_ is still held through lock_
  } else {
    sqlite3_finalize(stmt_);
  }
}

Stmt& Stmt::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::BindStatic(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int index, std::nullopt_t) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Result<bool> Stmt::Step() {
  if (bind_error_ != 0) return db_->Error(bind_error_, "binding statement parameters");
  // Only a step that may be retried reads the clock: a loop that steps through a query's rows
  // or runs a statement per row in a transaction would otherwise pay for it on every row.
  std::optional<Clock::time_point> deadline;
  if (!stepped_row_ && sqlite3_get_autocommit(db_->db_)) {
    deadline = Clock::now() + db_->options_.lock_wait;
  }
  for (int attempt = 0;; ++attempt) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
      stepped_row_ = true;
      return true;
    }
    if (rc == SQLITE_DONE) return false;
    // A busy statement may be retried only in autocommit mode and before it returned rows;
    // inside BEGIN IMMEDIATE this connection already holds the write lock.
    const bool may_retry = IsBusy(rc) && !stepped_row_ && sqlite3_get_autocommit(db_->db_);
    if (may_retry && !deadline) deadline = Clock::now() + db_->options_.lock_wait;
    if (may_retry && BackoffUntil(*deadline, attempt)) {
      sqlite3_reset(stmt_);
      continue;
    }
    std::string what = fmt::format("running '{}'", sqlite3_sql(stmt_));
    sqlite3_reset(stmt_);
    return db_->Error(rc, what);
  }
}

Status Stmt::Run() {
  for (;;) {
    REEL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  stepped_row_ = false;
  bind_error_ = 0;
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::Double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Stmt::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<int64_t> Stmt::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::optional<std::string> Stmt::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

int64_t Stmt::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_->db_); }
int Stmt::Changes() const { return sqlite3_changes(db_->db_); }

// ----- Database -----

Result<std::unique_ptr<Database>> Database::Open(const std::filesystem::path& path,
                                                 Options options) {
  // A database reel creates is its owner's alone (0600, whatever the umask); SQLite gives its
  // -wal and -shm files the database's mode.
  if (!path.empty() && path != ":memory:" && !path.string().starts_with("file:")) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      (void)::fchmod(fd, 0600);
      ::close(fd);
    }
  }
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return Status::IoError(fmt::format("cannot open database '{}': {}", path.string(), msg));
  }
  sqlite3_extended_result_codes(raw, 1);
  // SQLite's busy handler covers short waits inside a call; our loops retry longer ones (up to
  // lock_wait) with a deadline of their own.
  sqlite3_busy_timeout(raw, static_cast<int>(std::min<int64_t>(options.lock_wait.count(), 1000)));
  std::unique_ptr<Database> db(new Database(raw, path, options));
  std::lock_guard<std::recursive_mutex> lock(db->mu_);
  if (options.wal) {
    // Switching to WAL needs a moment without other writers; it persists in the file.
    REEL_RETURN_IF_ERROR(db->ExecLocked("PRAGMA journal_mode=WAL"));
    REEL_RETURN_IF_ERROR(db->ExecLocked("PRAGMA synchronous=NORMAL"));
  }
  REEL_RETURN_IF_ERROR(db->ExecLocked("PRAGMA foreign_keys=ON"));
  return db;
}

Database::~Database() {
  for (auto& [sql, entry] : cache_) sqlite3_finalize(entry.stmt);
  sqlite3_close_v2(db_);
}

Status Database::Error(int rc, std::string_view what) const {
  std::string detail =
      (db_ != nullptr && sqlite3_errcode(db_) == rc) ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string msg = fmt::format("database '{}': {}: {}", path_.string(), what, detail);
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return Status::AlreadyExists(std::move(msg));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return Status::InvalidArgument(std::move(msg));
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Timeout(
          fmt::format("database '{}' stayed locked by another process for more than {} s while {}; "
                      "check for a stuck reel process using the same home",
                      path_.string(), options_.lock_wait.count() / 1000, what));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::IoError(fmt::format(
          "database '{}' is damaged or is not a reel database ({}); restore it from a backup "
          "or point --home elsewhere",
          path_.string(), detail));
    case SQLITE_FULL:
      return Status::IoError(
          fmt::format("database '{}': the disk is full ({})", path_.string(), what));
    default:
      return Status::IoError(std::move(msg));
  }
}

Status Database::ExecLocked(std::string_view sql) {
  std::string text(sql);
  Clock::time_point deadline = Clock::now() + options_.lock_wait;
  for (int attempt = 0;; ++attempt) {
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return Status::Ok();
    if (IsBusy(rc) && depth_ == 0 && sqlite3_get_autocommit(db_) &&
        BackoffUntil(deadline, attempt)) {
      continue;
    }
    return Error(rc,
                 fmt::format("running '{}'", text.size() > 80 ? text.substr(0, 80) + "..." : text));
  }
}

Status Database::Exec(std::string_view sql) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return ExecLocked(sql);
}

Result<Stmt> Database::Prepare(std::string_view sql) {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Stmt(this, it->second.stmt, &it->second.in_use);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              it == cache_.end() ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return Error(rc, fmt::format("preparing '{}'", sql));
  }
  if (it == cache_.end()) {
    auto inserted = cache_.emplace(std::string(sql), CacheEntry{stmt, true}).first;
    return Stmt(this, stmt, &inserted->second.in_use);
  }
  return Stmt(this, stmt, nullptr);
}

int Database::Control(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return rc;
    it = cache_.emplace(std::string(sql), CacheEntry{stmt, false}).first;
  }
  sqlite3_stmt* stmt = it->second.stmt;
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

Status Database::BeginImmediate() {
  Clock::time_point deadline = Clock::now() + options_.lock_wait;
  for (int attempt = 0;; ++attempt) {
    int rc = Control("BEGIN IMMEDIATE");
    if (rc == SQLITE_OK) return Status::Ok();
    if (IsBusy(rc) && BackoffUntil(deadline, attempt)) continue;
    return Error(rc, "starting a write transaction");
  }
}

Status Database::Transaction(const std::function<Status()>& body, Nesting nesting) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (depth_ > 0) {
    if (nesting == Nesting::kJoin) return body();
    // Savepoint statements are cached per depth, like any other statement.
    const std::string name = fmt::format("reel_sp{}", depth_);
    auto undo = [&] {
      Control("ROLLBACK TO " + name);
      Control("RELEASE " + name);
    };
    if (int rc = Control("SAVEPOINT " + name); rc != SQLITE_OK) {
      return Error(rc, "starting a savepoint");
    }
    ++depth_;
    Status s;
    try {
      s = body();
    } catch (...) {
      --depth_;
      undo();
      throw;
    }
    --depth_;
    if (!s.ok()) {
      undo();
      return s;
    }
    if (int rc = Control("RELEASE " + name); rc != SQLITE_OK) {
      return Error(rc, "releasing a savepoint");
    }
    return Status::Ok();
  }

  REEL_RETURN_IF_ERROR(BeginImmediate());
  depth_ = 1;
  Status s;
  try {
    s = body();
  } catch (...) {
    depth_ = 0;
    Control("ROLLBACK");
    throw;
  }
  depth_ = 0;
  if (!s.ok()) {
    Control("ROLLBACK");
    return s;
  }
  // In WAL mode COMMIT rarely reports busy; when it does the transaction stays open and the
  // COMMIT can simply be retried.
  Clock::time_point deadline = Clock::now() + options_.lock_wait;
  for (int attempt = 0;; ++attempt) {
    int rc = Control("COMMIT");
    if (rc == SQLITE_OK) return Status::Ok();
    if (IsBusy(rc) && !sqlite3_get_autocommit(db_) && BackoffUntil(deadline, attempt)) continue;
    Status err = Error(rc, "committing a write transaction");
    if (!sqlite3_get_autocommit(db_)) Control("ROLLBACK");
    return err;
  }
}

Result<int> Database::UserVersion() {
  REEL_ASSIGN_OR_RETURN(Stmt st, Prepare("PRAGMA user_version"));
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? static_cast<int>(st.Int(0)) : 0;
}

Status Database::Migrate(std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Status::Internal(fmt::format(
          "migration list for '{}' is out of order: entry {} has version {}, expected {}",
          path_.string(), i, migrations[i].version, i + 1));
    }
  }
  const int latest = static_cast<int>(migrations.size());
  REEL_ASSIGN_OR_RETURN(int current, UserVersion());
  if (current > latest) {
    return Status::InvalidArgument(
        fmt::format("database '{}' has schema version {}, newer than this reel understands ({}); "
                    "upgrade reel or use another home",
                    path_.string(), current, latest));
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    Status s = Transaction([&]() -> Status {
      // Another process may have migrated since we looked; re-check under the write lock.
      REEL_ASSIGN_OR_RETURN(int now, UserVersion());
      if (now >= m.version) return Status::Ok();
      Status applied = ExecLocked(m.sql);
      if (!applied.ok()) {
        return Status::Internal(fmt::format("migration {} ({}) of '{}' failed: {}", m.version,
                                            m.description, path_.string(), applied.message()));
      }
      return ExecLocked(fmt::format("PRAGMA user_version = {}", m.version));
    });
    REEL_RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

}  // namespace reel
