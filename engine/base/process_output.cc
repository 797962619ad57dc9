// A child's output: read from its pipe without blocking, drained to the end once it exited,
// and the tail of a log file for failure messages.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "engine/base/internal/process.h"
#include "engine/base/process.h"

namespace reel {

namespace fs = std::filesystem;
using namespace process_internal;
using std::chrono::milliseconds;

Process::Output Process::ReadOutput() {
  if (out_fd_ < 0) return Output::kEnd;
  char buf[kOutputChunk];
  for (int reads = 0; reads < kMaxReadsPerDrain; ++reads) {
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      on_output_(std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return Output::kDrained;
    return Output::kEnd;  // every writer is gone (or the pipe failed)
  }
  return Output::kMore;
}

void Process::CloseOutput() {
  if (out_fd_ >= 0) ::close(std::exchange(out_fd_, -1));
}

void Process::DrainOutput() {
  if (ReadOutput() == Output::kEnd) CloseOutput();
}

void Process::FinishOutput() {
  // The group has been SIGKILLed, so the pipe's writers are gone or going; only a process that
  // left the group (setsid) can hold it open, and it is not waited for long.
  auto deadline = std::chrono::steady_clock::now() + kOutputDrainLimit;
  while (out_fd_ >= 0) {
    DrainOutput();
    if (out_fd_ < 0) break;
    struct pollfd pfd {
      out_fd_, POLLIN, 0
    };
    auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    int rc = ::poll(&pfd, 1, static_cast<int>(std::min(left, kOutputQuietLimit).count()));
    if (rc == 0) break;  // quiet: a writer that escaped the group keeps it open
    if (rc < 0 && errno != EINTR) break;
  }
  if (out_fd_ >= 0) ::close(std::exchange(out_fd_, -1));
}

std::string ReadLogTail(const fs::path& path, std::uintmax_t from_offset, int max_lines,
                        std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  std::uintmax_t size = static_cast<std::uintmax_t>(in.tellg());
  if (from_offset >= size) return "";
  std::uintmax_t start =
      std::max<std::uintmax_t>(from_offset, size > max_bytes ? size - max_bytes : 0);
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (start > from_offset) {  // began mid-file: drop the partial first line
    auto nl = text.find('\n');
    text = nl == std::string::npos ? std::string() : text.substr(nl + 1);
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::size_t pos = text.size();
  for (int lines = 0; lines < max_lines; ++lines) {
    if (pos == 0 || pos == std::string::npos) return text;
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

}  // namespace reel
