#include "models/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace reel {
namespace {

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The q-quantile of sorted values, interpolating between neighbours.
double Quantile(const std::vector<double>& sorted, double q) {
  double pos = q * static_cast<double>(sorted.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(pos));
  std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

}  // namespace

BootstrapInterval PairedBootstrap(std::span<const double> differences,
                                  const BootstrapSettings& settings) {
  BootstrapInterval out;
  const std::size_t n = differences.size();
  if (n == 0) return out;
  double sum = 0;
  for (double d : differences) sum += d;
  out.delta = sum / static_cast<double>(n);

  const int resamples = std::max(1, settings.resamples);
  std::vector<double> means;
  means.reserve(static_cast<std::size_t>(resamples));
  std::uint64_t state = settings.seed;
  for (int r = 0; r < resamples; ++r) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += differences[SplitMix64(state) % n];
    means.push_back(s / static_cast<double>(n));
  }
  std::sort(means.begin(), means.end());
  double tail = (1.0 - settings.confidence) / 2.0;
  out.low = Quantile(means, tail);
  out.high = Quantile(means, 1.0 - tail);
  return out;
}

}  // namespace reel
