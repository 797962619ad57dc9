// Status and Result<T>: errors are values. Every expected failure (parse, validation, I/O, a
// failed operator) travels as a Status; exceptions are reserved for construction that cannot
// continue and are caught at the executor boundary.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace reel {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad input from a user: a workflow, a flag, a config value
    kNotFound,
    kAlreadyExists,
    kConflict,  // e.g. an immutable partition with different content
    kIoError,
    kFailed,  // a task or run failed for a reason of its own
    kCancelled,
    kTimeout,
    kInternal,
  };

  Status() = default;
  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status Failed(std::string m) { return {Code::kFailed, std::move(m)}; }
  static Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status Timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The same failure with `context` put before its message; OK stays OK.
  Status WithContext(std::string_view context) const {
    return ok() ? *this : Status(code_, std::string(context) + message_);
  }
  // "not found: no run 42" style text for logs and the command line.
  std::string ToString() const;
  static const char* CodeName(Code code);

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Holds either a value or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

#define REEL_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::reel::Status reel_status_ = (expr);        \
    if (!reel_status_.ok()) return reel_status_; \
  } while (0)

// Evaluates a Result<T> expression: on failure, returns its Status from the enclosing function;
// on success, moves the value into `lhs`, which may declare a variable.
//
//   REEL_ASSIGN_OR_RETURN(auto rows, ReadRows(path));
//   REEL_ASSIGN_OR_RETURN(task.task_id, store_.CreateTask(record));
#define REEL_ASSIGN_OR_RETURN(lhs, ...) \
  REEL_ASSIGN_OR_RETURN_IMPL_(REEL_STATUS_CONCAT_(reel_result_, __LINE__), lhs, __VA_ARGS__)
#define REEL_ASSIGN_OR_RETURN_IMPL_(result, lhs, ...) \
  auto result = (__VA_ARGS__);                        \
  if (!result.ok()) return result.status();           \
  lhs = std::move(result).value()
#define REEL_STATUS_CONCAT_(a, b) REEL_STATUS_CONCAT_INNER_(a, b)
#define REEL_STATUS_CONCAT_INNER_(a, b) a##b

}  // namespace reel
