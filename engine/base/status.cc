#include "reel/status.h"

namespace reel {

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kNotFound:
      return "not found";
    case Code::kAlreadyExists:
      return "already exists";
    case Code::kConflict:
      return "conflict";
    case Code::kIoError:
      return "I/O error";
    case Code::kFailed:
      return "failed";
    case Code::kCancelled:
      return "cancelled";
    case Code::kTimeout:
      return "timed out";
    case Code::kInternal:
      return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_;
}

}  // namespace reel
