#include "facts/staging.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace reel {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

constexpr std::size_t kRowOverhead = 2 * sizeof(std::int64_t);  // offset + sort key

}  // namespace

DayStaging::~DayStaging() {
  if (created_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(spill_dir_, ec);
  }
}

std::filesystem::path DayStaging::SpillPath(std::int32_t day) const {
  return spill_dir_ / fmt::format("day{}.bin", day);
}

Status DayStaging::Add(std::int32_t day, std::string_view encoded_row, std::int64_t sort_key) {
  memory_[day].AppendEncoded(encoded_row, sort_key);
  memory_bytes_ += encoded_row.size() + kRowOverhead;
  if (memory_bytes_ > memory_limit_) return Spill();
  return Status::Ok();
}

Status DayStaging::Spill() {
  if (!created_dir_) {
    std::error_code ec;
    std::filesystem::create_directories(spill_dir_, ec);
    if (ec) {
      return Status::IoError(
          fmt::format("cannot create staging folder {}: {}", spill_dir_.string(), ec.message()));
    }
    created_dir_ = true;
  }
  std::string buf;
  for (auto& [day, rows] : memory_) {
    if (rows.empty()) continue;
    buf.clear();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::int64_t key = rows.SortKey(i);
      std::string_view row = rows.Row(i);
      auto n = static_cast<std::uint32_t>(row.size());
      buf.append(reinterpret_cast<const char*>(&key), 8);
      buf.append(reinterpret_cast<const char*>(&n), 4);
      buf.append(row);
    }
    auto path = SpillPath(day);
    FilePtr f(std::fopen(path.c_str(), "ab"));
    if (!f || std::fwrite(buf.data(), 1, buf.size(), f.get()) != buf.size() ||
        std::fflush(f.get()) != 0) {
      return Status::IoError(
          fmt::format("cannot write staging file {}: {}", path.string(), std::strerror(errno)));
    }
    spilled_bytes_ += buf.size();
    spilled_days_.insert(day);
  }
  memory_.clear();
  memory_bytes_ = 0;
  return Status::Ok();
}

Result<FactRows> DayStaging::Take(std::int32_t day) {
  auto it = memory_.find(day);
  if (!spilled_days_.count(day) && it != memory_.end()) {  // the common case: no copy
    FactRows rows = std::move(it->second);
    memory_bytes_ -= rows.bytes() + rows.size() * kRowOverhead;
    memory_.erase(it);
    return rows;
  }
  FactRows out;
  if (spilled_days_.count(day)) {
    auto path = SpillPath(day);
    FilePtr f(std::fopen(path.c_str(), "rb"));
    if (!f) {
      return Status::IoError(
          fmt::format("cannot read staging file {}: {}", path.string(), std::strerror(errno)));
    }
    std::string row;
    while (true) {
      char head[12];
      std::size_t got = std::fread(head, 1, sizeof head, f.get());
      if (got == 0) break;
      std::int64_t key;
      std::uint32_t n;
      std::memcpy(&key, head, 8);
      std::memcpy(&n, head + 8, 4);
      row.resize(n);
      if (got != sizeof head || std::fread(row.data(), 1, n, f.get()) != n) {
        return Status::IoError(fmt::format("staging file {} is truncated", path.string()));
      }
      out.AppendEncoded(row, key);
    }
    f.reset();
    std::error_code ec;
    std::filesystem::remove(path, ec);
    spilled_days_.erase(day);
  }
  if (it != memory_.end()) {
    const FactRows& rows = it->second;
    for (std::size_t i = 0; i < rows.size(); ++i) out.AppendEncoded(rows.Row(i), rows.SortKey(i));
    memory_bytes_ -= rows.bytes() + rows.size() * kRowOverhead;
    memory_.erase(it);
  }
  return out;
}

}  // namespace reel
