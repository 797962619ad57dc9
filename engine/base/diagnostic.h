// Diagnostics point into a user's file: FILE:LINE:COL: error: MESSAGE, then an optional hint.
#pragma once

#include <string>
#include <vector>

namespace reel {

struct SourceMark {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

struct Diagnostic {
  enum class Severity { kError, kWarning };
  std::string file;
  SourceMark mark;
  Severity severity = Severity::kError;
  std::string message;
  std::string hint;  // "did you mean 'needs'?"; empty when none helps

  // "file:3:5: error: message\n  hint: ..." (no trailing newline).
  std::string Format() const;
};

class Diagnostics {
 public:
  void Error(const std::string& file, SourceMark mark, std::string message, std::string hint = {});
  void Warning(const std::string& file, SourceMark mark, std::string message,
               std::string hint = {});
  bool has_errors() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  // Every diagnostic, ordered by file, line, column, one per line.
  std::string Format() const;
  void Append(const Diagnostics& other);
  void Sort();

 private:
  std::vector<Diagnostic> items_;
};

// Levenshtein distance, for "did you mean" hints.
size_t EditDistance(const std::string& a, const std::string& b);
// The candidate closest to `word`, or "" when none is close enough to be a plausible typo.
std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace reel
