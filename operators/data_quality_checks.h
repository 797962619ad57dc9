// The checks of the data_quality operator: one type per kind of check, the one table of their
// names, parsing a check from its config, and what a scan observes and concludes for each.
// Internal to operators/data_quality.cc.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include "engine/base/csv.h"
#include "engine/base/duration.h"
#include "facts/fact_store.h"
#include "reel/operator.h"

namespace reel::data_quality {

// One row of either source: a fact row or a CSV record (an empty field is null).
struct RowView {
  const FactRow* fact = nullptr;
  const CsvRecord* csv = nullptr;
  const std::vector<bool>* text_columns = nullptr;  // fact columns typed string

  bool IsNull(int i) const {
    return fact ? fact->IsNull(i) : csv->fields[static_cast<std::size_t>(i)].empty();
  }
  std::string_view Text(int i) const {
    return fact ? fact->Text(i) : csv->fields[static_cast<std::size_t>(i)];
  }
  // False when the value is not a number.
  bool Number(int i, double* out) const {
    if (fact && !(*text_columns)[static_cast<std::size_t>(i)]) {
      *out = fact->Float(i);
      return true;
    }
    std::string s(Text(i));
    char* end = nullptr;
    *out = std::strtod(s.c_str(), &end);
    return !s.empty() && end == s.c_str() + s.size() && std::isfinite(*out);
  }
};

// The settings of each kind of check. Columns are indexes into the subject's columns.
struct RowCountCheck {
  std::optional<double> min, max;  // at least one
};
struct NullRateCheck {
  int column = 0;
  double max = 0;  // share of rows
};
struct UniqueCheck {
  std::vector<int> columns;
  std::int64_t max_violations = 0;
};
struct RangeCheck {
  int column = 0;
  std::optional<double> min, max;  // at least one
  std::int64_t max_violations = 0;
};
struct AllowedValuesCheck {
  int column = 0;
  std::set<std::string, std::less<>> values;
  std::int64_t max_violations = 0;
};
struct FreshnessCheck {
  Millis max_age{0};
};
struct VolumeChangeCheck {
  double max_change = 0.5;
};
struct CoverageCheck {
  std::string table;              // empty: the step's table
  std::int32_t from = 0, to = 0;  // days, inclusive
  std::int64_t max_missing_days = 0;
};

using CheckKind =
    std::variant<RowCountCheck, NullRateCheck, UniqueCheck, RangeCheck, AllowedValuesCheck,
                 FreshnessCheck, VolumeChangeCheck, CoverageCheck>;

enum class Severity { kError, kWarn };

struct Check {
  CheckKind kind;
  Severity severity = Severity::kError;
  std::string label;  // "null_rate(user_id)"
};

// What a scan counts for one check: null or violating rows, and the keys a `unique` check met.
struct Tally {
  std::int64_t count = 0;
  std::unordered_set<std::string> seen;
};

// What the scan learned about the subject as a whole.
struct SubjectStats {
  std::string name;  // "table views partition 2024-03-02", "dataset <uri>"
  std::string ds;
  std::int64_t rows = 0;
  std::optional<std::int64_t> age_ms;                      // ds 00:00 minus the newest fact's time
  std::optional<std::int64_t> latest_rows, previous_rows;  // partitions, for volume_change
  std::string table;                                       // the step's fact table
  // The days with a partition, of the step's table and of every table a coverage check names.
  std::map<std::string, std::set<std::int32_t>, std::less<>> partition_days;
};

struct Outcome {
  double value = 0;  // recorded as the metric dq.<label>
  bool passed = true;
  std::string detail;
};

// The names of the kinds of check and of the severities, for messages and docs.
std::vector<std::string> CheckKindNames();
std::vector<std::string_view> SeverityNames();
std::string_view SeverityName(Severity severity);

// Parses the `checks` list against the subject's columns. `dataset` says whether they run on a
// CSV dataset (no event times, no partitions). Errors name the check and what to fix.
Result<std::vector<Check>> ParseChecks(const Json& list, const std::vector<std::string>& columns,
                                       bool dataset);

// The mistakes in a step's `with:` block that show before it runs (OperatorInfo::validate):
// an entry of `checks` that is not {check: KIND, ...}, an unknown kind, a key the kind does not
// take, an unknown severity. Values that are templates are left to the run.
std::vector<ConfigProblem> ValidateChecks(const Json& with);

// The fact table `check` reads the partitions of, when it is a coverage check: the one it
// names, else `step_table`; empty for other checks.
std::string CoverageTable(const Check& check, const std::string& step_table);

// Counts what one row means to `check`.
void Observe(const Check& check, const RowView& row, Tally& tally);
// What `check` concludes once every row was observed.
Outcome Evaluate(const Check& check, const Tally& tally, const SubjectStats& stats);

}  // namespace reel::data_quality
