// The in-memory native histogram the TSDB works with: integer (`Histogram`) and float
// (`FloatHistogram`) counts, buckets as absolute counts laid out by spans, as in Prometheus's
// native histograms. Remote write 1.0 sends integer buckets as deltas (each bucket minus the
// previous one); BucketsFromDeltas / BucketsToDeltas convert.
//
// Bucket layout: a side (positive or negative) is a list of spans; span i covers `length`
// consecutive bucket indexes starting `offset` after the end of span i-1 (for the first span:
// at index `offset`). buckets[] holds one count per covered index, in index order, so
// buckets.size() == sum of the spans' lengths (ValidateLayout).
//
// Custom buckets (schema -53, "NHCB", the native histograms spec's § Custom values): the
// bucket boundaries are `custom_values`, ascending upper bounds; the positive side alone holds
// the buckets, and bucket index i counts (custom_values[i-1], custom_values[i]] with -Inf below
// index 0 and +Inf above the last value (index custom_values.size(), the overflow bucket). No
// negative buckets, no zero bucket. Other schemas have no custom values.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace sprout::metrics::chunkenc {

// Prometheus's counter-reset hint; the numeric values are the remote-write enum's and the
// chunk header's (docs/format/chunks.md).
enum class CounterResetHint : uint8_t {
  kUnknown = 0,          // may or may not follow a counter reset
  kCounterReset = 1,     // follows a counter reset
  kNotCounterReset = 2,  // definitely no counter reset
  kGauge = 3,            // a gauge histogram: resets do not apply
};

// The schema of custom bucket boundaries.
inline constexpr int32_t kCustomBucketsSchema = -53;

struct BucketSpan {
  int32_t offset = 0;
  uint32_t length = 0;
  bool operator==(const BucketSpan&) const = default;
};

struct FloatHistogram;

struct Histogram {
  CounterResetHint reset_hint = CounterResetHint::kUnknown;
  int32_t schema = 0;  // bucket boundaries are powers of 2^(2^-schema)
  double zero_threshold = 0;
  uint64_t zero_count = 0;
  uint64_t count = 0;  // all observations, NaN ones included
  double sum = 0;
  std::vector<BucketSpan> positive_spans;
  std::vector<BucketSpan> negative_spans;
  std::vector<uint64_t> positive_buckets;  // absolute counts
  std::vector<uint64_t> negative_buckets;
  std::vector<double> custom_values;  // schema -53 only: the buckets' upper bounds, ascending

  bool operator==(const Histogram&) const = default;  // doubles compare as values (NaN != NaN)
  FloatHistogram ToFloat() const;
  bool UsesCustomBuckets() const { return schema == kCustomBucketsSchema; }
};

struct FloatHistogram {
  CounterResetHint reset_hint = CounterResetHint::kUnknown;
  int32_t schema = 0;
  double zero_threshold = 0;
  double zero_count = 0;
  double count = 0;
  double sum = 0;
  std::vector<BucketSpan> positive_spans;
  std::vector<BucketSpan> negative_spans;
  std::vector<double> positive_buckets;  // absolute counts
  std::vector<double> negative_buckets;
  std::vector<double> custom_values;  // schema -53 only (see Histogram)

  bool operator==(const FloatHistogram&) const = default;
  bool UsesCustomBuckets() const { return schema == kCustomBucketsSchema; }
};

// Total length of the spans (32-bit lengths: the sum cannot overflow 64 bits).
uint64_t SpanBucketCount(std::span<const BucketSpan> spans);

// InvalidArgument unless each side's bucket count equals its spans' total length and every span
// after the first has offset >= 0 (spans do not overlap or go backwards).
absl::Status ValidateLayout(const Histogram& h);
absl::Status ValidateLayout(const FloatHistogram& h);

// For schema -53: InvalidArgument unless the custom values are strictly ascending, not NaN and
// not ending at +Inf (-Inf first is allowed, as in Prometheus 3.8), every span offset (the
// first's too) is >= 0 and the spans end at or before the +Inf bucket (index
// custom_values.size()), and there is no zero bucket (threshold and count 0) and no negative
// side. For other schemas: unless custom_values is empty. The texts are Prometheus's
// (model/histogram's validation), which Mimir's ingester answers with.
absl::Status ValidateCustomBuckets(const Histogram& h);
absl::Status ValidateCustomBuckets(const FloatHistogram& h);

// The bounds of custom bucket `index`: (custom_values[index-1], custom_values[index]], -Inf below
// the first value, +Inf above the last (an index out of range is clamped to the outer buckets).
struct CustomBucketRange {
  double lower, upper;
};
CustomBucketRange CustomBucketBounds(std::span<const double> custom_values, int64_t index);

// Whether two lists of custom bucket boundaries are the same, bit for bit.
bool SameCustomValues(std::span<const double> a, std::span<const double> b);

// Remote-write deltas (each bucket minus the previous; the first is absolute) to absolute counts.
// InvalidArgument when a running count goes negative or past 2^64 - 1. Replaces *absolute.
absl::Status BucketsFromDeltas(std::span<const int64_t> deltas, std::vector<uint64_t>* absolute);
// Absolute counts to deltas (wrapping arithmetic; counts above 2^63 wrap as remote write's
// sint64 would). Replaces *deltas.
void BucketsToDeltas(std::span<const uint64_t> absolute, std::vector<int64_t>* deltas);

// Whether `cur` cannot follow `prev` in one counter without a reset: the count or zero count
// went down, a bucket went down or vanished while it held observations, the resolution went up
// (schema larger), the zero bucket got narrower, or the custom bucket boundaries changed (either
// side uses custom buckets and the other does not or has other boundaries). Storage's judgement;
// PromQL's (promql/kernels DetectReset) compares other custom boundaries on the shared ones. With equal schemas and zero thresholds the
// buckets are compared index by index (any layout); otherwise only count and zero count are.
bool IsCounterReset(const Histogram& prev, const Histogram& cur);
bool IsCounterReset(const FloatHistogram& prev, const FloatHistogram& cur);

}  // namespace sprout::metrics::chunkenc
