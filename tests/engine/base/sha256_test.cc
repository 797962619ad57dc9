#include "engine/base/sha256.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>

#include <doctest/doctest.h>

#include "tests/support/fake_context.h"

using namespace reel;

namespace {

std::string HashInChunks(const std::string& data, size_t chunk) {
  Sha256 h;
  for (size_t i = 0; i < data.size(); i += chunk) h.Update(std::string_view(data).substr(i, chunk));
  return h.HexFinal();
}

}  // namespace

TEST_CASE("SHA-256 matches the FIPS 180-4 test vectors") {
  CHECK(Sha256::HexOf("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256::HexOf("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(HashInChunks("abc", 1) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(HashInChunks("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 64) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(HashInChunks("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                     7) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(HashInChunks(std::string(1000000, 'a'), 4096) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 gives the same digest however the input is split") {
  std::mt19937 rng(42);
  for (size_t len : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u, 1000u, 65537u}) {
    std::string data(len, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    std::string whole = Sha256::HexOf(data);
    CAPTURE(len);
    for (size_t chunk : {1u, 3u, 63u, 64u, 100u, 4096u}) CHECK(HashInChunks(data, chunk) == whole);
    // Uneven pieces: every split point of the first bytes, the rest in one piece.
    for (size_t cut = 0; cut <= std::min<size_t>(len, 130); ++cut) {
      Sha256 h;
      h.Update(data.data(), cut);
      h.Update(data.data() + cut, len - cut);
      CHECK(h.HexFinal() == whole);
    }
  }
}

TEST_CASE(
    "SHA-256: Final resets the object, Reset discards input, a moved object keeps its state") {
  Sha256 h;
  h.Update("abc");
  CHECK(h.HexFinal() == Sha256::HexOf("abc"));
  h.Update("");
  CHECK(h.HexFinal() == Sha256::HexOf(""));

  h.Update("discarded");
  h.Reset();
  h.Update("abc");
  CHECK(h.HexFinal() == Sha256::HexOf("abc"));

  h.Update("ab");
  Sha256 moved(std::move(h));
  moved.Update("c");
  CHECK(moved.HexFinal() == Sha256::HexOf("abc"));
  h = std::move(moved);
  h.Update("abc");
  CHECK(Sha256::Hex(h.Final()) == Sha256::HexOf("abc"));
}

TEST_CASE("SHA-256 of a file equals that of its bytes") {
  reel::testing::TempDir dir;
  std::string data(300000, 'x');
  reel::testing::WriteFile(dir / "f.bin", data);
  Result<std::string> hex = Sha256::HexOfFile(dir / "f.bin");
  REQUIRE(hex.ok());
  CHECK(*hex == Sha256::HexOf(data));
  reel::testing::WriteFile(dir / "empty", "");
  CHECK(*Sha256::HexOfFile(dir / "empty") == Sha256::HexOf(""));
  CHECK(Sha256::HexOfFile(dir / "missing").status().code() == Status::Code::kNotFound);
}
