#include "facts/source.h"

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "engine/base/utf8.h"

namespace reel {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A field quoted in an error message: at most about 40 bytes, as valid UTF-8.
std::string Clip(std::string_view s) {
  if (s.size() <= 40) return SanitizeUtf8(s);
  return SanitizeUtf8(Utf8Prefix(s, 37)) + "...";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void JsonToField(const nlohmann::ordered_json& v, std::string& out) {
  if (v.is_string()) {
    out = v.get_ref<const std::string&>();
  } else if (v.is_boolean()) {
    out = v.get<bool>() ? "true" : "false";
  } else {
    out = v.dump();
  }
}

}  // namespace

Result<SourceFormat> SourceFormatFromName(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  if (ext == ".csv" || ext == ".tsv") return SourceFormat::kCsv;
  if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") return SourceFormat::kJsonl;
  return Status::InvalidArgument(fmt::format(
      "cannot tell the format of {} from its extension: set `format: csv` or `format: jsonl`",
      path.string()));
}

Result<SourceFormat> ParseSourceFormat(std::string_view name) {
  if (name == "csv") return SourceFormat::kCsv;
  if (name == "jsonl") return SourceFormat::kJsonl;
  return Status::InvalidArgument(fmt::format("unknown format '{}': use csv or jsonl", name));
}

Result<std::unique_ptr<FactSource>> FactSource::Open(const FactSourceOptions& options) {
  std::unique_ptr<FactSource> src(new FactSource());
  src->options_ = options;
  const std::string name = options.path.string();
  std::vector<std::string> columns;
  if (options.format == SourceFormat::kCsv) {
    CsvOptions csv_options;
    csv_options.delimiter = options.delimiter;
    REEL_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(options.path, csv_options));
    src->csv_ = std::move(reader);
    CsvRecord header;
    if (!src->csv_->Next(header)) {
      if (!src->csv_->status().ok()) return src->csv_->status();
      return Status::InvalidArgument(
          fmt::format("{} is empty: a CSV source needs a header row naming its columns", name));
    }
    if (!header.error.empty()) {
      return Status::InvalidArgument(
          fmt::format("{}: line {}: bad header row: {}", name, header.line, header.error));
    }
    for (auto f : header.fields) columns.push_back(SanitizeUtf8(Trim(f)));
  } else {
    REEL_ASSIGN_OR_RETURN(auto reader, JsonlReader::Open(options.path));
    src->jsonl_ = std::move(reader);
    if (!src->jsonl_->Next(src->json_record_)) {
      if (!src->jsonl_->status().ok()) return src->jsonl_->status();
      return Status::InvalidArgument(fmt::format(
          "{} is empty: a JSON Lines source needs at least one object to learn its columns", name));
    }
    const auto& first = src->json_record_;
    if (!first.error.empty() && first.error != "not valid JSON") {
      return Status::InvalidArgument(fmt::format("{}: line {}: {}", name, first.line, first.error));
    }
    if (!first.error.empty() || !first.value.is_object()) {
      return Status::InvalidArgument(fmt::format(
          "{}: line {}: the first record must be a JSON object (its keys name the columns)", name,
          first.line));
    }
    for (const auto& [key, value] : first.value.items()) columns.push_back(key);
    src->have_pending_json_ = true;
  }
  REEL_RETURN_IF_ERROR(src->BuildSchema(columns));
  return src;
}

Status FactSource::BuildSchema(const std::vector<std::string>& source_columns) {
  const std::string name = options_.path.string();
  source_columns_ = source_columns;
  for (const auto& [from, to] : options_.renames) {
    if (std::find(source_columns.begin(), source_columns.end(), from) == source_columns.end()) {
      return Status::InvalidArgument(
          fmt::format("columns: '{}' is not a column of {} (its columns: {})", from, name,
                      JoinNames(source_columns)));
    }
  }
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& c : source_columns) {
    auto it = options_.renames.find(c);
    std::string fact_name = it == options_.renames.end() ? c : it->second;
    if (fact_name.empty()) {
      return Status::InvalidArgument(fmt::format("{}: a column has an empty name", name));
    }
    if (!seen.insert(fact_name).second) {
      return Status::InvalidArgument(
          fmt::format("{}: column '{}' appears twice (after renaming); rename one with `columns:`",
                      name, fact_name));
    }
    names.push_back(fact_name);
  }
  std::string ts = options_.timestamp_column;
  if (!ts.empty() && !seen.count(ts)) {
    auto it = options_.renames.find(ts);
    if (it == options_.renames.end()) {
      return Status::InvalidArgument(
          fmt::format("timestamp.column '{}' is not a column of {} (its columns: {})", ts, name,
                      JoinNames(names)));
    }
    ts = it->second;
  }
  for (const auto& [col, type] : options_.types) {
    if (!seen.count(col)) {
      return Status::InvalidArgument(fmt::format(
          "types: '{}' is not a column of {} (its columns: {})", col, name, JoinNames(names)));
    }
    if (type == ColumnType::kTimestamp && col != ts) {
      return Status::InvalidArgument(fmt::format(
          "types: '{}' cannot be a timestamp; only the `timestamp.column` is parsed as time", col));
    }
  }
  schema_.columns.clear();
  for (const auto& n : names) {
    ColumnType type = ColumnType::kString;
    if (auto it = options_.types.find(n); it != options_.types.end()) type = it->second;
    if (n == ts) type = ColumnType::kTimestamp;
    schema_.columns.push_back({n, type});
  }
  schema_.time_column = ts;
  time_index_ = schema_.IndexOf(ts);
  fields_.resize(names.size());
  present_.resize(names.size());
  json_values_.resize(names.size());
  return Status::Ok();
}

const Status& FactSource::status() const { return csv_ ? csv_->status() : jsonl_->status(); }

bool FactSource::Next(SourceRow& row) {
  row.encoded.clear();
  row.bad = false;
  row.error.clear();
  row.time_ms = 0;
  const std::size_t ncols = schema_.columns.size();
  if (csv_) {
    if (!csv_->Next(csv_record_)) return false;
    row.line = csv_record_.line;
    if (!csv_record_.error.empty()) {
      row.bad = true;
      row.error = fmt::format("line {}: {}", row.line, csv_record_.error);
      return true;
    }
    if (csv_record_.fields.size() != ncols) {
      row.bad = true;
      row.error = fmt::format("line {}: expected {} fields ({}), found {}", row.line, ncols,
                              JoinNames(source_columns_), csv_record_.fields.size());
      return true;
    }
    for (std::size_t i = 0; i < ncols; ++i) {
      fields_[i] = csv_record_.fields[i];
      present_[i] = true;
    }
  } else {
    if (have_pending_json_) {
      have_pending_json_ = false;
    } else if (!jsonl_->Next(json_record_)) {
      return false;
    }
    row.line = json_record_.line;
    if (!json_record_.error.empty() || !json_record_.value.is_object()) {
      row.bad = true;
      row.error =
          fmt::format("line {}: {}", row.line,
                      json_record_.error.empty() ? "expected a JSON object" : json_record_.error);
      return true;
    }
    std::fill(present_.begin(), present_.end(), false);
    for (const auto& [key, value] : json_record_.value.items()) {
      auto it = std::find(source_columns_.begin(), source_columns_.end(), key);
      if (it == source_columns_.end()) {
        row.bad = true;
        row.error = fmt::format(
            "line {}: key '{}' is not a column (the columns come from the first record: {})",
            row.line, key, JoinNames(source_columns_));
        return true;
      }
      std::size_t i = it - source_columns_.begin();
      if (value.is_null()) continue;
      JsonToField(value, json_values_[i]);
      fields_[i] = json_values_[i];
      present_[i] = true;
    }
  }
  EncodeFields(row);
  return true;
}

void FactSource::EncodeFields(SourceRow& row) {
  std::string& out = row.encoded;
  for (std::size_t i = 0; i < schema_.columns.size(); ++i) {
    const FactColumn& col = schema_.columns[i];
    if (!present_[i]) {
      if (static_cast<int>(i) == time_index_) {
        row.bad = true;
        row.error =
            fmt::format("line {}: the timestamp column '{}' is missing", row.line, col.name);
        return;
      }
      EncodeNull(out);
      continue;
    }
    std::string_view f = fields_[i];
    if (col.type == ColumnType::kString) {
      // Facts are text in UTF-8; a source in another encoding keeps its text, repaired.
      if (IsValidUtf8(f)) {
        EncodeText(out, f);
      } else {
        EncodeText(out, SanitizeUtf8(f));
      }
      continue;
    }
    f = Trim(f);
    if (f.empty()) {
      if (col.type == ColumnType::kTimestamp) {
        row.bad = true;
        row.error = fmt::format("line {}: the timestamp column '{}' is empty", row.line, col.name);
        return;
      }
      EncodeNull(out);
      continue;
    }
    const char* b = f.data();
    const char* e = f.data() + f.size();
    switch (col.type) {
      case ColumnType::kInt: {
        std::int64_t v;
        auto [p, ec] = std::from_chars(b, e, v);
        if (ec != std::errc() || p != e) {
          row.bad = true;
          row.error = fmt::format("line {}: column '{}': '{}' is not an integer", row.line,
                                  col.name, Clip(f));
          return;
        }
        EncodeInt(out, v);
        break;
      }
      case ColumnType::kFloat: {
        double v;
        auto [p, ec] = std::from_chars(b, e, v);
        if (ec != std::errc() || p != e) {
          row.bad = true;
          row.error = fmt::format("line {}: column '{}': '{}' is not a number", row.line, col.name,
                                  Clip(f));
          return;
        }
        EncodeFloat(out, v);
        break;
      }
      default: {
        std::int64_t ms;
        if (!ParseTimestampMs(f, options_.timestamp_format, &ms)) {
          row.bad = true;
          row.error =
              fmt::format("line {}: column '{}': '{}' is not a timestamp in format {}", row.line,
                          col.name, Clip(f), TimestampFormatName(options_.timestamp_format));
          return;
        }
        EncodeInt(out, ms);
        row.time_ms = ms;
      }
    }
  }
}

}  // namespace reel
