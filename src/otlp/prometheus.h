// OTLP metrics → Prometheus series, with the OpenTelemetry Collector's rules (contrib
// pkg/translator/prometheus and the prometheusremotewrite exporter; see the team reference
// "collector.md" §10). Written once here and used by the prometheusremotewrite exporter and,
// later, by the metrics store's OTLP ingest: one translation, two users. The translation writes
// into a PromSink (prometheus_sink.h); the remote-write outputs below are two such sinks.
//
// What a request becomes:
//  - gauge → one sample per point; cumulative monotonic sum → counter (`_total`); cumulative
//    non-monotonic sum → gauge-like series; cumulative histogram → `_bucket{le}` (cumulative
//    counts, `le="+Inf"` = count), `_sum` (when the point has one), `_count`; summary → `_sum`,
//    `_count`, `{quantile}`; cumulative exponential histogram → one native histogram series;
//  - delta or unspecified temporality (sums, histograms, exponential histograms), metrics
//    without points or without a type, exponential scales below -4: an entry in `errors` with
//    the Collector's text; the rest of the request is still translated;
//  - labels: point attributes (+ resource attributes with resource_to_telemetry_conversion),
//    then scope labels, then job/instance override them, external labels fill what is missing,
//    and __name__, le, quantile override everything. Empty values are no label;
//  - per ResourceMetrics, `target_info` (see PromTranslationSettings::target_info);
//  - identical label sets anywhere in the request are one series; series come in order of first
//    appearance; labels sorted by name (byte order: "Zone" < "__name__" < "a"); samples,
//    exemplars and native histograms sorted by timestamp (stable).
//
// Choices where the reference leaves room (each pinned by a golden test):
//  - colliding label names join only *differing* values (`a;b`, never `a;a`); an empty value is
//    no value there either;
//  - resource attributes copied by resource_to_telemetry_conversion win over point attributes
//    with the same key;
//  - job needs a non-empty service.name; a namespace prefixes it only when non-empty;
//  - the per-unit (after '/') is dropped like the main unit when it is already a name token
//    (`requests.per.second` + `1/s` → `requests_per_second`);
//  - add_metric_suffixes=false turns leading/trailing runs into '_' too (`.a.` → `_a_`);
//  - exemplar attribute names are sanitized like labels (runes counted after sanitizing) and
//    exemplar labels sorted by name;
//  - an exponential point with scale < -4 is dropped alone (counted in dropped_points, one error
//    per metric); the metric's other points are kept;
//  - a stale native histogram is an integer histogram, as the Collector sends it: count_int =
//    the stale NaN's bits (0x7ff0000000000002 as uint64), sum = stale NaN, zero_count_int and
//    bucket spans/deltas as for any point;
//  - exemplar trace_id/span_id labels are left out when the ID is empty or all zero bytes (an
//    all-zero ID is pcommon's empty ID);
//  - empty exponential buckets are left out: a gap of at most two buckets between filled ones is
//    written as zeros, a longer one starts a new span;
//  - metadata is made for every metric of the request, refused ones included (as the Collector
//    derives it separately from the translation): delta histograms are `gaugehistogram`, metrics
//    without a type `unknown`; one entry per family name (the first wins);
//  - target_info's timestamp counts the points of refused metrics too.
//
// Cost (bench/prometheus_bench.cc, Release, this project's shared 2-core AMD EPYC VM, medians
// of 5; gauges and counters with 5 point attributes + job, instance and two scope labels = 10
// labels per series):
//  - a point that joins an existing series: ~0.35 µs (labels, hash lookup, one sample);
//  - a point that starts a series: ~0.95 µs into a WriteRequest on an arena (the overload
//    below); ~1.35 µs into PromTranslation's vectors with jemalloc (the sprout binary's
//    allocator), ~2.5 µs with glibc malloc. The difference to the first line is protobuf
//    building the series: each label is a message with two separately allocated strings
//    (~30 allocations per series, heap or arena). Only a flat output (the label text of a series
//    in one buffer) would remove that; the API would have to change for it.
//  - histograms with 10 bounds: ~16 µs per point (13 series).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "otlp/prometheus_sink.h"
#include "otlp/signal.h"
#include "prometheus/remote.pb.h"

namespace sprout::otlp {

struct PromTranslationSettings {
  std::string metric_namespace;     // `namespace`: prefixed to metric names (and target_info)
  bool add_metric_suffixes = true;  // unit and type suffixes (_seconds, _total, _ratio)
  // Added to every series when no attribute already has the label; keys are sanitized.
  std::vector<std::pair<std::string, std::string>> external_labels;
  bool resource_to_telemetry_conversion = false;  // copy every resource attribute to labels
  bool exclude_service_attributes = false;        // ...except service.name/namespace/instance.id
  // Resource attributes (exact keys) copied onto every series of their resource as labels
  // (sanitized names), as Mimir's `promote_otel_resource_attributes` and Prometheus's
  // `otlp.promote_resource_attributes`: unlike resource_to_telemetry_conversion, a point
  // attribute with the same label name keeps its value (the promoted one only fills a missing
  // label); scope labels, job and instance still override. Ignored when
  // resource_to_telemetry_conversion copies every attribute already.
  std::vector<std::string> promote_resource_attributes;
  // Per ResourceMetrics, `target_info` (`<namespace>_target_info`) = 1 at the latest point
  // timestamp, labelled with the other resource attributes + job/instance + external labels;
  // only when the resource has an attribute other than service.name/namespace/instance.id,
  // job or instance exists, and that timestamp is not 0.
  bool target_info = true;
  bool scope_labels = true;    // otel_scope_name, otel_scope_version, otel_scope_schema_url,
                               // otel_scope_<attr> (the Collector's `disable_scope_info: false`)
  bool send_metadata = false;  // fill `metadata` (type, family name, help, unit)
  bool permissive_label_sanitization = false;  // do not prefix "key" to names starting "_"
};

// The result of translating one export request.
struct PromTranslation {
  // One entry per distinct label set; labels sorted by name (byte order, `__name__` included);
  // samples, histograms and exemplars each sorted by timestamp.
  std::vector<prometheus::TimeSeries> series;
  std::vector<prometheus::MetricMetadata> metadata;
  // One message per metric that could not be translated (the Collector's texts, e.g.
  // `invalid temporality and type combination for metric "x"`); the other metrics are still
  // translated. These are permanent errors.
  std::vector<std::string> errors;
  int64_t dropped_points = 0;  // data points of the metrics in `errors`
};

PromTranslation TranslateMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request,
                                 const PromTranslationSettings& settings);

// The same translation written into `out`: series appended to out->timeseries (merged only with
// series this call made), metadata to out->metadata; errors appended to `errors` and dropped
// points added to `*dropped_points`. With `out` on a protobuf arena every label, sample and
// short string is bump-allocated, which is the faster path (see the cost note above).
void TranslateMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request,
                      const PromTranslationSettings& settings, prometheus::WriteRequest* out,
                      std::vector<std::string>* errors, int64_t* dropped_points);

// The same translation into any sink (prometheus_sink.h): the metrics store's OTLP ingest, with no
// remote-write message built. Errors and dropped points as above.
void TranslateMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request,
                      const PromTranslationSettings& settings, PromSink* sink,
                      std::vector<std::string>* errors, int64_t* dropped_points);

// Building blocks, exposed for tests and for the metrics store.

// The Prometheus metric name of `metric` (§10.2), without the _bucket/_sum/_count of
// histograms and summaries. With suffixes: tokens split on runes other than letters and
// digits, the unit's word appended unless already a token (`By` → bytes, `{packets}` dropped),
// `per_<word>` for a unit after '/' (`m/s` → meters_per_second), `total` for monotonic sums and
// `ratio` for unit "1" gauges (existing such tokens moved to the end), the namespace as first
// token, '_' before a leading digit. Without: runs of runes other than letters, digits, '_' and
// ':' become '_', then `namespace_` and the leading-digit rule.
std::string PromMetricName(const pb::metrics::Metric& metric, std::string_view metric_namespace,
                           bool add_metric_suffixes);

// A label name (§10.3): each rune other than a letter or digit (Unicode categories L and Nd)
// becomes '_'; then a leading digit gets "key_" and a single leading '_' gets "key" (unless
// permissive); "__x" stays. Empty stays empty (the translation drops such labels).
std::string PromLabelName(std::string_view name, bool permissive = false);

// An attribute value as a label value (pdata's AsString, as the Collector uses): strings as they
// are, ints in decimal, doubles in encoding/json's number form (shortest digits; an exponent
// below 1e-6 and from 1e21: "1e-7", "1e+21"; NaN and infinities "json: unsupported value: NaN"),
// bools true/false, bytes base64, maps and slices as Go's encoding/json writes them (map keys
// sorted; "" when a NaN or infinity inside makes that fail), an empty value "".
std::string PromLabelValue(const pb::common::AnyValue& value);

// The stale marker: the NaN with bits 0x7ff0000000000002.
double PromStaleNaN();

}  // namespace sprout::otlp
