#include "engine/template/internal/lexer.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace reel::template_internal {
namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::string Token::Describe() const {
  switch (kind) {
    case TokenKind::kInt:
    case TokenKind::kFloat:
      return "number " + text;
    case TokenKind::kString: {
      std::string shown = text.size() > 20 ? text.substr(0, 20) + "..." : text;
      return "string '" + shown + "'";
    }
    case TokenKind::kIdentifier:
    case TokenKind::kPunct:
      return "'" + text + "'";
    case TokenKind::kClose:
      return "'}}'";
    case TokenKind::kEnd:
      break;
  }
  return "end of template";
}

std::optional<Token> Lexer::Fail(size_t offset, std::string message) {
  error_ = {offset, std::move(message)};
  pos_ = source_.size();
  return std::nullopt;
}

char Lexer::PeekChar() const {
  size_t i = pos_;
  while (i < source_.size() && std::isspace(static_cast<unsigned char>(source_[i]))) ++i;
  return i < source_.size() ? source_[i] : '\0';
}

std::optional<Token> Lexer::Next() {
  if (!error_.message.empty()) return std::nullopt;
  while (pos_ < source_.size() && std::isspace(static_cast<unsigned char>(source_[pos_]))) ++pos_;
  Token token;
  token.offset = pos_;
  if (pos_ >= source_.size()) return token;  // kEnd
  char c = source_[pos_];
  char next = pos_ + 1 < source_.size() ? source_[pos_ + 1] : '\0';
  if (c == '}' && next == '}') {
    pos_ += 2;
    token.kind = TokenKind::kClose;
    return token;
  }
  if (IsDigit(c)) return LexNumber();
  if (c == '\'' || c == '"') return LexString();
  if (IsIdentStart(c)) {
    size_t end = pos_;
    while (end < source_.size() && IsIdentChar(source_[end])) ++end;
    token.kind = TokenKind::kIdentifier;
    token.text = std::string(source_.substr(pos_, end - pos_));
    pos_ = end;
    return token;
  }
  token.kind = TokenKind::kPunct;
  if ((c == '=' || c == '!' || c == '<' || c == '>') && next == '=') {
    token.text = std::string{c, '='};
    pos_ += 2;
    return token;
  }
  switch (c) {
    case '(':
    case ')':
    case '[':
    case ']':
    case ',':
    case '.':
    case '|':
    case '~':
    case '+':
    case '-':
    case '*':
    case '/':
    case '<':
    case '>':
      token.text = std::string(1, c);
      ++pos_;
      return token;
    case '=':
      return Fail(pos_, "unexpected '='; to compare, write '=='");
    case '!':
      return Fail(pos_, "unexpected '!'; write 'not' to negate, '!=' to compare");
    case '&':
      return Fail(pos_, "unexpected '&'; write 'and'");
    case '}':
      return Fail(pos_, "unexpected '}'; an expression ends with '}}'");
    case '{':
      return Fail(pos_, "unexpected '{'; '{{' cannot nest (write {{ '{{' }} for a literal '{{')");
    default:
      break;
  }
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
    return Fail(pos_, "unexpected character (byte 0x" +
                          std::string(1, "0123456789abcdef"[(c >> 4) & 0xF]) +
                          std::string(1, "0123456789abcdef"[c & 0xF]) + ")");
  }
  return Fail(pos_, std::string("unexpected character '") + c + "'");
}

std::optional<Token> Lexer::LexNumber() {
  Token token;
  token.offset = pos_;
  size_t end = pos_;
  while (end < source_.size() && IsDigit(source_[end])) ++end;
  bool is_float = false;
  if (end + 1 < source_.size() && source_[end] == '.' && IsDigit(source_[end + 1])) {
    is_float = true;
    ++end;
    while (end < source_.size() && IsDigit(source_[end])) ++end;
  }
  if (end < source_.size() && (source_[end] == 'e' || source_[end] == 'E')) {
    size_t exp = end + 1;
    if (exp < source_.size() && (source_[exp] == '+' || source_[exp] == '-')) ++exp;
    if (exp >= source_.size() || !IsDigit(source_[exp])) {
      return Fail(end, "malformed number: expected digits after the exponent 'e'");
    }
    while (exp < source_.size() && IsDigit(source_[exp])) ++exp;
    end = exp;
    is_float = true;
  }
  if (end < source_.size() && IsIdentChar(source_[end])) {
    return Fail(pos_,
                "malformed number '" + std::string(source_.substr(pos_, end + 1 - pos_)) + "'");
  }
  token.text = std::string(source_.substr(pos_, end - pos_));
  const char* first = source_.data() + pos_;
  const char* last = source_.data() + end;
  if (is_float) {
    token.kind = TokenKind::kFloat;
    auto [ptr, ec] = std::from_chars(first, last, token.float_value);
    if (ec != std::errc() || ptr != last || !std::isfinite(token.float_value)) {
      return Fail(pos_, "number '" + token.text + "' is out of range");
    }
  } else {
    token.kind = TokenKind::kInt;
    auto [ptr, ec] = std::from_chars(first, last, token.int_value);
    if (ec != std::errc() || ptr != last) {
      return Fail(pos_, "integer '" + token.text + "' is too large (the limit is 2^63-1)");
    }
  }
  pos_ = end;
  return token;
}

std::optional<Token> Lexer::LexString() {
  Token token;
  token.kind = TokenKind::kString;
  token.offset = pos_;
  char quote = source_[pos_];
  size_t i = pos_ + 1;
  while (true) {
    if (i >= source_.size()) {
      return Fail(token.offset, std::string("unterminated string: expected a closing ") + quote);
    }
    char c = source_[i];
    if (c == quote) break;
    if (c != '\\') {
      token.text.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= source_.size()) {
      return Fail(token.offset, std::string("unterminated string: expected a closing ") + quote);
    }
    char e = source_[i + 1];
    switch (e) {
      case '\\':
        token.text.push_back('\\');
        break;
      case '\'':
        token.text.push_back('\'');
        break;
      case '"':
        token.text.push_back('"');
        break;
      case 'n':
        token.text.push_back('\n');
        break;
      case 't':
        token.text.push_back('\t');
        break;
      case 'r':
        token.text.push_back('\r');
        break;
      case '0':
        token.text.push_back('\0');
        break;
      case 'u': {
        uint32_t cp = 0;
        std::string_view hex = source_.substr(i + 2, 4);
        auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), cp, 16);
        if (hex.size() != 4 || ec != std::errc() || ptr != hex.data() + 4 ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
          return Fail(i,
                      "malformed escape: '\\u' takes four hex digits of a non-surrogate "
                      "code point, e.g. '\\u00e9'");
        }
        AppendUtf8(cp, &token.text);
        i += 4;
        break;
      }
      default:
        return Fail(i, std::string("unknown escape '\\") + e +
                           "'; known: \\\\ \\' \\\" \\n \\t \\r \\0 \\uXXXX");
    }
    i += 2;
  }
  pos_ = i + 1;
  return token;
}

}  // namespace reel::template_internal
