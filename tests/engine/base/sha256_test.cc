#include "engine/base/sha256.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "tests/support/fake_context.h"

using namespace reel;

namespace {

std::string HashWith(Sha256::Impl impl, const std::string& data, size_t chunk) {
  Sha256 h(impl);
  for (size_t i = 0; i < data.size(); i += chunk) h.Update(std::string_view(data).substr(i, chunk));
  return h.HexFinal();
}

}  // namespace

TEST_CASE("SHA-256 matches the FIPS 180-4 test vectors") {
  for (Sha256::Impl impl : {Sha256::Impl::kAuto, Sha256::Impl::kPortable}) {
    CAPTURE(static_cast<int>(impl));
    CHECK(HashWith(impl, "", 1) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(HashWith(impl, "abc", 1) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(HashWith(impl, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 64) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(HashWith(impl,
                   "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                   "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                   7) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    CHECK(HashWith(impl, std::string(1000000, 'a'), 4096) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
}

TEST_CASE("SHA-256 gives the same digest however the input is split") {
  std::mt19937 rng(42);
  for (size_t len : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u, 1000u, 65537u}) {
    std::string data(len, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    std::string whole = Sha256::HexOf(data);
    CAPTURE(len);
    for (size_t chunk : {1u, 3u, 63u, 64u, 100u, 4096u}) {
      CHECK(HashWith(Sha256::Impl::kAuto, data, chunk) == whole);
      CHECK(HashWith(Sha256::Impl::kPortable, data, chunk) == whole);
    }
  }
}

TEST_CASE("SHA-256 of a file equals that of its bytes, and an object can be reused") {
  reel::testing::TempDir dir;
  std::string data(300000, 'x');
  reel::testing::WriteFile(dir / "f.bin", data);
  Result<std::string> hex = Sha256::HexOfFile(dir / "f.bin");
  REQUIRE(hex.ok());
  CHECK(*hex == Sha256::HexOf(data));
  CHECK(Sha256::HexOfFile(dir / "missing").status().code() == Status::Code::kNotFound);

  Sha256 h;
  h.Update("abc");
  CHECK(h.HexFinal() == Sha256::HexOf("abc"));
  h.Update("");
  CHECK(h.HexFinal() == Sha256::HexOf(""));
}
