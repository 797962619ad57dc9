// The graph of a workflow's steps: immutable data with no threads. Node i is
// workflow.steps[i]; an edge u -> v means v needs u. A foreach step is one node here; the
// scheduler expands it into one task per item at run time and its dependents wait for all.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/workflow/workflow.h"

namespace reel {

class Dag {
 public:
  // Edges come from `needs`; names that are not steps are ignored (validation reports them).
  static Dag FromWorkflow(const Workflow& workflow);

  size_t size() const { return upstream_.size(); }
  const std::vector<int>& upstream(int node) const { return upstream_[static_cast<size_t>(node)]; }
  const std::vector<int>& downstream(int node) const {
    return downstream_[static_cast<size_t>(node)];
  }
  const std::string& name(int node) const { return names_[static_cast<size_t>(node)]; }
  size_t edge_count() const;

  // A cycle as a path that returns to its start (a, b, a), or nullopt for a DAG.
  std::optional<std::vector<int>> FindCycle() const;
  // Kahn's order; among ready nodes, file order first. Requires no cycle.
  std::vector<int> TopologicalOrder() const;
  // The length of the longest path from a root to each node (roots are level 0).
  std::vector<int> Levels() const;
  // ancestors[i] is true when node i is a transitive upstream of `node`.
  std::vector<bool> Ancestors(int node) const;

 private:
  std::vector<std::string> names_;
  std::vector<std::vector<int>> upstream_;
  std::vector<std::vector<int>> downstream_;
};

// Readiness from events: each node counts its unfinished upstreams; finishing a node hands back
// the downstream nodes that just became ready. No rescanning of the graph.
class ReadyTracker {
 public:
  explicit ReadyTracker(const Dag& dag);
  std::vector<int> Roots() const;
  // Marks `node` finished (in any final state) and returns the nodes that became ready.
  std::vector<int> Finish(int node);
  bool finished(int node) const { return finished_[static_cast<size_t>(node)]; }
  size_t remaining() const { return remaining_; }

 private:
  const Dag& dag_;
  std::vector<int> waiting_on_;
  std::vector<bool> finished_;
  size_t remaining_;
};

// Renderings for `reel graph`.
std::string RenderAscii(const Workflow& workflow, const Dag& dag);
std::string RenderDot(const Workflow& workflow, const Dag& dag);
std::string RenderJson(const Workflow& workflow, const Dag& dag);

}  // namespace reel
