// A cursor over a short piece of text, for the small hand-written parsers of time formats
// (ISO-8601 instants, POSIX TZ rules). Every Take* leaves the cursor where it was on mismatch.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace reel {

class TextCursor {
 public:
  explicit TextCursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool Take(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  // Exactly `width` digits.
  std::optional<int> Digits(int width) {
    if (s_.size() - i_ < static_cast<size_t>(width)) return std::nullopt;
    int value = 0;
    for (int k = 0; k < width; ++k) {
      const char c = s_[i_ + k];
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    i_ += width;
    return value;
  }
  // One to `max_digits` digits.
  std::optional<int> Number(int max_digits) {
    int value = 0;
    int digits = 0;
    while (digits < max_digits && peek() >= '0' && peek() <= '9') {
      value = value * 10 + (s_[i_++] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    return value;
  }
  void SkipDigits() {
    while (peek() >= '0' && peek() <= '9') ++i_;
  }

 protected:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace reel
