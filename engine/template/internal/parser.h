// Turns template source into a Program: text segments and expression trees, checked against
// the known variables, functions and filters. Internal to the templating engine.
//
// Grammar (loosest binding first; filters bind tightest, as in Jinja):
//   expr    := or
//   or      := and ('or' and)*
//   and     := not ('and' not)*
//   not     := 'not' not | compare
//   compare := concat [('=='|'!='|'<'|'<='|'>'|'>=') concat]     (no chaining)
//   concat  := sum ('~' sum)*
//   sum     := product (('+'|'-') product)*
//   product := unary (('*'|'/') unary)*
//   unary   := '-' unary | filtered
//   filtered:= postfix ('|' NAME ['(' args ')'])*
//   postfix := primary ('.' NAME | '[' expr ']')*
//   primary := INT | FLOAT | STRING | true | false | null | '[' [args] ']' | '(' expr ')'
//            | FUNCTION '(' args ')' | params | ds | logical_date | run_id | item | steps
//            | env '.' NAME | secrets '.' NAME
#pragma once

#include <memory>
#include <string_view>
#include <variant>

#include "engine/template/internal/ast.h"

namespace reel::template_internal {

// Operator chains nest at most this deep (e.g. 256 filters in a row), so that evaluating and
// destroying a tree never recurses further than this.
inline constexpr int kMaxExpressionHeight = 256;

std::variant<std::shared_ptr<Program>, TemplateError> ParseProgram(std::string_view text);

}  // namespace reel::template_internal
