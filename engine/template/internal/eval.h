// Evaluates expression trees against a TemplateScope. Internal to the templating engine.
//
// A path that leads nowhere (an unknown param, output key or env var, an index out of range)
// yields an *undefined* value rather than an error. Undefined flows through operators,
// functions and filters, and only `| default(...)` turns it back into a value; reaching the
// end of an expression undefined is the render error ("params.epochs is not defined").
// Type errors ("cannot add string and int") fail at once.
#pragma once

#include <optional>
#include <string>

#include "engine/template/internal/ast.h"

namespace reel::template_internal {

struct Value {
  // Values read from the scope or the tree point at them (`ref`); computed ones own theirs.
  Json owned;
  const Json* ref = nullptr;
  bool defined = true;
  bool secret = false;     // derived from a secret
  std::string path;        // "steps.train.outputs" while the value comes straight from a path
  size_t path_offset = 0;  // where that path starts in the source
  std::string missing;     // when undefined: the message to report
  size_t missing_offset = 0;

  const Json& json() const { return ref ? *ref : owned; }
};

class Evaluator {
 public:
  explicit Evaluator(const TemplateScope& scope) : scope_(scope) {}

  // nullopt on a hard error (see error()); otherwise a value, possibly undefined.
  std::optional<Value> Eval(const Expr& expr);
  const TemplateError& error() const { return error_; }

  // Adds `text` to the scope's secret_values, once.
  void RecordSecret(const std::string& text) const;

 private:
  std::optional<Value> Fail(size_t offset, std::string message);
  std::optional<Value> EvalVariable(const Expr& e, const VariableNode& n);
  std::optional<Value> EvalLookup(const Expr& e, const LookupNode& n);
  std::optional<Value> EvalAttribute(const Expr& e, const AttributeNode& n);
  std::optional<Value> EvalSubscript(const Expr& e, const SubscriptNode& n);
  std::optional<Value> EvalList(const Expr& e, const ListNode& n);
  std::optional<Value> EvalUnary(const Expr& e, const UnaryNode& n);
  std::optional<Value> EvalBinary(const Expr& e, const BinaryNode& n);
  std::optional<Value> EvalCall(const Expr& e, const CallNode& n);
  // The member `key` of an object value, or undefined with a message naming the path.
  Value Member(const Value& object, const std::string& key, size_t offset);

  const TemplateScope& scope_;
  TemplateError error_;
};

}  // namespace reel::template_internal
