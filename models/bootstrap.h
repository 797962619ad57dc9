// Paired bootstrap confidence intervals for the difference of two rankers' mean per-user
// metric, on the same users.
//
// Given per-user differences d_i = a_i - b_i (i = 1..n), each resample draws n users with
// replacement and takes the mean of their d; the interval is the (1 - confidence) / 2 and
// (1 + confidence) / 2 percentiles of the resampled means (linearly interpolated between
// order statistics). Resampling users, not metric values, keeps the pairing: both rankers are
// scored on the same resampled users. The result depends only on the inputs, the number of
// resamples and the seed (the generator is SplitMix64, the same on every platform).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace reel {

struct BootstrapInterval {
  double delta = 0;  // the observed mean difference
  double low = 0;
  double high = 0;
};

struct BootstrapSettings {
  int resamples = 1000;
  std::uint64_t seed = 0;
  double confidence = 0.95;
};

// `differences` must not be empty; resamples >= 1; 0 < confidence < 1.
BootstrapInterval PairedBootstrap(std::span<const double> differences,
                                  const BootstrapSettings& settings);

}  // namespace reel
