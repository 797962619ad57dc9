#include "engine/base/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace reel {
namespace {

[[noreturn]] void ThrowOpenSslError(const char* what) {
  unsigned long code = ERR_get_error();
  char reason[256] = "no error recorded";
  if (code != 0) ERR_error_string_n(code, reason, sizeof(reason));
  ERR_clear_error();
  throw std::runtime_error(fmt::format("SHA-256: OpenSSL's {} failed: {}", what, reason));
}

// Fetched once: with the EVP_sha256() constant, OpenSSL 3 would look the implementation up
// in its provider store at every EVP_DigestInit_ex, which costs more than hashing a short
// string. The fetched digest lives as long as the process.
const EVP_MD* Sha256Digest() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) ThrowOpenSslError("EVP_MD_fetch");
    return fetched;
  }();
  return md;
}

}  // namespace

void Sha256::ContextDeleter::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) ThrowOpenSslError("EVP_MD_CTX_new");
  Reset();
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Reset() {
  if (EVP_DigestInit_ex(ctx_.get(), Sha256Digest(), nullptr) != 1) {
    ThrowOpenSslError("EVP_DigestInit_ex");
  }
}

void Sha256::Update(const void* data, size_t size) {
  if (size == 0) return;
  if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) ThrowOpenSslError("EVP_DigestUpdate");
}

Sha256::Digest Sha256::Final() {
  Digest out;
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &length) != 1 || length != out.size()) {
    ThrowOpenSslError("EVP_DigestFinal_ex");
  }
  Reset();
  return out;
}

std::string Sha256::HexFinal() { return Hex(Final()); }

std::string Sha256::Hex(const Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0xf];
  }
  return out;
}

std::string Sha256::HexOf(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.HexFinal();
}

Result<std::string> Sha256::HexOfFile(const std::filesystem::path& path) {
  Sha256 h;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(fmt::format("no file '{}'", path.string()));
    return Status::IoError(fmt::format("cannot open '{}': {}", path.string(), std::strerror(err)));
  }
  static constexpr size_t kChunk = 1 << 16;
  auto buf = std::make_unique<uint8_t[]>(kChunk);
  for (;;) {
    ssize_t n = ::read(fd, buf.get(), kChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::IoError(
          fmt::format("cannot read '{}': {}", path.string(), std::strerror(err)));
    }
    if (n == 0) break;
    h.Update(buf.get(), static_cast<size_t>(n));
  }
  ::close(fd);
  return h.HexFinal();
}

}  // namespace reel
