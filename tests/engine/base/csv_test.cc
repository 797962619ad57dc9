#include "engine/base/csv.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/fake_context.h"

using namespace reel;

namespace {

struct Parsed {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::int64_t> lines;
  std::vector<std::string> errors;
};

Parsed ParseAll(std::string data, std::size_t buffer_bytes = 1 << 20) {
  Parsed out;
  CsvOptions options;
  options.buffer_bytes = buffer_bytes;
  auto reader = CsvReader::FromString(std::move(data), options);
  CsvRecord rec;
  while (reader->Next(rec)) {
    out.lines.push_back(rec.line);
    out.errors.push_back(rec.error);
    out.rows.emplace_back(rec.fields.begin(), rec.fields.end());
  }
  return out;
}

using Rows = std::vector<std::vector<std::string>>;

}  // namespace

TEST_CASE("csv: plain records, CRLF, missing final newline, empty fields") {
  auto p = ParseAll("a,b,c\r\n1,,3\r\n,,\n4,5,6");
  CHECK(p.rows == Rows{{"a", "b", "c"}, {"1", "", "3"}, {"", "", ""}, {"4", "5", "6"}});
  CHECK(p.lines == std::vector<std::int64_t>{1, 2, 3, 4});
}

TEST_CASE("csv: RFC 4180 quoting with delimiters, doubled quotes and line breaks") {
  auto p = ParseAll(
      "id,title\n1,\"Love, Actually\"\n2,\"The \"\"Perfect\"\" Heist\"\n"
      "3,\"two\nlines\"\n4,\"\"\n5,plain\n");
  REQUIRE(p.rows.size() == 6);
  CHECK(p.rows[1] == std::vector<std::string>{"1", "Love, Actually"});
  CHECK(p.rows[2] == std::vector<std::string>{"2", "The \"Perfect\" Heist"});
  CHECK(p.rows[3] == std::vector<std::string>{"3", "two\nlines"});
  CHECK(p.rows[4] == std::vector<std::string>{"4", ""});
  // The record with the embedded newline starts on line 4; the next one on line 6.
  CHECK(p.lines == std::vector<std::int64_t>{1, 2, 3, 4, 6, 7});
}

TEST_CASE("csv: blank lines are skipped but counted, a BOM is ignored") {
  auto p = ParseAll("\xEF\xBB\xBFh1,h2\n\n\r\nx,y\n\n");
  CHECK(p.rows == Rows{{"h1", "h2"}, {"x", "y"}});
  CHECK(p.lines == std::vector<std::int64_t>{1, 4});
}

TEST_CASE("csv: a quote inside an unquoted field is literal") {
  auto p = ParseAll("a,5\"6,b\n");
  CHECK(p.rows == Rows{{"a", "5\"6", "b"}});
}

TEST_CASE("csv: text after a closing quote is a malformed record and reading resumes") {
  auto p = ParseAll("a,b\n\"x\"y,2\n3,4\n");
  REQUIRE(p.rows.size() == 3);
  CHECK(p.errors[1].find("after a closing quote") != std::string::npos);
  CHECK(p.rows[1].empty());
  CHECK(p.lines[1] == 2);
  CHECK(p.rows[2] == std::vector<std::string>{"3", "4"});
  CHECK(p.lines[2] == 3);
}

TEST_CASE("csv: an unterminated quote is reported with the record's first line") {
  auto p = ParseAll("a,b\n1,2\n3,\"never closed\n4,5\n");
  REQUIRE(p.rows.size() == 3);
  CHECK(p.errors[2].find("unterminated") != std::string::npos);
  CHECK(p.errors[2].find("line 3") != std::string::npos);
}

TEST_CASE("csv: records split across tiny read buffers parse the same") {
  std::string data = "id,title,n\n1,\"a, \"\"b\"\"\nc\",7\r\n2,plain,8\n3,\"\",9";
  auto whole = ParseAll(data);
  auto small = ParseAll(data, 1);  // clamped to the minimum buffer; still exercises refills
  CHECK(whole.rows == small.rows);
  testing::TempDir dir;
  testing::WriteFile(dir / "x.csv", data);
  CsvOptions tiny;
  tiny.buffer_bytes = 1;
  auto reader = CsvReader::Open(dir / "x.csv", tiny);
  REQUIRE(reader.ok());
  Rows from_file;
  CsvRecord rec;
  while ((*reader)->Next(rec)) from_file.emplace_back(rec.fields.begin(), rec.fields.end());
  CHECK(from_file == whole.rows);
  CHECK(whole.rows[1] == std::vector<std::string>{"1", "a, \"b\"\nc", "7"});
}

TEST_CASE("csv: a missing file is an I/O error naming the path") {
  auto reader = CsvReader::Open("/nonexistent/dir/x.csv");
  REQUIRE(!reader.ok());
  CHECK(reader.status().code() == Status::Code::kIoError);
  CHECK(reader.status().message().find("/nonexistent/dir/x.csv") != std::string::npos);
}

TEST_CASE("csv: AppendCsvField round-trips through the reader") {
  std::vector<std::string> fields = {"plain", "with,comma", "with \"quote\"", "two\nlines", ""};
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    AppendCsvField(line, fields[i]);
  }
  auto p = ParseAll(line + "\n");
  REQUIRE(p.rows.size() == 1);
  CHECK(p.rows[0] == fields);
}

TEST_CASE("jsonl: objects a line, blank lines skipped, bad lines reported with line numbers") {
  auto reader = JsonlReader::FromString("{\"a\":1}\n\n{bad json}\r\n{\"a\":2,\"b\":\"x\"}");
  JsonlRecord rec;
  REQUIRE(reader->Next(rec));
  CHECK(rec.line == 1);
  CHECK(rec.value["a"] == 1);
  REQUIRE(reader->Next(rec));
  CHECK(rec.line == 3);
  CHECK(!rec.error.empty());
  REQUIRE(reader->Next(rec));
  CHECK(rec.line == 4);
  CHECK(rec.value["b"] == "x");
  CHECK(!reader->Next(rec));
}
