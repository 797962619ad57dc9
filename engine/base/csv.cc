#include "engine/base/csv.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "engine/base/json.h"

namespace reel {

// ---- ByteSource ----

Result<std::unique_ptr<ByteSource>> ByteSource::OpenFile(const std::filesystem::path& path,
                                                         std::size_t buffer_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    return Status::IoError(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  std::unique_ptr<ByteSource> src(new ByteSource());
  src->file_ = f;
  src->name_ = path.string();
  src->buf_.resize(buffer_bytes < 4096 ? 4096 : buffer_bytes);
  return src;
}

std::unique_ptr<ByteSource> ByteSource::FromString(std::string data) {
  std::unique_ptr<ByteSource> src(new ByteSource());
  src->name_ = "<string>";
  src->buf_ = std::move(data);
  src->end_ = src->buf_.size();
  return src;
}

ByteSource::~ByteSource() {
  if (file_) std::fclose(file_);
}

bool ByteSource::Refill() {
  if (!file_) return false;
  pos_ = 0;
  end_ = std::fread(buf_.data(), 1, buf_.size(), file_);
  if (end_ == 0) {
    if (std::ferror(file_)) status_ = Status::IoError(fmt::format("error reading {}", name_));
    return false;
  }
  return true;
}

// ---- CsvReader ----

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::filesystem::path& path,
                                                   CsvOptions options) {
  REEL_ASSIGN_OR_RETURN(auto src, ByteSource::OpenFile(path, options.buffer_bytes));
  return std::unique_ptr<CsvReader>(new CsvReader(std::move(src), options));
}

std::unique_ptr<CsvReader> CsvReader::FromString(std::string data, CsvOptions options) {
  return std::unique_ptr<CsvReader>(
      new CsvReader(ByteSource::FromString(std::move(data)), options));
}

CsvReader::CsvReader(std::unique_ptr<ByteSource> src, CsvOptions options)
    : src_(std::move(src)), options_(options) {}

void CsvReader::SkipRestOfLine() {
  while (src_->Fill()) {
    const char* p = src_->pos();
    const char* e = src_->end();
    const char* q = static_cast<const char*>(std::memchr(p, '\n', e - p));
    if (q) {
      src_->Advance(q - p + 1);
      ++line_;
      return;
    }
    src_->Advance(e - p);
  }
}

bool CsvReader::Next(CsvRecord& rec) {
  rec.fields.clear();
  rec.storage_.clear();
  rec.ends_.clear();
  rec.error.clear();
  if (at_start_) {
    at_start_ = false;
    if (src_->Fill() && src_->end() - src_->pos() >= 3 &&
        std::memcmp(src_->pos(), "\xEF\xBB\xBF", 3) == 0) {
      src_->Advance(3);
    }
  }
  // Skip empty lines.
  while (true) {
    if (!src_->Fill()) return false;
    char c = *src_->pos();
    if (c != '\n' && c != '\r') break;
    src_->Advance(1);
    ++line_;
    if (c == '\r' && src_->Fill() && *src_->pos() == '\n') src_->Advance(1);
  }
  rec.line = line_;
  const char delim = options_.delimiter;
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted } st = State::kFieldStart;
  std::string& out = rec.storage_;
  auto end_line = [&](char c) {
    ++line_;
    if (c == '\r' && src_->Fill() && *src_->pos() == '\n') src_->Advance(1);
  };
  bool done = false;
  while (!done) {
    if (!src_->Fill()) {
      if (!src_->status().ok()) return false;
      if (st == State::kQuoted) {
        rec.error = fmt::format(
            "unterminated quoted field: a quote opened in the record starting on line {} is "
            "never closed",
            rec.line);
        return true;
      }
      rec.ends_.push_back(out.size());
      break;
    }
    const char* p = src_->pos();
    const char* e = src_->end();
    switch (st) {
      case State::kFieldStart:
        if (*p == '"') {
          src_->Advance(1);
          st = State::kQuoted;
        } else {
          st = State::kUnquoted;
        }
        break;
      case State::kUnquoted: {
        const char* q = p;
        while (q < e && *q != delim && *q != '\n' && *q != '\r') ++q;
        out.append(p, q - p);
        src_->Advance(q - p);
        if (q == e) break;
        char c = *q;
        src_->Advance(1);
        rec.ends_.push_back(out.size());
        if (c == delim) {
          st = State::kFieldStart;
        } else {
          end_line(c);
          done = true;
        }
        break;
      }
      case State::kQuoted: {
        const char* q = p;
        while (q < e && *q != '"') {
          if (*q == '\n') ++line_;
          ++q;
        }
        out.append(p, q - p);
        src_->Advance(q - p);
        if (q < e) {
          src_->Advance(1);
          st = State::kQuoteInQuoted;
        }
        break;
      }
      case State::kQuoteInQuoted: {
        char c = *p;
        src_->Advance(1);
        if (c == '"') {
          out.push_back('"');
          st = State::kQuoted;
        } else if (c == delim) {
          rec.ends_.push_back(out.size());
          st = State::kFieldStart;
        } else if (c == '\n' || c == '\r') {
          rec.ends_.push_back(out.size());
          end_line(c);
          done = true;
        } else {
          rec.error = fmt::format(
              "unexpected character '{}' after a closing quote (a quote inside a quoted field "
              "must be doubled: \"\")",
              c);
          if (c != '\n') SkipRestOfLine();
          return true;
        }
        break;
      }
    }
    if (out.size() > options_.max_record_bytes) {
      rec.error =
          fmt::format("record starting on line {} is longer than {} bytes (an unterminated quote?)",
                      rec.line, options_.max_record_bytes);
      SkipRestOfLine();
      return true;
    }
  }
  std::size_t start = 0;
  rec.fields.reserve(rec.ends_.size());
  for (std::size_t end : rec.ends_) {
    rec.fields.emplace_back(out.data() + start, end - start);
    start = end;
  }
  return true;
}

void AppendCsvField(std::string& out, std::string_view field, char delimiter) {
  bool quote = false;
  for (char c : field) {
    if (c == delimiter || c == '"' || c == '\n' || c == '\r') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// ---- JsonlReader ----

Result<std::unique_ptr<JsonlReader>> JsonlReader::Open(const std::filesystem::path& path,
                                                       std::size_t max_line_bytes) {
  REEL_ASSIGN_OR_RETURN(auto src, ByteSource::OpenFile(path, 1 << 20));
  return std::unique_ptr<JsonlReader>(new JsonlReader(std::move(src), max_line_bytes));
}

std::unique_ptr<JsonlReader> JsonlReader::FromString(std::string data) {
  return std::unique_ptr<JsonlReader>(
      new JsonlReader(ByteSource::FromString(std::move(data)), 16 << 20));
}

bool JsonlReader::Next(JsonlRecord& rec) {
  rec.error.clear();
  rec.value = nullptr;
  while (true) {
    line_buf_.clear();
    bool any = false;
    bool too_long = false;
    while (src_->Fill()) {
      any = true;
      const char* p = src_->pos();
      const char* e = src_->end();
      const char* q = static_cast<const char*>(std::memchr(p, '\n', e - p));
      const char* stop = q ? q : e;
      if (!too_long) line_buf_.append(p, stop - p);
      if (line_buf_.size() > max_line_bytes_) {
        too_long = true;
        line_buf_.clear();
      }
      src_->Advance(stop - p + (q ? 1 : 0));
      if (q) break;
    }
    if (!any) return false;
    ++line_;
    rec.line = line_;
    if (too_long) {
      rec.error = fmt::format("line is longer than {} bytes", max_line_bytes_);
      return true;
    }
    if (!line_buf_.empty() && line_buf_.back() == '\r') line_buf_.pop_back();
    if (line_buf_.find_first_not_of(" \t") == std::string::npos) continue;
    if (JsonTextDepth(line_buf_) > kMaxJsonDepth) {  // parsed, it would crash whoever recurses
      rec.error = TooDeepMessage("the record");
      return true;
    }
    rec.value = nlohmann::ordered_json::parse(line_buf_, nullptr, /*allow_exceptions=*/false);
    if (rec.value.is_discarded()) {
      rec.value = nullptr;
      rec.error = "not valid JSON";
    }
    return true;
  }
}

}  // namespace reel
