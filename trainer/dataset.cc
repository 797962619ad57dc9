#include "trainer/dataset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/base/csv.h"

namespace reel::trainer {
namespace {

// Numbers ids in first-seen order; Finish() renumbers them in sorted order.
class IdTable {
 public:
  std::int64_t Intern(std::string_view id) {
    auto [it, inserted] =
        index_.try_emplace(std::string(id), static_cast<std::int64_t>(ids_.size()));
    if (inserted) ids_.push_back(it->first);
    return it->second;
  }
  // Returns old id -> new row, and fills `sorted` with the ids in row order.
  std::vector<std::int64_t> Finish(std::vector<std::string>& sorted) {
    std::vector<std::int64_t> order(ids_.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return ids_[a] < ids_[b]; });
    std::vector<std::int64_t> remap(ids_.size());
    sorted.clear();
    sorted.reserve(ids_.size());
    for (std::size_t row = 0; row < order.size(); ++row) {
      remap[order[row]] = static_cast<std::int64_t>(row);
      sorted.push_back(ids_[order[row]]);
    }
    return remap;
  }

 private:
  std::unordered_map<std::string, std::int64_t> index_;
  std::vector<std::string> ids_;
};

int FindColumn(const std::vector<std::string>& header, std::string_view name) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

Result<std::vector<std::string>> ReadHeader(CsvReader& reader, const std::string& path) {
  CsvRecord rec;
  if (!reader.Next(rec)) {
    if (!reader.status().ok()) return reader.status();
    return Status::InvalidArgument(
        fmt::format("{}: the file is empty (a header line is expected)", path));
  }
  if (!rec.error.empty())
    return Status::InvalidArgument(fmt::format("{}:{}: {}", path, rec.line, rec.error));
  std::vector<std::string> header;
  for (auto f : rec.fields) header.emplace_back(f);
  return header;
}

Result<float> ParseNumber(std::string_view text, const std::string& where) {
  if (text.empty()) return 0.0f;
  float value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value)) {
    return Status::InvalidArgument(fmt::format("{}: '{}' is not a number", where, text));
  }
  return value;
}

struct RawFeatures {
  int dim = 0;
  std::vector<std::int64_t> owner;  // interned id per row
  std::vector<float> values;        // rows x dim
};

Result<RawFeatures> ReadFeatures(const std::string& path, std::string_view id_column,
                                 IdTable& ids) {
  RawFeatures raw;
  REEL_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  REEL_ASSIGN_OR_RETURN(auto header, ReadHeader(*reader, path));
  int id_col = FindColumn(header, id_column);
  if (id_col < 0) {
    return Status::InvalidArgument(fmt::format("{}: no `{}` column in the header ({})", path,
                                               id_column, fmt::join(header, ",")));
  }
  raw.dim = static_cast<int>(header.size()) - 1;
  CsvRecord rec;
  while (reader->Next(rec)) {
    if (!rec.error.empty())
      return Status::InvalidArgument(fmt::format("{}:{}: {}", path, rec.line, rec.error));
    if (rec.fields.size() != header.size()) {
      return Status::InvalidArgument(fmt::format("{}:{}: {} fields, the header has {}", path,
                                                 rec.line, rec.fields.size(), header.size()));
    }
    raw.owner.push_back(ids.Intern(rec.fields[id_col]));
    for (std::size_t c = 0; c < rec.fields.size(); ++c) {
      if (static_cast<int>(c) == id_col) continue;
      REEL_ASSIGN_OR_RETURN(
          auto v,
          ParseNumber(rec.fields[c], fmt::format("{}:{} column `{}`", path, rec.line, header[c])));
      raw.values.push_back(v);
    }
  }
  REEL_RETURN_IF_ERROR(reader->status());
  return raw;
}

// Scales each column robustly (sign(x) * log1p(|x|): counts and durations are heavy-tailed),
// standardizes it over the file's rows, clips it to [-clip, clip], and scatters rows into a
// dense matrix.
std::vector<float> DenseFeatures(const RawFeatures& raw, const std::vector<std::int64_t>& remap,
                                 std::size_t num_rows, double clip) {
  std::size_t n = raw.owner.size();
  std::size_t d = static_cast<std::size_t>(raw.dim);
  std::vector<double> values(raw.values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    double x = raw.values[i];
    values[i] = std::copysign(std::log1p(std::fabs(x)), x);
  }
  std::vector<double> mean(d, 0.0), sq(d, 0.0);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < d; ++c) mean[c] += values[r * d + c];
  }
  for (auto& m : mean) m /= std::max<std::size_t>(n, 1);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < d; ++c) sq[c] += std::pow(values[r * d + c] - mean[c], 2);
  }
  std::vector<float> dense(num_rows * d, 0.0f);
  for (std::size_t r = 0; r < n; ++r) {
    std::size_t row = static_cast<std::size_t>(remap[raw.owner[r]]);
    for (std::size_t c = 0; c < d; ++c) {
      double sd = std::sqrt(sq[c] / std::max<std::size_t>(n, 1));
      double z = sd > 1e-12 ? (values[r * d + c] - mean[c]) / sd : 0.0;
      dense[row * d + c] = static_cast<float>(std::clamp(z, -clip, clip));
    }
  }
  return dense;
}

}  // namespace

Result<Dataset> LoadDataset(const TrainConfig& config) {
  Dataset data;
  IdTable users, items;
  const std::string& path = config.interactions;
  REEL_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  REEL_ASSIGN_OR_RETURN(auto header, ReadHeader(*reader, path));
  int user_col = FindColumn(header, "user_id");
  int item_col = FindColumn(header, "item_id");
  int weight_col = FindColumn(header, "weight");
  if (user_col < 0 || item_col < 0) {
    return Status::InvalidArgument(
        fmt::format("{}: the interactions need `user_id` and `item_id` columns; the header is: {}",
                    path, fmt::join(header, ",")));
  }
  data.has_weights = weight_col >= 0;
  CsvRecord rec;
  while (reader->Next(rec)) {
    if (!rec.error.empty())
      return Status::InvalidArgument(fmt::format("{}:{}: {}", path, rec.line, rec.error));
    if (rec.fields.size() != header.size()) {
      return Status::InvalidArgument(fmt::format("{}:{}: {} fields, the header has {}", path,
                                                 rec.line, rec.fields.size(), header.size()));
    }
    if (rec.fields[user_col].empty() || rec.fields[item_col].empty()) {
      return Status::InvalidArgument(
          fmt::format("{}:{}: empty user_id or item_id", path, rec.line));
    }
    data.interaction_user.push_back(users.Intern(rec.fields[user_col]));
    data.interaction_item.push_back(items.Intern(rec.fields[item_col]));
    float weight = 1.0f;
    if (data.has_weights && !rec.fields[weight_col].empty()) {
      REEL_ASSIGN_OR_RETURN(auto w,
                            ParseNumber(rec.fields[weight_col],
                                        fmt::format("{}:{} column `weight`", path, rec.line)));
      if (w <= 0) {
        return Status::InvalidArgument(
            fmt::format("{}:{}: weight must be > 0, got {}", path, rec.line, w));
      }
      weight = w;
    }
    data.interaction_weight.push_back(weight);
  }
  REEL_RETURN_IF_ERROR(reader->status());
  if (data.interaction_user.empty()) {
    return Status::InvalidArgument(fmt::format("{}: no interactions to train on", path));
  }

  RawFeatures user_raw, item_raw;
  if (!config.user_features.empty()) {
    REEL_ASSIGN_OR_RETURN(user_raw, ReadFeatures(config.user_features, "user_id", users));
  }
  if (!config.item_features.empty()) {
    REEL_ASSIGN_OR_RETURN(item_raw, ReadFeatures(config.item_features, "item_id", items));
  }

  std::vector<std::int64_t> user_remap = users.Finish(data.users);
  std::vector<std::int64_t> item_remap = items.Finish(data.items);
  for (auto& u : data.interaction_user) u = user_remap[u];
  for (auto& i : data.interaction_item) i = item_remap[i];
  data.user_feature_dim = user_raw.dim;
  data.item_feature_dim = item_raw.dim;
  if (user_raw.dim > 0) {
    data.user_features =
        DenseFeatures(user_raw, user_remap, data.users.size(), config.feature_clip);
  }
  if (item_raw.dim > 0) {
    data.item_features =
        DenseFeatures(item_raw, item_remap, data.items.size(), config.feature_clip);
  }
  std::vector<double> counts(data.items.size(), 0.0);
  for (std::int64_t item : data.interaction_item) counts[static_cast<std::size_t>(item)] += 1;
  double total = std::max<double>(1.0, static_cast<double>(data.interaction_item.size()));
  data.item_log_frequency.resize(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    data.item_log_frequency[i] = static_cast<float>(std::log(std::max(counts[i], 0.5) / total));
  }
  return data;
}

}  // namespace reel::trainer
