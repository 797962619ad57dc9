// SHA-256 (FIPS 180-4), streaming, computed by OpenSSL's EVP digest API (which picks the CPU's
// SHA or vector instructions itself).
//
//   Sha256 h;
//   h.Update(chunk1);
//   h.Update(chunk2);
//   std::string hex = h.HexFinal();
//
// Not thread-safe; one object per stream. Movable, not copyable; a moved-from object may only
// be destroyed or assigned to. After Final/HexFinal the object is reset and may hash a new
// stream. If OpenSSL cannot set up or run SHA-256 (out of memory, a broken OpenSSL
// configuration), the call throws std::runtime_error: no caller can go on without the digest.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "reel/status.h"

// OpenSSL's EVP_MD_CTX, declared here so that this header does not pull in OpenSSL's.
struct evp_md_ctx_st;

namespace reel {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  // Discards what was hashed so far.
  void Reset();
  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  Digest Final();
  std::string HexFinal();  // 64 lowercase hex digits

  static std::string Hex(const Digest& digest);
  // One-shot helpers.
  static std::string HexOf(std::string_view data);
  // Hashes a file in constant memory.
  static Result<std::string> HexOfFile(const std::filesystem::path& path);

 private:
  struct ContextDeleter {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, ContextDeleter> ctx_;
};

}  // namespace reel
