#include "engine/template/internal/eval.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <type_traits>

#include "engine/base/diagnostic.h"
#include "engine/template/internal/builtins.h"

namespace reel::template_internal {
namespace {

Value Undefined(std::string message, size_t offset) {
  Value v;
  v.defined = false;
  v.missing = std::move(message);
  v.missing_offset = offset;
  return v;
}

Value Owned(Json json, bool secret = false) {
  Value v;
  v.owned = std::move(json);
  v.secret = secret;
  return v;
}

Value FromPath(const Json* json, std::string path, size_t offset, bool secret = false) {
  Value v;
  v.ref = json;
  v.path = std::move(path);
  v.path_offset = offset;
  v.secret = secret;
  return v;
}

bool IsIdentifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string WithArticle(const std::string& type) {
  return (type == "int" || type == "object" ? "an " : "a ") + type;
}

std::string KeyList(const Json& object) {
  std::string out;
  size_t shown = 0;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (shown == 10) return out + ", ...";
    out += (shown++ ? ", " : "") + it.key();
  }
  return out;
}

bool FitsInt64(const Json& j) {
  return j.is_number_integer() &&
         (!j.is_number_unsigned() ||
          j.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
}

Result<Json> Arithmetic(BinaryOp op, const Json& a, const Json& b) {
  std::string symbol = BinaryOpSymbol(op);
  if (op != BinaryOp::kDiv && FitsInt64(a) && FitsInt64(b)) {
    int64_t x = a.get<int64_t>(), y = b.get<int64_t>(), r = 0;
    bool overflow = op == BinaryOp::kAdd   ? __builtin_add_overflow(x, y, &r)
                    : op == BinaryOp::kSub ? __builtin_sub_overflow(x, y, &r)
                                           : __builtin_mul_overflow(x, y, &r);
    if (overflow) {
      return Status::InvalidArgument("integer overflow in " + a.dump() + " " + symbol + " " +
                                     b.dump() + "; convert to float first (| float)");
    }
    return Json(r);
  }
  double x = a.get<double>(), y = b.get<double>(), r = 0;
  switch (op) {
    case BinaryOp::kAdd:
      r = x + y;
      break;
    case BinaryOp::kSub:
      r = x - y;
      break;
    case BinaryOp::kMul:
      r = x * y;
      break;
    default:
      if (y == 0) return Status::InvalidArgument("division by zero");
      r = x / y;
      break;
  }
  if (!std::isfinite(r)) {
    return Status::InvalidArgument("the result of '" + symbol + "' is out of range");
  }
  return Json(r);
}

}  // namespace

std::optional<Value> Evaluator::Fail(size_t offset, std::string message) {
  error_ = {offset, std::move(message)};
  return std::nullopt;
}

void Evaluator::RecordSecret(const std::string& text) const {
  if (!scope_.secret_values || text.empty()) return;
  for (const auto& known : *scope_.secret_values) {
    if (known == text) return;
  }
  scope_.secret_values->push_back(text);
}

std::optional<Value> Evaluator::Eval(const Expr& expr) {
  return std::visit(
      [&](const auto& node) -> std::optional<Value> {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, LiteralNode>) {
          return FromPath(&node.value, "", expr.offset);
        } else if constexpr (std::is_same_v<Node, VariableNode>) {
          return EvalVariable(expr, node);
        } else if constexpr (std::is_same_v<Node, LookupNode>) {
          return EvalLookup(expr, node);
        } else if constexpr (std::is_same_v<Node, AttributeNode>) {
          return EvalAttribute(expr, node);
        } else if constexpr (std::is_same_v<Node, SubscriptNode>) {
          return EvalSubscript(expr, node);
        } else if constexpr (std::is_same_v<Node, ListNode>) {
          return EvalList(expr, node);
        } else if constexpr (std::is_same_v<Node, UnaryNode>) {
          return EvalUnary(expr, node);
        } else if constexpr (std::is_same_v<Node, BinaryNode>) {
          return EvalBinary(expr, node);
        } else {
          static_assert(std::is_same_v<Node, CallNode>);
          return EvalCall(expr, node);
        }
      },
      expr.node);
}

std::optional<Value> Evaluator::EvalVariable(const Expr& e, const VariableNode& n) {
  auto text = [&](const std::string& value, const char* name, const char* why) {
    if (value.empty()) return Undefined(std::string(name) + " is not defined: " + why, e.offset);
    Value v = Owned(value);
    v.path = name;
    v.path_offset = e.offset;
    return v;
  };
  switch (n.root) {
    case Root::kParams:
      return FromPath(&scope_.params, "params", e.offset);
    case Root::kSteps:
      return FromPath(&scope_.steps, "steps", e.offset);
    case Root::kDs:
      return text(scope_.ds, "ds", "no logical date is set here");
    case Root::kLogicalDate:
      return text(scope_.logical_date, "logical_date", "no logical date is set here");
    case Root::kTs:
      return text(scope_.ts, "ts", "no logical date is set here");
    case Root::kDataIntervalStart:
      return text(scope_.data_interval_start, "data_interval_start",
                  "no data interval is set here");
    case Root::kDataIntervalEnd:
      return text(scope_.data_interval_end, "data_interval_end", "no data interval is set here");
    case Root::kRunId:
      return text(scope_.run_id, "run_id", "no run is in progress here");
    case Root::kItem:
      if (!scope_.has_item) {
        return Undefined("item is not defined: 'item' exists only in a step with 'foreach'",
                         e.offset);
      }
      return FromPath(&scope_.item, "item", e.offset, scope_.item_secret);
  }
  return Fail(e.offset, "unknown variable");
}

std::optional<Value> Evaluator::EvalLookup(const Expr& e, const LookupNode& n) {
  std::string path = (n.secret ? "secrets." : "env.") + n.name;
  const auto& lookup = n.secret ? scope_.secrets : scope_.env;
  if (!lookup) {
    return Undefined(path + " is not defined: " +
                         (n.secret ? "no secret provider is configured"
                                   : "the environment is not available here"),
                     e.offset);
  }
  std::optional<std::string> found = lookup(n.name);
  if (!found) {
    return Undefined(path + " is not defined: " +
                         (n.secret ? "there is no secret named '" + n.name + "'"
                                   : "the environment variable " + n.name + " is not set"),
                     e.offset);
  }
  // $REEL_SECRET_NAME is what secrets.NAME reads: as secret through env as through secrets.
  const bool secret = n.secret || std::string_view(n.name).starts_with(kSecretEnvPrefix);
  if (secret) RecordSecret(*found);
  Value v = Owned(std::move(*found), secret);
  v.path = std::move(path);
  v.path_offset = e.offset;
  return v;
}

Value Evaluator::Member(const Value& object, const std::string& key, size_t offset) {
  const Json& j = object.json();
  bool has_path = !object.path.empty();
  std::string path =
      has_path ? object.path + (IsIdentifier(key) ? "." + key : "[\"" + key + "\"]") : "";
  size_t at = has_path ? object.path_offset : offset;
  std::string subject = has_path ? path : "key '" + key + "'";
  if (!j.is_object()) {
    return Undefined(subject + " is not defined: " + (has_path ? object.path : "the value") +
                         " is " + WithArticle(TypeName(j)) + ", not an object",
                     at);
  }
  auto it = j.find(key);
  if (it != j.end()) {
    if (object.ref) return FromPath(&*it, path, at, object.secret);
    Value v = Owned(*it, object.secret);
    v.path = path;
    v.path_offset = at;
    return v;
  }
  std::vector<std::string> keys;
  for (auto k = j.begin(); k != j.end(); ++k) keys.push_back(k.key());
  std::string message = subject + " is not defined";
  if (object.ref == &scope_.steps) message += ": no step named '" + key + "' has outputs here";
  if (std::string near = ClosestMatch(key, keys); !near.empty()) {
    message += "; did you mean '" + (has_path ? object.path + "." : "") + near + "'?";
  } else if (keys.empty()) {
    message += "; " + (has_path ? object.path : "the object") + " is empty";
  } else {
    message += "; " + (has_path ? object.path : "the object") + " has: " + KeyList(j);
  }
  return Undefined(std::move(message), at);
}

std::optional<Value> Evaluator::EvalAttribute(const Expr& e, const AttributeNode& n) {
  std::optional<Value> object = Eval(*n.object);
  if (!object || !object->defined) return object;
  return Member(*object, n.name, e.offset);
}

std::optional<Value> Evaluator::EvalSubscript(const Expr& e, const SubscriptNode& n) {
  std::optional<Value> object = Eval(*n.object);
  if (!object || !object->defined) return object;
  std::optional<Value> index = Eval(*n.index);
  if (!index || !index->defined) return index;
  const Json& j = object->json();
  const Json& key = index->json();
  bool secret = object->secret || index->secret;
  if (j.is_object()) {
    if (!key.is_string()) {
      return Fail(n.index->offset,
                  "an object key must be a string, got " + TypeName(key) + " (write x[\"name\"])");
    }
    Value v = Member(*object, key.get<std::string>(), e.offset);
    v.secret = v.secret || secret;
    return v;
  }
  std::string base = object->path.empty() ? "the value" : object->path;
  size_t at = object->path.empty() ? e.offset : object->path_offset;
  if (!j.is_array()) {
    return Undefined(base + "[" + key.dump() + "] is not defined: " + base + " is " +
                         WithArticle(TypeName(j)) + ", not a list or object",
                     at);
  }
  if (!FitsInt64(key)) {
    return Fail(n.index->offset, "a list index must be an integer, got " + TypeName(key));
  }
  int64_t i = key.get<int64_t>();
  int64_t size = static_cast<int64_t>(j.size());
  int64_t resolved = i < 0 ? i + size : i;
  std::string path = object->path.empty() ? "" : object->path + "[" + std::to_string(i) + "]";
  if (resolved < 0 || resolved >= size) {
    return Undefined((path.empty() ? "list item [" + std::to_string(i) + "]" : path) +
                         " is not defined: index " + std::to_string(i) +
                         " is out of range for a list of " + std::to_string(size) + " items",
                     at);
  }
  const Json& element = j[static_cast<size_t>(resolved)];
  if (object->ref) return FromPath(&element, path, at, secret);
  Value v = Owned(element, secret);
  v.path = path;
  v.path_offset = at;
  return v;
}

std::optional<Value> Evaluator::EvalList(const Expr&, const ListNode& n) {
  Json list = Json::array();
  bool secret = false;
  for (const ExprPtr& item : n.items) {
    std::optional<Value> v = Eval(*item);
    if (!v || !v->defined) return v;
    secret = secret || v->secret;
    list.push_back(v->json());
  }
  return Owned(std::move(list), secret);
}

std::optional<Value> Evaluator::EvalUnary(const Expr& e, const UnaryNode& n) {
  std::optional<Value> v = Eval(*n.operand);
  if (!v || !v->defined) return v;
  const Json& j = v->json();
  if (n.op == UnaryOp::kNot) return Owned(!IsTruthy(j));
  if (FitsInt64(j) && j.get<int64_t>() != std::numeric_limits<int64_t>::min()) {
    return Owned(-j.get<int64_t>(), v->secret);
  }
  if (j.is_number()) return Owned(-j.get<double>(), v->secret);
  return Fail(e.offset, "cannot negate " + WithArticle(TypeName(j)) + "; '-' needs a number");
}

std::optional<Value> Evaluator::EvalBinary(const Expr& e, const BinaryNode& n) {
  std::optional<Value> lhs = Eval(*n.lhs);
  if (!lhs || !lhs->defined) return lhs;
  if (n.op == BinaryOp::kAnd || n.op == BinaryOp::kOr) {
    bool truthy = IsTruthy(lhs->json());
    if (truthy == (n.op == BinaryOp::kOr)) return lhs;
    return Eval(*n.rhs);
  }
  std::optional<Value> rhs = Eval(*n.rhs);
  if (!rhs || !rhs->defined) return rhs;
  const Json& a = lhs->json();
  const Json& b = rhs->json();
  bool secret = lhs->secret || rhs->secret;
  std::string symbol = BinaryOpSymbol(n.op);
  switch (n.op) {
    case BinaryOp::kEq:
      return Owned(a == b);
    case BinaryOp::kNe:
      return Owned(a != b);
    case BinaryOp::kLt:
    case BinaryOp::kLe:
    case BinaryOp::kGt:
    case BinaryOp::kGe: {
      Result<int> order = CompareValues(a, b, symbol);
      if (!order.ok()) {
        return Fail(e.offset, "cannot compare " + TypeName(a) + " with " + TypeName(b) +
                                  " using '" + symbol +
                                  "'; compare numbers with numbers or strings with strings");
      }
      int c = *order;
      bool result = n.op == BinaryOp::kLt   ? c < 0
                    : n.op == BinaryOp::kLe ? c <= 0
                    : n.op == BinaryOp::kGt ? c > 0
                                            : c >= 0;
      return Owned(result);
    }
    case BinaryOp::kConcat: {
      std::string text = TemplateStringify(a) + TemplateStringify(b);
      if (text.size() > kMaxComputedSize) return Fail(e.offset, TooLarge("'~'").message());
      return Owned(std::move(text), secret);
    }
    case BinaryOp::kAdd:
      if (a.is_string() && b.is_string()) {
        const std::string& x = a.get_ref<const std::string&>();
        const std::string& y = b.get_ref<const std::string&>();
        if (x.size() + y.size() > kMaxComputedSize)
          return Fail(e.offset, TooLarge("'+'").message());
        return Owned(x + y, secret);
      }
      if (a.is_array() && b.is_array()) {
        if (a.size() + b.size() > kMaxComputedSize)
          return Fail(e.offset, TooLarge("'+'").message());
        Json joined = a;
        for (const Json& item : b) joined.push_back(item);
        return Owned(std::move(joined), secret);
      }
      [[fallthrough]];
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv: {
      if (!a.is_number() || !b.is_number()) {
        std::string hint = n.op == BinaryOp::kAdd ? "; use '~' to join values as text"
                                                  : "; '" + symbol + "' needs two numbers";
        return Fail(e.offset, "cannot apply '" + symbol + "' to " + TypeName(a) + " and " +
                                  TypeName(b) + hint);
      }
      Result<Json> r = Arithmetic(n.op, a, b);
      if (!r.ok()) return Fail(e.offset, r.status().message());
      return Owned(std::move(r).value(), secret);
    }
    default:
      break;
  }
  return Fail(e.offset, "unsupported operator '" + symbol + "'");
}

std::optional<Value> Evaluator::EvalCall(const Expr& e, const CallNode& n) {
  if (n.builtin->call == nullptr) {  // default(fallback): the fallback is evaluated lazily
    std::optional<Value> input = Eval(*n.args[0]);
    if (!input) return input;
    if (input->defined && !input->json().is_null()) return input;
    return Eval(*n.args[1]);
  }
  std::vector<Json> args;
  args.reserve(n.args.size());
  bool secret = false;
  for (const ExprPtr& arg : n.args) {
    std::optional<Value> v = Eval(*arg);
    if (!v || !v->defined) return v;
    secret = secret || v->secret;
    args.push_back(v->json());
  }
  Result<Json> r = n.builtin->call(args);
  if (!r.ok()) return Fail(e.offset, r.status().message());
  return Owned(std::move(r).value(), secret && n.builtin->keeps_secret);
}

}  // namespace reel::template_internal
