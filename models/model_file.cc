#include "models/model_file.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "engine/base/json.h"

namespace reel {
namespace {

static_assert(sizeof(float) == 4, "the model file stores IEEE-754 float32");

constexpr std::size_t kPrefixBytes = sizeof(kRecModelMagic) + 4;

std::uint32_t ReadU32Le(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void AppendU32Le(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void AppendFloatsLe(std::string& out, const std::vector<float>& values) {
  std::size_t at = out.size();
  out.resize(at + values.size() * 4);
  std::memcpy(out.data() + at, values.data(), values.size() * 4);
  if constexpr (std::endian::native == std::endian::big) {
    for (std::size_t i = at; i < out.size(); i += 4) {
      std::swap(out[i], out[i + 3]);
      std::swap(out[i + 1], out[i + 2]);
    }
  }
}

void ReadFloatsLe(const char* p, std::size_t count, std::vector<float>& out) {
  out.resize(count);
  std::memcpy(out.data(), p, count * 4);
  if constexpr (std::endian::native == std::endian::big) {
    auto* bytes = reinterpret_cast<unsigned char*>(out.data());
    for (std::size_t i = 0; i < count * 4; i += 4) {
      std::swap(bytes[i], bytes[i + 3]);
      std::swap(bytes[i + 1], bytes[i + 2]);
    }
  }
}

Status CheckIds(const std::vector<std::string>& ids, const char* what) {
  std::unordered_set<std::string_view> seen;
  seen.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty())
      return Status::InvalidArgument(fmt::format("{} #{} has an empty id", what, i));
    if (!seen.insert(ids[i]).second) {
      return Status::InvalidArgument(fmt::format("{} id '{}' appears twice", what, ids[i]));
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> IdList(const nlohmann::json& header, const char* key) {
  auto it = header.find(key);
  if (it == header.end() || !it->is_array()) {
    return Status::InvalidArgument(fmt::format("header has no \"{}\" array", key));
  }
  std::vector<std::string> ids;
  ids.reserve(it->size());
  for (const auto& id : *it) {
    if (!id.is_string())
      return Status::InvalidArgument(fmt::format("\"{}\" holds a non-string id", key));
    ids.push_back(id.get<std::string>());
  }
  return ids;
}

Result<std::uint64_t> SizeField(const nlohmann::json& header, const char* key) {
  auto it = header.find(key);
  if (it == header.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) {
    return Status::InvalidArgument(
        fmt::format("header field \"{}\" is missing or not a count", key));
  }
  return it->get<std::uint64_t>();
}

}  // namespace

void RecModel::Reindex() {
  user_index_.clear();
  item_index_.clear();
  user_index_.reserve(users.size());
  item_index_.reserve(items.size());
  for (std::size_t i = 0; i < users.size(); ++i) user_index_.emplace(users[i], i);
  for (std::size_t i = 0; i < items.size(); ++i) item_index_.emplace(items[i], i);
}

std::optional<std::size_t> RecModel::UserIndex(std::string_view id) const {
  auto it = user_index_.find(std::string(id));
  if (it == user_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::size_t> RecModel::ItemIndex(std::string_view id) const {
  auto it = item_index_.find(std::string(id));
  if (it == item_index_.end()) return std::nullopt;
  return it->second;
}

float RecModel::Score(std::size_t user, std::size_t item) const {
  const float* u = UserVec(user);
  const float* v = ItemVec(item);
  float s = 0;
  for (int d = 0; d < dim; ++d) s += u[d] * v[d];
  return s;
}

std::vector<std::pair<std::size_t, float>> RecModel::TopK(
    std::size_t user, std::size_t k, const std::vector<std::size_t>& exclude) const {
  std::vector<char> skip(items.size(), 0);
  for (std::size_t e : exclude) {
    if (e < skip.size()) skip[e] = 1;
  }
  std::vector<std::pair<std::size_t, float>> scored;
  scored.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!skip[i]) scored.emplace_back(i, Score(user, i));
  }
  auto better = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  k = std::min(k, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(k), scored.end(),
                    better);
  scored.resize(k);
  return scored;
}

Status ValidateRecModel(const RecModel& model) {
  if (model.dim <= 0)
    return Status::InvalidArgument(fmt::format("dim must be > 0, got {}", model.dim));
  std::size_t dim = static_cast<std::size_t>(model.dim);
  if (model.user_vecs.size() != model.users.size() * dim) {
    return Status::InvalidArgument(fmt::format("{} user vectors of dim {} need {} floats, have {}",
                                               model.users.size(), dim, model.users.size() * dim,
                                               model.user_vecs.size()));
  }
  if (model.item_vecs.size() != model.items.size() * dim) {
    return Status::InvalidArgument(fmt::format("{} item vectors of dim {} need {} floats, have {}",
                                               model.items.size(), dim, model.items.size() * dim,
                                               model.item_vecs.size()));
  }
  if (!model.header.is_object()) return Status::InvalidArgument("header must be a JSON object");
  REEL_RETURN_IF_ERROR(CheckIds(model.users, "user"));
  return CheckIds(model.items, "item");
}

Result<std::string> EncodeRecModel(const RecModel& model) {
  REEL_RETURN_IF_ERROR(ValidateRecModel(model));
  nlohmann::json header = model.header;
  header["format_version"] = kRecModelFormatVersion;
  header["dim"] = model.dim;
  header["num_users"] = model.users.size();
  header["num_items"] = model.items.size();
  header["users"] = model.users;
  header["items"] = model.items;
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("model header is not valid UTF-8 JSON: ") +
                                   e.what());
  }
  if (text.size() > 0xffffffffull) return Status::InvalidArgument("model header exceeds 4 GiB");
  std::string out;
  out.reserve(kPrefixBytes + text.size() + (model.user_vecs.size() + model.item_vecs.size()) * 4);
  out.append(kRecModelMagic, sizeof(kRecModelMagic));
  AppendU32Le(out, static_cast<std::uint32_t>(text.size()));
  out += text;
  AppendFloatsLe(out, model.user_vecs);
  AppendFloatsLe(out, model.item_vecs);
  return out;
}

Result<RecModel> DecodeRecModel(std::string_view bytes, std::string_view source) {
  auto fail = [&](const std::string& what) {
    return Status::InvalidArgument(
        fmt::format("{}: not a valid reel model file: {}", source, what));
  };
  if (bytes.size() < kPrefixBytes || std::memcmp(bytes.data(), kRecModelMagic, 8) != 0) {
    return fail("it does not start with the magic \"REELMDL1\"");
  }
  std::uint64_t header_len = ReadU32Le(bytes.data() + 8);
  if (header_len > bytes.size() - kPrefixBytes) {
    return fail(fmt::format("header length {} runs past the end of the file ({} bytes)", header_len,
                            bytes.size()));
  }
  std::string_view header_text = std::string_view(bytes).substr(kPrefixBytes, header_len);
  if (JsonTextDepth(header_text) > kMaxJsonDepth) return fail(TooDeepMessage("the header"));
  nlohmann::json header = nlohmann::json::parse(header_text, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return fail("the header is not a JSON object");
  auto version = header.find("format_version");
  if (version == header.end() || !version->is_number_integer()) return fail("no format_version");
  if (*version != kRecModelFormatVersion) {
    return fail(fmt::format("format_version {} is not supported (this reel reads version {})",
                            version->dump(), kRecModelFormatVersion));
  }
  auto dim = SizeField(header, "dim");
  auto num_users = SizeField(header, "num_users");
  auto num_items = SizeField(header, "num_items");
  for (const Status* s : {&dim.status(), &num_users.status(), &num_items.status()}) {
    if (!s->ok()) return fail(s->message());
  }
  if (*dim == 0 || *dim > (1u << 20)) return fail(fmt::format("dim {} is out of range", *dim));
  RecModel model;
  model.dim = static_cast<int>(*dim);
  auto users = IdList(header, "users");
  if (!users.ok()) return fail(users.status().message());
  auto items = IdList(header, "items");
  if (!items.ok()) return fail(items.status().message());
  model.users = std::move(users).value();
  model.items = std::move(items).value();
  if (model.users.size() != *num_users || model.items.size() != *num_items) {
    return fail(fmt::format("num_users/num_items ({}/{}) disagree with the id lists ({}/{})",
                            *num_users, *num_items, model.users.size(), model.items.size()));
  }
  std::uint64_t floats = (*num_users + *num_items) * *dim;
  std::uint64_t body = bytes.size() - kPrefixBytes - header_len;
  if (body != floats * 4) {
    return fail(
        fmt::format("expected {} bytes of vectors after the header, found {}", floats * 4, body));
  }
  const char* p = bytes.data() + kPrefixBytes + header_len;
  ReadFloatsLe(p, model.users.size() * *dim, model.user_vecs);
  ReadFloatsLe(p + model.user_vecs.size() * 4, model.items.size() * *dim, model.item_vecs);
  for (const char* key : {"format_version", "dim", "num_users", "num_items", "users", "items"}) {
    header.erase(key);
  }
  model.header = std::move(header);
  Status valid = ValidateRecModel(model);
  if (!valid.ok()) return fail(valid.message());
  model.Reindex();
  return model;
}

Result<RecModel> LoadRecModel(const std::filesystem::path& path) {
  REEL_ASSIGN_OR_RETURN(auto bytes, ReadFileToString(path));
  return DecodeRecModel(bytes, path.string());
}

Status SaveRecModel(const RecModel& model, const std::filesystem::path& path) {
  auto bytes = EncodeRecModel(model);
  if (!bytes.ok()) {
    return Status::InvalidArgument(
        fmt::format("cannot write model {}: {}", path.string(), bytes.status().message()));
  }
  return WriteFileAtomic(path, *bytes);
}

}  // namespace reel
