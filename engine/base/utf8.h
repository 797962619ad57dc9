// UTF-8 checking and repair for text that crosses into reel.db, JSON or the fact store.
//
// Text from outside (a child's output, an operator's error, a CSV field, a command-line
// param) may hold any bytes; JSON and the columns of reel.db hold valid UTF-8 only. At those
// boundaries text is repaired with SanitizeUtf8: every maximal ill-formed subsequence is
// replaced by U+FFFD, as the Unicode standard recommends (and as browsers and Python's
// errors="replace" do), so valid text passes unchanged and nothing is dropped silently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "reel/operator.h"

namespace reel {

// The offset of the first byte that does not start a well-formed UTF-8 sequence (an
// overlong form, a surrogate, a code point above U+10FFFF, a stray continuation byte, a
// truncated sequence), or std::string_view::npos when `text` is valid UTF-8.
std::size_t FindInvalidUtf8(std::string_view text);
inline bool IsValidUtf8(std::string_view text) {
  return FindInvalidUtf8(text) == std::string_view::npos;
}

// `text` with each maximal ill-formed subsequence replaced by U+FFFD (EF BF BD).
std::string SanitizeUtf8(std::string_view text);

// Repairs every string and every object key in `value` in place (iteratively: a deeply nested
// value does not exhaust the stack). Returns true when something was replaced.
bool SanitizeUtf8(Json& value);

// The longest prefix of `text` of at most `max_bytes` bytes that does not end inside a UTF-8
// sequence, for cutting text to a length without damaging its last character.
std::string_view Utf8Prefix(std::string_view text, std::size_t max_bytes);

}  // namespace reel
