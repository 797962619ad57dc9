#include "reel/status.h"

#include <memory>
#include <string>

#include <doctest/doctest.h>

namespace reel {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::InvalidArgument(std::to_string(n) + " is odd");
  return n / 2;
}

Result<int> Quarter(int n) {
  REEL_ASSIGN_OR_RETURN(int half, Half(n));
  REEL_ASSIGN_OR_RETURN(auto quarter, Half(half));
  return quarter;
}

Status StoreQuarter(int n, int* out) {
  REEL_ASSIGN_OR_RETURN(*out, Quarter(n));
  return Status::Ok();
}

Result<std::unique_ptr<std::string>> Boxed(bool ok) {
  if (!ok) return Status::NotFound("nothing in the box");
  return std::make_unique<std::string>("box");
}

Result<size_t> BoxedSize(bool ok) {
  REEL_ASSIGN_OR_RETURN(auto box, Boxed(ok));  // a move-only value moves out
  return box->size();
}

}  // namespace

TEST_CASE("REEL_ASSIGN_OR_RETURN passes values on and returns the first failure") {
  CHECK(*Quarter(12) == 3);
  Result<int> odd = Quarter(6);
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.status().code() == Status::Code::kInvalidArgument);
  CHECK(odd.status().message() == "3 is odd");

  int out = -1;
  CHECK(StoreQuarter(8, &out).ok());
  CHECK(out == 2);
  CHECK_FALSE(StoreQuarter(2, &out).ok());
  CHECK(out == 2);  // untouched on failure

  CHECK(*BoxedSize(true) == 3);
  CHECK(BoxedSize(false).status().code() == Status::Code::kNotFound);
}

TEST_CASE("Status::WithContext prefixes failures and leaves success alone") {
  CHECK(Status::Ok().WithContext("opening x: ").ok());
  Status s = Status::IoError("disk full").WithContext("opening x: ");
  CHECK(s.code() == Status::Code::kIoError);
  CHECK(s.message() == "opening x: disk full");
}

}  // namespace reel
