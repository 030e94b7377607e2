// Tests and benchmarks only: the "realistic series set" the size test and the benchmark measure
// (docs/format/chunks.md, "Sizes"). Deterministic for a seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace sprout::metrics::chunkenc::testing {

struct Sample {
  int64_t t;
  double v;
};

struct Series {
  std::string kind;
  std::vector<Sample> samples;
};

// Scrape timestamps: a 15 s interval from a 2024 start, each scrape `jitter_ms` early or late at
// most (uniformly).
inline std::vector<int64_t> ScrapeTimes(std::mt19937_64& rng, int n, int jitter_ms) {
  std::vector<int64_t> ts;
  int64_t start = 1'704'067'200'000 + static_cast<int64_t>(rng() % 15000);
  std::uniform_int_distribution<int> jitter(-jitter_ms, jitter_ms);
  for (int i = 0; i < n; ++i) ts.push_back(start + 15000 * int64_t{i} + jitter(rng));
  return ts;
}

// `per_kind` series of each kind, `n` samples each: integer counters (requests: +0..20 per
// scrape), large integer counters (bytes: +0..1e6), float counters (CPU seconds: +0..0.3),
// random-float gauges (uniform in [0, 100)), and constants (1 and 0).
inline std::vector<Series> RealisticSeries(int per_kind, int n, uint64_t seed = 42,
                                           int jitter_ms = 3) {
  std::mt19937_64 rng(seed);
  std::vector<Series> out;
  std::uniform_real_distribution<double> unit(0, 1);
  for (int k = 0; k < per_kind; ++k) {
    auto add = [&](const std::string& kind, auto next_value) {
      Series s{kind, {}};
      for (int64_t t : ScrapeTimes(rng, n, jitter_ms)) s.samples.push_back({t, next_value()});
      out.push_back(std::move(s));
    };
    double c = static_cast<double>(rng() % 100000);
    add("counter", [&] { return c += static_cast<double>(rng() % 21); });
    double b = static_cast<double>(rng() % 100000000);
    add("counter_bytes", [&] { return b += static_cast<double>(rng() % 1000001); });
    double cpu = unit(rng) * 1000;
    add("counter_float", [&] { return cpu += unit(rng) * 0.3; });
    add("gauge_random", [&] { return unit(rng) * 100; });
    add("constant", [&] { return k % 2 == 0 ? 1.0 : 0.0; });
  }
  return out;
}

}  // namespace sprout::metrics::chunkenc::testing
