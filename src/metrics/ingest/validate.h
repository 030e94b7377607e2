// Mimir's distributor validation of series, samples, native histograms, exemplars and metadata,
// shared by both ingest paths — remote write (remote_write.h) and the in-process OTLP
// translation (otlp_sink.h) — so that a series is accepted or refused, with the same reason and
// the same text, whichever way it arrived. The checks and their order are Mimir's
// (pkg/distributor/validate.go); the texts are listed in README.md.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "metrics/ingest/remote_write.h"
#include "metrics/tsdb/chunkenc/histogram.h"

namespace sprout::metrics::ingest {

// A refusal; reason Refusal::kCount means none. A reason with an empty message is dropped
// silently (kNoLabels, as Mimir drops a series whose every label value is empty).
struct Problem {
  Refusal reason = Refusal::kCount;
  std::string message;
  explicit operator bool() const { return reason != Refusal::kCount; }
};

// Counts a refusal in `result` (per reason: the samples, histograms, exemplars and metadata it
// refuses); the first refusal with a message makes the result a 400 with that message (made
// valid UTF-8), as Mimir answers a partly bad request.
void RecordRefusal(IngestResult* result, const Problem& problem, int64_t samples,
                   int64_t histograms, int64_t exemplars, int64_t metadata);

// Mimir's validateLabels over a series' labels as decoded (labels with an empty value already
// left out; in arrival order): none left (silent), metric name missing or outside the classic
// charset, label count (30, 80 for `*_info`), names, name and value lengths, UTF-8 of values,
// repeated and unsorted names. `*metric_name` gets the metric name when there is one.
Problem ValidateSeriesLabels(std::span<const Label> labels, const Limits& limits,
                             std::string_view* metric_name);

// The grace-period checks of a sample's or histogram's timestamp (kCount: fine). Cheap enough for
// every sample; the text, which needs the metric name, comes from SampleTimeMessage.
inline Refusal SampleTimeRefusal(int64_t t, int64_t now_ms, const Limits& limits) {
  if (limits.creation_grace_period_ms >= 0 && t > now_ms + limits.creation_grace_period_ms) {
    return Refusal::kTooFarInFuture;
  }
  if (limits.past_grace_period_ms > 0 && t < now_ms - limits.past_grace_period_ms) {
    return Refusal::kTooFarInPast;
  }
  return Refusal::kCount;
}
// Mimir's text for a SampleTimeRefusal (kTooFarInFuture or kTooFarInPast).
std::string SampleTimeMessage(Refusal reason, int64_t t, std::string_view metric_name);

// What is wrong with a native histogram's layout, if anything.
enum class HistogramProblem : uint8_t {
  kNone,
  kSchema,
  kSpanOffset,
  kSpansBuckets,
  kNegativeCount
};

// For an integer histogram whose schema and spans are set and whose buckets come as deltas (as
// remote write and the OTLP translation carry them): checks, in Mimir's order, the schema
// (−4..8, or −53: custom buckets, whose bounds the head checks), a span after the first with a
// negative offset and the spans against the number of
// buckets (negative side, then positive), then fills h's absolute bucket counts from the deltas
// (a count below zero: kNegativeCount). Nothing is filled when a check fails.
HistogramProblem IntegerBucketsFromDeltas(std::span<const int64_t> negative_deltas,
                                          std::span<const int64_t> positive_deltas,
                                          chunkenc::Histogram* h);
// The same checks for a float histogram, whose counts come as they are (a negative one:
// kNegativeCount).
HistogramProblem CheckFloatHistogram(const chunkenc::FloatHistogram& h);
// Mimir's refusal of a histogram sample at `t` with `problem` (not kNone).
Problem HistogramRefusal(HistogramProblem problem, int32_t schema, int64_t t,
                         std::string_view metric_name);

// Why an exemplar is dropped (kCount: kept), Mimir's rules: no labels, timestamp 0, labels longer
// than 128 characters together, no label with both a name and a value, labels not UTF-8.
Refusal ExemplarRefusal(std::span<const Label> labels, int64_t timestamp_ms);

// Mimir's metadata validation. `m->help` is first cut to max_metadata_length bytes at a
// character boundary (Mimir truncates help instead of refusing it).
Problem ValidateMetadata(MetricMetadata* m, const Limits& limits);

}  // namespace sprout::metrics::ingest
