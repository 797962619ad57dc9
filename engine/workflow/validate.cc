// Semantic validation of a loaded workflow: operators, their config schema and their own
// checks, needs, cycles, template references (down to the outputs and artifacts a step
// publishes, and the types of params fed whole into typed settings) and the schedule. Every
// problem is reported with its position.
#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "engine/template/template.h"
#include "engine/time/cron.h"
#include "engine/workflow/dag.h"
#include "engine/workflow/loader.h"
#include "engine/workflow/step_outputs.h"

namespace reel {
namespace {

const std::vector<std::string> kTemplateRoots = {"params",
                                                 "ds",
                                                 "logical_date",
                                                 "ts",
                                                 "data_interval_start",
                                                 "data_interval_end",
                                                 "run_id",
                                                 "item",
                                                 "steps",
                                                 "env",
                                                 "secrets"};

std::string Quote(const std::string& s) { return "'" + s + "'"; }

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

// The key node of `key` in a mapping, for errors about the key itself.
const YamlNode* KeyNode(const YamlNode* map, const std::string& key) {
  if (!map) return nullptr;
  for (const auto& [k, v] : map->entries) {
    if (k->IsScalar() && k->scalar == key) return k.get();
  }
  return nullptr;
}

bool IsTemplateString(const Json& v) {
  return v.is_string() && ContainsTemplate(v.get<std::string>());
}

bool MatchesType(ConfigType type, const Json& v) {
  switch (type) {
    case ConfigType::kAny:
      return true;
    case ConfigType::kString:
      return v.is_string();
    case ConfigType::kInt:
      return v.is_number_integer();
    case ConfigType::kFloat:
      return v.is_number();
    case ConfigType::kBool:
      return v.is_boolean();
    case ConfigType::kList:
      return v.is_array();
    case ConfigType::kMap:
      return v.is_object();
    case ConfigType::kDuration:  // a number is seconds; no duration is negative
      return (v.is_string() && ParseDuration(v.get<std::string>()).ok()) ||
             (v.is_number() && v.get<double>() >= 0);
  }
  return true;
}

// The param a value reads when it is exactly `{{ params.NAME }}` (whitespace aside), and so
// renders to the param's typed value; empty otherwise.
std::string PlainParamReference(const Json& v) {
  if (!v.is_string()) return {};
  auto trim = [](std::string_view t) {
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
    return t;
  };
  const std::string& source = v.get_ref<const std::string&>();
  std::string_view text = trim(source);
  if (text.size() < 4 || text.substr(0, 2) != "{{" || text.substr(text.size() - 2) != "}}") {
    return {};
  }
  std::string_view inner = trim(text.substr(2, text.size() - 4));
  constexpr std::string_view kPrefix = "params.";
  if (inner.substr(0, kPrefix.size()) != kPrefix) return {};
  std::string_view name = inner.substr(kPrefix.size());
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsNameChar)) return {};
  return std::string(name);
}

// Whether a param of `param` type, rendered whole into a setting of `setting` type, passes the
// setting's check after rendering (config_schema.h). An int fits a float; a float does not fit
// an int, nor a string a number, even when the value given happens to.
bool ParamFits(ConfigType setting, ParamType param) {
  switch (setting) {
    case ConfigType::kAny:
      return true;
    case ConfigType::kString:
      return param == ParamType::kString || param == ParamType::kDate;
    case ConfigType::kInt:
      return param == ParamType::kInt;
    case ConfigType::kFloat:
      return param == ParamType::kInt || param == ParamType::kFloat;
    case ConfigType::kBool:
      return param == ParamType::kBool;
    case ConfigType::kList:
      return param == ParamType::kList;
    case ConfigType::kMap:
      return false;
    case ConfigType::kDuration:
      return param == ParamType::kInt || param == ParamType::kFloat || param == ParamType::kString;
  }
  return true;
}

// `steps.STEP.artifacts.NAME`, or with a subscript when NAME is not a plain name.
std::string ArtifactReference(const std::string& step, const std::string& name) {
  bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
               std::all_of(name.begin(), name.end(), IsNameChar);
  return "steps." + step + ".artifacts" + (plain ? "." + name : "[\"" + name + "\"]");
}

std::string Describe(const Json& v) {
  if (v.is_string()) return "'" + v.get<std::string>() + "'";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "a mapping";
  return v.dump();
}

class Validator {
 public:
  Validator(const Workflow& wf, const YamlNode& root, const OperatorCatalog& ops, Diagnostics& d)
      : wf_(wf), root_(root), ops_(ops), diags_(d), dag_(Dag::FromWorkflow(wf)) {
    if (const YamlNode* steps = root.Get("steps"); steps && steps->IsMap()) {
      for (const auto& [key, value] : steps->entries) {
        if (key->IsScalar()) step_nodes_.emplace(key->scalar, value.get());
      }
    }
  }

  void Run() {
    for (size_t i = 0; i < wf_.steps.size(); ++i) CheckStep(static_cast<int>(i));
    CheckCycles();
    for (const auto& param : wf_.params) CheckParamDefault(param);
    CheckSchedule();
  }

 private:
  void Error(SourceMark mark, std::string message, std::string hint = {}) {
    diags_.Error(wf_.file, mark, std::move(message), std::move(hint));
  }

  void CheckStep(int index) {
    const Step& step = wf_.steps[static_cast<size_t>(index)];
    auto found = step_nodes_.find(step.name);
    const YamlNode* node = found == step_nodes_.end() ? nullptr : found->second;
    if (!node || !node->IsMap()) return;
    const OperatorInfo* info = nullptr;
    if (!step.op.empty()) {
      info = ops_.find ? ops_.find(step.op) : nullptr;
      if (!info) {
        const YamlNode* at = node->Get("operator");
        std::string guess = ClosestMatch(step.op, ops_.names);
        Error(at ? at->mark : step.mark, "unknown operator " + Quote(step.op),
              (guess.empty() ? std::string() : "did you mean " + Quote(guess) + "? ") +
                  "known operators: " + Join(ops_.names) +
                  "; an operator from a plugin needs its plugin loaded: `reel --plugin PATH`, or "
                  "list it under the workflow's `plugins:` key");
      }
    }
    CheckNeeds(step, *node);
    if (info) {
      CheckConfig(step, *info, *node);
      CheckOperatorValidation(step, *info, *node);
      CheckStepDeclarations(step, *info, *node);
      CheckSlurmRanks(step, *info, *node);
    }
    CheckForeachParam(step, *node);
    CheckStepTemplates(index, step, *node);
    if (!step.resources.pool.empty() && !wf_.pools.count(step.resources.pool)) {
      const YamlNode* res = node->Get("resources");
      Error(
          res ? res->mark : step.mark,
          "step " + Quote(step.name) + " uses pool " + Quote(step.resources.pool) +
              ", which is not declared",
          "declare it under 'pools:' with its size, e.g. pools: {" + step.resources.pool + ": 2}");
    }
  }

  void CheckNeeds(const Step& step, const YamlNode& node) {
    const YamlNode* needs = node.Get("needs");
    std::set<std::string> seen;
    for (size_t i = 0; i < step.needs.size(); ++i) {
      const std::string& need = step.needs[i];
      SourceMark mark = needs ? needs->mark : step.mark;
      if (needs && needs->IsSequence() && i < needs->items.size()) mark = needs->items[i]->mark;
      if (need == step.name) {
        Error(mark, "step " + Quote(step.name) + " needs itself");
      } else if (!wf_.FindStep(need)) {
        std::vector<std::string> names;
        for (const auto& s : wf_.steps) names.push_back(s.name);
        std::string guess = ClosestMatch(need, names);
        Error(mark, "step " + Quote(step.name) + " needs " + Quote(need) + ", which is not a step",
              guess.empty() ? "steps: " + Join(names) : "did you mean " + Quote(guess) + "?");
      } else if (!seen.insert(need).second) {
        Error(mark, "step " + Quote(step.name) + " lists " + Quote(need) + " twice in needs");
      }
    }
  }

  void CheckConfig(const Step& step, const OperatorInfo& info, const YamlNode& node) {
    const YamlNode* with = node.Get("with");
    SourceMark with_mark = with ? with->mark : step.mark;
    std::vector<std::string> known;
    for (const auto& field : info.config) known.push_back(field.name);
    for (const auto& field : info.config) {
      if (field.required && !step.with.contains(field.name)) {
        Error(with_mark,
              "operator " + Quote(info.name) + " needs " + Quote(field.name) + " in with:",
              field.description.empty() ? "" : field.name + ": " + field.description);
      }
    }
    if (!step.with.is_object()) return;
    for (const auto& [key, value] : step.with.items()) {
      const YamlNode* key_node = KeyNode(with, key);
      SourceMark mark = key_node ? key_node->mark : with_mark;
      auto it = std::find_if(info.config.begin(), info.config.end(),
                             [&](const ConfigField& f) { return f.name == key; });
      if (it == info.config.end()) {
        if (info.allow_unknown_keys) continue;
        std::string guess = ClosestMatch(key, known);
        Error(mark, "operator " + Quote(info.name) + " has no setting " + Quote(key),
              guess.empty() ? (known.empty() ? "it takes no settings" : "settings: " + Join(known))
                            : "did you mean " + Quote(guess) + "?");
        continue;
      }
      if (IsTemplateString(value)) {  // checked after rendering, and here when it is a param
        CheckParamSetting(info, *it, value, with ? with->Get(key) : nullptr, mark);
        continue;
      }
      if (value.is_null()) continue;
      if (it->required && (value.empty() || value == "")) {  // as good as missing
        const YamlNode* value_node = with ? with->Get(key) : nullptr;
        Error(value_node ? value_node->mark : mark,
              "setting " + Quote(key) + " of operator " + Quote(info.name) + " must not be empty",
              it->description.empty() ? "" : key + ": " + it->description);
        continue;
      }
      if (!MatchesType(it->type, value)) {
        const YamlNode* value_node = with ? with->Get(key) : nullptr;
        Error(value_node ? value_node->mark : mark,
              "setting " + Quote(key) + " of operator " + Quote(info.name) + " must be " +
                  std::string(ConfigTypeName(it->type)) +
                  (it->type == ConfigType::kDuration ? " (>= 0)" : "") + ", got " +
                  Describe(value));
      }
    }
  }

  // A setting that is exactly `{{ params.NAME }}` takes the param's type: it must fit.
  void CheckParamSetting(const OperatorInfo& info, const ConfigField& field, const Json& value,
                         const YamlNode* value_node, SourceMark mark) {
    const ParamSpec* param = wf_.FindParam(PlainParamReference(value));
    if (!param || ParamFits(field.type, param->type)) return;
    const std::string type = ConfigTypeName(field.type);
    std::string hint =
        field.type == ConfigType::kMap
            ? "a mapping cannot come whole from a param; write it out, with params inside"
            : "give " + Quote(param->name) + " a matching type: under params:, e.g. " +
                  param->name + ": {type: " +
                  (field.type == ConfigType::kDuration ? std::string("string") : type) + "}";
    Error(value_node ? value_node->mark : mark,
          "setting " + Quote(field.name) + " of operator " + Quote(info.name) + " must be " + type +
              ", but param " + Quote(param->name) + " it reads is " + ParamTypeName(param->type),
          hint);
  }

  // `foreach: "{{ params.NAME }}"` must name a list param.
  void CheckForeachParam(const Step& step, const YamlNode& node) {
    if (!step.foreach) return;
    const ParamSpec* param = wf_.FindParam(PlainParamReference(*step.foreach));
    if (!param || param->type == ParamType::kList) return;
    const YamlNode* at = node.Get("foreach");
    Error(at ? at->mark : step.mark,
          "foreach of step " + Quote(step.name) + " reads param " + Quote(param->name) +
              ", which is " + ParamTypeName(param->type) + ", not a list",
          "declare it with type: list, e.g. " + param->name + ": {type: list, default: [1, 2]}");
  }

  // The operator's own checks of the step's `with:` block, each pointed at its value.
  // A distributed operator (one with a `world_size` setting) on Slurm runs one rank per task of
  // its job: a literal world_size must match nodes x tasks_per_node.
  void CheckSlurmRanks(const Step& step, const OperatorInfo& info, const YamlNode& node) {
    if (step.executor != ExecutorKind::kSlurm || !step.with.is_object()) return;
    bool distributed = std::any_of(info.config.begin(), info.config.end(),
                                   [](const ConfigField& f) { return f.name == "world_size"; });
    const Json* ws = step.with.contains("world_size") ? &step.with["world_size"] : nullptr;
    if (!distributed || ws == nullptr || !ws->is_number_integer()) return;
    int64_t tasks = int64_t{step.resources.nodes} * step.resources.tasks_per_node;
    if (ws->get<int64_t>() == tasks) return;
    const YamlNode* with = node.Get("with");
    const YamlNode* at = with ? with->Get("world_size") : nullptr;
    Error(at ? at->mark : step.mark,
          fmt::format("step {} runs on Slurm with {} task(s) (resources.nodes {} x "
                      "tasks_per_node {}), one rank each, but sets world_size {}",
                      Quote(step.name), tasks, step.resources.nodes, step.resources.tasks_per_node,
                      ws->get<int64_t>()),
          "drop world_size (it follows the job's tasks) or make nodes x tasks_per_node match it");
  }

  void CheckOperatorValidation(const Step& step, const OperatorInfo& info, const YamlNode& node) {
    if (!info.validate || !step.with.is_object()) return;
    const YamlNode* with = node.Get("with");
    std::vector<ConfigProblem> problems;
    try {
      problems = info.validate(step.with);
    } catch (const std::exception& e) {
      problems = {{.message = "operator " + Quote(info.name) +
                              " failed to validate its settings: " + e.what()}};
    }
    for (const auto& problem : problems) {
      const YamlNode* at = with ? FollowPointer(*with, problem.pointer) : nullptr;
      Error(at ? at->mark : step.mark, problem.message, problem.hint);
    }
  }

  // The node a JSON Pointer ("/checks/1/check") names under `node`, or the deepest one found
  // on the way.
  static const YamlNode* FollowPointer(const YamlNode& node, const std::string& pointer) {
    const YamlNode* at = &node;
    size_t pos = 0;
    while (pos < pointer.size() && pointer[pos] == '/') {
      size_t next = pointer.find('/', pos + 1);
      std::string token =
          pointer.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
      for (size_t i = 0; (i = token.find("~1", i)) != std::string::npos; ++i) {
        token.replace(i, 2, "/");
      }
      for (size_t i = 0; (i = token.find("~0", i)) != std::string::npos; ++i) {
        token.replace(i, 2, "~");
      }
      const YamlNode* child = nullptr;
      if (at->IsMap()) {
        child = at->Get(token);
        // A key whose value is a block: point at the key itself.
        if (child && !child->IsScalar() && next == std::string::npos) child = KeyNode(at, token);
      } else if (at->IsSequence() && !token.empty() && token.size() < 10 &&
                 std::all_of(token.begin(), token.end(),
                             [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        size_t index = std::stoul(token);
        if (index < at->items.size()) child = at->items[index].get();
      }
      if (!child) break;
      at = child;
      if (next == std::string::npos) break;
      pos = next;
    }
    return at;
  }

  // `outputs:` and `artifacts:` belong to steps whose operator publishes open-ended outputs.
  void CheckStepDeclarations(const Step& step, const OperatorInfo& info, const YamlNode& node) {
    if (!info.declares_outputs || info.open_outputs) return;
    for (const char* key : {"outputs", "artifacts"}) {
      const YamlNode* at = KeyNode(&node, key);
      if (!at) continue;
      Error(at->mark,
            "step " + Quote(step.name) + " lists " + key + ":, but operator " + Quote(info.name) +
                " publishes a fixed set",
            "remove it; `reel operators " + info.name + "` lists what it publishes");
    }
  }

  // Walks every string under `node` (a with: block) and checks its templates.
  void CheckTemplatesIn(const YamlNode& node, int step_index, bool in_foreach,
                        const std::vector<bool>* ancestors) {
    if (node.IsScalar()) {
      if (ContainsTemplate(node.scalar)) {
        CheckTemplate(node.scalar, node, step_index, in_foreach, ancestors);
      }
      return;
    }
    for (const auto& item : node.items) CheckTemplatesIn(*item, step_index, in_foreach, ancestors);
    for (const auto& [k, v] : node.entries) CheckTemplatesIn(*v, step_index, in_foreach, ancestors);
  }

  void CheckStepTemplates(int index, const Step& step, const YamlNode& node) {
    // Ancestors are computed only for steps whose templates read step outputs.
    std::vector<bool> ancestors;
    bool reads_steps = step.with.dump().find("steps.") != std::string::npos ||
                       step.when.find("steps.") != std::string::npos ||
                       (step.foreach && step.foreach->dump().find("steps.") != std::string::npos) ||
                       Json(step.inputs).dump().find("steps.") != std::string::npos;
    if (reads_steps) ancestors = dag_.Ancestors(index);
    bool in_foreach = step.foreach.has_value();
    if (const YamlNode* with = node.Get("with")) {
      CheckTemplatesIn(*with, index, in_foreach, &ancestors);
    }
    if (const YamlNode* when = node.Get("when")) {
      CheckTemplatesIn(*when, index, in_foreach, &ancestors);
    }
    if (const YamlNode* foreach = node.Get("foreach")) {
      CheckTemplatesIn(*foreach, index, /*in_foreach=*/false, &ancestors);
    }
    if (const YamlNode* inputs = node.Get("inputs")) {
      CheckTemplatesIn(*inputs, index, in_foreach, &ancestors);
    }
  }

  void CheckParamDefault(const ParamSpec& param) {
    if (!IsTemplateString(param.default_value)) return;
    const YamlNode* params = root_.Get("params");
    const YamlNode* node = params ? params->Get(param.name) : nullptr;
    if (node && node->IsMap()) node = node->Get("default");
    if (!node) return;
    CheckTemplatesIn(*node, -1, false, nullptr);
  }

  // Column of byte `offset` of a scalar's text: exact for one-line scalars.
  static SourceMark MarkAt(const YamlNode& node, const std::string& text, size_t offset) {
    SourceMark mark = node.mark;
    size_t line_start = 0;
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++mark.line;
        line_start = i + 1;
      }
    }
    if (line_start == 0) {
      mark.column += static_cast<int>(offset) + (node.quoted ? 1 : 0);
    } else {
      mark.column = static_cast<int>(offset - line_start) + 1;
    }
    return mark;
  }

  void CheckTemplate(const std::string& text, const YamlNode& node, int step_index, bool in_foreach,
                     const std::vector<bool>* ancestors) {
    auto parsed = Template::ParseWithError(text);
    if (auto* err = std::get_if<TemplateError>(&parsed)) {
      Error(MarkAt(node, text, err->offset), "template: " + err->message);
      return;
    }
    const Template& tmpl = std::get<Template>(parsed);
    for (const auto& ref : tmpl.references()) {
      SourceMark mark = MarkAt(node, text, ref.offset);
      const std::string& root = ref.path.empty() ? std::string() : ref.path[0];
      if (std::find(kTemplateRoots.begin(), kTemplateRoots.end(), root) == kTemplateRoots.end()) {
        std::string guess = ClosestMatch(root, kTemplateRoots);
        Error(mark, "template refers to unknown variable " + Quote(root),
              guess.empty() ? "variables: " + Join(kTemplateRoots)
                            : "did you mean " + Quote(guess) + "?");
      } else if (root == "params") {
        if (ref.path.size() < 2) continue;
        if (!wf_.FindParam(ref.path[1]) && !ref.has_default) {
          std::vector<std::string> names;
          for (const auto& p : wf_.params) names.push_back(p.name);
          std::string guess = ClosestMatch(ref.path[1], names);
          Error(mark, "template refers to unknown param " + Quote(ref.path[1]),
                guess.empty()
                    ? (names.empty() ? "declare it under 'params:'" : "params: " + Join(names))
                    : "did you mean " + Quote(guess) + "?");
        }
      } else if (root == "item") {
        if (!in_foreach) {
          Error(mark, "template uses 'item' outside a foreach step",
                "'item' is the current element of the step's foreach list");
        }
      } else if (root == "steps") {
        CheckStepReference(ref, mark, step_index, ancestors);
      }
    }
  }

  void CheckStepReference(const TemplateReference& ref, SourceMark mark, int step_index,
                          const std::vector<bool>* ancestors) {
    if (step_index < 0) {
      Error(mark, "a param default cannot refer to step outputs");
      return;
    }
    if (ref.path.size() < 3 || (ref.path[2] != "outputs" && ref.path[2] != "artifacts")) {
      Error(mark,
            "a step reference reads outputs or artifacts: steps.NAME.outputs.KEY or "
            "steps.NAME.artifacts.NAME");
      return;
    }
    const std::string& target = ref.path[1];
    int target_index = wf_.StepIndex(target);
    const std::string& self = wf_.steps[static_cast<size_t>(step_index)].name;
    if (target_index < 0) {
      std::vector<std::string> names;
      for (const auto& s : wf_.steps) names.push_back(s.name);
      std::string guess = ClosestMatch(target, names);
      Error(mark, "template refers to unknown step " + Quote(target),
            guess.empty() ? "steps: " + Join(names) : "did you mean " + Quote(guess) + "?");
    } else if (!(*ancestors)[static_cast<size_t>(target_index)]) {
      Error(mark,
            "step " + Quote(self) + " reads outputs of " + Quote(target) +
                ", which is not upstream of it",
            "add " + Quote(target) + " to the needs of " + Quote(self));
    } else if (ref.path.size() >= 4) {
      CheckPublished(ref, mark, wf_.steps[static_cast<size_t>(target_index)]);
    }
  }

  // `steps.X.outputs.KEY` and `steps.X.artifacts.NAME` must name what X publishes, when that
  // is known (step_outputs.h). A foreach step's outputs are a list: `steps.X.outputs[0].KEY`
  // stops at the subscript and is not checked past it.
  void CheckPublished(const TemplateReference& ref, SourceMark mark, const Step& target) {
    const OperatorInfo* info = ops_.find ? ops_.find(target.op) : nullptr;
    const bool artifact = ref.path[2] == "artifacts";
    auto known = artifact ? KnownArtifacts(target, info) : KnownOutputs(target, info);
    const std::string& name = ref.path[3];
    if (!known || std::find(known->begin(), known->end(), name) != known->end()) return;
    const std::string what = artifact ? "artifact" : "output";
    std::string guess = ClosestMatch(name, *known);
    // A file name read as an attribute: `artifacts.interactions` for interactions.csv.
    for (const auto& k : *known) {
      if (guess.empty() && artifact && k.rfind(name + ".", 0) == 0) guess = k;
    }
    std::string hint;
    if (!guess.empty()) {
      hint = "did you mean " +
             (artifact ? ArtifactReference(target.name, guess)
                       : "steps." + target.name + ".outputs." + guess) +
             "? ";
    }
    if (known->empty()) {
      hint += "operator " + Quote(info->name) + " publishes no " + what + "s";
    } else {
      hint += Quote(target.name) + " publishes " + what + "s: " + Join(*known);
    }
    if (info->open_outputs) {
      hint += "; declare more under " + what + "s: in step " + Quote(target.name);
    }
    Error(mark,
          "step " + Quote(target.name) + " (operator " + Quote(info->name) + ") has no " + what +
              " " + Quote(name),
          hint);
  }

  void CheckCycles() {
    auto cycle = dag_.FindCycle();
    if (!cycle) return;
    std::string path;
    for (size_t i = 0; i < cycle->size(); ++i) path += (i ? " -> " : "") + dag_.name((*cycle)[i]);
    const Step& first = wf_.steps[static_cast<size_t>(cycle->front())];
    Error(first.mark, "cycle in needs: " + path,
          "a workflow must be a DAG; remove one of these needs");
  }

  void CheckSchedule() {
    if (!wf_.schedule) return;
    CronError error;
    auto parsed = CronSchedule::Parse(wf_.schedule->cron, wf_.schedule->timezone, &error);
    if (!parsed.ok()) {
      Error(wf_.schedule->mark, "schedule: " + parsed.status().message(),
            "five fields: minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\"");
    }
  }

  const Workflow& wf_;
  const YamlNode& root_;
  const OperatorCatalog& ops_;
  Diagnostics& diags_;
  Dag dag_;
  std::unordered_map<std::string, const YamlNode*> step_nodes_;
};

}  // namespace

void ValidateWorkflow(const Workflow& workflow, const YamlNode& root,
                      const OperatorCatalog& operators, Diagnostics& diags) {
  Validator(workflow, root, operators, diags).Run();
}

}  // namespace reel
