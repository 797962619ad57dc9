#include "engine/base/diagnostic.h"

#include <algorithm>
#include <sstream>

namespace reel {

std::string Diagnostic::Format() const {
  std::ostringstream out;
  out << file;
  if (mark.line > 0) out << ':' << mark.line << ':' << std::max(mark.column, 1);
  out << (severity == Severity::kError ? ": error: " : ": warning: ") << message;
  if (!hint.empty()) out << "\n  hint: " << hint;
  return out.str();
}

void Diagnostics::Error(const std::string& file, SourceMark mark, std::string message,
                        std::string hint) {
  items_.push_back({file, mark, Diagnostic::Severity::kError, std::move(message), std::move(hint)});
}

void Diagnostics::Warning(const std::string& file, SourceMark mark, std::string message,
                          std::string hint) {
  items_.push_back(
      {file, mark, Diagnostic::Severity::kWarning, std::move(message), std::move(hint)});
}

bool Diagnostics::has_errors() const {
  return std::any_of(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
}

void Diagnostics::Append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

void Diagnostics::Sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.file != b.file) return a.file < b.file;
    if (a.mark.line != b.mark.line) return a.mark.line < b.mark.line;
    return a.mark.column < b.mark.column;
  });
}

std::string Diagnostics::Format() const {
  std::string out;
  for (const auto& d : items_) {
    out += d.Format();
    out += '\n';
  }
  return out;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

namespace {

// "secs" for "seconds": the letters of an abbreviation appear in order in the full word.
bool IsAbbreviation(const std::string& shorter, const std::string& longer) {
  if (shorter.size() < 3 || shorter.size() >= longer.size() || shorter[0] != longer[0]) {
    return false;
  }
  size_t j = 0;
  for (char c : longer) {
    if (j < shorter.size() && shorter[j] == c) ++j;
  }
  return j == shorter.size();
}

}  // namespace

std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  for (const auto& c : candidates) {
    if (IsAbbreviation(word, c)) return c;
  }
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // A plausible typo: at most a third of the word's letters changed (and at least one allowed).
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_distance <= limit ? best : std::string{};
}

}  // namespace reel
