// Splits the inside of one `{{ ... }}` into tokens. Internal to the templating engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/template/template.h"

namespace reel::template_internal {

enum class TokenKind {
  kInt,
  kFloat,
  kString,
  kIdentifier,
  kPunct,  // ( ) [ ] , . | ~ + - * / == != < <= > >=
  kClose,  // }}
  kEnd,    // the end of the source without a closing }}
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t offset = 0;
  std::string text;  // identifier name, punctuation, decoded string literal, or number spelling
  int64_t int_value = 0;
  double float_value = 0;

  bool Is(std::string_view punct) const { return kind == TokenKind::kPunct && text == punct; }
  bool IsKeyword(std::string_view word) const {
    return kind == TokenKind::kIdentifier && text == word;
  }
  // For messages: "')'", "'epochs'", "string 'abc'", "number 12", "'}}'", "end of template".
  std::string Describe() const;
};

// Reads tokens from `source` starting at `offset`. After an error Next() keeps returning
// nullopt and error() says what and where.
class Lexer {
 public:
  Lexer(std::string_view source, size_t offset) : source_(source), pos_(offset) {}

  std::optional<Token> Next();
  size_t position() const { return pos_; }  // just past the last token read
  // The next non-space character, without consuming anything; '\0' at the end.
  char PeekChar() const;
  const TemplateError& error() const { return error_; }

 private:
  std::optional<Token> Fail(size_t offset, std::string message);
  std::optional<Token> LexNumber();
  std::optional<Token> LexString();

  std::string_view source_;
  size_t pos_;
  TemplateError error_;
};

}  // namespace reel::template_internal
