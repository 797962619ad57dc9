// SHA-256 (FIPS 180-4), streaming. Uses the x86 SHA extensions when the CPU has them, a
// portable implementation otherwise; both give the same digests.
//
//   Sha256 h;
//   h.Update(chunk1);
//   h.Update(chunk2);
//   std::string hex = h.HexFinal();
//
// Not thread-safe; one object per stream. After Final/HexFinal the object is reset and may
// hash a new stream.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "reel/status.h"

namespace reel {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  // kPortable forces the portable code (tests compare it with the accelerated one).
  enum class Impl { kAuto, kPortable };
  explicit Sha256(Impl impl = Impl::kAuto);
  // Whether kAuto uses the CPU's SHA instructions on this machine.
  static bool Accelerated();
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
  void Compress(const uint8_t* blocks, size_t count);
  void (*compress_)(uint32_t* state, const uint8_t* blocks, size_t count);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

}  // namespace reel
