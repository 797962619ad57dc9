// A Context for operator unit tests: config, params and upstream outputs set by the test,
// artifacts kept as plain files in a temporary folder, metrics, events and log lines recorded
// for assertions. Built with the operator's OperatorInfo, it hands out the config as the engine
// does, with the schema's defaults applied, and it fails the test when the operator publishes
// an output its OperatorInfo does not declare.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/workflow/config_schema.h"
#include "reel/operator.h"

namespace reel::testing {

// A fresh temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("reel-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void WriteFile(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct RecordedMetric {
  std::string key;
  double value;
  std::int64_t step;
};

class FakeContext : public Context {
 public:
  explicit FakeContext(std::filesystem::path home) : home_(std::move(home)) {
    std::filesystem::create_directories(home_ / "artifacts");
    std::filesystem::create_directories(home_ / "work");
  }
  // config() then returns config_ as the engine hands a rendered `with:` block to Execute: each
  // key of `info.config` that is missing or null takes the key's default_value, if it has one
  // (ApplyConfigDefaults, the first half of what the engine does before Execute).
  FakeContext(std::filesystem::path home, const OperatorInfo& info) : FakeContext(std::move(home)) {
    schema_ = info.config;
    if (info.declares_outputs && !info.open_outputs) declared_ = info;
  }

  Json config_ = Json::object();
  Json params_ = Json::object();
  Json upstream_ = Json::object();
  Json item_;
  std::string run_id_ = "run-test";
  std::string workflow_ = "test_workflow";
  std::string step_ = "step";
  std::string logical_date_ = "2026-01-01";
  int attempt_ = 1;
  Json outputs = Json::object();
  std::vector<RecordedMetric> metrics;
  std::vector<std::pair<std::string, Json>> events;
  std::vector<std::string> log_lines;
  CancellationToken token;

  const Json& config() const override {
    if (schema_.empty() || !config_.is_object()) return config_;
    // Recomputed only when the test changed config_, so references into it stay valid.
    if (!applied_for_ || *applied_for_ != config_) {
      applied_ = config_;
      ApplyConfigDefaults(schema_, applied_);
      applied_for_ = config_;
    }
    return applied_;
  }
  const Json& params() const override { return params_; }
  const Json& upstream_outputs() const override { return upstream_; }
  const std::string& run_id() const override { return run_id_; }
  const std::string& workflow_name() const override { return workflow_; }
  const std::string& step_name() const override { return step_; }
  int attempt() const override { return attempt_; }
  const std::string& logical_date() const override { return logical_date_; }
  const Json& item() const override { return item_; }
  std::filesystem::path home() const override { return home_; }
  std::filesystem::path work_dir() const override { return home_ / "work"; }
  std::filesystem::path log_path() const override { return home_ / "attempt.log"; }

  void SetOutput(const std::string& key, Json value) override {
    if (declared_) {
      const auto& fields = declared_->outputs;
      CHECK_MESSAGE(std::any_of(fields.begin(), fields.end(),
                                [&](const OutputField& f) { return f.name == key; }),
                    declared_->name << " sets output '" << key << "', which it does not declare");
    }
    outputs[key] = std::move(value);
  }

  Result<ArtifactRef> PutArtifact(const std::string& name,
                                  const std::filesystem::path& file) override {
    std::string id = std::to_string(next_artifact_++);
    auto dest = home_ / "artifacts" / id;
    std::error_code ec;
    std::filesystem::copy_file(file, dest, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) return Status::IoError("cannot store artifact " + name + ": " + ec.message());
    ArtifactRef ref{name, "fake:" + id, std::filesystem::file_size(dest)};
    artifacts[name] = ref;
    return ref;
  }

  Result<std::filesystem::path> ArtifactPath(const std::string& uri) const override {
    if (uri.rfind("fake:", 0) != 0) return Status::NotFound("no artifact " + uri);
    auto path = home_ / "artifacts" / uri.substr(5);
    if (!std::filesystem::exists(path)) return Status::NotFound("no artifact " + uri);
    return path;
  }

  void LogMetric(const std::string& key, double value, std::int64_t step) override {
    metrics.push_back({key, value, step});
  }
  void RecordEvent(const std::string& kind, const Json& payload) override {
    events.emplace_back(kind, payload);
  }
  void Log(LogLevel, std::string_view message) override { log_lines.emplace_back(message); }
  // Output goes to the log file, as in the engine (without redaction).
  void WriteOutput(std::string_view bytes) override {
    std::ofstream out(log_path(), std::ios::binary | std::ios::app);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const CancellationToken& cancellation() const override { return token; }

  // The last value recorded for a metric key, or NaN.
  double Metric(const std::string& key) const {
    for (auto it = metrics.rbegin(); it != metrics.rend(); ++it) {
      if (it->key == key) return it->value;
    }
    return std::nan("");
  }

  std::map<std::string, ArtifactRef> artifacts;

 private:
  std::filesystem::path home_;
  int next_artifact_ = 0;
  std::vector<ConfigField> schema_;
  std::optional<OperatorInfo> declared_;     // what the operator declares it publishes
  mutable Json applied_;                     // config_ with the schema's defaults
  mutable std::optional<Json> applied_for_;  // the config_ that applied_ was made from
};

}  // namespace reel::testing
