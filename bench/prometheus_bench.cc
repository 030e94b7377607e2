// Micro-benchmarks of the OTLP → Prometheus translation (src/otlp/prometheus.h): requests shaped
// like an instrumented service's (one resource, gauges and counters with 5 point attributes),
// and classic histograms. Items are data points; the figure to watch is ns per item. Linked with
// jemalloc when available, as the sprout binary is (glibc malloc roughly doubles the vector
// figures). Results and their breakdown: the cost note in prometheus.h.
#include <benchmark/benchmark.h>

#include <string>

#include "google/protobuf/arena.h"
#include "otlp/prometheus.h"
#include "otlp/signal.h"
#include "prometheus_requests.h"

namespace {

using namespace sprout::otlp;
using sprout::bench::MakeRequest;

// 100 metrics × 10 points, gauges and counters, every point its own series.
void BM_TranslateGaugesAndSums(benchmark::State& state) {
  const auto request = MakeRequest(100, 10, false);
  const PromTranslationSettings settings;
  for (auto _ : state) {
    PromTranslation result = TranslateMetrics(request, settings);
    benchmark::DoNotOptimize(result.series.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_TranslateGaugesAndSums);

// The same into a WriteRequest on an arena (one arena per request, as an exporter would use).
void BM_TranslateGaugesAndSumsOnArena(benchmark::State& state) {
  const auto request = MakeRequest(100, 10, false);
  const PromTranslationSettings settings;
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* out = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
    std::vector<std::string> errors;
    int64_t dropped = 0;
    TranslateMetrics(request, settings, out, &errors, &dropped);
    benchmark::DoNotOptimize(out->timeseries_size());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_TranslateGaugesAndSumsOnArena);

// Points that all fall into a few series (one per status code and method): the label work
// without the cost of building series.
void BM_TranslateIntoFewSeries(benchmark::State& state) {
  const auto request = MakeRequest(100, 10, false, true);
  const PromTranslationSettings settings;
  for (auto _ : state) {
    PromTranslation result = TranslateMetrics(request, settings);
    benchmark::DoNotOptimize(result.series.data());
    state.counters["series"] = static_cast<double>(result.series.size());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_TranslateIntoFewSeries);

// The same with resource_to_telemetry_conversion (8 more labels per series).
void BM_TranslateGaugesAndSumsResourceLabels(benchmark::State& state) {
  const auto request = MakeRequest(100, 10, false);
  PromTranslationSettings settings;
  settings.resource_to_telemetry_conversion = true;
  for (auto _ : state) {
    PromTranslation result = TranslateMetrics(request, settings);
    benchmark::DoNotOptimize(result.series.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_TranslateGaugesAndSumsResourceLabels);

// 10 histograms × 10 points with 10 bounds: 13 series per point.
void BM_TranslateHistograms(benchmark::State& state) {
  const auto request = MakeRequest(10, 10, true);
  const PromTranslationSettings settings;
  for (auto _ : state) {
    PromTranslation result = TranslateMetrics(request, settings);
    benchmark::DoNotOptimize(result.series.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_TranslateHistograms);

}  // namespace

BENCHMARK_MAIN();
