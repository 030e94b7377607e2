// Micro-benchmark of the TraceQL metrics engine (src/traces/traceql/metrics.h, issue 16): one
// accumulator on one thread observing whole traces held in memory (the work a scanning thread
// does per trace after reading it), for the queries Grafana's Traces Drilldown sends. The trace
// set: 2,000 traces of 10 spans (8 services, 20 span names, every 7th span an error, durations
// 1..1000 ms, start times over one hour), each trace observed as a TraceView built once. Reports
// spans/s (items) per query. Run: build/bin/traceql_metrics_bench, or
// bench/run_traceql_metrics_bench.sh.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "traces/traceql/engine.h"
#include "traces/traceql/metrics.h"

namespace {

namespace traceql = sprout::traces::traceql;
namespace tpb = opentelemetry::proto::trace::v1;
namespace cpb = opentelemetry::proto::common::v1;

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 1'700'000'000 * kSec;
constexpr int kTraces = 2000;
constexpr int kSpansPerTrace = 10;

std::vector<tpb::TracesData> MakeTraces() {
  std::vector<tpb::TracesData> out;
  uint64_t n = 0;
  for (int t = 0; t < kTraces; ++t) {
    tpb::TracesData td;
    const uint64_t start = kT0 + (static_cast<uint64_t>(t) * 3600 * kSec) / kTraces;
    for (int s = 0; s < kSpansPerTrace; ++s, ++n) {
      tpb::ResourceSpans* rs = td.add_resource_spans();
      cpb::KeyValue* svc = rs->mutable_resource()->add_attributes();
      svc->set_key("service.name");
      svc->mutable_value()->set_string_value("svc-" + std::to_string((t + s) % 8));
      tpb::Span* span = rs->add_scope_spans()->add_spans();
      std::string tid(16, '\0');
      tid[12] = static_cast<char>(t >> 8);
      tid[13] = static_cast<char>(t);
      span->set_trace_id(tid);
      std::string sid(8, '\0');
      sid[7] = static_cast<char>(s + 1);
      span->set_span_id(sid);
      if (s > 0) span->set_parent_span_id(std::string(7, '\0') + static_cast<char>(1));
      span->set_name("GET /api/" + std::to_string(n % 20));
      span->set_kind(s == 0 ? tpb::Span::SPAN_KIND_SERVER : tpb::Span::SPAN_KIND_CLIENT);
      const uint64_t st = start + static_cast<uint64_t>(s) * 1'000'000;
      span->set_start_time_unix_nano(st);
      span->set_end_time_unix_nano(st + (1 + n % 1000) * 1'000'000);
      if (n % 7 == 0) span->mutable_status()->set_code(tpb::Status::STATUS_CODE_ERROR);
      cpb::KeyValue* code = span->add_attributes();
      code->set_key("http.status_code");
      code->mutable_value()->set_int_value(n % 7 == 0 ? 500 : 200);
    }
    out.push_back(std::move(td));
  }
  return out;
}

void Observe(benchmark::State& state, const std::string& query) {
  static const std::vector<tpb::TracesData> traces = MakeTraces();
  std::vector<std::unique_ptr<traceql::TraceView>> views;
  for (const auto& t : traces) views.push_back(std::make_unique<traceql::TraceView>(t));
  traceql::MetricsRange range;
  range.start_ns = kT0;
  range.end_ns = kT0 + 3600 * kSec;
  range.step_ns = 15 * kSec;  // 240 steps, Tempo's default for one hour
  range.max_exemplars = 100;
  auto program = traceql::MetricsProgram::Compile(query, range);
  if (!program.ok()) {
    state.SkipWithError(std::string(program.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    std::vector<std::unique_ptr<traceql::MetricsAccumulator>> parts;
    parts.push_back((*program)->NewAccumulator());
    for (const auto& v : views) parts[0]->Observe(*v);
    traceql::MetricsResult r = (*program)->Finish(std::move(parts), traceql::MetricsStats{});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * kTraces * kSpansPerTrace);
}

void BM_Rate(benchmark::State& s) { Observe(s, "{ } | rate()"); }
void BM_RateByService(benchmark::State& s) {
  Observe(s, "{ } | rate() by (resource.service.name)");
}
void BM_ErrorRateByService(benchmark::State& s) {
  Observe(s, "{ status = error } | rate() by (resource.service.name)");
}
void BM_QuantileByService(benchmark::State& s) {
  Observe(s, "{ } | quantile_over_time(duration, .5, .9, .99) by (resource.service.name)");
}
void BM_Histogram(benchmark::State& s) { Observe(s, "{ } | histogram_over_time(duration)"); }
void BM_AvgByName(benchmark::State& s) { Observe(s, "{ } | avg_over_time(duration) by (name)"); }
void BM_Compare(benchmark::State& s) { Observe(s, "{ } | compare({ status = error })"); }

BENCHMARK(BM_Rate)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RateByService)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ErrorRateByService)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QuantileByService)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Histogram)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AvgByName)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Compare)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
