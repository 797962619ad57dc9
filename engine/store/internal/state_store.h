// Helpers shared by the state_store_*.cc files; not part of the public API.
#pragma once

#include <span>
#include <string>

#include "engine/base/utf8.h"
#include "engine/store/sqlite.h"
#include "engine/store/state_store.h"

namespace reel::state_store_internal {

// An enum column. The schema's CHECK constraints admit only the names EnumNames lists; a value
// outside them (a database edited by hand) reads as E's first value.
template <typename E>
E EnumColumn(const Stmt& st, int col) {
  return ParseEnum<E>(st.Text(col)).value_or(EnumNames<E>::kNames[0].first);
}

// Parses a JSON column; a NULL or unparsable column yields `fallback`.
Json ParseJsonColumn(const Stmt& st, int col, Json fallback);

// Compact JSON text; invalid UTF-8 in strings is replaced rather than thrown on.
inline std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// NULL for an empty string, else the text as valid UTF-8: free text (errors, log excerpts)
// may hold any bytes, and a column that does not hold UTF-8 would break every JSON view of it.
inline std::optional<std::string> NullIfEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return SanitizeUtf8(s);
}

// The columns ReadRun expects, in order.
inline constexpr const char* kRunColumns =
    "run_id, workflow, version_hash, params, logical_date, status, trigger, origin_run_id, "
    "created_at, started_at, ended_at, host, pid, heartbeat_at, error, cancel_requested_at, owner, "
    "pid_start, note";
RunRecord ReadRun(const Stmt& st);

// Runs a query and reads each row with `read`.
template <typename T, typename Reader>
Result<std::vector<T>> Collect(Stmt& st, Reader read) {
  std::vector<T> out;
  for (;;) {
    REEL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(read(st));
  }
}

}  // namespace reel::state_store_internal
