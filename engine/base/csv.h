// Streaming readers for the two source formats of the fact store, and a small CSV writer.
//
// CsvReader reads RFC 4180 CSV: fields separated by a delimiter, records by LF or CRLF (a lone
// CR too); a field may be quoted with '"', a quoted field may hold delimiters, line breaks and
// doubled quotes (""). A '"' inside an unquoted field is taken literally. Empty lines are
// skipped and a UTF-8 byte order mark at the start is ignored. Memory stays bounded by the
// read buffer and the longest record (at most CsvOptions::max_record_bytes).
//
// A malformed record (text after a closing quote, an unterminated quote, an oversized record)
// comes back with `error` set, and reading resumes at the next line, so that callers can count
// bad rows instead of giving up. I/O errors end the stream and are reported by status().
//
// Both readers number lines from 1; a record's `line` is where it starts. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reel/status.h"

namespace reel {

struct CsvOptions {
  char delimiter = ',';
  std::size_t buffer_bytes = 1 << 20;
  std::size_t max_record_bytes = 16 << 20;
};

struct CsvRecord {
  std::vector<std::string_view> fields;  // valid until the next call to Next
  std::int64_t line = 0;
  std::string error;  // non-empty for a malformed record (fields then empty)

  std::string storage_;  // unescaped field bytes; fields point into it
  std::vector<std::size_t> ends_;
};

// A buffered byte source shared by the readers: a file or an in-memory string.
class ByteSource {
 public:
  static Result<std::unique_ptr<ByteSource>> OpenFile(const std::filesystem::path& path,
                                                      std::size_t buffer_bytes);
  static std::unique_ptr<ByteSource> FromString(std::string data);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // Ensures the buffer has unread bytes; false at end of input or on error.
  bool Fill() {
    if (pos_ < end_) return true;
    return Refill();
  }
  const char* pos() const { return buf_.data() + pos_; }
  const char* end() const { return buf_.data() + end_; }
  void Advance(std::size_t n) { pos_ += n; }
  const Status& status() const { return status_; }
  std::string_view name() const { return name_; }

 private:
  ByteSource() = default;
  bool Refill();
  std::FILE* file_ = nullptr;
  std::string name_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  Status status_;
};

class CsvReader {
 public:
  static Result<std::unique_ptr<CsvReader>> Open(const std::filesystem::path& path,
                                                 CsvOptions options = {});
  static std::unique_ptr<CsvReader> FromString(std::string data, CsvOptions options = {});

  // Reads the next record into `rec`; false at the end of input (or on an I/O error).
  bool Next(CsvRecord& rec);
  // Not ok when reading stopped on an I/O error.
  const Status& status() const { return src_->status(); }

 private:
  CsvReader(std::unique_ptr<ByteSource> src, CsvOptions options);
  void SkipRestOfLine();
  std::unique_ptr<ByteSource> src_;
  CsvOptions options_;
  std::int64_t line_ = 1;  // the line the next unread byte is on
  bool at_start_ = true;
};

// Appends `field` to `out`, quoted when it holds the delimiter, a quote or a line break.
void AppendCsvField(std::string& out, std::string_view field, char delimiter = ',');

struct JsonlRecord {
  nlohmann::ordered_json value;
  std::int64_t line = 0;
  std::string error;  // non-empty when the line is not valid JSON
};

// JSON Lines: one JSON value a line; blank lines are skipped.
class JsonlReader {
 public:
  static Result<std::unique_ptr<JsonlReader>> Open(const std::filesystem::path& path,
                                                   std::size_t max_line_bytes = 16 << 20);
  static std::unique_ptr<JsonlReader> FromString(std::string data);
  bool Next(JsonlRecord& rec);
  const Status& status() const { return src_->status(); }

 private:
  explicit JsonlReader(std::unique_ptr<ByteSource> src, std::size_t max_line_bytes)
      : src_(std::move(src)), max_line_bytes_(max_line_bytes) {}
  std::unique_ptr<ByteSource> src_;
  std::size_t max_line_bytes_;
  std::int64_t line_ = 0;
  std::string line_buf_;
};

}  // namespace reel
