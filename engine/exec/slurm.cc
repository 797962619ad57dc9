#include "engine/exec/slurm.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "engine/base/process.h"

namespace reel {
namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string JoinComma(const std::set<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ',';
    out += id;
  }
  return out;
}

// The last non-empty line of a command's output, for an error message.
std::string LastLine(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!Trim(line).empty()) last = Trim(line);
  }
  return last;
}

}  // namespace

bool IsFinishedJobState(std::string_view state) {
  static const std::set<std::string, std::less<>> kFinished = {
      "COMPLETED", "FAILED",   "TIMEOUT",       "CANCELLED", "NODE_FAIL",   "PREEMPTED",
      "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "REVOKED",   "SPECIAL_EXIT"};
  return kFinished.count(state) > 0;
}

std::string BaseJobId(std::string_view job_id) {
  return std::string(job_id.substr(0, job_id.find('_')));
}

SlurmClient::SlurmClient(std::map<std::string, std::string> env, std::vector<std::string> drop_env)
    : env_(std::move(env)), drop_env_(std::move(drop_env)) {}

Result<SlurmClient::Output> SlurmClient::RunCommand(const std::vector<std::string>& argv) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.env = env_;
  if (!drop_env_.empty()) {
    spec.inherit_env = [this](std::string_view name) {
      for (const auto& drop : drop_env_) {
        bool prefix = !drop.empty() && drop.back() == '*';
        if (prefix ? name.starts_with(std::string_view(drop).substr(0, drop.size() - 1))
                   : name == drop) {
          return false;
        }
      }
      return true;
    };
  }
  auto run = RunToCompletion(std::move(spec));
  if (!run.ok()) {
    return Status::NotFound(
        fmt::format("cannot run {}: {} (is Slurm installed, and its commands "
                    "on the PATH?)",
                    argv[0], run.status().message()));
  }
  return Output{.exit_code = run->exit_code, .text = std::move(run->output)};
}

Result<std::string> SlurmClient::Submit(const std::vector<std::string>& args,
                                        const std::filesystem::path& script) {
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(script.string());
  submissions_++;
  REEL_ASSIGN_OR_RETURN(Output out, RunCommand(argv));
  // --parsable prints "ID" or "ID;CLUSTER" on its last line; warnings may come before it.
  std::string id = Trim(LastLine(out.text));
  id = id.substr(0, id.find(';'));
  bool numeric = !id.empty() && std::all_of(id.begin(), id.end(), ::isdigit);
  if (out.exit_code != 0 || !numeric) {
    std::string message = LastLine(out.text);
    if (message.starts_with("sbatch: error: ")) message = message.substr(15);
    return Status::Failed(
        fmt::format("sbatch refused the job: {}", message.empty() ? "no output" : message));
  }
  return id;
}

Result<std::map<std::string, SlurmJobInfo>> SlurmClient::Query(
    const std::vector<std::string>& job_ids, bool finished_too,
    const std::map<std::string, std::string>& raw_ids) {
  std::map<std::string, SlurmJobInfo> found;
  if (job_ids.empty()) return found;
  std::set<std::string> bases;
  for (const auto& id : job_ids) bases.insert(BaseJobId(id));
  // -t all: finished jobs too, for as long as slurmctld keeps them (MinJobAge); -r: one line
  // per array task, pending ones included.
  status_queries_++;
  REEL_ASSIGN_OR_RETURN(Output out,
                        RunCommand({"squeue", "--noheader", "--states=all", "--array",
                                    "--jobs=" + JoinComma(bases), "--format=%i|%T|%r|%A"}));
  // A single id that slurmctld has forgotten makes squeue fail; several are filtered quietly.
  bool forgotten = out.exit_code != 0 && out.text.find("Invalid job id") != std::string::npos;
  if (out.exit_code != 0 && !forgotten) {
    return Status::IoError("squeue failed: " + LastLine(out.text));
  }
  std::istringstream lines(out.text);
  std::string line;
  while (std::getline(lines, line)) {
    auto fields = Split(line, '|');
    if (fields.size() < 3) continue;
    std::string id = Trim(fields[0]);
    if (id.empty() || !std::isdigit(static_cast<unsigned char>(id[0]))) continue;
    found[id] = {.state = Trim(fields[1]),
                 .reason = Trim(fields[2]),
                 .raw_id = fields.size() > 3 ? Trim(fields[3]) : std::string()};
  }
  if (!finished_too) return found;
  std::set<std::string> missing;
  for (const auto& id : job_ids) {
    if (!found.count(id)) missing.insert(id);
  }
  if (missing.empty()) return found;
  // sacct's name for each missing job: an array task's raw id when known, else its base id
  // (slurmdbd lists array tasks as ID_INDEX under it).
  std::set<std::string> missing_bases;
  std::map<std::string, std::string> by_raw;  // raw id -> the job id asked for
  for (const auto& id : missing) {
    auto raw = raw_ids.find(id);
    if (raw != raw_ids.end() && !raw->second.empty()) {
      missing_bases.insert(raw->second);
      by_raw[raw->second] = id;
    } else {
      missing_bases.insert(BaseJobId(id));
    }
  }
  // sacct reads slurmdbd's accounting; without slurmdbd, `sacct -c` reads the job completion
  // log (JobCompType=jobcomp/filetxt). Which one works is learnt once.
  for (int mode : {1, 2}) {
    if (sacct_mode_ != 0 && sacct_mode_ != mode) continue;
    std::vector<std::string> argv = {"sacct", "--noheader", "--parsable2"};
    if (mode == 2) argv.push_back("--completion");
    argv.push_back("--jobs=" + JoinComma(missing_bases));
    argv.push_back("--format=JobID,State,ExitCode");
    status_queries_++;
    REEL_ASSIGN_OR_RETURN(Output acct, RunCommand(argv));
    if (acct.exit_code != 0) {
      if (mode == 1 && sacct_mode_ == 0) continue;
      return Status::IoError("sacct failed: " + LastLine(acct.text));
    }
    sacct_mode_ = mode;
    std::istringstream rows(acct.text);
    while (std::getline(rows, line)) {
      auto fields = Split(line, '|');
      if (fields.size() < 3) continue;
      std::string id = Trim(fields[0]);
      if (id.empty() || id.find('.') != std::string::npos) continue;  // a job step (123.batch)
      if (auto raw = by_raw.find(id); raw != by_raw.end()) id = raw->second;
      if (!missing.count(id)) continue;
      SlurmJobInfo info;
      info.state = Trim(fields[1]);
      info.state = info.state.substr(0, info.state.find(' '));  // "CANCELLED by 0"
      std::string code = Trim(fields[2]);
      if (!code.empty() && std::isdigit(static_cast<unsigned char>(code[0]))) {
        info.exit_code = std::atoi(code.c_str());
      }
      found[id] = info;
    }
    break;
  }
  return found;
}

Result<std::vector<std::pair<std::string, std::string>>> SlurmClient::FindByName(
    const std::string& name) {
  status_queries_++;
  REEL_ASSIGN_OR_RETURN(Output out, RunCommand({"squeue", "--noheader", "--states=all", "--array",
                                                "--name=" + name, "--format=%i|%k"}));
  if (out.exit_code != 0) return Status::IoError("squeue failed: " + LastLine(out.text));
  std::vector<std::pair<std::string, std::string>> jobs;
  std::istringstream lines(out.text);
  std::string line;
  while (std::getline(lines, line)) {
    size_t bar = line.find('|');
    if (bar == std::string::npos) continue;
    std::string id = Trim(line.substr(0, bar));
    if (!id.empty() && std::isdigit(static_cast<unsigned char>(id[0]))) {
      jobs.emplace_back(id, Trim(line.substr(bar + 1)));
    }
  }
  return jobs;
}

Status SlurmClient::Cancel(const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return Status::Ok();
  std::set<std::string> ids(job_ids.begin(), job_ids.end());
  std::vector<std::string> argv = {"scancel"};
  argv.insert(argv.end(), ids.begin(), ids.end());
  REEL_ASSIGN_OR_RETURN(Output out, RunCommand(argv));
  if (out.exit_code != 0) return Status::IoError("scancel failed: " + LastLine(out.text));
  return Status::Ok();
}

}  // namespace reel
