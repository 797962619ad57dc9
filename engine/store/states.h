// The states a run, a task and an attempt go through, and what started a run.
//
// In memory they are enum classes; as text they appear only at the boundaries: the columns of
// reel.db (whose CHECK constraints list the same words), JSON output and command-line flags.
// Each enum has one table of names below, and ToString / ParseEnum are the only conversions.
//
//   run:      queued -> running -> succeeded | failed | cancelled
//   task:     queued -> running -> succeeded | failed | cancelled,
//             or without running: skipped | upstream_failed | cancelled
//   attempt:  running -> succeeded | failed | timed_out | cancelled
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace reel {

enum class RunStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
enum class TaskStatus {
  kQueued,
  kRunning,
  kSucceeded,
  kFailed,
  kSkipped,
  kUpstreamFailed,
  kCancelled,
};
enum class AttemptStatus { kRunning, kSucceeded, kFailed, kTimedOut, kCancelled };
enum class RunTrigger { kManual, kResume, kBackfill, kSchedule };

// The name of each value, as stored and printed. One specialization per enum.
template <typename E>
struct EnumNames;

template <>
struct EnumNames<RunStatus> {
  static constexpr std::string_view kWhat = "run status";
  static constexpr std::array<std::pair<RunStatus, std::string_view>, 5> kNames = {{
      {RunStatus::kQueued, "queued"},
      {RunStatus::kRunning, "running"},
      {RunStatus::kSucceeded, "succeeded"},
      {RunStatus::kFailed, "failed"},
      {RunStatus::kCancelled, "cancelled"},
  }};
};

template <>
struct EnumNames<TaskStatus> {
  static constexpr std::string_view kWhat = "task status";
  static constexpr std::array<std::pair<TaskStatus, std::string_view>, 7> kNames = {{
      {TaskStatus::kQueued, "queued"},
      {TaskStatus::kRunning, "running"},
      {TaskStatus::kSucceeded, "succeeded"},
      {TaskStatus::kFailed, "failed"},
      {TaskStatus::kSkipped, "skipped"},
      {TaskStatus::kUpstreamFailed, "upstream_failed"},
      {TaskStatus::kCancelled, "cancelled"},
  }};
};

template <>
struct EnumNames<AttemptStatus> {
  static constexpr std::string_view kWhat = "attempt status";
  static constexpr std::array<std::pair<AttemptStatus, std::string_view>, 5> kNames = {{
      {AttemptStatus::kRunning, "running"},
      {AttemptStatus::kSucceeded, "succeeded"},
      {AttemptStatus::kFailed, "failed"},
      {AttemptStatus::kTimedOut, "timed_out"},
      {AttemptStatus::kCancelled, "cancelled"},
  }};
};

template <>
struct EnumNames<RunTrigger> {
  static constexpr std::string_view kWhat = "run trigger";
  static constexpr std::array<std::pair<RunTrigger, std::string_view>, 4> kNames = {{
      {RunTrigger::kManual, "manual"},
      {RunTrigger::kResume, "resume"},
      {RunTrigger::kBackfill, "backfill"},
      {RunTrigger::kSchedule, "schedule"},
  }};
};

// A view of a string literal, so `.data()` is null-terminated.
template <typename E>
constexpr std::string_view ToString(E value) {
  for (const auto& [v, name] : EnumNames<E>::kNames) {
    if (v == value) return name;
  }
  return "?";
}

// nullopt for a word that names no value of E.
template <typename E>
constexpr std::optional<E> ParseEnum(std::string_view text) {
  for (const auto& [v, name] : EnumNames<E>::kNames) {
    if (name == text) return v;
  }
  return std::nullopt;
}

// "queued, running, succeeded, failed or cancelled", for messages that list the choices.
template <typename E>
std::string EnumChoices() {
  std::string out;
  const auto& names = EnumNames<E>::kNames;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i].second;
  }
  return out;
}

// A finished run, task or attempt: nothing will change it any more.
constexpr bool IsTerminal(RunStatus s) {
  return s != RunStatus::kQueued && s != RunStatus::kRunning;
}
constexpr bool IsTerminal(TaskStatus s) {
  return s != TaskStatus::kQueued && s != TaskStatus::kRunning;
}
constexpr bool IsTerminal(AttemptStatus s) { return s != AttemptStatus::kRunning; }

// Streams carry the names.
template <typename E, typename = decltype(EnumNames<E>::kNames)>
std::ostream& operator<<(std::ostream& out, E value) {
  return out << ToString(value);
}

}  // namespace reel
