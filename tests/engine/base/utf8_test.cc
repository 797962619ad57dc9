#include "engine/base/utf8.h"

#include <string>

#include <doctest/doctest.h>

namespace reel {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST_CASE("valid UTF-8 passes unchanged") {
  for (std::string text : {std::string(""), std::string("plain ascii, long enough for a word"),
                           std::string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
                           std::string("nul \0 inside", 12), std::string("\xF4\x8F\xBF\xBF")}) {
    CHECK(IsValidUtf8(text));
    CHECK(SanitizeUtf8(text) == text);
  }
}

TEST_CASE("each maximal ill-formed subsequence becomes one U+FFFD") {
  CHECK(FindInvalidUtf8("bad \xFF\xFE bytes") == 4);
  CHECK(SanitizeUtf8("bad \xFF\xFE bytes") == "bad " + kFffd + kFffd + " bytes");
  // A truncated sequence is one replacement, and the byte after it is kept.
  CHECK(SanitizeUtf8("\xE2\x82x") == kFffd + "x");
  CHECK(SanitizeUtf8("end \xF0\x9F\x98") == "end " + kFffd);
  // Overlong forms, surrogates and code points above U+10FFFF are ill-formed.
  CHECK(SanitizeUtf8("\xC0\xAF") == kFffd + kFffd);
  CHECK(SanitizeUtf8("\xE0\x80\xAF") == kFffd + kFffd + kFffd);
  CHECK(SanitizeUtf8("\xED\xA0\x80") == kFffd + kFffd + kFffd);
  CHECK(SanitizeUtf8("\xF4\x90\x80\x80") == kFffd + kFffd + kFffd + kFffd);
  // A stray continuation byte after eight ASCII bytes (the fast path) is found too.
  CHECK(FindInvalidUtf8("abcdefgh\x80") == 8);
  CHECK(IsValidUtf8(SanitizeUtf8(std::string("\x80\xBF\xC2\xE1\x80\xF1\x80\x80\xFF"))));
}

TEST_CASE("a JSON value is repaired in its strings and keys, however deep") {
  Json v = {{"ok", "fine"}, {"bad\xFF", {1, "x\xFE"}}};
  CHECK(SanitizeUtf8(v));
  CHECK(v["ok"] == "fine");
  REQUIRE(v.contains("bad" + kFffd));
  CHECK(v["bad" + kFffd][1] == "x" + kFffd);
  CHECK_NOTHROW((void)v.dump());
  CHECK_FALSE(SanitizeUtf8(v));

  Json deep = "leaf\xFF";
  for (int i = 0; i < 100000; ++i) deep = Json::array({std::move(deep)});
  CHECK(SanitizeUtf8(deep));
  const Json* at = &deep;
  while (at->is_array()) at = &(*at)[0];
  CHECK(*at == "leaf" + kFffd);
  // Leave it flat enough for the destructor.
  deep = nullptr;
}

TEST_CASE("a UTF-8 prefix never ends inside a character") {
  std::string text = "ab\xE2\x82\xAC";  // "ab€"
  CHECK(Utf8Prefix(text, 10) == text);
  CHECK(Utf8Prefix(text, 5) == text);
  CHECK(Utf8Prefix(text, 4) == "ab");
  CHECK(Utf8Prefix(text, 3) == "ab");
  CHECK(Utf8Prefix(text, 2) == "ab");
}

}  // namespace
}  // namespace reel
