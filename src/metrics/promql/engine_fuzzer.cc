// libFuzzer target promql_engine_fuzzer (tests/fuzz/README.md): arbitrary bytes as a PromQL
// query, evaluated as an instant query and as a short range query over a small fixed data set
// (counters with a reset, gauges, a classic histogram, NaN, ±Inf and a staleness marker). The
// engine answers or refuses, never crashes or hangs; a small max_samples and a deadline bound
// every evaluation; answers are well formed (a vector has one point per series at the query
// time, a matrix's points are in time order inside the range, no label set twice).
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <set>
#include <string>
#include <string_view>

#include "metrics/promql/engine.h"
#include "metrics/promql/engine_test_util.h"

namespace promql = sprout::metrics::promql;
using sprout::metrics::tsdb::Labels;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

promql::testutil::MemQueryable* Data() {
  static auto* q = [] {
    auto* d = new promql::testutil::MemQueryable();
    const double stale = std::bit_cast<double>(0x7ff0000000000002ULL);
    for (int i = 0; i < 3; ++i) {
      std::vector<std::pair<int64_t, double>> c, g;
      for (int64_t t = 0; t <= 600000; t += 15000) {
        c.push_back({t, (t < 300000 || i != 1 ? t : t - 300000) / 1000.0 * (i + 1)});
        g.push_back({t, i == 2 && t == 150000 ? std::numeric_limits<double>::quiet_NaN()
                                                : std::sin(t / 60000.0 + i) * 10});
      }
      if (i == 0) g.push_back({615000, stale});
      d->Add(Labels::FromStrings({"__name__", "c_total", "i", std::to_string(i), "job", "a"}), c);
      d->Add(Labels::FromStrings({"__name__", "g", "i", std::to_string(i), "job", "b"}), g);
    }
    const char* les[] = {"0.1", "1", "10", "+Inf"};
    for (int k = 0; k < 4; ++k) {
      std::vector<std::pair<int64_t, double>> s;
      for (int64_t t = 0; t <= 600000; t += 30000) s.push_back({t, (k + 1) * t / 30000.0});
      d->Add(Labels::FromStrings({"__name__", "h_bucket", "le", les[k]}), s);
    }
    d->Add(Labels::FromStrings({"__name__", "inf"}),
           {{0, std::numeric_limits<double>::infinity()}, {60000, -std::numeric_limits<double>::infinity()}});
    return d;
  }();
  return q;
}

void CheckResult(const promql::QueryResult& r, bool instant, int64_t start, int64_t end) {
  std::set<std::string> seen;
  for (const promql::ResultSeries& s : r.series) {
    Check(seen.insert(std::string(s.labels.bytes())).second || r.type == promql::ValueType::kMatrix);
    if (r.type == promql::ValueType::kVector) {
      Check(s.floats.size() + s.histograms.size() == 1);
      for (const auto& p : s.floats) Check(p.t == start);
    }
    if (!instant) {
      int64_t prev = std::numeric_limits<int64_t>::min();
      for (const auto& p : s.floats) {
        Check(p.t > prev && p.t >= start && p.t <= end);
        prev = p.t;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  static promql::Engine engine(promql::EngineOptions{.max_samples = 200000});
  for (bool instant : {true, false}) {
    sprout::metrics::tsdb::QueryLimiter limiter(0, 0, absl::Now() + absl::Seconds(5));
    promql::QueryOptions opts{.limiter = &limiter};
    absl::StatusOr<promql::QueryResult> r =
        instant ? engine.InstantQuery(*Data(), query, 300000, opts)
                : engine.RangeQuery(*Data(), query, 240000, 600000, 30000, opts);
    if (!r.ok()) {
      Check(!r.status().message().empty());
      continue;
    }
    CheckResult(*r, instant, instant ? 300000 : 240000, instant ? 300000 : 600000);
  }
  return 0;
}
