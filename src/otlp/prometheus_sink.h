// Where the OTLP → Prometheus translation (prometheus.h) writes: a PromSink receives label sets,
// samples, native histograms, exemplars and metric metadata as views, so a consumer can ingest
// OTLP without building remote-write messages. The remote-write builders
// (TranslateMetrics into PromTranslation or a prometheus::WriteRequest) are sinks too; the
// metrics store's head is meant to be another.
//
// The translation calls, for each data point, Series() with the point's complete label set (and
// its hash), then Sample()/Histogram()/Exemplar() with the reference Series() returned:
//  - a label set is sorted by name in byte order ("Zone" < "__name__" < "a"), names are unique,
//    values non-empty, `__name__` included. The views point into the request or into the
//    translation's scratch memory and are valid only during the call: a sink copies what it
//    keeps (typically only for a series it has not seen);
//  - `hash` is sprout::HashLabels(labels) (base/hash.h): stable across processes and versions,
//    so a sink can use it for its own index (look the set up by hash, compare on a hit) without
//    hashing again;
//  - Series() is called for every point, also when the set was seen before in the same
//    request: finding a known set is the sink's job (a head does that lookup anyway);
//  - a series' samples, histograms and exemplars come in request order, which is time order
//    for well-behaved senders but not guaranteed; Finish() is called once at the end (the
//    remote-write sinks sort each series by timestamp there, stably);
//  - Metadata() comes once per metric family (the first metric with that name) when
//    PromTranslationSettings::send_metadata is set.
//
// Thread-safety: a translation calls its sink from the calling thread only.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/hash.h"

namespace sprout::otlp {

// A label: name and value views (base/hash.h's LabelView, so a set can be hashed as it is).
using PromLabel = LabelView;

// Sorted by name, unique names, non-empty values (see above).
using PromLabels = std::span<const PromLabel>;

// The sink's handle for a series; the translation only passes it back.
using PromSeriesRef = uint64_t;

struct PromBucketSpan {
  int32_t offset;
  uint32_t length;
};

// A native histogram (integer counts), as remote write's Histogram message with reset hint
// UNKNOWN. A stale marker has `count` = the stale NaN's bits (0x7ff0000000000002) and `sum` =
// the stale NaN, as the Collector sends it.
struct PromHistogram {
  int64_t timestamp_ms = 0;
  int32_t schema = 0;
  double zero_threshold = 0;
  uint64_t zero_count = 0;
  uint64_t count = 0;
  double sum = 0;  // 0 when the point has none
  std::span<const PromBucketSpan> positive_spans;
  std::span<const int64_t> positive_deltas;  // delta-coded bucket counts
  std::span<const PromBucketSpan> negative_spans;
  std::span<const int64_t> negative_deltas;
};

struct PromExemplar {
  double value = 0;
  int64_t timestamp_ms = 0;
  PromLabels labels;  // trace_id, span_id, filtered attributes; sorted by name
};

// The numbering of remote write's MetricMetadata.MetricType.
enum class PromMetricType : int {
  kUnknown = 0,
  kCounter = 1,
  kGauge = 2,
  kHistogram = 3,
  kGaugeHistogram = 4,
  kSummary = 5,
  kInfo = 6,
  kStateset = 7,
};

struct PromMetadata {
  PromMetricType type = PromMetricType::kUnknown;
  std::string_view family;  // the metric name without _bucket/_sum/_count
  std::string_view help;    // the OTLP description
  std::string_view unit;    // the OTLP unit
};

class PromSink {
 public:
  virtual ~PromSink() = default;

  // Called first: about how many data points the request holds (a reservation hint).
  virtual void Begin(size_t points) {}

  // The series with `labels` (hash: HashLabels(labels)); returns the sink's reference to it.
  virtual PromSeriesRef Series(PromLabels labels, uint64_t hash) = 0;
  virtual void Sample(PromSeriesRef series, int64_t timestamp_ms, double value) = 0;
  virtual void Histogram(PromSeriesRef series, const PromHistogram& histogram) = 0;
  virtual void Exemplar(PromSeriesRef series, const PromExemplar& exemplar) = 0;
  virtual void Metadata(const PromMetadata& metadata) {}

  // Called last, once.
  virtual void Finish() {}
};

}  // namespace sprout::otlp
