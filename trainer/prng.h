// A small deterministic PRNG for the trainer's shuffles and seeds. Unlike std::shuffle with a
// standard distribution, its output is fixed by this file alone, so a seed gives the same
// order with every standard library.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace reel::trainer {

// SplitMix64 (Steele, Lea, Flood 2014).
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias is below 2^-32 for the sizes
  // used here and, more to the point, deterministic).
  std::uint64_t Below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  std::uint64_t state_;
};

// A seed for one purpose, derived from the job seed: every random stream of a job is keyed by
// (seed, purpose, epoch, rank), which makes the epoch number a complete RNG state to resume.
inline std::uint64_t DeriveSeed(std::uint64_t seed, std::uint64_t purpose, std::uint64_t epoch,
                                std::uint64_t rank) {
  SplitMix64 g(seed ^ (purpose * 0xd1b54a32d192ed03ull));
  std::uint64_t s = g.Next();
  SplitMix64 h(s ^ (epoch * 0x9e3779b97f4a7c15ull) ^ (rank * 0xc2b2ae3d27d4eb4full));
  return h.Next();
}

// Fisher-Yates.
template <typename T>
void Shuffle(std::vector<T>& values, std::uint64_t seed) {
  SplitMix64 g(seed);
  for (std::size_t i = values.size(); i > 1; --i) {
    std::size_t j = static_cast<std::size_t>(g.Below(i));
    std::swap(values[i - 1], values[j]);
  }
}

}  // namespace reel::trainer
