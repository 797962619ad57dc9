// A thin RAII layer over SQLite for reel's databases (reel.db, facts.db).
//
// Several reel processes share one home (a backfill beside a run, the daemon beside a CLI),
// so every write runs in BEGIN IMMEDIATE and waits, with retries, for another process's
// write lock instead of failing with "database is locked". Only a lock held longer than
// Options::lock_wait becomes an error (Status::Timeout, naming the file).
//
// Threading: a Database is one connection and may be shared by threads. Each Stmt handle and
// each Transaction holds the connection's (recursive) mutex for its lifetime, so a statement
// is never interleaved with another thread's, and a transaction body sees only its own
// thread's writes. Keep handles short-lived; never wait for another thread that uses the same
// Database while holding one (that deadlocks).
//
//   REEL_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
//     auto st = db.Prepare("INSERT INTO t(a, b) VALUES(?, ?)");
//     if (!st.ok()) return st.status();
//     return st->BindAll(int64_t{1}, "x").Run();
//   }));
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "reel/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace reel {

class Database;

// One step of a database's schema history. `sql` (one or more statements) moves the schema
// from version-1 to `version`; it runs in one transaction together with the version bump.
struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

// A prepared statement leased from a Database. Binds are 1-based, columns 0-based. On
// destruction the statement is reset, its bindings cleared and it returns to the cache.
class Stmt {
 public:
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int index, int64_t value);
  Stmt& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Stmt& Bind(int index, double value);
  Stmt& Bind(int index, std::string_view value);
  Stmt& Bind(int index, const std::string& value) { return Bind(index, std::string_view(value)); }
  Stmt& Bind(int index, const char* value) { return Bind(index, std::string_view(value)); }
  Stmt& Bind(int index, std::nullopt_t);
  // Binds text without copying it, for loops that bind many values: `value` must stay valid
  // and unchanged until it is rebound or this Stmt is destroyed.
  Stmt& BindStatic(int index, std::string_view value);
  template <typename T>
  Stmt& Bind(int index, const std::optional<T>& value) {
    return value ? Bind(index, *value) : Bind(index, std::nullopt);
  }
  // Binds the arguments to parameters 1..N.
  template <typename... Args>
  Stmt& BindAll(const Args&... args) {
    int index = 0;
    (Bind(++index, args), ...);
    return *this;
  }

  // Advances to the next row: true when a row is ready, false when done. Outside a
  // transaction, a busy database is retried until the lock wait runs out.
  Result<bool> Step();
  // Steps to completion, for statements that return no rows.
  Status Run();
  // Makes the statement ready to run again, for a loop that executes it once per row: the
  // lease (and with it the connection's lock) is kept, and so are the bindings, which the
  // next row binds anew.
  void Reset();

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;  // "" for NULL
  std::optional<int64_t> OptInt(int col) const;
  std::optional<std::string> OptText(int col) const;

  // Of the last completed write on this connection.
  int64_t LastInsertRowId() const;
  int Changes() const;

  // The raw statement, for reads this wrapper lacks (a row cursor's sqlite3_column_value).
  // Valid while this Stmt lives; never reset, finalize or bind it behind the wrapper's back.
  sqlite3_stmt* handle() const { return stmt_; }

 private:
  friend class Database;
  // `in_use` is the cache slot's flag to clear on destruction; null for an uncached statement.
  Stmt(Database* db, sqlite3_stmt* stmt, bool* in_use);
  Database* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
  bool stepped_row_ = false;
  int bind_error_ = 0;
  std::unique_lock<std::recursive_mutex> lock_;
};

class Database {
 public:
  struct Options {
    // How long a write may wait for other processes' write transactions before failing.
    std::chrono::milliseconds lock_wait{std::chrono::minutes(2)};
    bool wal = true;  // journal_mode=WAL with synchronous=NORMAL
  };

  // Opens (creating if needed) the database file at `path`; its directory must exist.
  static Result<std::unique_ptr<Database>> Open(const std::filesystem::path& path, Options options);
  static Result<std::unique_ptr<Database>> Open(const std::filesystem::path& path) {
    return Open(path, Options{});
  }
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs SQL text of one or more statements that return no rows.
  Status Exec(std::string_view sql);

  // A statement for `sql`, prepared once per connection and cached. If the cached one is in
  // use (a nested query of the same text), a fresh uncached one is prepared.
  Result<Stmt> Prepare(std::string_view sql);

  enum class Nesting {
    kSavepoint,  // a nested call is a SAVEPOINT: its failure undoes only its own writes
    kJoin,       // a nested call just runs inside the outer transaction (cheapest)
  };
  // Runs `body` in a write transaction (BEGIN IMMEDIATE; waits and retries while another
  // connection writes). Commits when body returns OK, rolls back otherwise (also when it
  // throws, and the exception propagates). Nested calls on the same thread join the outer
  // transaction per `nesting`; the outermost commit makes everything durable.
  Status Transaction(const std::function<Status()>& body, Nesting nesting = Nesting::kSavepoint);
  bool in_transaction() const { return depth_ > 0; }

  // Brings the schema up to the last migration of `migrations` (ordered by version, from 1).
  // Uses PRAGMA user_version; safe against other processes migrating at the same time. Fails
  // if the file was written by a newer schema than `migrations` knows.
  Status Migrate(std::span<const Migration> migrations);
  Result<int> UserVersion();

  const std::filesystem::path& path() const { return path_; }
  const Options& options() const { return options_; }
  // The raw handle, for what this wrapper lacks. Hold a Stmt or a Transaction while using it.
  sqlite3* handle() { return db_; }

  // Turns a SQLite result code into a Status naming this database and `what` failed.
  Status Error(int rc, std::string_view what) const;

 private:
  friend class Stmt;
  Database(sqlite3* db, std::filesystem::path path, Options options)
      : db_(db), path_(std::move(path)), options_(options) {}
  Status ExecLocked(std::string_view sql);  // retries while busy outside a transaction
  Status BeginImmediate();
  // Steps a cached transaction-control statement once; returns SQLite's result code.
  int Control(std::string_view sql);

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct CacheEntry {
    sqlite3_stmt* stmt;
    bool in_use;
  };

  sqlite3* db_;
  std::filesystem::path path_;
  Options options_;
  std::recursive_mutex mu_;
  int depth_ = 0;  // guarded by mu_: transaction nesting of the thread holding mu_
  // guarded by mu_
  std::unordered_map<std::string, CacheEntry, StringHash, std::equal_to<>> cache_;
};

}  // namespace reel
