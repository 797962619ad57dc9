// A YAML document as a tree of nodes that remember where they came from (line, column), built
// with yaml-cpp's event parser so that hostile input is rejected early:
//   - a file over `max_bytes` is refused before parsing;
//   - nesting deeper than `max_depth` stops the parse at the first node too deep;
//   - aliases are shared, not copied, and every alias adds the size of what it names to an
//     expansion budget (`max_nodes`), so a "billion laughs" file fails fast;
//   - duplicate keys in one mapping, which yaml-cpp accepts silently, are reported.
// Merge keys (`<<: *base`) are supported. Only the first document of a stream is read.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/diagnostic.h"
#include "reel/status.h"

namespace reel {

struct YamlLimits {
  size_t max_bytes = 1 << 20;  // 1 MiB
  int max_depth = 64;
  size_t max_nodes = 100000;  // nodes after alias expansion
};

class YamlNode;
using YamlNodePtr = std::shared_ptr<const YamlNode>;

class YamlNode {
 public:
  enum class Kind { kNull, kScalar, kSequence, kMap };

  Kind kind = Kind::kNull;
  SourceMark mark;
  std::string scalar;              // kScalar only
  bool quoted = false;             // a quoted scalar is always a string: "5" is not an int
  std::vector<YamlNodePtr> items;  // kSequence
  std::vector<std::pair<YamlNodePtr, YamlNodePtr>> entries;  // kMap, in file order
  size_t weight = 1;  // nodes in this subtree, aliases expanded

  bool IsNull() const { return kind == Kind::kNull; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  bool IsSequence() const { return kind == Kind::kSequence; }
  bool IsMap() const { return kind == Kind::kMap; }
  // The value under a scalar key of a mapping, or nullptr.
  const YamlNode* Get(std::string_view key) const;
  // "mapping", "sequence", "string", "null": for "expected X, got Y" messages.
  const char* KindName() const;
};

// Parses `text`; syntax errors, limit violations and duplicate keys land in `diags` (with
// file:line:col). Returns the root even when there were duplicate keys (the first wins), and
// nullptr when the document could not be read at all.
YamlNodePtr ParseYaml(const std::string& file, std::string_view text, const YamlLimits& limits,
                      Diagnostics& diags);

// Reads a whole file of at most `limits.max_bytes` (checked before reading). I/O errors and
// oversize files become diagnostics.
Result<std::string> ReadSourceFile(const std::string& path, const YamlLimits& limits,
                                   Diagnostics& diags);

}  // namespace reel
