// The one pass feature_etl makes over each fact table: it writes the training and holdout
// interactions (on the interactions' table) and feeds every feature computed from that table,
// decoding only the columns those need. Reading the interactions' table once for both halves
// the rows read in the usual setup, where features and training data cover the same days.
//
// Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "facts/fact_store.h"
#include "features/spec.h"
#include "features/state.h"
#include "reel/operator.h"

namespace reel::features {

// Integral values print as integers, others in the shortest form that reads back exactly.
void AppendNumber(std::string& out, double v);

// A CSV file written through a buffer.
class CsvOut {
 public:
  explicit CsvOut(const std::filesystem::path& path) : path_(path), out_(path, std::ios::binary) {}
  std::string& buf() { return buf_; }
  void MaybeFlush() {
    if (buf_.size() >= (1 << 20)) Flush();
  }
  Status Close();

 private:
  void Flush();
  std::filesystem::path path_;
  std::ofstream out_;
  std::string buf_;
};

// The entities of one kind (user or item): dense ids for every key the scans met, and the ids
// with a training interaction, the ones feature tables list.
struct Entities {
  EntityIndex index;
  std::vector<std::uint32_t> training;  // in first-seen order
  std::vector<bool> is_training;        // by id

  void MarkTraining(std::uint32_t id) {
    if (id >= is_training.size())
      is_training.resize(std::max<std::size_t>(id + 1, 2 * is_training.size()));
    if (!is_training[id]) {
      is_training[id] = true;
      training.push_back(id);
    }
  }
};

struct InteractionSpec {
  std::string fact, user = "user_id", item = "item_id", weight;
  std::vector<Filter> filters;
  int user_index = -1, item_index = -1, weight_index = -1;
  bool user_is_int = false, item_is_int = false;  // int columns, interned without text
};

// The instants of a run: T = ds 00:00, the cutoff C = T - holdout_days and the training start.
struct EtlTimes {
  std::int64_t train_from_ms, cutoff_ms, t_ms;
};

// Where the scan of the interactions' table writes them.
struct InteractionSink {
  const InteractionSpec* spec;
  CsvOut* train;    // [train_from, C)
  CsvOut* holdout;  // [C, T)
  std::int64_t train_rows = 0, holdout_rows = 0;
};

// Reads fact table `info` once: the interactions into `sink` when it is their table (else null),
// and the rows each feature of `features` on this table counts (as of the cutoff, over its
// window; a state table's latest partition before the cutoff). Index 0 of `entities` and
// `features` is the user, 1 the item. On the interactions' table every entity a feature counts
// is interned, since its training interaction may come later; on other tables only entities
// met before are counted. `rows_scanned` adds the rows read for the interactions plus those
// read for the features, as if each were a scan of its own.
Status ScanFactTable(FactStore& store, const FactTableInfo& info, const EtlTimes& times,
                     InteractionSink* sink, Entities (&entities)[2], EntityFeatures (&features)[2],
                     const CancellationToken& cancel, std::int64_t* rows_scanned);

}  // namespace reel::features
