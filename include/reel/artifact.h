// A reference to a file in the content-addressed artifact store: part of the operator SDK
// (include/reel/operator.h), also what the engine's artifact store returns.
#pragma once

#include <cstdint>
#include <string>

namespace reel {

// A file stored in the content-addressed artifact store.
struct ArtifactRef {
  std::string name;  // a relative name chosen by the operator: "model", "train.csv"
  std::string uri;   // "sha256:<hex>", what outputs and templates pass around
  std::uint64_t size = 0;
};

}  // namespace reel
