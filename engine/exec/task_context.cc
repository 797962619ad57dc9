#include "engine/exec/task_context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "engine/store/state_store.h"

namespace reel {

TaskContext::TaskContext(TaskIdentity identity, Json config, Json params, Json upstream,
                         std::filesystem::path home, std::filesystem::path work_dir,
                         std::filesystem::path log_path, ArtifactStore& artifacts,
                         std::vector<std::string> secrets)
    : id_(std::move(identity)),
      config_(std::move(config)),
      params_(std::move(params)),
      upstream_(std::move(upstream)),
      home_(std::move(home)),
      work_dir_(std::move(work_dir)),
      log_path_(std::move(log_path)),
      artifacts_(artifacts) {
  for (const auto& secret : secrets) {
    for (auto& rendering : SecretRenderings(secret)) {
      if (std::find(secrets_.begin(), secrets_.end(), rendering) == secrets_.end()) {
        secrets_.push_back(std::move(rendering));
      }
    }
  }
  // Longest first, so that a secret containing another is replaced whole.
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& secret : secrets_) longest_secret_ = std::max(longest_secret_, secret.size());
}

TaskContext::~TaskContext() {
  WriteHeldOutputLocked(true);  // no other thread can hold mu_ any more
  if (log_dropped_ > 0 && log_) {
    std::string note = fmt::format(
        "\n{} reel: the log reached its limit of {} bytes; {} more bytes of output were "
        "dropped\n",
        FormatMillisIso(NowMillis()), log_max_bytes_, log_dropped_);
    std::fwrite(note.data(), 1, note.size(), log_);
  }
  if (log_) std::fclose(log_);
}

std::filesystem::path TaskContext::work_dir() const {
  (void)MakePrivateDirs(work_dir_);
  return work_dir_;
}

std::filesystem::path TaskContext::log_path() const {
  std::call_once(log_dir_made_, [this] { (void)MakePrivateDirs(log_path_.parent_path()); });
  return log_path_;
}

void TaskContext::SetOutput(const std::string& key, Json value) {
  std::lock_guard<std::mutex> lock(mu_);
  outputs_[key] = std::move(value);
}

Result<ArtifactRef> TaskContext::PutArtifact(const std::string& name,
                                             const std::filesystem::path& file) {
  std::error_code ec;
  auto ref = std::filesystem::is_directory(file, ec) ? artifacts_.PutTree(name, file)
                                                     : artifacts_.Put(name, file);
  if (!ref.ok()) return ref;
  std::lock_guard<std::mutex> lock(mu_);
  artifact_refs_.push_back(*ref);
  return ref;
}

void TaskContext::AddStoredArtifact(ArtifactRef ref) {
  std::lock_guard<std::mutex> lock(mu_);
  artifact_refs_.push_back(std::move(ref));
}

Result<std::filesystem::path> TaskContext::ArtifactPath(const std::string& uri) const {
  return artifacts_.Path(uri);
}

void TaskContext::LogMetric(const std::string& key, double value, std::int64_t step) {
  std::lock_guard<std::mutex> lock(mu_);
  metrics_.push_back({key, {value, step}});
}

void TaskContext::RecordEvent(const std::string& kind, const Json& payload) {
  Json redacted = RedactJson(payload, secrets_);
  std::lock_guard<std::mutex> lock(mu_);
  events_.emplace_back(kind, std::move(redacted));
}

std::vector<std::string> SecretRenderings(const std::string& secret) {
  std::vector<std::string> out;
  if (secret.empty()) return out;
  out.push_back(secret);
  auto add = [&out](std::string rendering) {
    if (std::find(out.begin(), out.end(), rendering) == out.end()) out.push_back(rendering);
  };
  // How a shell quotes it: 'it'\''s' for it's (the quotes around it are not part of it).
  std::string shell_quoted = ShellQuote(secret);
  add(shell_quoted.substr(1, shell_quoted.size() - 2));
  // Inside a JSON string: quotes, backslashes and control characters escaped.
  std::string json = Json(secret).dump(-1, ' ', false, Json::error_handler_t::replace);
  add(json.substr(1, json.size() - 2));
  return out;
}

std::string RedactText(std::string_view text, const std::vector<std::string>& renderings) {
  std::string out(text);
  for (const auto& secret : renderings) {
    if (secret.empty()) continue;
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return out;
}

Json RedactJson(const Json& value, const std::vector<std::string>& renderings) {
  if (renderings.empty()) return value;
  if (value.is_string()) return RedactText(value.get_ref<const std::string&>(), renderings);
  if (value.is_number()) {
    std::string text = value.dump();
    return RedactText(text, renderings) == text ? value : Json("***");
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& element : value) out.push_back(RedactJson(element, renderings));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      out[RedactText(it.key(), renderings)] = RedactJson(*it, renderings);
    }
    return out;
  }
  return value;
}

std::string TaskContext::Redact(std::string_view text) const { return RedactText(text, secrets_); }

void TaskContext::Log(LogLevel level, std::string_view message) {
  static const char* kLevels[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  std::string line =
      FormatMillisIso(NowMillis()) + " " + kLevels[static_cast<int>(level)] + " " + Redact(message);
  if (line.empty() || line.back() != '\n') line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  WriteHeldOutputLocked(true);
  AppendLocked(line);
}

void TaskContext::WriteOutput(std::string_view bytes) {
  if (bytes.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (longest_secret_ == 0) {
    AppendLocked(bytes);
    return;
  }
  held_output_.append(bytes);
  WriteHeldOutputLocked(false);
}

void TaskContext::WriteHeldOutputLocked(bool all) {
  std::size_t hold = all || longest_secret_ == 0 ? 0 : longest_secret_ - 1;
  if (held_output_.size() <= hold) return;
  // A secret that starts before `cut` ends inside the buffer, so it is replaced whole; one that
  // starts later stays held until more output (or the end) shows whether it is complete.
  std::size_t cut = held_output_.size() - hold;
  std::string out;
  std::size_t i = 0;
  while (i < cut) {
    std::size_t best = std::string::npos, best_size = 0;
    for (const auto& secret : secrets_) {
      if (secret.empty()) continue;
      std::size_t at = held_output_.find(secret, i);
      if (at < cut && (at < best || (at == best && secret.size() > best_size))) {
        best = at;
        best_size = secret.size();
      }
    }
    if (best == std::string::npos) {
      out.append(held_output_, i, cut - i);
      i = cut;
      break;
    }
    out.append(held_output_, i, best - i);
    out += "***";
    i = best + best_size;
  }
  held_output_.erase(0, i);
  AppendLocked(out);
}

void TaskContext::AppendLocked(std::string_view text) {
  if (text.empty() || !log_status_.ok()) return;
  if (log_bytes_ + text.size() > log_max_bytes_) {
    std::uint64_t room = log_max_bytes_ > log_bytes_ ? log_max_bytes_ - log_bytes_ : 0;
    log_dropped_ += text.size() - room;
    text = text.substr(0, room);
    if (text.empty()) return;
  }
  log_bytes_ += text.size();
  if (!log_) {
    log_path();  // creates the folder
    // Owner-only (0600) whatever the umask: a log holds what the step printed.
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, kPrivateFileMode);
    if (fd >= 0) {
      (void)::fchmod(fd, kPrivateFileMode);
      log_ = ::fdopen(fd, "a");
      if (!log_) ::close(fd);
    }
    if (!log_) {
      log_status_ = Status::IoError(fmt::format("cannot create the attempt's log {}: {}",
                                                log_path_.string(), std::strerror(errno)));
      return;
    }
  }
  if (std::fwrite(text.data(), 1, text.size(), log_) != text.size() || std::fflush(log_) != 0) {
    log_status_ = Status::IoError(fmt::format("cannot write the attempt's log {}: {}",
                                              log_path_.string(), std::strerror(errno)));
  }
}

Status TaskContext::log_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_status_;
}

Json TaskContext::TakeOutputs() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(outputs_, Json::object());
}

std::vector<ArtifactRef> TaskContext::TakeArtifacts() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(artifact_refs_, {});
}

std::vector<std::pair<std::string, std::pair<double, int64_t>>> TaskContext::TakeMetrics() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(metrics_, {});
}

std::vector<std::pair<std::string, Json>> TaskContext::TakeEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(events_, {});
}

}  // namespace reel
