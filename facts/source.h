// FactSource: reads a CSV or JSON Lines file as typed, encoded fact rows, one at a time.
//
// The columns come from the CSV header (or the keys of the first JSON object, in order),
// renamed by `renames` (source name -> fact name). Every column is a string unless `types`
// says int or float; the timestamp column, if any, is parsed per `timestamp_format` and
// stored as epoch milliseconds. Empty CSV fields and JSON nulls or missing keys are NULL in
// int and float columns (CSV: an empty string in string columns).
//
// A row that cannot be used (wrong number of fields, a missing or unparsable timestamp, a
// value that is not of its column's type, a key outside the columns, malformed CSV or JSON)
// comes back as bad with a message that starts with its line number; reading continues.
// Configuration errors (unknown renamed or typed column, duplicate columns, a missing header)
// fail Open with InvalidArgument naming the columns the source does have.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/csv.h"
#include "facts/rows.h"
#include "facts/time.h"
#include "reel/status.h"

namespace reel {

enum class SourceFormat { kCsv, kJsonl };

struct FactSourceOptions {
  std::filesystem::path path;
  SourceFormat format = SourceFormat::kCsv;
  std::map<std::string, std::string> renames;  // source column -> fact column
  std::map<std::string, ColumnType> types;     // fact column -> kInt / kFloat / kString
  std::string timestamp_column;                // fact (or source) column name; empty: none
  TimestampFormat timestamp_format = TimestampFormat::kIso8601;
  char delimiter = ',';
};

// Picks the format from a file name: .csv/.tsv -> csv, .jsonl/.ndjson/.json -> jsonl.
Result<SourceFormat> SourceFormatFromName(const std::filesystem::path& path);
Result<SourceFormat> ParseSourceFormat(std::string_view name);

struct SourceRow {
  std::string encoded;       // per FactSource::schema()
  std::int64_t time_ms = 0;  // valid when the schema has a time column
  std::int64_t line = 0;
  bool bad = false;
  std::string error;  // "line 12: ...", set when bad
};

class FactSource {
 public:
  static Result<std::unique_ptr<FactSource>> Open(const FactSourceOptions& options);

  const FactSchema& schema() const { return schema_; }
  // Reads the next row; false at the end of input (check status() for I/O errors).
  bool Next(SourceRow& row);
  const Status& status() const;

 private:
  FactSource() = default;
  Status BuildSchema(const std::vector<std::string>& source_columns);
  // Encodes `fields` (one per column; `present` false for NULL) into row.
  void EncodeFields(SourceRow& row);

  FactSourceOptions options_;
  FactSchema schema_;
  int time_index_ = -1;
  std::unique_ptr<CsvReader> csv_;
  std::unique_ptr<JsonlReader> jsonl_;
  CsvRecord csv_record_;
  JsonlRecord json_record_;
  bool have_pending_json_ = false;  // the first object, read to learn the columns
  std::vector<std::string> source_columns_;
  std::vector<std::string_view> fields_;
  std::vector<bool> present_;
  std::vector<std::string> json_values_;
};

}  // namespace reel
