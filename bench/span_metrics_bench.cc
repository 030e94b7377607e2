// Micro-benchmark of the span-metrics processor (src/traces/generator): PushSpans throughput on
// one thread into existing series (the steady state: every label set already in the registry),
// with the default config (calls, latency with exemplars, size) and with two dimensions, and one
// Collect of the resulting registry. Run: build/bin/span_metrics_bench
#include <benchmark/benchmark.h>

#include <string>

#include "traces/generator/registry.h"
#include "traces/generator/span_metrics.h"

namespace {

using namespace sprout::traces::generator;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// 100 spans of one service: 20 span names × server/client, ERROR on every 7th, attributes like an
// HTTP server's.
ResourceSpans Batch() {
  ResourceSpans rs;
  auto* sn = rs.mutable_resource()->add_attributes();
  sn->set_key("service.name");
  sn->mutable_value()->set_string_value("checkout");
  auto* host = rs.mutable_resource()->add_attributes();
  host->set_key("host.name");
  host->mutable_value()->set_string_value("node-1");
  auto* ss = rs.add_scope_spans();
  const uint64_t end = static_cast<uint64_t>(absl::ToUnixNanos(kNow)) - 1'000'000'000ull;
  for (int i = 0; i < 100; ++i) {
    Span* s = ss->add_spans();
    std::string tid(16, '\0');
    for (int b = 0; b < 16; ++b) tid[b] = static_cast<char>(i * 31 + b);
    s->set_trace_id(tid);
    s->set_span_id(tid.substr(0, 8));
    s->set_name("GET /api/v1/resource/" + std::to_string(i % 20));
    s->set_kind(i % 2 ? Span::SPAN_KIND_SERVER : Span::SPAN_KIND_CLIENT);
    s->set_end_time_unix_nano(end);
    s->set_start_time_unix_nano(end - (i + 1) * 1'300'000ull);
    if (i % 7 == 0)
      s->mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
    auto* m = s->add_attributes();
    m->set_key("http.method");
    m->mutable_value()->set_string_value("GET");
    auto* c = s->add_attributes();
    c->set_key("http.status_code");
    c->mutable_value()->set_int_value(i % 7 == 0 ? 500 : 200);
  }
  return rs;
}

void Push(benchmark::State& state, std::vector<std::string> dimensions) {
  Registry registry(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.dimensions = std::move(dimensions);
  auto p = SpanMetricsProcessor::Create(cfg, &registry);
  ResourceSpans rs = Batch();
  (*p)->PushSpans(rs, kNow);  // series created
  for (auto _ : state) (*p)->PushSpans(rs, kNow);
  state.SetItemsProcessed(state.iterations() * 100);
}

void BM_PushSpansDefault(benchmark::State& state) { Push(state, {}); }
void BM_PushSpansTwoDimensions(benchmark::State& state) {
  Push(state, {"http.method", "http.status_code"});
}

class NullSink : public SeriesSink {
 public:
  void Append(std::string_view, const Labels&, double v, absl::Time, absl::Span<const Exemplar>,
              std::string_view) override {
    benchmark::DoNotOptimize(v);
  }
};

void BM_Collect(benchmark::State& state) {
  Registry registry(RegistryConfig{});
  auto p = SpanMetricsProcessor::Create(SpanMetricsConfig{}, &registry);
  ResourceSpans rs = Batch();
  (*p)->PushSpans(rs, kNow);
  NullSink sink;
  for (auto _ : state) registry.Collect(kNow, sink);
}

BENCHMARK(BM_PushSpansDefault);
BENCHMARK(BM_PushSpansTwoDimensions);
BENCHMARK(BM_Collect);

}  // namespace

BENCHMARK_MAIN();
