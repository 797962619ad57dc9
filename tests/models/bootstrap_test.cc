#include "models/bootstrap.h"

#include <vector>

#include <doctest/doctest.h>

using namespace reel;

TEST_CASE("PairedBootstrap: constant differences give a point interval") {
  std::vector<double> d(25, 0.1);
  BootstrapInterval i = PairedBootstrap(d, {.resamples = 200, .seed = 1, .confidence = 0.95});
  CHECK(i.delta == doctest::Approx(0.1));
  CHECK(i.low == doctest::Approx(0.1));
  CHECK(i.high == doctest::Approx(0.1));
}

TEST_CASE(
    "PairedBootstrap: the interval brackets the mean, narrows with more users, and is "
    "reproducible") {
  // Half the users gain 1, half lose 1 and one gains 1 more: the mean is small and positive,
  // and the interval straddles 0.
  std::vector<double> small;
  for (int i = 0; i < 20; ++i) small.push_back(i % 2 ? 1.0 : -1.0);
  small.push_back(1.0);
  BootstrapSettings settings{.resamples = 1000, .seed = 7, .confidence = 0.95};
  BootstrapInterval a = PairedBootstrap(small, settings);
  CHECK(a.delta == doctest::Approx(1.0 / 21));
  CHECK(a.low < 0);
  CHECK(a.high > 0);
  CHECK(a.low < a.delta);
  CHECK(a.high > a.delta);
  // With a standard deviation of ~1 and n = 21 the 95% interval is about ±2/sqrt(21) = ±0.44.
  CHECK(a.high - a.low == doctest::Approx(0.86).epsilon(0.15));

  // The same seed gives the same interval; another seed a slightly different one.
  BootstrapInterval again = PairedBootstrap(small, settings);
  CHECK(again.low == a.low);
  CHECK(again.high == a.high);
  BootstrapInterval other = PairedBootstrap(small, {.resamples = 1000, .seed = 8});
  CHECK(other.low != a.low);

  // 100 times as many users: a ten times narrower interval, now clear of 0.
  std::vector<double> large;
  for (int r = 0; r < 100; ++r) large.insert(large.end(), small.begin(), small.end());
  BootstrapInterval b = PairedBootstrap(large, settings);
  CHECK(b.delta == doctest::Approx(1.0 / 21));
  CHECK(b.high - b.low == doctest::Approx((a.high - a.low) / 10).epsilon(0.2));
  CHECK(b.low > 0);

  // A lower confidence gives a narrower interval.
  BootstrapInterval narrow =
      PairedBootstrap(small, {.resamples = 1000, .seed = 7, .confidence = 0.5});
  CHECK(narrow.high - narrow.low < a.high - a.low);
}
