#include "engine/template/internal/parser.h"

#include <algorithm>
#include <optional>

#include "engine/base/diagnostic.h"
#include "engine/template/internal/builtins.h"
#include "engine/template/internal/lexer.h"

namespace reel::template_internal {
namespace {

struct RootName {
  std::string_view name;
  Root root;
};
constexpr RootName kRoots[] = {
    {"params", Root::kParams},
    {"ds", Root::kDs},
    {"logical_date", Root::kLogicalDate},
    {"ts", Root::kTs},
    {"data_interval_start", Root::kDataIntervalStart},
    {"data_interval_end", Root::kDataIntervalEnd},
    {"run_id", Root::kRunId},
    {"item", Root::kItem},
    {"steps", Root::kSteps},
};

std::vector<std::string> VariableNames() {
  std::vector<std::string> names;
  for (const RootName& r : kRoots) names.emplace_back(r.name);
  names.emplace_back("env");
  names.emplace_back("secrets");
  return names;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

int HeightOf(const ExprPtr& e) { return e ? e->height : 0; }

// Parses the inside of one `{{ ... }}`, up to and including its `}}`.
class ExpressionParser {
 public:
  ExpressionParser(std::string_view source, size_t open_offset,
                   std::vector<TemplateReference>* refs)
      : lexer_(source, open_offset + 2), open_offset_(open_offset), refs_(refs) {}

  ExprPtr Parse() {
    if (!Advance()) return nullptr;
    if (tok_.kind == TokenKind::kClose) {
      return Fail(tok_.offset, "empty expression: expected a value between '{{' and '}}'");
    }
    ExprPtr e = ParseOr();
    if (!e) return nullptr;
    if (tok_.kind != TokenKind::kClose) return Unexpected("'}}' or an operator");
    return e;
  }
  size_t end() const { return lexer_.position(); }
  const TemplateError& error() const { return error_; }

 private:
  // Counts one level of nesting for as long as it lives.
  class Nesting {
   public:
    explicit Nesting(ExpressionParser* p) : p_(p) { ++p_->depth_; }
    ~Nesting() { --p_->depth_; }
    bool ok() const { return p_->depth_ <= kMaxTemplateNesting; }

   private:
    ExpressionParser* p_;
  };

  bool Advance() {
    std::optional<Token> next = lexer_.Next();
    if (!next) {
      if (error_.message.empty()) error_ = lexer_.error();
      return false;
    }
    tok_ = std::move(*next);
    return true;
  }

  ExprPtr Fail(size_t offset, std::string message) {
    if (error_.message.empty()) error_ = {offset, std::move(message)};
    return nullptr;
  }

  ExprPtr Unexpected(std::string_view expected) {
    if (tok_.kind == TokenKind::kEnd) {
      return Fail(open_offset_, "unterminated '{{': expected '}}' before the end of the text");
    }
    return Fail(tok_.offset,
                "unexpected " + tok_.Describe() + ": expected " + std::string(expected));
  }

  ExprPtr TooDeep() {
    return Fail(tok_.offset, "expression nests too deeply: more than " +
                                 std::to_string(kMaxTemplateNesting) +
                                 " levels of parentheses, brackets, calls or operators");
  }

  template <typename Node>
  ExprPtr Make(size_t offset, Node node, int child_height) {
    auto e = std::make_unique<Expr>();
    e->offset = offset;
    e->height = child_height + 1;
    e->node = std::move(node);
    if (e->height > kMaxExpressionHeight) {
      return Fail(offset, "expression is too long: more than " +
                              std::to_string(kMaxExpressionHeight) +
                              " operations in a chain; split it into smaller templates");
    }
    return e;
  }

  ExprPtr MakeBinary(size_t offset, BinaryOp op, ExprPtr lhs, ExprPtr rhs) {
    int h = std::max(HeightOf(lhs), HeightOf(rhs));
    return Make(offset, BinaryNode{op, std::move(lhs), std::move(rhs)}, h);
  }

  ExprPtr ParseOr() {
    ExprPtr lhs = ParseAnd();
    while (lhs && tok_.IsKeyword("or")) {
      size_t at = tok_.offset;
      if (!Advance()) return nullptr;
      ExprPtr rhs = ParseAnd();
      if (!rhs) return nullptr;
      lhs = MakeBinary(at, BinaryOp::kOr, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  ExprPtr ParseAnd() {
    ExprPtr lhs = ParseNot();
    while (lhs && tok_.IsKeyword("and")) {
      size_t at = tok_.offset;
      if (!Advance()) return nullptr;
      ExprPtr rhs = ParseNot();
      if (!rhs) return nullptr;
      lhs = MakeBinary(at, BinaryOp::kAnd, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  ExprPtr ParseNot() {
    if (!tok_.IsKeyword("not")) return ParseCompare();
    Nesting nesting(this);
    if (!nesting.ok()) return TooDeep();
    size_t at = tok_.offset;
    if (!Advance()) return nullptr;
    ExprPtr operand = ParseNot();
    if (!operand) return nullptr;
    int h = operand->height;
    return Make(at, UnaryNode{UnaryOp::kNot, std::move(operand)}, h);
  }

  static std::optional<BinaryOp> ComparisonOp(const Token& t) {
    if (t.kind != TokenKind::kPunct) return std::nullopt;
    if (t.text == "==") return BinaryOp::kEq;
    if (t.text == "!=") return BinaryOp::kNe;
    if (t.text == "<") return BinaryOp::kLt;
    if (t.text == "<=") return BinaryOp::kLe;
    if (t.text == ">") return BinaryOp::kGt;
    if (t.text == ">=") return BinaryOp::kGe;
    return std::nullopt;
  }

  ExprPtr ParseCompare() {
    ExprPtr lhs = ParseConcat();
    if (!lhs) return nullptr;
    std::optional<BinaryOp> op = ComparisonOp(tok_);
    if (!op) return lhs;
    size_t at = tok_.offset;
    if (!Advance()) return nullptr;
    ExprPtr rhs = ParseConcat();
    if (!rhs) return nullptr;
    if (ComparisonOp(tok_)) {
      return Fail(tok_.offset, "comparisons cannot be chained: write 'a < b and b < c'");
    }
    return MakeBinary(at, *op, std::move(lhs), std::move(rhs));
  }

  // One left-associative level of binary operators.
  template <typename Next>
  ExprPtr ParseLevel(std::initializer_list<std::pair<std::string_view, BinaryOp>> ops, Next next) {
    ExprPtr lhs = (this->*next)();
    while (lhs) {
      const std::pair<std::string_view, BinaryOp>* match = nullptr;
      for (const auto& op : ops) {
        if (tok_.Is(op.first)) match = &op;
      }
      if (!match) break;
      size_t at = tok_.offset;
      if (!Advance()) return nullptr;
      ExprPtr rhs = (this->*next)();
      if (!rhs) return nullptr;
      lhs = MakeBinary(at, match->second, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  ExprPtr ParseConcat() {
    return ParseLevel({{"~", BinaryOp::kConcat}}, &ExpressionParser::ParseSum);
  }
  ExprPtr ParseSum() {
    return ParseLevel({{"+", BinaryOp::kAdd}, {"-", BinaryOp::kSub}},
                      &ExpressionParser::ParseProduct);
  }
  ExprPtr ParseProduct() {
    return ParseLevel({{"*", BinaryOp::kMul}, {"/", BinaryOp::kDiv}},
                      &ExpressionParser::ParseUnary);
  }

  ExprPtr ParseUnary() {
    if (!tok_.Is("-")) return ParseFiltered();
    Nesting nesting(this);
    if (!nesting.ok()) return TooDeep();
    size_t at = tok_.offset;
    if (!Advance()) return nullptr;
    ExprPtr operand = ParseUnary();
    if (!operand) return nullptr;
    // Fold a negative number literal so that `-1` is a plain constant.
    if (auto* lit = std::get_if<LiteralNode>(&operand->node)) {
      if (lit->value.is_number_float()) {
        lit->value = -lit->value.get<double>();
        operand->offset = at;
        return operand;
      }
      if (lit->value.is_number_integer() && lit->value.get<int64_t>() > INT64_MIN) {
        lit->value = -lit->value.get<int64_t>();
        operand->offset = at;
        return operand;
      }
    }
    int h = operand->height;
    return Make(at, UnaryNode{UnaryOp::kNegate, std::move(operand)}, h);
  }

  // Parses `( args )` after a function or filter name; the current token is '('.
  bool ParseArguments(std::vector<ExprPtr>* args, int* height) {
    Nesting nesting(this);
    if (!nesting.ok()) {
      TooDeep();
      return false;
    }
    if (!Advance()) return false;
    while (!tok_.Is(")")) {
      ExprPtr arg = ParseOr();
      if (!arg) return false;
      *height = std::max(*height, arg->height);
      args->push_back(std::move(arg));
      if (tok_.Is(",")) {
        if (!Advance()) return false;
      } else if (!tok_.Is(")")) {
        Unexpected("',' or ')'");
        return false;
      }
    }
    return Advance();
  }

  // False (with the error set) when `given` arguments do not fit the builtin.
  bool CheckArity(const BuiltinInfo& b, size_t offset, size_t given) {
    if (given >= static_cast<size_t>(b.min_args) && given <= static_cast<size_t>(b.max_args)) {
      return true;
    }
    std::string wanted = b.min_args == b.max_args
                             ? std::to_string(b.min_args)
                             : std::to_string(b.min_args) + " to " + std::to_string(b.max_args);
    std::string kind = b.is_filter ? "filter '" : "function '";
    Fail(offset, kind + std::string(b.name) + "' takes " + wanted + " argument" +
                     (b.max_args == 1 ? "" : "s") + ", got " + std::to_string(given) +
                     "; usage: " + std::string(b.usage));
    return false;
  }

  ExprPtr ParseFiltered() {
    size_t first_ref = refs_->size();
    ExprPtr input = ParsePostfix();
    while (input && tok_.Is("|")) {
      if (!Advance()) return nullptr;
      if (tok_.kind != TokenKind::kIdentifier) return Unexpected("a filter name after '|'");
      Token name = tok_;
      const BuiltinInfo* filter = FindFilter(name.text);
      if (!filter) {
        std::string message = "unknown filter '" + name.text + "'";
        if (const BuiltinInfo* fn = FindFunction(name.text)) {
          message += "; '" + name.text + "' is a function: write " + std::string(fn->usage);
        } else if (std::string near = ClosestMatch(name.text, FilterNames()); !near.empty()) {
          message += "; did you mean '" + near + "'?";
        } else {
          message += "; filters are: " + Join(FilterNames());
        }
        return Fail(name.offset, std::move(message));
      }
      if (filter->call == nullptr) {  // default(): everything parsed so far is guarded
        for (size_t i = first_ref; i < refs_->size(); ++i) (*refs_)[i].has_default = true;
      }
      if (!Advance()) return nullptr;
      int height = input->height;
      std::vector<ExprPtr> args;
      args.push_back(std::move(input));
      if (tok_.Is("(") && !ParseArguments(&args, &height)) return nullptr;
      if (!CheckArity(*filter, name.offset, args.size() - 1)) return nullptr;
      input = Make(name.offset, CallNode{filter, std::move(args)}, height);
    }
    return input;
  }

  // Extends the reference started by a variable while its path stays static.
  ExprPtr ParsePostfix() {
    size_t ref_index = refs_->size();
    ExprPtr e = ParsePrimary();
    if (!e) return nullptr;
    bool tracking = refs_->size() > ref_index && (std::holds_alternative<VariableNode>(e->node) ||
                                                  std::holds_alternative<LookupNode>(e->node));
    while (true) {
      if (tok_.Is(".")) {
        if (!Advance()) return nullptr;
        if (tok_.kind != TokenKind::kIdentifier) {
          if (tok_.kind == TokenKind::kInt || tok_.kind == TokenKind::kFloat) {
            return Fail(tok_.offset, "unexpected " + tok_.Describe() +
                                         " after '.': index a list with brackets, e.g. x[0]");
          }
          return Unexpected("an attribute name after '.'");
        }
        if (tracking) (*refs_)[ref_index].path.push_back(tok_.text);
        int h = e->height;
        size_t at = e->offset;
        e = Make(at, AttributeNode{std::move(e), tok_.text}, h);
        if (!e || !Advance()) return nullptr;
      } else if (tok_.Is("[")) {
        Nesting nesting(this);
        if (!nesting.ok()) return TooDeep();
        if (!Advance()) return nullptr;
        if (tok_.Is("]")) return Unexpected("an index or key inside '[ ]'");
        ExprPtr index = ParseOr();
        if (!index) return nullptr;
        if (!tok_.Is("]")) return Unexpected("']'");
        auto* key = std::get_if<LiteralNode>(&index->node);
        if (tracking && key && key->value.is_string()) {
          (*refs_)[ref_index].path.push_back(key->value.get<std::string>());
        } else {
          tracking = false;
        }
        int h = std::max(e->height, index->height);
        size_t at = e->offset;
        e = Make(at, SubscriptNode{std::move(e), std::move(index)}, h);
        if (!e || !Advance()) return nullptr;
      } else if (tok_.Is("(")) {
        return Fail(tok_.offset, "only built-in functions can be called; this value is not one");
      } else {
        return e;
      }
    }
  }

  ExprPtr Literal(Json value) {
    size_t at = tok_.offset;
    if (!Advance()) return nullptr;
    return Make(at, LiteralNode{std::move(value)}, 0);
  }

  ExprPtr ParsePrimary() {
    switch (tok_.kind) {
      case TokenKind::kInt:
        return Literal(tok_.int_value);
      case TokenKind::kFloat:
        return Literal(tok_.float_value);
      case TokenKind::kString:
        return Literal(tok_.text);
      case TokenKind::kIdentifier:
        return ParseName();
      case TokenKind::kClose:
        return Unexpected("a value");
      case TokenKind::kEnd:
        return Unexpected("a value");
      case TokenKind::kPunct:
        break;
    }
    if (tok_.Is("(")) {
      Nesting nesting(this);
      if (!nesting.ok()) return TooDeep();
      if (!Advance()) return nullptr;
      ExprPtr inner = ParseOr();
      if (!inner) return nullptr;
      if (!tok_.Is(")")) return Unexpected("')'");
      if (!Advance()) return nullptr;
      return inner;
    }
    if (tok_.Is("[")) {
      Nesting nesting(this);
      if (!nesting.ok()) return TooDeep();
      size_t at = tok_.offset;
      if (!Advance()) return nullptr;
      ListNode list;
      int height = 0;
      while (!tok_.Is("]")) {
        ExprPtr item = ParseOr();
        if (!item) return nullptr;
        height = std::max(height, item->height);
        list.items.push_back(std::move(item));
        if (tok_.Is(",")) {
          if (!Advance()) return nullptr;
        } else if (!tok_.Is("]")) {
          return Unexpected("',' or ']'");
        }
      }
      if (!Advance()) return nullptr;
      return Make(at, std::move(list), height);
    }
    return Unexpected("a value");
  }

  ExprPtr ParseName() {
    Token name = tok_;
    if (name.text == "true") return Literal(true);
    if (name.text == "false") return Literal(false);
    if (name.text == "null") return Literal(nullptr);
    if (name.text == "and" || name.text == "or" || name.text == "not") return Unexpected("a value");
    // Decide on the name before reading on, so that an unknown name is reported first.
    if (lexer_.PeekChar() == '(') return ParseCall(name);
    for (const RootName& r : kRoots) {
      if (r.name == name.text) {
        if (!Advance()) return nullptr;
        refs_->push_back({{name.text}, name.offset, false});
        return Make(name.offset, VariableNode{r.root}, 0);
      }
    }
    if (name.text == "env" || name.text == "secrets") {
      if (!Advance()) return nullptr;
      return ParseLookup(name);
    }
    std::string message = "unknown variable '" + name.text + "'";
    if (const BuiltinInfo* fn = FindFunction(name.text)) {
      message += "; '" + name.text + "' is a function: write " + std::string(fn->usage);
    } else if (FindFilter(name.text)) {
      message += "; '" + name.text + "' is a filter: write 'x | " + name.text + "'";
    } else if (std::string near = ClosestMatch(name.text, VariableNames()); !near.empty()) {
      message += "; did you mean '" + near + "'?";
    } else {
      message += "; variables are: " + Join(VariableNames()) +
                 " (write a text literal in quotes: '" + name.text + "')";
    }
    return Fail(name.offset, std::move(message));
  }

  // `env.NAME`, `secrets.NAME`, or the same with ["NAME"]; the current token follows the root.
  ExprPtr ParseLookup(const Token& root) {
    std::string key;
    if (tok_.Is(".")) {
      if (!Advance()) return nullptr;
      if (tok_.kind != TokenKind::kIdentifier)
        return Unexpected("a name after '" + root.text + ".'");
      key = tok_.text;
    } else if (tok_.Is("[")) {
      if (!Advance()) return nullptr;
      if (tok_.kind != TokenKind::kString) {
        return Fail(tok_.offset,
                    root.text + "[...] takes a quoted name, e.g. " + root.text + "[\"NAME\"]");
      }
      key = tok_.text;
      if (!Advance()) return nullptr;
      if (!tok_.Is("]")) return Unexpected("']'");
    } else {
      return Fail(root.offset,
                  "'" + root.text + "' must be followed by a name, e.g. " + root.text + ".NAME");
    }
    if (!Advance()) return nullptr;
    refs_->push_back({{root.text, key}, root.offset, false});
    return Make(root.offset, LookupNode{root.text == "secrets", key}, 0);
  }

  // The current token is the function's name, followed by '('.
  ExprPtr ParseCall(const Token& name) {
    const BuiltinInfo* fn = FindFunction(name.text);
    if (!fn) {
      std::string message = "unknown function '" + name.text + "'";
      if (FindFilter(name.text)) {
        message += "; '" + name.text + "' is a filter: write 'x | " + name.text + "'";
      } else if (std::string near = ClosestMatch(name.text, FunctionNames()); !near.empty()) {
        message += "; did you mean '" + near + "'?";
      } else {
        message += "; functions are: " + Join(FunctionNames());
      }
      return Fail(name.offset, std::move(message));
    }
    if (!Advance()) return nullptr;
    std::vector<ExprPtr> args;
    int height = 0;
    if (!ParseArguments(&args, &height)) return nullptr;
    if (!CheckArity(*fn, name.offset, args.size())) return nullptr;
    return Make(name.offset, CallNode{fn, std::move(args)}, height);
  }

  Lexer lexer_;
  size_t open_offset_;
  std::vector<TemplateReference>* refs_;
  Token tok_;
  int depth_ = 0;
  TemplateError error_;
};

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

}  // namespace

const char* BinaryOpSymbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kEq:
      return "==";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kConcat:
      return "~";
  }
  return "?";
}

std::variant<std::shared_ptr<Program>, TemplateError> ParseProgram(std::string_view text) {
  auto program = std::make_shared<Program>();
  program->source = std::string(text);
  if (!ContainsTemplate(text)) {
    if (!text.empty()) program->segments.push_back({std::string(text), nullptr, 0});
    return program;
  }
  if (text.size() > kMaxTemplateBytes) {
    return TemplateError{kMaxTemplateBytes, "template is too long: " + std::to_string(text.size()) +
                                                " bytes, the limit is " +
                                                std::to_string(kMaxTemplateBytes)};
  }
  program->has_expressions = true;
  size_t pos = 0;
  int expressions = 0;
  bool blank_text = true;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    std::string_view literal = text.substr(pos, open == std::string_view::npos ? open : open - pos);
    if (!literal.empty()) {
      program->segments.push_back({std::string(literal), nullptr, pos});
      blank_text = blank_text && IsBlank(literal);
    }
    if (open == std::string_view::npos) break;
    ExpressionParser parser(text, open, &program->references);
    ExprPtr expr = parser.Parse();
    if (!expr) return parser.error();
    program->segments.push_back({std::string(), std::move(expr), open});
    ++expressions;
    pos = parser.end();
  }
  program->single_expression = expressions == 1 && blank_text;
  return program;
}

}  // namespace reel::template_internal
