// Micro-benchmarks of the OTLP hot paths: validating scan vs full decode of a trace request
// shaped like the load generator's (100 spans, 10 attributes each).
#include <benchmark/benchmark.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "otlp/batch.h"
#include "otlp/signal.h"
#include "otlp/wire_scan.h"

namespace {

using namespace sprout::otlp;

std::string MakeRequest(int spans, int attributes) {
  pb::trace_service::ExportTraceServiceRequest request;
  auto* rs = request.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("load-generator");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("bench");
  for (int i = 0; i < spans; ++i) {
    auto* span = ss->add_spans();
    span->set_trace_id(std::string(16, static_cast<char>(i)));
    span->set_span_id(std::string(8, static_cast<char>(i)));
    span->set_parent_span_id(std::string(8, 1));
    span->set_name("load-generator-span");
    span->set_kind(pb::trace::Span::SPAN_KIND_CLIENT);
    span->set_start_time_unix_nano(1700000000000000000ULL + i);
    span->set_end_time_unix_nano(1700000000001000000ULL + i);
    for (int a = 0; a < attributes; ++a) {
      auto* attr = span->add_attributes();
      attr->set_key(absl::StrCat("attr.", a));
      attr->mutable_value()->set_string_value(absl::StrCat("value-", a));
    }
  }
  return request.SerializeAsString();
}

void BM_ScanTraces(benchmark::State& state) {
  const std::string wire = MakeRequest(100, 10);
  for (auto _ : state) {
    auto items = ScanRequest(Signal::kTraces, wire);
    benchmark::DoNotOptimize(items);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ScanTraces);

void BM_DecodeTracesOnArena(benchmark::State& state) {
  const std::string wire = MakeRequest(100, 10);
  for (auto _ : state) {
    auto batch = TracesBatch::Parse(wire);
    benchmark::DoNotOptimize(batch->request().resource_spans_size());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_DecodeTracesOnArena);

void BM_EncodeTraces(benchmark::State& state) {
  const std::string wire = MakeRequest(100, 10);
  auto batch = TracesBatch::Parse(wire);
  const auto& request = batch->request();
  for (auto _ : state) {
    std::string out = request.SerializeAsString();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_EncodeTraces);

}  // namespace

BENCHMARK_MAIN();
