// Structure of a workflow file: keys, types, durations. Semantic checks (operators, needs,
// cycles, templates, schedule) live in workflow_validate.cc.
#include "engine/workflow/loader.h"

#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "engine/template/template.h"

namespace reel {
namespace {

const std::vector<std::string> kTopKeys = {"name",     "description", "params", "defaults",
                                           "schedule", "steps",       "pools",  "plugins"};
const std::vector<std::string> kStepKeys = {
    "operator", "description", "needs",         "with",    "foreach", "when",
    "retries",  "retry_delay", "retry_backoff", "timeout", "catch",   "resources",
    "outputs",  "artifacts",   "inputs",        "cache",   "executor"};
const std::vector<std::string> kDefaultsKeys = {
    "retries", "retry_delay", "retry_backoff", "timeout", "resources", "cache", "executor"};
const std::vector<std::string> kParamKeys = {"type", "default", "required", "description"};
const std::vector<std::string> kScheduleKeys = {
    "cron", "timezone", "catchup", "catchup_limit", "max_active_runs", "overlap", "start_date"};
const std::vector<std::string> kResourceKeys = {
    "cpus",           "gpus",      "pool",    "memory",      "time",        "nodes",
    "tasks_per_node", "partition", "account", "sbatch_args", "max_parallel"};
// sbatch options the Slurm executor sets itself; `sbatch_args` may not repeat them.
const std::vector<std::string> kReservedSbatchOptions = {
    "--array", "-a",     "--job-name", "-J",       "--output", "-o", "--error", "-e", "--parsable",
    "--wrap",  "--wait", "-W",         "--export", "--chdir",  "-D", "--hold",  "-H"};
const std::vector<std::string> kParamTypes = {"string", "int", "float", "bool", "date", "list"};

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

class Parser {
 public:
  Parser(const std::string& file, Diagnostics& diags) : file_(file), diags_(diags) {}

  void Error(const YamlNode& at, std::string message, std::string hint = {}) {
    diags_.Error(file_, at.mark, std::move(message), std::move(hint));
  }

  // Reports keys not in `allowed`, with a did-you-mean hint.
  void CheckKeys(const YamlNode& map, const std::vector<std::string>& allowed,
                 const std::string& where) {
    for (const auto& [key, value] : map.entries) {
      if (!key->IsScalar()) {
        Error(*key, "keys in " + where + " must be plain names");
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), key->scalar) != allowed.end()) continue;
      std::string guess = ClosestMatch(key->scalar, allowed);
      Error(*key, "unknown key " + Quote(key->scalar) + " in " + where,
            guess.empty() ? "allowed keys: " + JoinNames(allowed)
                          : "did you mean " + Quote(guess) + "?");
    }
  }

  bool ExpectMap(const YamlNode& node, const std::string& what) {
    if (node.IsMap()) return true;
    Error(node, what + " must be a mapping, got " + node.KindName());
    return false;
  }

  std::optional<std::string> String(const YamlNode& node, const std::string& what) {
    if (node.IsScalar()) return node.scalar;
    Error(node, what + " must be a string, got " + node.KindName());
    return std::nullopt;
  }

  std::optional<int64_t> Int(const YamlNode& node, const std::string& what, int64_t min,
                             int64_t max) {
    Json v = YamlToJson(node);
    if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
      Error(node, what + " must be an integer between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", got " +
                      (node.IsScalar() ? Quote(node.scalar) : node.KindName()));
      return std::nullopt;
    }
    return v.get<int64_t>();
  }

  std::optional<double> Number(const YamlNode& node, const std::string& what, double min) {
    Json v = YamlToJson(node);
    if (!v.is_number() || v.get<double>() < min) {
      Error(node, what + " must be a number >= " + fmt_number(min) + ", got " +
                      (node.IsScalar() ? Quote(node.scalar) : node.KindName()));
      return std::nullopt;
    }
    return v.get<double>();
  }

  std::optional<bool> Bool(const YamlNode& node, const std::string& what) {
    Json v = YamlToJson(node);
    if (!v.is_boolean()) {
      Error(node, what + " must be true or false, got " +
                      (node.IsScalar() ? Quote(node.scalar) : node.KindName()));
      return std::nullopt;
    }
    return v.get<bool>();
  }

  std::optional<Millis> Duration(const YamlNode& node, const std::string& what) {
    if (!node.IsScalar()) {
      Error(node, what + " must be a duration such as 30s, got " + node.KindName());
      return std::nullopt;
    }
    auto d = ParseDuration(node.scalar);
    if (!d.ok()) {
      Error(node, what + ": " + d.status().message());
      return std::nullopt;
    }
    return *d;
  }

  void ParseResources(const YamlNode& node, Resources& out, const std::string& where) {
    if (!ExpectMap(node, where)) return;
    CheckKeys(node, kResourceKeys, where);
    if (auto* n = node.Get("cpus")) {
      if (auto v = Number(*n, "resources.cpus", 0)) out.cpus = *v;
    }
    if (auto* n = node.Get("gpus")) {
      if (auto v = Int(*n, "resources.gpus", 0, 1024)) out.gpus = static_cast<int>(*v);
    }
    if (auto* n = node.Get("pool")) {
      if (auto v = String(*n, "resources.pool")) out.pool = *v;
    }
    if (auto* n = node.Get("memory")) {
      // sbatch --mem: a whole number with an optional unit K, M, G or T (default M).
      static const std::regex kMemory(R"([0-9]+[KMGTkmgt]?)");
      Json v = YamlToJson(*n);
      std::string text = v.is_number_integer() ? std::to_string(v.get<int64_t>())
                         : n->IsScalar()       ? n->scalar
                                               : std::string();
      if (!std::regex_match(text, kMemory)) {
        Error(*n,
              "resources.memory must be an amount such as 512M or 4G, got " +
                  (n->IsScalar() ? Quote(n->scalar) : n->KindName()),
              "a whole number with an optional unit K, M, G or T (megabytes without one)");
      } else {
        out.memory = text;
      }
    }
    if (auto* n = node.Get("time")) {
      if (auto v = Duration(*n, "resources.time")) {
        if (v->count() < 60'000) {
          Error(*n, "resources.time must be at least 1m (Slurm counts job time in minutes)");
        } else {
          out.time = *v;
        }
      }
    }
    if (auto* n = node.Get("nodes")) {
      if (auto v = Int(*n, "resources.nodes", 1, 100000)) out.nodes = static_cast<int>(*v);
    }
    if (auto* n = node.Get("tasks_per_node")) {
      if (auto v = Int(*n, "resources.tasks_per_node", 1, 4096)) {
        out.tasks_per_node = static_cast<int>(*v);
      }
    }
    if (auto* n = node.Get("partition")) {
      if (auto v = String(*n, "resources.partition")) out.partition = *v;
    }
    if (auto* n = node.Get("account")) {
      if (auto v = String(*n, "resources.account")) out.account = *v;
    }
    if (auto* n = node.Get("max_parallel")) {
      if (auto v = Int(*n, "resources.max_parallel", 0, 1 << 20)) {
        out.max_parallel = static_cast<int>(*v);
      }
    }
    if (auto* n = node.Get("sbatch_args")) {
      if (auto v = StringList(*n, "resources.sbatch_args")) {
        for (size_t i = 0; i < v->size(); ++i) {
          const std::string& arg = (*v)[i];
          std::string option = arg.substr(0, arg.find('='));
          if (std::find(kReservedSbatchOptions.begin(), kReservedSbatchOptions.end(), option) !=
              kReservedSbatchOptions.end()) {
            Error(*n->items[i], "resources.sbatch_args may not set " + Quote(option) +
                                    ": the Slurm executor sets it itself");
          } else if (!arg.starts_with("-")) {
            Error(*n->items[i],
                  "an entry of resources.sbatch_args must be an sbatch option, got " + Quote(arg),
                  "e.g. sbatch_args: [\"--qos=high\", \"--constraint=a100\"]");
          }
        }
        out.sbatch_args = std::move(*v);
      }
    }
  }

  // `executor: local | slurm`.
  std::optional<ExecutorKind> Executor(const YamlNode& node, const std::string& what) {
    auto kind = node.IsScalar() ? ParseExecutorKind(node.scalar) : std::nullopt;
    if (!kind) {
      Error(node, what + " must be local or slurm, got " +
                      (node.IsScalar() ? Quote(node.scalar) : node.KindName()));
    }
    return kind;
  }

  // Shared by `defaults:` and each step.
  void ParsePolicy(const YamlNode& node, RetryPolicy& retry, std::optional<Millis>& timeout,
                   Resources& resources) {
    if (auto* n = node.Get("retries")) {
      if (auto v = Int(*n, "retries", 0, 100)) retry.retries = static_cast<int>(*v);
    }
    if (auto* n = node.Get("retry_delay")) {
      if (auto v = Duration(*n, "retry_delay")) retry.delay = *v;
    }
    if (auto* n = node.Get("retry_backoff")) {
      if (auto v = Number(*n, "retry_backoff", 1.0)) retry.backoff = *v;
    }
    if (auto* n = node.Get("timeout")) {
      if (auto v = Duration(*n, "timeout")) {
        if (v->count() <= 0) {
          Error(*n, "timeout must be positive");
        } else {
          timeout = *v;
        }
      }
    }
    if (auto* n = node.Get("resources")) ParseResources(*n, resources, "resources");
  }

  // A list of plain strings (`outputs: [rows, path]`); nullopt after an error.
  std::optional<std::vector<std::string>> StringList(const YamlNode& node,
                                                     const std::string& what) {
    if (!node.IsSequence()) {
      Error(node, what + " must be a list of names, got " + std::string(node.KindName()),
            "e.g. " + what + ": [rows, summary]");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& item : node.items) {
      auto v = String(*item, "an entry of " + what);
      if (!v) return std::nullopt;
      if (v->empty()) {
        Error(*item, "an entry of " + what + " is empty");
        return std::nullopt;
      }
      if (std::find(out.begin(), out.end(), *v) != out.end()) {
        Error(*item, what + " names " + Quote(*v) + " twice");
        return std::nullopt;
      }
      out.push_back(*v);
    }
    return out;
  }

  void ParseParams(const YamlNode& node, Workflow& wf) {
    if (!ExpectMap(node, "params")) return;
    for (const auto& [key, value] : node.entries) {
      ParamSpec spec;
      spec.name = key->scalar;
      spec.mark = key->mark;
      static const std::regex kName(R"([A-Za-z_][A-Za-z0-9_]*)");
      if (!std::regex_match(spec.name, kName)) {
        Error(*key,
              "param name " + Quote(spec.name) + " must be an identifier (letters, digits, _)");
      }
      if (value->IsMap()) {
        CheckKeys(*value, kParamKeys, "param " + Quote(spec.name));
        if (auto* t = value->Get("type")) {
          if (auto s = String(*t, "param type")) {
            auto it = std::find(kParamTypes.begin(), kParamTypes.end(), *s);
            if (it == kParamTypes.end()) {
              std::string guess = ClosestMatch(*s, kParamTypes);
              Error(*t, "unknown param type " + Quote(*s),
                    guess.empty() ? "use one of " + JoinNames(kParamTypes)
                                  : "did you mean " + Quote(guess) + "?");
            } else {
              spec.type = static_cast<ParamType>(it - kParamTypes.begin());
            }
          }
        }
        if (auto* d = value->Get("default")) {
          spec.default_value = YamlToJson(*d);
          spec.has_default = true;
        }
        if (auto* r = value->Get("required")) {
          if (auto b = Bool(*r, "required")) spec.required = *b;
        }
        if (auto* d = value->Get("description")) {
          if (auto s = String(*d, "description")) spec.description = *s;
        }
      } else {
        // `epochs: 5` is shorthand for a param whose type is taken from its default.
        spec.default_value = YamlToJson(*value);
        spec.has_default = !value->IsNull();
        if (spec.default_value.is_boolean()) spec.type = ParamType::kBool;
        if (spec.default_value.is_number_integer()) spec.type = ParamType::kInt;
        if (spec.default_value.is_number_float()) spec.type = ParamType::kFloat;
        if (spec.default_value.is_array()) spec.type = ParamType::kList;
      }
      if (spec.has_default && !spec.default_value.is_null()) {
        bool is_template = spec.default_value.is_string() &&
                           ContainsTemplate(spec.default_value.get<std::string>());
        if (!is_template) {
          auto coerced = CoerceParam(spec, spec.default_value);
          if (!coerced.ok()) {
            Error(value->IsMap() ? *value->Get("default") : *value,
                  "default of " + coerced.status().message());
          } else {
            spec.default_value = *coerced;
          }
        }
      }
      wf.params.push_back(std::move(spec));
    }
  }

  void ParseSchedule(const YamlNode& node, Workflow& wf) {
    Schedule s;
    s.mark = node.mark;
    if (node.IsScalar()) {
      s.cron = node.scalar;
      wf.schedule = s;
      return;
    }
    if (!ExpectMap(node, "schedule")) return;
    CheckKeys(node, kScheduleKeys, "schedule");
    if (auto* n = node.Get("cron")) {
      if (auto v = String(*n, "schedule.cron")) s.cron = *v;
      s.mark = n->mark;
    } else {
      Error(node, "schedule needs a 'cron' expression", "e.g. schedule: {cron: \"0 3 * * *\"}");
    }
    if (auto* n = node.Get("timezone")) {
      if (auto v = String(*n, "schedule.timezone")) s.timezone = *v;
    }
    if (auto* n = node.Get("catchup")) {
      if (auto v = Bool(*n, "schedule.catchup")) s.catchup = *v;
    }
    if (auto* n = node.Get("catchup_limit")) {
      if (auto v = Int(*n, "schedule.catchup_limit", 1, 100000))
        s.catchup_limit = static_cast<int>(*v);
    }
    if (auto* n = node.Get("max_active_runs")) {
      if (auto v = Int(*n, "schedule.max_active_runs", 1, 1000))
        s.max_active_runs = static_cast<int>(*v);
    }
    if (auto* n = node.Get("overlap")) {
      if (auto v = String(*n, "schedule.overlap")) {
        if (*v == "queue") {
          s.overlap = OverlapPolicy::kQueue;
        } else if (*v == "skip") {
          s.overlap = OverlapPolicy::kSkip;
        } else {
          Error(*n, "schedule.overlap must be 'queue' or 'skip', got " + Quote(*v));
        }
      }
    }
    if (auto* n = node.Get("start_date")) {
      if (auto v = String(*n, "schedule.start_date")) {
        ParamSpec date_spec;
        date_spec.name = "start_date";
        date_spec.type = ParamType::kDate;
        if (!CoerceParam(date_spec, *v).ok()) {
          Error(*n, "schedule.start_date must be a date (YYYY-MM-DD), got " + Quote(*v));
        } else {
          s.start_date = *v;
        }
      }
    }
    wf.schedule = s;
  }

  void ParseStep(const YamlNode& key, const YamlNode& node, Workflow& wf, const Step& defaults) {
    Step step = defaults;
    step.name = key.scalar;
    step.mark = key.mark;
    static const std::regex kName(R"([A-Za-z_][A-Za-z0-9_\-]*)");
    if (!std::regex_match(step.name, kName)) {
      Error(key, "step name " + Quote(step.name) +
                     " must start with a letter or _ and hold only letters, digits, _ and -");
    } else if (step.name.size() > kMaxNameBytes) {
      // It names the step's folders of logs and scratch files.
      Error(key, fmt::format("step name '{}...' is {} characters long; the limit is {}",
                             step.name.substr(0, 40), step.name.size(), kMaxNameBytes));
    }
    if (!node.IsMap()) {
      Error(node, "step " + Quote(step.name) + " must be a mapping, got " + node.KindName(),
            "e.g. " + step.name + ": {operator: noop}");
      return;
    }
    CheckKeys(node, kStepKeys, "step " + Quote(step.name));
    if (auto* n = node.Get("operator")) {
      if (auto v = String(*n, "operator")) step.op = *v;
    } else {
      Error(key, "step " + Quote(step.name) + " has no 'operator'",
            "add e.g. 'operator: noop'; `reel operators` lists them");
    }
    if (auto* n = node.Get("description")) {
      if (auto v = String(*n, "description")) step.description = *v;
    }
    if (auto* n = node.Get("needs")) {
      if (n->IsScalar()) {
        step.needs.push_back(n->scalar);
      } else if (n->IsSequence()) {
        for (const auto& item : n->items) {
          if (auto v = String(*item, "an entry of needs")) step.needs.push_back(*v);
        }
      } else if (!n->IsNull()) {
        Error(*n, "needs must be a step name or a list of step names, got " +
                      std::string(n->KindName()));
      }
    }
    if (auto* n = node.Get("with")) {
      if (n->IsMap()) {
        step.with = YamlToJson(*n);
        step.with_node = FindShared(node, "with");
      } else if (!n->IsNull()) {
        Error(*n, "with must be a mapping of the operator's settings, got " +
                      std::string(n->KindName()));
      }
    }
    if (auto* n = node.Get("foreach")) {
      Json v = YamlToJson(*n);
      if (v.is_array() || (v.is_string() && ContainsTemplate(v.get<std::string>()))) {
        step.foreach = v;
      } else {
        Error(*n, "foreach must be a list or a template that renders to a list",
              "e.g. foreach: [0.01, 0.03] or foreach: \"{{ params.lrs }}\"");
      }
    }
    if (auto* n = node.Get("when")) {
      Json v = YamlToJson(*n);
      if (v.is_boolean()) {
        step.when = v.get<bool>() ? "" : "{{ false }}";
      } else if (v.is_string()) {
        step.when = v.get<std::string>();
        if (!ContainsTemplate(step.when)) {
          Error(*n, "when must be a template or a bool",
                "e.g. when: \"{{ steps.gate.outputs.passed }}\"");
        }
      } else {
        Error(*n, "when must be a template or a bool, got " + std::string(n->KindName()));
      }
    }
    ParsePolicy(node, step.retry, step.timeout, step.resources);
    if (auto* n = node.Get("catch")) {
      if (auto v = Bool(*n, "catch")) step.catch_failure = *v;
    }
    if (auto* n = node.Get("cache")) {
      if (auto v = Bool(*n, "cache")) step.cache = *v;
    }
    if (auto* n = node.Get("executor")) {
      if (auto v = Executor(*n, "executor")) {
        step.executor = *v;
        step.executor_set = true;
      }
    }
    if (auto* n = node.Get("outputs")) step.outputs = StringList(*n, "outputs");
    if (auto* n = node.Get("artifacts")) {
      step.artifacts = StringList(*n, "artifacts");
      for (const auto& name : step.artifacts.value_or(std::vector<std::string>{})) {
        // Each names an entry of the step's artifacts folder.
        if (name == "." || name == ".." || name.find('/') != std::string::npos ||
            name.find('\0') != std::string::npos) {
          Error(*n, "artifact name " + Quote(name) + " must be a plain file name, without '/'");
        }
      }
    }
    if (auto* n = node.Get("inputs")) {
      if (auto v = StringList(*n, "inputs")) step.inputs = std::move(*v);
    }
    wf.steps.push_back(std::move(step));
  }

  static YamlNodePtr FindShared(const YamlNode& map, const std::string& key) {
    for (const auto& [k, v] : map.entries) {
      if (k->IsScalar() && k->scalar == key) return v;
    }
    return nullptr;
  }

  void Parse(const YamlNode& root, Workflow& wf) {
    if (!root.IsMap()) {
      Error(root, "a workflow file must be a mapping with 'name' and 'steps', got " +
                      std::string(root.KindName()));
      return;
    }
    CheckKeys(root, kTopKeys, "the workflow");
    if (auto* n = root.Get("name")) {
      if (auto v = String(*n, "name")) {
        wf.name = *v;
        static const std::regex kName(R"([A-Za-z0-9_][A-Za-z0-9_.\-]*)");
        if (!std::regex_match(wf.name, kName)) {
          Error(*n, "workflow name " + Quote(wf.name) +
                        " may hold only letters, digits, '_', '-' and '.'");
        } else if (wf.name.size() > kMaxNameBytes) {
          Error(*n, fmt::format("workflow name '{}...' is {} characters long; the limit is {}",
                                wf.name.substr(0, 40), wf.name.size(), kMaxNameBytes));
        }
      }
    } else {
      Error(root, "the workflow has no 'name'", "add e.g. 'name: daily_retrain' at the top");
    }
    if (auto* n = root.Get("description")) {
      if (auto v = String(*n, "description")) wf.description = *v;
    }
    if (auto* n = root.Get("params")) ParseParams(*n, wf);
    Step defaults;
    if (auto* n = root.Get("defaults")) {
      if (ExpectMap(*n, "defaults")) {
        CheckKeys(*n, kDefaultsKeys, "defaults");
        ParsePolicy(*n, defaults.retry, defaults.timeout, defaults.resources);
        if (auto* c = n->Get("cache")) {
          if (auto v = Bool(*c, "defaults.cache")) defaults.cache = *v;
        }
        if (auto* e = n->Get("executor")) {
          if (auto v = Executor(*e, "defaults.executor")) defaults.executor = *v;
        }
      }
    }
    if (auto* n = root.Get("schedule")) {
      if (!n->IsNull()) ParseSchedule(*n, wf);
    }
    if (auto* n = root.Get("pools")) {
      if (ExpectMap(*n, "pools")) {
        for (const auto& [k, v] : n->entries) {
          if (auto size = Int(*v, "the size of pool " + Quote(k->scalar), 1, 1 << 20)) {
            wf.pools[k->scalar] = static_cast<int>(*size);
          }
        }
      }
    }
    if (auto* n = root.Get("plugins")) {
      if (n->IsSequence()) {
        auto base = std::filesystem::path(file_).parent_path();
        for (const auto& item : n->items) {
          if (auto v = String(*item, "a plugin path")) {
            std::filesystem::path p(*v);
            wf.plugins.push_back((p.is_absolute() ? p : base / p).lexically_normal().string());
          }
        }
      } else {
        Error(*n, "plugins must be a list of shared library paths");
      }
    }
    const YamlNode* steps = root.Get("steps");
    if (!steps) {
      Error(root, "the workflow has no 'steps'", "add a 'steps:' mapping of step name to step");
      return;
    }
    if (!steps->IsMap()) {
      Error(*steps,
            "steps must be a mapping of step name to step, got " + std::string(steps->KindName()));
      return;
    }
    if (steps->entries.empty()) Error(*steps, "the workflow has no steps");
    for (const auto& [key, value] : steps->entries) ParseStep(*key, *value, wf, defaults);
    wf.IndexSteps();
  }

 private:
  const std::string& file_;
  Diagnostics& diags_;

  static std::string fmt_number(double d) {
    std::string s = std::to_string(d);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
};

}  // namespace

WorkflowPtr LoadWorkflowText(const std::string& file, const std::string& text,
                             const OperatorCatalog& operators, Diagnostics& diags,
                             const LoadOptions& options) {
  Diagnostics local;
  YamlNodePtr root = ParseYaml(file, text, options.limits, local);
  if (options.load_plugin && root && root->IsMap()) {
    if (const YamlNode* plugins = root->Get("plugins"); plugins && plugins->IsSequence()) {
      auto base = std::filesystem::path(file).parent_path();
      for (const auto& item : plugins->items) {
        if (!item->IsScalar()) continue;  // the parser reports it
        std::filesystem::path path(item->scalar);
        if (!path.is_absolute()) path = base / path;
        Status s = options.load_plugin(path);
        if (!s.ok()) local.Error(file, item->mark, s.message());
      }
    }
  }
  WorkflowPtr wf = LoadWorkflowTree(file, text, root, operators, local);
  local.Sort();
  diags.Append(local);
  return wf;
}

WorkflowPtr LoadWorkflowTree(const std::string& file, const std::string& text,
                             const YamlNodePtr& root, const OperatorCatalog& operators,
                             Diagnostics& diags) {
  if (!root) return nullptr;
  auto wf = std::make_shared<Workflow>();
  wf->file = file;
  wf->source = text;
  Parser parser(file, diags);
  parser.Parse(*root, *wf);
  ValidateWorkflow(*wf, *root, operators, diags);
  return diags.has_errors() ? nullptr : wf;
}

WorkflowPtr LoadWorkflowFile(const std::string& path, const OperatorCatalog& operators,
                             Diagnostics& diags, const LoadOptions& options) {
  auto text = ReadSourceFile(path, options.limits, diags);
  if (!text.ok()) return nullptr;
  return LoadWorkflowText(path, *text, operators, diags, options);
}

}  // namespace reel
