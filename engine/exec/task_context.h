// The engine's Context for one attempt of one task. What an operator reports (outputs,
// metrics, events, artifacts) is buffered here and written to the state store by the scheduler
// in the same transaction that records the attempt's end. Log lines and output go straight to
// the attempt's log file, created on first write, with secret values redacted.
//
// Thread-safety: every method may be called from any thread until the attempt ends.
#pragma once

#include <cstdio>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/exec/process_step.h"
#include "engine/store/artifact_store.h"
#include "engine/store/state_store.h"
#include "reel/operator.h"

namespace reel {

struct TaskIdentity {
  std::string run_id;
  std::string workflow;
  std::string step;
  std::string logical_date;
  Json item;  // null outside foreach
  int64_t item_index = -1;
  int attempt = 1;
};

// Every way a secret value may be written out: as is, quoted for a POSIX shell ('\'' for each
// '), and escaped inside a JSON string. Empty for an empty value.
std::vector<std::string> SecretRenderings(const std::string& secret);
// `text` with each of `renderings` (see SecretRenderings) replaced by ***, longest first.
std::string RedactText(std::string_view text, const std::vector<std::string>& renderings);
// `value` with RedactText applied to every string in it (keys included), and every number
// whose text is a secret replaced by "***".
Json RedactJson(const Json& value, const std::vector<std::string>& renderings);

class TaskContext : public Context, public AttemptSecrets, public AttemptInputs {
 public:
  // `secrets`: the secret values the attempt's config and item hold; every rendering of each
  // is redacted from the log, events and Redact's results.
  TaskContext(TaskIdentity identity, Json config, Json params, Json upstream,
              std::filesystem::path home, std::filesystem::path work_dir,
              std::filesystem::path log_path, ArtifactStore& artifacts,
              std::vector<std::string> secrets);
  ~TaskContext() override;

  const Json& config() const override { return config_; }
  const Json& params() const override { return params_; }
  const Json& upstream_outputs() const override { return upstream_; }
  const std::string& run_id() const override { return id_.run_id; }
  const std::string& workflow_name() const override { return id_.workflow; }
  const std::string& step_name() const override { return id_.step; }
  int attempt() const override { return id_.attempt; }
  const std::string& logical_date() const override { return id_.logical_date; }
  const Json& item() const override { return id_.item; }
  std::filesystem::path home() const override { return home_; }
  std::filesystem::path work_dir() const override;
  std::filesystem::path log_path() const override;
  // The attempt's log file, without creating its folder.
  const std::filesystem::path& log_file() const { return log_path_; }

  void SetOutput(const std::string& key, Json value) override;
  Result<ArtifactRef> PutArtifact(const std::string& name,
                                  const std::filesystem::path& file) override;
  Result<std::filesystem::path> ArtifactPath(const std::string& uri) const override;
  // An artifact that is already in the store (put there by the attempt's Slurm job).
  void AddStoredArtifact(ArtifactRef ref);
  void LogMetric(const std::string& key, double value, std::int64_t step) override;
  void RecordEvent(const std::string& kind, const Json& payload) override;
  void Log(LogLevel level, std::string_view message) override;
  void WriteOutput(std::string_view bytes) override;
  const CancellationToken& cancellation() const override { return token_; }

  CancellationToken& token() { return token_; }

  // AttemptInputs.
  int64_t item_index() const override { return id_.item_index; }
  const Json& upstream_artifacts() const override { return upstream_artifacts_; }
  const std::filesystem::path& workflow_dir() const override { return workflow_dir_; }
  const std::vector<std::string>* declared_outputs() const override {
    return declared_outputs_ ? &*declared_outputs_ : nullptr;
  }
  const std::vector<std::string>* declared_artifacts() const override {
    return declared_artifacts_ ? &*declared_artifacts_ : nullptr;
  }
  // Set before the attempt starts.
  void set_inputs(Json upstream_artifacts, std::filesystem::path workflow_dir,
                  std::optional<std::vector<std::string>> declared_outputs,
                  std::optional<std::vector<std::string>> declared_artifacts) {
    upstream_artifacts_ = std::move(upstream_artifacts);
    workflow_dir_ = std::move(workflow_dir);
    declared_outputs_ = std::move(declared_outputs);
    declared_artifacts_ = std::move(declared_artifacts);
  }

  // What the operator reported; read by the scheduler after Execute returned.
  Json TakeOutputs();
  std::vector<ArtifactRef> TakeArtifacts();
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> TakeMetrics();
  std::vector<std::pair<std::string, Json>> TakeEvents();
  // Replaces every rendering of a secret value in `text` with ***.
  std::string Redact(std::string_view text) const override;
  const std::set<std::string>& secret_variables() const override { return secret_variables_; }
  // Set before the attempt starts: the REEL_SECRET_* variables its templates reference.
  void set_secret_variables(std::set<std::string> names) { secret_variables_ = std::move(names); }
  // Caps the log at `bytes` (before the first write): output beyond it is dropped and counted,
  // and the log ends with a line saying how much was dropped.
  void set_log_max_bytes(std::uint64_t bytes) { log_max_bytes_ = bytes; }
  // Not ok once the log could not be created or written (a bad folder, a full disk): the
  // attempt then fails with this reason instead of losing its output unseen.
  Status log_status() const;

 private:
  TaskIdentity id_;
  Json config_, params_, upstream_;
  std::filesystem::path home_, work_dir_, log_path_;
  mutable std::once_flag log_dir_made_;
  ArtifactStore& artifacts_;
  std::vector<std::string> secrets_;  // every rendering of every secret, longest first
  std::set<std::string> secret_variables_;
  CancellationToken token_;
  Json upstream_artifacts_ = Json::object();
  std::filesystem::path workflow_dir_;
  std::optional<std::vector<std::string>> declared_outputs_, declared_artifacts_;

  mutable std::mutex mu_;
  Json outputs_ = Json::object();                                            // guarded by mu_
  std::vector<ArtifactRef> artifact_refs_;                                   // guarded by mu_
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> metrics_;  // guarded by mu_
  std::vector<std::pair<std::string, Json>> events_;                         // guarded by mu_
  std::FILE* log_ = nullptr;  // guarded by mu_; opened on the first write
  std::string held_output_;   // guarded by mu_; output that may end in the start of a secret
  Status log_status_;         // guarded by mu_; the first failure to write the log
  std::uint64_t log_max_bytes_ = UINT64_MAX;
  std::uint64_t log_bytes_ = 0;    // guarded by mu_; written to the log
  std::uint64_t log_dropped_ = 0;  // guarded by mu_; past log_max_bytes_
  std::size_t longest_secret_ = 0;

  // Appends to the log file, creating it (and its folder) on first use. Requires mu_.
  void AppendLocked(std::string_view text);
  // Writes held output, redacted, keeping back what could be the start of a secret unless
  // `all`. Requires mu_.
  void WriteHeldOutputLocked(bool all);
};

}  // namespace reel
