#include "engine/workflow/dag.h"

#include <algorithm>
#include <queue>
#include <sstream>

#include <nlohmann/json.hpp>

namespace reel {

Dag Dag::FromWorkflow(const Workflow& workflow) {
  Dag dag;
  size_t n = workflow.steps.size();
  dag.upstream_.resize(n);
  dag.downstream_.resize(n);
  for (const auto& step : workflow.steps) dag.names_.push_back(step.name);
  for (size_t v = 0; v < n; ++v) {
    for (const auto& need : workflow.steps[v].needs) {
      int u = workflow.StepIndex(need);
      if (u < 0) continue;
      auto& up = dag.upstream_[v];
      if (std::find(up.begin(), up.end(), u) != up.end()) continue;
      up.push_back(u);
      dag.downstream_[static_cast<size_t>(u)].push_back(static_cast<int>(v));
    }
  }
  return dag;
}

size_t Dag::edge_count() const {
  size_t edges = 0;
  for (const auto& up : upstream_) edges += up.size();
  return edges;
}

std::optional<std::vector<int>> Dag::FindCycle() const {
  // Iterative DFS with colours; a back edge closes a cycle that we read off the stack.
  enum Colour { kWhite, kGrey, kBlack };
  std::vector<Colour> colour(size(), kWhite);
  for (size_t start = 0; start < size(); ++start) {
    if (colour[start] != kWhite) continue;
    std::vector<std::pair<int, size_t>> stack{{static_cast<int>(start), 0}};
    colour[start] = kGrey;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const auto& outs = downstream_[static_cast<size_t>(node)];
      if (next < outs.size()) {
        int child = outs[next++];
        if (colour[static_cast<size_t>(child)] == kGrey) {
          std::vector<int> cycle;
          auto it = std::find_if(stack.begin(), stack.end(),
                                 [child](const auto& frame) { return frame.first == child; });
          for (; it != stack.end(); ++it) cycle.push_back(it->first);
          cycle.push_back(child);
          return cycle;
        }
        if (colour[static_cast<size_t>(child)] == kWhite) {
          colour[static_cast<size_t>(child)] = kGrey;
          stack.push_back({child, 0});
        }
      } else {
        colour[static_cast<size_t>(node)] = kBlack;
        stack.pop_back();
      }
    }
  }
  return std::nullopt;
}

std::vector<int> Dag::TopologicalOrder() const {
  std::vector<int> indegree(size());
  for (size_t v = 0; v < size(); ++v) indegree[v] = static_cast<int>(upstream_[v].size());
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t v = 0; v < size(); ++v) {
    if (indegree[v] == 0) ready.push(static_cast<int>(v));
  }
  std::vector<int> order;
  while (!ready.empty()) {
    int u = ready.top();
    ready.pop();
    order.push_back(u);
    for (int v : downstream_[static_cast<size_t>(u)]) {
      if (--indegree[static_cast<size_t>(v)] == 0) ready.push(v);
    }
  }
  return order;
}

std::vector<int> Dag::Levels() const {
  std::vector<int> level(size(), 0);
  for (int u : TopologicalOrder()) {
    for (int v : downstream_[static_cast<size_t>(u)]) {
      level[static_cast<size_t>(v)] =
          std::max(level[static_cast<size_t>(v)], level[static_cast<size_t>(u)] + 1);
    }
  }
  return level;
}

std::vector<bool> Dag::Ancestors(int node) const {
  std::vector<bool> seen(size(), false);
  std::vector<int> stack(upstream_[static_cast<size_t>(node)]);
  while (!stack.empty()) {
    int u = stack.back();
    stack.pop_back();
    if (seen[static_cast<size_t>(u)]) continue;
    seen[static_cast<size_t>(u)] = true;
    for (int w : upstream_[static_cast<size_t>(u)]) stack.push_back(w);
  }
  return seen;
}

ReadyTracker::ReadyTracker(const Dag& dag)
    : dag_(dag), waiting_on_(dag.size()), finished_(dag.size(), false), remaining_(dag.size()) {
  for (size_t v = 0; v < dag.size(); ++v) {
    waiting_on_[v] = static_cast<int>(dag.upstream(static_cast<int>(v)).size());
  }
}

std::vector<int> ReadyTracker::Roots() const {
  std::vector<int> roots;
  for (size_t v = 0; v < dag_.size(); ++v) {
    if (dag_.upstream(static_cast<int>(v)).empty()) roots.push_back(static_cast<int>(v));
  }
  return roots;
}

std::vector<int> ReadyTracker::Finish(int node) {
  std::vector<int> ready;
  if (finished_[static_cast<size_t>(node)]) return ready;
  finished_[static_cast<size_t>(node)] = true;
  --remaining_;
  for (int v : dag_.downstream(node)) {
    if (--waiting_on_[static_cast<size_t>(v)] == 0) ready.push_back(v);
  }
  return ready;
}

namespace {

std::string Annotations(const Step& step) {
  std::string out;
  if (step.foreach) {
    out += step.foreach->is_array() ? " foreach[" + std::to_string(step.foreach->size()) + "]"
                                    : " foreach";
  }
  if (!step.when.empty()) out += " when";
  if (step.retry.retries > 0) out += " retries=" + std::to_string(step.retry.retries);
  if (step.catch_failure) out += " catch";
  return out;
}

std::string DotEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string RenderAscii(const Workflow& workflow, const Dag& dag) {
  std::ostringstream out;
  out << workflow.name << ": " << dag.size() << " steps, " << dag.edge_count() << " edges\n";
  auto levels = dag.Levels();
  size_t width = 4;
  for (const auto& step : workflow.steps) width = std::max(width, step.name.size());
  for (int v : dag.TopologicalOrder()) {
    const Step& step = workflow.steps[static_cast<size_t>(v)];
    std::string indent(static_cast<size_t>(levels[static_cast<size_t>(v)]) * 2, ' ');
    std::string label = indent + (levels[static_cast<size_t>(v)] ? "└─ " : "") + step.name;
    out << "  " << label;
    // Pad by visible characters ("└─ " is three columns but more bytes).
    size_t visible = indent.size() + (levels[static_cast<size_t>(v)] ? 3 : 0) + step.name.size();
    size_t pad = width + 2 * 8 + 3;
    out << std::string(visible < pad ? pad - visible : 1, ' ') << "[" << step.op << "]"
        << Annotations(step);
    if (!dag.upstream(v).empty()) {
      out << "  <- ";
      for (size_t i = 0; i < dag.upstream(v).size(); ++i) {
        out << (i ? ", " : "") << dag.name(dag.upstream(v)[i]);
      }
    }
    out << "\n";
  }
  return out.str();
}

std::string RenderDot(const Workflow& workflow, const Dag& dag) {
  std::ostringstream out;
  out << "digraph \"" << DotEscape(workflow.name) << "\" {\n";
  out << "  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  for (size_t v = 0; v < dag.size(); ++v) {
    const Step& step = workflow.steps[v];
    out << "  \"" << DotEscape(step.name) << "\" [label=\"" << DotEscape(step.name) << "\\n"
        << DotEscape(step.op) << DotEscape(Annotations(step)) << "\"";
    if (step.foreach) out << ", peripheries=2";
    out << "];\n";
  }
  for (size_t v = 0; v < dag.size(); ++v) {
    for (int u : dag.upstream(static_cast<int>(v))) {
      out << "  \"" << DotEscape(dag.name(u)) << "\" -> \""
          << DotEscape(dag.name(static_cast<int>(v))) << "\";\n";
    }
  }
  out << "}\n";
  return out.str();
}

std::string RenderJson(const Workflow& workflow, const Dag& dag) {
  nlohmann::ordered_json out;
  out["name"] = workflow.name;
  out["description"] = workflow.description;
  auto levels = dag.Levels();
  out["steps"] = nlohmann::ordered_json::array();
  for (size_t v = 0; v < dag.size(); ++v) {
    const Step& step = workflow.steps[v];
    nlohmann::ordered_json s;
    s["name"] = step.name;
    s["operator"] = step.op;
    s["needs"] = nlohmann::ordered_json::array();
    for (int u : dag.upstream(static_cast<int>(v))) s["needs"].push_back(dag.name(u));
    s["level"] = levels[v];
    if (step.foreach) s["foreach"] = *step.foreach;
    if (!step.when.empty()) s["when"] = step.when;
    s["retries"] = step.retry.retries;
    s["catch"] = step.catch_failure;
    out["steps"].push_back(s);
  }
  out["edges"] = nlohmann::ordered_json::array();
  for (size_t v = 0; v < dag.size(); ++v) {
    for (int u : dag.upstream(static_cast<int>(v))) {
      out["edges"].push_back({dag.name(u), dag.name(static_cast<int>(v))});
    }
  }
  out["order"] = nlohmann::ordered_json::array();
  for (int v : dag.TopologicalOrder()) out["order"].push_back(dag.name(v));
  return out.dump(2) + "\n";
}

}  // namespace reel
