// DayStaging: routes encoded fact rows to their day in one pass over a source, with bounded
// memory. Rows are kept in memory until `memory_limit` bytes are buffered; then every buffered
// day is appended to its own spill file under `spill_dir` and memory is freed. Take(day)
// returns a day's rows (spilled and buffered) as one FactRows, so at most one day's partition
// plus the memory limit are resident at once, whatever the size of the source.
//
// The spill folder is created on first spill and removed with the object. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string_view>

#include "facts/rows.h"
#include "reel/status.h"

namespace reel {

class DayStaging {
 public:
  DayStaging(std::filesystem::path spill_dir, std::size_t memory_limit)
      : spill_dir_(std::move(spill_dir)), memory_limit_(memory_limit) {}
  ~DayStaging();
  DayStaging(const DayStaging&) = delete;
  DayStaging& operator=(const DayStaging&) = delete;

  Status Add(std::int32_t day, std::string_view encoded_row, std::int64_t sort_key);
  // All rows staged for `day` (none: an empty FactRows); the day is then forgotten.
  Result<FactRows> Take(std::int32_t day);

  std::uint64_t spilled_bytes() const { return spilled_bytes_; }

 private:
  Status Spill();
  std::filesystem::path SpillPath(std::int32_t day) const;

  std::filesystem::path spill_dir_;
  std::size_t memory_limit_;
  std::size_t memory_bytes_ = 0;
  std::map<std::int32_t, FactRows> memory_;
  std::set<std::int32_t> spilled_days_;
  std::uint64_t spilled_bytes_ = 0;
  bool created_dir_ = false;
};

}  // namespace reel
