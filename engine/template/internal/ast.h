// The parsed form of a template: text segments and expression trees. Internal to the
// templating engine (engine/template*.cc); other code uses engine/template.h.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "engine/template/template.h"

namespace reel::template_internal {

struct BuiltinInfo;  // engine/template/internal/builtins.h
struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// The names a template may start a path with.
enum class Root {
  kParams,
  kDs,
  kLogicalDate,
  kTs,
  kDataIntervalStart,
  kDataIntervalEnd,
  kRunId,
  kItem,
  kSteps
};

struct LiteralNode {
  Json value;
};
struct VariableNode {
  Root root;
};
// `env.NAME` and `secrets.NAME`: resolved through the scope's callbacks.
struct LookupNode {
  bool secret = false;
  std::string name;
};
struct AttributeNode {
  ExprPtr object;
  std::string name;
};
struct SubscriptNode {
  ExprPtr object;
  ExprPtr index;
};
struct ListNode {
  std::vector<ExprPtr> items;
};
enum class UnaryOp { kNegate, kNot };
struct UnaryNode {
  UnaryOp op;
  ExprPtr operand;
};
enum class BinaryOp { kAnd, kOr, kEq, kNe, kLt, kLe, kGt, kGe, kAdd, kSub, kMul, kDiv, kConcat };
struct BinaryNode {
  BinaryOp op;
  ExprPtr lhs, rhs;
};
// A built-in function call `f(args)`, or a filter `input | f(args)` whose input is args[0].
struct CallNode {
  const BuiltinInfo* builtin = nullptr;
  std::vector<ExprPtr> args;
};

struct Expr {
  size_t offset = 0;  // where the expression starts in the source (for operators: the operator)
  int height = 1;     // 1 + the tallest child; bounded so evaluation recursion stays shallow
  std::variant<LiteralNode, VariableNode, LookupNode, AttributeNode, SubscriptNode, ListNode,
               UnaryNode, BinaryNode, CallNode>
      node;
};

// Literal text (expr == nullptr) or one `{{ expr }}`.
struct Segment {
  std::string text;
  ExprPtr expr;
  size_t offset = 0;  // of the text, or of the `{{`
};

struct Program {
  std::string source;
  std::vector<Segment> segments;
  std::vector<TemplateReference> references;
  bool has_expressions = false;
  bool single_expression = false;  // exactly one expression, only whitespace around it
};

const char* BinaryOpSymbol(BinaryOp op);

}  // namespace reel::template_internal
