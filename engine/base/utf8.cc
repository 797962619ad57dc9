#include "engine/base/utf8.h"

#include <utility>
#include <vector>

namespace reel {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed sequence at text[i] (1 to 4), or 0 when text[i] starts an
// ill-formed one; then `*bad` is the length of its maximal ill-formed subsequence (>= 1).
std::size_t SequenceAt(std::string_view text, std::size_t i, std::size_t* bad) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte (Unicode table 3-7)
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c == 0xE0) {
    need = 2, lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    need = 2;
  } else if (c == 0xED) {
    need = 2, hi = 0x9F;
  } else if (c == 0xF0) {
    need = 3, lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    need = 3;
  } else if (c == 0xF4) {
    need = 3, hi = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  std::size_t j = i + 1;
  for (std::size_t k = 0; k < need; ++k, ++j) {
    if (j >= text.size()) break;
    const auto d = static_cast<unsigned char>(text[j]);
    if (d < lo || d > hi) break;
    lo = 0x80, hi = 0xBF;
  }
  if (j - i == need + 1) return need + 1;
  *bad = j - i;
  return 0;
}

}  // namespace

std::size_t FindInvalidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    // Plain ASCII, eight bytes at a time, is most text.
    while (i + 8 <= text.size()) {
      unsigned char any = 0;
      for (std::size_t k = 0; k < 8; ++k) any |= static_cast<unsigned char>(text[i + k]);
      if (any & 0x80) break;
      i += 8;
    }
    if (i >= text.size()) break;
    std::size_t bad = 0;
    std::size_t n = SequenceAt(text, i, &bad);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string SanitizeUtf8(std::string_view text) {
  std::size_t first = FindInvalidUtf8(text);
  if (first == std::string_view::npos) return std::string(text);
  std::string out(text.substr(0, first));
  out.reserve(text.size() + 8);
  std::size_t i = first;
  while (i < text.size()) {
    std::size_t bad = 0;
    std::size_t n = SequenceAt(text, i, &bad);
    if (n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out.append(kReplacement);
      i += bad;
    }
  }
  return out;
}

bool SanitizeUtf8(Json& value) {
  bool changed = false;
  std::vector<Json*> pending{&value};
  while (!pending.empty()) {
    Json* v = pending.back();
    pending.pop_back();
    if (v->is_string()) {
      auto& s = v->get_ref<std::string&>();
      if (!IsValidUtf8(s)) {
        s = SanitizeUtf8(s);
        changed = true;
      }
    } else if (v->is_array()) {
      for (auto& item : *v) pending.push_back(&item);
    } else if (v->is_object()) {
      bool bad_key = false;
      for (auto it = v->begin(); it != v->end(); ++it) bad_key |= !IsValidUtf8(it.key());
      if (bad_key) {  // keys cannot change in place: rebuild the object
        Json repaired = Json::object();
        for (auto it = v->begin(); it != v->end(); ++it) {
          repaired[SanitizeUtf8(it.key())] = std::move(it.value());
        }
        *v = std::move(repaired);
        changed = true;
      }
      for (auto it = v->begin(); it != v->end(); ++it) pending.push_back(&it.value());
    }
  }
  return changed;
}

std::string_view Utf8Prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  // Back up over continuation bytes to the start of the character the cut falls in.
  std::size_t back = 0;
  while (cut > 0 && back < 4 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
    ++back;
  }
  return text.substr(0, cut);
}

}  // namespace reel
