// Micro-benchmarks of the OTLP → Prometheus translation (src/otlp/prometheus.h): requests shaped
// like an instrumented service's (one resource, gauges and counters with 5 point attributes),
// and classic histograms. Items are data points; the figure to watch is ns per item. Linked with
// jemalloc when available, as the sprout binary is (glibc malloc roughly doubles the vector
// figures). Results and their breakdown: the cost note in prometheus.h.
#include <benchmark/benchmark.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "otlp/prometheus.h"
#include "otlp/signal.h"

namespace {

using namespace sprout::otlp;

void AddAttribute(google::protobuf::RepeatedPtrField<pb::common::KeyValue>* attributes,
                  std::string key, std::string value) {
  auto* kv = attributes->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_string_value(std::move(value));
}

pb::metrics_service::ExportMetricsServiceRequest MakeRequest(int metrics, int points,
                                                             bool histograms,
                                                             bool same_series = false) {
  pb::metrics_service::ExportMetricsServiceRequest request;
  auto* rm = request.add_resource_metrics();
  auto* resource_attributes = rm->mutable_resource()->mutable_attributes();
  AddAttribute(resource_attributes, "service.name", "load-generator");
  AddAttribute(resource_attributes, "service.instance.id", "0f8e5a1c-2b7d-4e36-9a51-6c3d2e1f0a9b");
  AddAttribute(resource_attributes, "host.name", "ip-10-0-12-34.ec2.internal");
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("bench");
  sm->mutable_scope()->set_version("1.0.0");
  for (int m = 0; m < metrics; ++m) {
    auto* metric = sm->add_metrics();
    metric->set_name(absl::StrCat("app.requests.", same_series ? 0 : m));
    metric->set_unit(histograms ? "s" : "{request}");
    for (int p = 0; p < points; ++p) {
      google::protobuf::RepeatedPtrField<pb::common::KeyValue>* attributes;
      if (histograms) {
        auto* h = metric->mutable_histogram();
        h->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
        auto* point = h->add_data_points();
        point->set_time_unix_nano(1700000000000000000ULL);
        point->set_count(100);
        point->set_sum(12.5);
        for (double bound : {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0}) {
          point->add_explicit_bounds(bound);
          point->add_bucket_counts(9);
        }
        point->add_bucket_counts(10);
        attributes = point->mutable_attributes();
      } else if (m % 2 == 0) {
        auto* point = metric->mutable_gauge()->add_data_points();
        point->set_time_unix_nano(1700000000000000000ULL);
        point->set_as_double(p * 0.5);
        attributes = point->mutable_attributes();
      } else {
        auto* sum = metric->mutable_sum();
        sum->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
        sum->set_is_monotonic(true);
        auto* point = sum->add_data_points();
        point->set_time_unix_nano(1700000000000000000ULL);
        point->set_as_int(p);
        attributes = point->mutable_attributes();
      }
      AddAttribute(attributes, "http.request.method", p % 2 ? "GET" : "POST");
      AddAttribute(attributes, "http.route", absl::StrCat("/api/v1/items/", p % 7));
      AddAttribute(attributes, "http.response.status_code", absl::StrCat(200 + p % 3));
      AddAttribute(attributes, "server.address", "api.example.com");
      AddAttribute(attributes, "worker", absl::StrCat("w-", same_series ? 0 : p));
    }
  }
  return request;
}

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
