#include "engine/task_context.h"

#include <sys/stat.h>

#include "engine/fsutil.h"
#include "engine/state_store.h"

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
      artifacts_(artifacts),
      secrets_(std::move(secrets)) {}

TaskContext::~TaskContext() {
  if (log_) std::fclose(log_);
}

std::filesystem::path TaskContext::work_dir() const {
  std::error_code ec;
  std::filesystem::create_directories(work_dir_, ec);
  return work_dir_;
}

std::filesystem::path TaskContext::log_path() const {
  std::call_once(log_dir_made_, [this] { (void)MakeDirs(log_path_.parent_path()); });
  return log_path_;
}

void TaskContext::SetOutput(const std::string& key, Json value) {
  std::lock_guard<std::mutex> lock(mu_);
  outputs_[key] = std::move(value);
}

Result<ArtifactRef> TaskContext::PutArtifact(const std::string& name,
                                             const std::filesystem::path& file) {
  auto ref = artifacts_.Put(name, file);
  if (!ref.ok()) return ref;
  std::lock_guard<std::mutex> lock(mu_);
  artifact_refs_.push_back(*ref);
  return ref;
}

Result<std::filesystem::path> TaskContext::ArtifactPath(const std::string& uri) const {
  return artifacts_.Path(uri);
}

void TaskContext::LogMetric(const std::string& key, double value, std::int64_t step) {
  std::lock_guard<std::mutex> lock(mu_);
  metrics_.push_back({key, {value, step}});
}

void TaskContext::RecordEvent(const std::string& kind, const Json& payload) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.emplace_back(kind, payload);
}

std::string TaskContext::Redact(std::string_view text) const {
  std::string out(text);
  for (const auto& secret : secrets_) {
    if (secret.empty()) continue;
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return out;
}

void TaskContext::Log(LogLevel level, std::string_view message) {
  static const char* kLevels[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  std::string line = FormatMillisIso(NowMillis()) + " " + kLevels[static_cast<int>(level)] + " " +
                     Redact(message);
  if (line.empty() || line.back() != '\n') line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  if (!log_) {
    log_path();  // creates the folder
    log_ = std::fopen(log_path_.c_str(), "ae");
    if (!log_) return;
  }
  std::fwrite(line.data(), 1, line.size(), log_);
  std::fflush(log_);
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
