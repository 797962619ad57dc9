#include "features/scan.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "engine/base/csv.h"

namespace reel::features {
namespace {

// Writes `v` at `p`, which has room for 20 characters; returns the end.
char* PutInt(char* p, std::int64_t v) { return std::to_chars(p, p + 20, v).ptr; }

void AppendInt(std::string& out, std::int64_t v) {
  char text[20];
  out.append(text, PutInt(text, v));
}

bool PrintsAsInt(double v) { return std::floor(v) == v && std::fabs(v) < 1e15; }

// The features of one entity kind on the scanned table that share a key column.
struct KeyGroup {
  int entity;  // 0 user, 1 item
  int key_index;
  bool key_is_int;
  std::vector<std::size_t> features;  // indexes into EntityFeatures
};

class TableScan {
 public:
  TableScan(const FactTableInfo& info, const EtlTimes& times, InteractionSink* sink,
            Entities (&entities)[2], EntityFeatures (&features)[2])
      : info_(info), times_(times), sink_(sink), entities_(entities), features_(features) {
    std::vector<int> columns;
    auto use = [&](int i) {
      if (i >= 0) columns.push_back(i);
    };
    if (info.kind == FactKind::kEvent) use(info.schema.time_index());
    if (sink_) {
      const InteractionSpec& s = *sink_->spec;
      use(s.user_index);
      use(s.item_index);
      use(s.weight_index);
      for (const auto& f : s.filters) use(f.index);
    }
    for (int e = 0; e < 2; ++e) {
      for (std::size_t f = 0; f < features_[e].size(); ++f) {
        const FeatureDef& def = features_[e].def(f);
        if (def.fact != info.name) continue;
        auto group = std::find_if(groups_.begin(), groups_.end(), [&](const KeyGroup& g) {
          return g.entity == e && g.key_index == def.key_index;
        });
        if (group == groups_.end()) {
          groups_.push_back({e, def.key_index, def.key_is_int, {}});
          group = groups_.end() - 1;
        }
        group->features.push_back(f);
        use(def.key_index);
        use(def.column_index);
        for (const auto& filter : def.filters) use(filter.index);
        for (const auto& filter : def.numerator) use(filter.index);
        features_from_ms_ =
            def.window_days == 0
                ? INT64_MIN
                : std::min(features_from_ms_, times.cutoff_ms - def.window_days * kMsPerDay);
      }
    }
    std::sort(columns.begin(), columns.end());
    columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
    columns_ = std::move(columns);
    can_wait_ = NumbersOnly();
    if (can_wait_) waiting_.resize(kWait);
  }

  Status Run(FactStore& store, const CancellationToken& cancel, std::int64_t* rows_scanned) {
    cancel_ = &cancel;
    rows_scanned_ = rows_scanned;
    if (info_.kind == FactKind::kState) {
      // The latest partition before the cutoff; its rows count as of just before it.
      in_features_ = !groups_.empty();
      features_from_ms_ = INT64_MIN;
      if (!in_features_) return Status::Ok();
      return store.AsOf(
          info_.name, FactTime(std::chrono::milliseconds(times_.cutoff_ms)),
          [&](const FactRow& row) { return Visit(row, times_.cutoff_ms - 1); }, columns_);
    }
    // The days each part reads: the interactions those of [train_from, T); the features those
    // of their longest window before C or, with an all-history feature, every day up to C's.
    // Each run of days with the same parts is one range scan, so the cost follows the rows of
    // those days, not the number of partitions in the table.
    const std::int32_t train_day = DayOfMs(times_.train_from_ms), end_day = DayOfMs(times_.t_ms);
    const std::int32_t cutoff_day = DayOfMs(times_.cutoff_ms);
    const bool all_history = features_from_ms_ == INT64_MIN;
    const std::int32_t feature_lo = all_history ? INT32_MIN : DayOfMs(features_from_ms_);
    const std::int32_t feature_hi = all_history ? cutoff_day + 1 : cutoff_day;
    auto interactions_on = [&](std::int32_t day) {
      return sink_ && day >= train_day && day < end_day;
    };
    auto features_on = [&](std::int32_t day) {
      return !groups_.empty() && day >= feature_lo && day < feature_hi;
    };
    std::vector<std::int32_t> bounds;
    if (sink_ && train_day < end_day) bounds.insert(bounds.end(), {train_day, end_day});
    if (!groups_.empty() && feature_lo < feature_hi)
      bounds.insert(bounds.end(), {feature_lo, feature_hi});
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    for (std::size_t i = 0; i + 1 < bounds.size() && !stopped_; ++i) {
      in_interactions_ = interactions_on(bounds[i]);
      in_features_ = features_on(bounds[i]);
      if (!in_interactions_ && !in_features_) continue;
      REEL_RETURN_IF_ERROR(
          store.ScanDays(info_, bounds[i], bounds[i + 1], columns_,
                         [&](const FactRow& row) { return Visit(row, row.TimeMs()); }));
    }
    Drain();
    return Status::Ok();
  }

 private:
  bool Visit(const FactRow& row, std::int64_t ts) {
    if ((++visited_ & 0xffff) == 0 && cancel_->cancelled()) {
      stopped_ = true;
      return false;
    }
    const bool interaction = in_interactions_ && ts >= times_.train_from_ms && ts < times_.t_ms;
    const bool features = in_features_ && ts < times_.cutoff_ms && ts >= features_from_ms_;
    *rows_scanned_ += interaction + features;
    if (!interaction && !features) return true;
    if (can_wait_) {
      Waiting& w = waiting_[next_ % kWait];
      if (w.row.CopyNumbers(row)) {
        w.ts = ts;
        w.interaction = interaction;
        w.features = features;
        FetchIds(w);
        if (next_ - done_ >= kWait / 2) FetchRecords(waiting_[(next_ - kWait / 2) % kWait]);
        if (++next_ - done_ == kWait) ProcessOldest();
        return true;
      }
      Drain();
    }
    Process(row, ts, interaction, features);
    return true;
  }

  // Rows whose values are all numbers wait in a short queue before they are processed, in scan
  // order: meanwhile the memory their entities' ids and records live in is fetched, which
  // otherwise stalls on nearly every row when there are many entities. Other rows drain the
  // queue and go at once.
  struct Waiting {
    FactRow row;
    std::int64_t ts = 0;
    bool interaction = false, features = false;
  };
  static constexpr std::uint64_t kWait = 16;

  // Whether every row of this table can wait: the values its processing reads are numbers
  // (no text ids, keys, compared strings or distinct text).
  bool NumbersOnly() const {
    auto numeric = [](const std::vector<Filter>& filters) {
      for (const auto& f : filters) {
        for (const auto& v : f.operands) {
          if (!v.numeric) return false;
        }
      }
      return true;
    };
    if (info_.kind != FactKind::kEvent) return false;
    if (sink_) {
      const InteractionSpec& s = *sink_->spec;
      if (!s.user_is_int || !s.item_is_int || !numeric(s.filters)) return false;
    }
    for (const KeyGroup& g : groups_) {
      if (!g.key_is_int) return false;
      for (std::size_t f : g.features) {
        const FeatureDef& def = features_[g.entity].def(f);
        if (!numeric(def.filters) || !numeric(def.numerator)) return false;
        if (def.aggregation == Aggregation::kDistinctCount && !def.column_is_int) return false;
      }
    }
    return true;
  }

  void FetchIds(const Waiting& w) const {
    if (w.interaction) {
      const InteractionSpec& s = *sink_->spec;
      entities_[0].index.PrefetchInt(w.row.Int(s.user_index));
      entities_[1].index.PrefetchInt(w.row.Int(s.item_index));
    }
    if (w.features) {
      for (const KeyGroup& g : groups_)
        entities_[g.entity].index.PrefetchInt(w.row.Int(g.key_index));
    }
  }

  void FetchRecords(const Waiting& w) const {
    if (!w.features) return;
    for (const KeyGroup& g : groups_) {
      if (w.row.IsNull(g.key_index)) continue;
      const std::uint32_t id = entities_[g.entity].index.FindInt(w.row.Int(g.key_index));
      if (id != EntityIndex::kNone) features_[g.entity].Prefetch(id);
    }
  }

  void ProcessOldest() {
    const Waiting& w = waiting_[done_++ % kWait];
    Process(w.row, w.ts, w.interaction, w.features);
  }

  void Drain() {
    while (done_ < next_) ProcessOldest();
  }

  void Process(const FactRow& row, std::int64_t ts, bool interaction, bool features) {
    if (interaction) Interaction(row, ts);
    if (features) Features(row, ts);
  }

  void Interaction(const FactRow& row, std::int64_t ts) {
    const InteractionSpec& spec = *sink_->spec;
    for (const auto& f : spec.filters) {
      if (!f.Matches(row)) return;
    }
    if (row.IsNull(spec.user_index) || row.IsNull(spec.item_index)) return;
    const bool is_train = ts < times_.cutoff_ms;
    CsvOut& csv = is_train ? *sink_->train : *sink_->holdout;
    std::string& out = csv.buf();
    const double weight = spec.weight_index >= 0 && !row.IsNull(spec.weight_index)
                              ? row.Float(spec.weight_index)
                              : 1.0;
    const std::int64_t seconds = ts >= 0 ? ts / 1000 : -((-ts + 999) / 1000);  // floor
    if (spec.user_is_int && spec.item_is_int && PrintsAsInt(weight)) {
      // The common line, built in place: user,item,weight,ts
      const std::int64_t user = row.Int(spec.user_index), item = row.Int(spec.item_index);
      char line[4 * 21];
      char* p = PutInt(line, user);
      *p++ = ',';
      p = PutInt(p, item);
      *p++ = ',';
      p = PutInt(p, static_cast<std::int64_t>(weight));
      *p++ = ',';
      p = PutInt(p, seconds);
      *p++ = '\n';
      out.append(line, p);
      if (is_train) {
        entities_[0].MarkTraining(entities_[0].index.InternInt(user));
        entities_[1].MarkTraining(entities_[1].index.InternInt(item));
      }
      ++(is_train ? sink_->train_rows : sink_->holdout_rows);
      csv.MaybeFlush();
      return;
    }
    for (int e = 0; e < 2; ++e) {
      const int index = e == 0 ? spec.user_index : spec.item_index;
      EntityIndex& entities = entities_[e].index;
      if (e == 0 ? spec.user_is_int : spec.item_is_int) {
        const std::int64_t id = row.Int(index);
        AppendInt(out, id);
        if (is_train) entities_[e].MarkTraining(entities.InternInt(id));
      } else {
        const std::string_view id = row.Text(index);
        AppendCsvField(out, id);
        if (is_train) entities_[e].MarkTraining(entities.Intern(id));
      }
      out += ',';
    }
    AppendNumber(out, weight);
    out += ',';
    AppendInt(out, seconds);
    out += '\n';
    ++(is_train ? sink_->train_rows : sink_->holdout_rows);
    csv.MaybeFlush();
  }

  void Features(const FactRow& row, std::int64_t ts) {
    for (const KeyGroup& g : groups_) {
      EntityFeatures& features = features_[g.entity];
      std::uint32_t id = EntityIndex::kNone;
      bool looked_up = false;
      for (std::size_t f : g.features) {
        if (!features.Accepts(f, row, ts)) continue;
        if (!looked_up) {
          looked_up = true;
          id = LookUp(g, row);
        }
        if (id == EntityIndex::kNone) break;
        features.Add(f, row, id, ts);
      }
    }
  }

  std::uint32_t LookUp(const KeyGroup& g, const FactRow& row) {
    if (row.IsNull(g.key_index)) return EntityIndex::kNone;
    EntityIndex& index = entities_[g.entity].index;
    if (sink_) {
      return g.key_is_int ? index.InternInt(row.Int(g.key_index))
                          : index.Intern(row.Text(g.key_index));
    }
    return g.key_is_int ? index.FindInt(row.Int(g.key_index)) : index.Find(row.Text(g.key_index));
  }

  const FactTableInfo& info_;
  const EtlTimes& times_;
  InteractionSink* sink_;
  Entities (&entities_)[2];
  EntityFeatures (&features_)[2];
  std::vector<KeyGroup> groups_;
  std::vector<int> columns_;
  // The earliest event time a feature of this table counts (INT64_MIN: all history).
  std::int64_t features_from_ms_ = INT64_MAX;
  bool in_interactions_ = false, in_features_ = false;
  const CancellationToken* cancel_ = nullptr;
  std::int64_t* rows_scanned_ = nullptr;
  std::int64_t visited_ = 0;
  bool stopped_ = false;
  bool can_wait_ = false;
  std::vector<Waiting> waiting_;       // a ring of kWait rows
  std::uint64_t next_ = 0, done_ = 0;  // rows queued and processed so far
};

}  // namespace

void AppendNumber(std::string& out, double v) {
  if (PrintsAsInt(v)) {
    AppendInt(out, static_cast<std::int64_t>(v));
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

Status CsvOut::Close() {
  Flush();
  out_.close();
  if (!out_) return Status::IoError("feature_etl: cannot write " + path_.string());
  return Status::Ok();
}

void CsvOut::Flush() {
  out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
  buf_.clear();
}

Status ScanFactTable(FactStore& store, const FactTableInfo& info, const EtlTimes& times,
                     InteractionSink* sink, Entities (&entities)[2], EntityFeatures (&features)[2],
                     const CancellationToken& cancel, std::int64_t* rows_scanned) {
  TableScan scan(info, times, sink, entities, features);
  return scan.Run(store, cancel, rows_scanned);
}

}  // namespace reel::features
