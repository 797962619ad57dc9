// Portable random sampling for the example data generator: std::mt19937_64 (whose output the
// C++ standard fixes) with our own uniform, normal and weighted samplers, since the
// std:: distributions differ between standard libraries.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace reel::example_data {

// SplitMix64: decorrelates the streams derived from one user seed.
inline std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  // Uniform in [0, 1), 53 random bits.
  double Uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n > 0 (multiply-shift; the bias is below 2^-40 for our n).
  std::uint64_t Below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(gen_()) * n) >> 64);
  }
  bool Chance(double p) { return Uniform() < p; }
  // Standard normal (Box-Muller; the second value is kept for the next call).
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 1.0 - Uniform();  // (0, 1]
    double u2 = Uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }

 private:
  std::mt19937_64 gen_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// Samples an index with probability proportional to its weight, among the first `n` entries.
class CumulativeSampler {
 public:
  void Assign(const std::vector<double>& weights) {
    cum_.resize(weights.size());
    double sum = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) cum_[i] = (sum += weights[i]);
  }
  std::vector<double>& cumulative() { return cum_; }
  double Total(std::size_t n) const { return n == 0 ? 0.0 : cum_[n - 1]; }
  // Requires Total(n) > 0.
  std::size_t Sample(Rng& rng, std::size_t n) const {
    double target = rng.Uniform() * cum_[n - 1];
    auto it = std::upper_bound(cum_.begin(), cum_.begin() + n, target);
    std::size_t i = static_cast<std::size_t>(it - cum_.begin());
    return i < n ? i : n - 1;
  }

 private:
  std::vector<double> cum_;
};

inline double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace reel::example_data
