// A fixed amount of translation work for instruction counts, which, unlike wall time, repeat
// exactly from run to run on a shared machine:
//
//   valgrind --tool=callgrind --toggle-collect='*TranslateMetrics*' \
//       build/bin/prometheus_count <case>
//
// Cases (the requests of prometheus_bench.cc, each translated 10 times): gauges (1000 points,
// each its own series, into PromTranslation), arena (the same into a WriteRequest on an arena,
// as the remote-write exporter does), few (1000 points joining a few series), resource (gauges
// with resource_to_telemetry_conversion), histograms (100 points with 10 bounds).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "google/protobuf/arena.h"
#include "otlp/prometheus.h"
#include "prometheus_requests.h"

namespace {

using namespace sprout::otlp;
using sprout::bench::MakeRequest;

constexpr int kRounds = 10;

size_t Vectors(const pb::metrics_service::ExportMetricsServiceRequest& request,
               const PromTranslationSettings& settings) {
  size_t series = 0;
  for (int i = 0; i < kRounds; ++i) series += TranslateMetrics(request, settings).series.size();
  return series;
}

size_t Arena(const pb::metrics_service::ExportMetricsServiceRequest& request,
             const PromTranslationSettings& settings) {
  size_t series = 0;
  for (int i = 0; i < kRounds; ++i) {
    google::protobuf::Arena arena;
    auto* out = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
    std::vector<std::string> errors;
    int64_t dropped = 0;
    TranslateMetrics(request, settings, out, &errors, &dropped);
    series += static_cast<size_t>(out->timeseries_size());
  }
  return series;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "gauges";
  PromTranslationSettings settings;
  size_t series = 0;
  if (which == "gauges") {
    series = Vectors(MakeRequest(100, 10, false), settings);
  } else if (which == "arena") {
    series = Arena(MakeRequest(100, 10, false), settings);
  } else if (which == "few") {
    series = Vectors(MakeRequest(100, 10, false, true), settings);
  } else if (which == "resource") {
    settings.resource_to_telemetry_conversion = true;
    series = Vectors(MakeRequest(100, 10, false), settings);
  } else if (which == "histograms") {
    series = Vectors(MakeRequest(10, 10, true), settings);
  } else {
    std::fprintf(stderr, "unknown case %s (gauges, arena, few, resource, histograms)\n",
                 which.c_str());
    return 2;
  }
  std::printf("%s: %zu series in %d rounds\n", which.c_str(), series, kRounds);
  return 0;
}
