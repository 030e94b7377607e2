// Where the metrics-generator's collected series go (issue 13, item 2).
//
// Every collection of a tenant (TenantGenerator::Collect) is gathered by a WriteRequestSink into
// one Prometheus remote-write 1.0 `WriteRequest` (series with `__name__`, one sample each, the
// exemplars with their `traceID` label) and handed to a GeneratorOutput:
//  - standalone `sprout traces`: RemoteWriteOutput (remote_write_output.h) appends it to the
//    tenant's remote-write WAL under `metrics_generator.storage.path` and delivers it to every
//    `storage.remote_write` endpoint;
//  - `sprout all` (issue 14): the in-process metrics store ingests it as it ingests remote write,
//    with no network hop.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "prometheus/remote.pb.h"
#include "traces/generator/registry.h"

namespace sprout::traces::generator {

class GeneratorOutput {
 public:
  virtual ~GeneratorOutput() = default;
  // One collection of one tenant's series (never empty). Returns once the output holds it
  // durably (or refuses it: the error is logged and counted by the caller; a collection is not
  // retried — the next one carries the counters' new totals).
  virtual absl::Status Write(std::string_view tenant, prometheus::WriteRequest request) = 0;
  // Delivers what can be delivered until `deadline`, then stops. Writes after Close fail.
  virtual void Close(absl::Time deadline) {}
};

// Moves the series whose samples are all older than the request's newest sample out of
// `request` and returns them, both parts keeping their order: the initial 0 samples of new
// series (Tempo writes one at the end of the previous minute before a new counter's first
// value). An output writes them first and on their own, because after a restart a receiver
// that already holds newer samples of the same series refuses them as out of order; the rest of
// the collection must not share that fate. Series with a native histogram are never moved.
prometheus::WriteRequest SplitInitialSamples(prometheus::WriteRequest* request);

// A SeriesSink that gathers one collection into a WriteRequest: one TimeSeries per Append, its
// labels the given ones (already sorted by name) with `__name__` inserted at its place in byte
// order, so the set is sorted as remote write requires, one sample
// (milliseconds), and the exemplars (label `<exemplar_label>=<trace id>`, value, milliseconds).
// A native histogram (AppendNativeHistogram) is one TimeSeries with one integer
// `prometheus.Histogram` (count_int, zero_count_int, schema, zero_threshold, sum, spans and
// deltas, reset_hint UNKNOWN, timestamp) instead of a sample, as Tempo's WAL sends it.
class WriteRequestSink : public SeriesSink {
 public:
  void Append(std::string_view name, const Labels& labels, double value, absl::Time time,
              absl::Span<const Exemplar> exemplars, std::string_view exemplar_label) override;
  void AppendNativeHistogram(std::string_view name, const Labels& labels,
                             const NativeHistogramSample& histogram, absl::Time time,
                             absl::Span<const Exemplar> exemplars,
                             std::string_view exemplar_label) override;

  bool empty() const { return request_.timeseries_size() == 0; }
  size_t series() const { return static_cast<size_t>(request_.timeseries_size()); }
  // The gathered request; the sink is empty afterwards.
  prometheus::WriteRequest Take();

 private:
  // A new TimeSeries with the labels (and `__name__`) and the exemplars.
  prometheus::TimeSeries* AddSeries(std::string_view name, const Labels& labels,
                                    absl::Span<const Exemplar> exemplars,
                                    std::string_view exemplar_label);

  prometheus::WriteRequest request_;
};

}  // namespace sprout::traces::generator
