// Decoding and validating Prometheus remote-write requests for the metrics store, without
// building protobuf messages: 1.0 (prometheus.WriteRequest, proto/prometheus/remote.proto) and
// 2.0 (io.prometheus.write.v2.Request: a symbol table, series whose labels, exemplar labels and
// metadata are references into it). Both reach the same WriteVisitor through the same checks.
//
// What a decode guarantees:
//  - Whole-request checks come first and refuse the request before anything is delivered: a body
//    over `Limits::max_recv_msg_size` (compressed or announced uncompressed size), corrupt snappy,
//    or bytes protobuf's parser would refuse (truncation, tag 0, wire types 4/6/7 out of place,
//    lengths past the end, groups deeper than the parser's limit of 100). The wire is walked
//    once to check structure and once to decode, so a malformed tail never leaves a half-delivered
//    request behind. Unknown fields are skipped (forward compatible); a known field with another
//    wire type is an unknown field, as protobuf's own parsers treat it.
//  - Then each TimeSeries is validated as Grafana Mimir's distributor validates it (labels with an
//    empty value are dropped first; then metric name, label count, label names in the classic
//    charset, lengths, UTF-8 of values, duplicate and unsorted names, sample timestamps too far
//    in the future, native-histogram schema and layout). A refused series does not stop the
//    request: every good series is still delivered, and the result carries the first refusal's
//    message with HTTP 400, as Mimir answers a partly bad request. Invalid exemplars are dropped
//    and counted without failing the request (Mimir's rule); metadata entries are validated
//    on their own.
//  - Everything handed to the visitor is valid: label names sorted and unique, every string valid
//    UTF-8, sample values bit for bit as sent (the stale-marker NaN 0x7ff0000000000002 included),
//    native histograms converted to chunkenc's absolute-count form with a valid layout.
//
// Thread-safety: a RemoteWriteDecoder keeps scratch buffers between requests; use one per thread.
// The views handed to the visitor (Series, MetricMetadata) point into the request body and the
// decoder's scratch, and are valid only during the callback: copy what must outlive it.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/tsdb/chunkenc/histogram.h"

namespace sprout::metrics::ingest {

// Mimir's per-tenant validation limits that apply to a single request, with Mimir's defaults.
struct Limits {
  size_t max_recv_msg_size = 100 << 20;      // -distributor.max-recv-msg-size
  int max_label_names_per_series = 30;       // -validation.max-label-names-per-series
  int max_label_names_per_info_series = 80;  // -validation.max-label-names-per-info-series
  int max_label_name_length = 1024;          // -validation.max-length-label-name
  int max_label_value_length = 2048;         // -validation.max-length-label-value
  int max_metadata_length = 1024;            // -validation.max-metadata-length
  // -validation.create-grace-period: samples newer than now + this are refused; < 0 disables.
  int64_t creation_grace_period_ms = 10 * 60 * 1000;
  // -validation.past-grace-period: samples older than now - this are refused; 0 disables.
  int64_t past_grace_period_ms = 0;
};

struct Label {
  std::string_view name;
  std::string_view value;
  bool operator==(const Label&) const = default;
};

struct Sample {
  int64_t timestamp_ms = 0;
  uint64_t value_bits = 0;  // the IEEE 754 bits as sent: NaN payloads survive
  // Remote write 2.0 only: the sample's start (created) timestamp, 0 when unset — Sample field 3
  // (senders from Prometheus 3.8), else the series' created_timestamp (TimeSeries field 6,
  // Prometheus 3.0–3.7). The store injects a zero at it (see README.md, "Start timestamps").
  int64_t start_timestamp_ms = 0;
  double value() const { return std::bit_cast<double>(value_bits); }
};

struct Exemplar {
  std::span<const Label> labels;  // as sent (may hold empty values), each string valid UTF-8
  uint64_t value_bits = 0;
  int64_t timestamp_ms = 0;
  double value() const { return std::bit_cast<double>(value_bits); }
};

// A native histogram sample: `integer` when the sender used integer counts, else `floating`.
struct HistogramSample {
  int64_t timestamp_ms = 0;
  int64_t start_timestamp_ms = 0;  // as Sample::start_timestamp_ms (Histogram field 17, or 6)
  bool is_float = false;
  chunkenc::Histogram integer;
  chunkenc::FloatHistogram floating;
};

class RemoteWriteDecoder;
class OtlpSink;

// One accepted series, valid during WriteVisitor::OnSeries only: a TimeSeries of a remote-write
// request, or a series of the in-process OTLP translation (otlp_sink.h), which has no label bytes.
class Series {
 public:
  // The series' Label fields (tag, length and payload of each field 1 of the TimeSeries) exactly
  // as they arrived, concatenated in arrival order: a view into the body when they are
  // contiguous (always, from Prometheus's sender), else a copy in the decoder's scratch. Equal
  // bytes always mean an equal label set, so the head can cache series by them; two encodings of
  // one label set may differ, so the cache needs a canonical identity behind it. Empty for a
  // series of the OTLP translation. For a remote-write 2.0 series: the label set encoded as
  // remote write 1.0's Label fields (a field left out when empty, as gogo writes them), so a
  // series has the same bytes whichever protocol sent it.
  std::string_view label_bytes() const { return label_bytes_; }
  // The label set, decoded on first use: sorted by name (byte order), unique, no empty value.
  std::span<const Label> labels() const;
  std::string_view metric_name() const;
  std::span<const Sample> samples() const { return samples_; }
  std::span<const Exemplar> exemplars() const { return exemplars_; }
  std::span<const HistogramSample> histograms() const { return histograms_; }

 private:
  friend class RemoteWriteDecoder;
  friend class OtlpSink;
  RemoteWriteDecoder* decoder_ = nullptr;  // null: labels_ holds the labels
  std::string_view label_bytes_;
  std::span<const Label> labels_;
  mutable bool labels_decoded_ = false;
  std::span<const Sample> samples_;
  std::span<const Exemplar> exemplars_;
  std::span<const HistogramSample> histograms_;
};

// MetricMetadata.type values (the remote-write enum).
enum class MetricType : int32_t {
  kUnknown = 0,
  kCounter = 1,
  kGauge = 2,
  kHistogram = 3,
  kGaugeHistogram = 4,
  kSummary = 5,
  kInfo = 6,
  kStateSet = 7,
};

struct MetricMetadata {
  int32_t type = 0;  // a MetricType; other values are passed on as sent (proto3 open enum)
  std::string_view metric_family_name;
  std::string_view help;  // cut to Limits::max_metadata_length bytes at a character boundary
  std::string_view unit;
};

class WriteVisitor {
 public:
  virtual ~WriteVisitor() = default;
  // Called before validating a series' labels. Return true when these exact bytes were already
  // accepted under the same Limits (e.g. the head has a series cached by them): their labels are
  // then neither decoded nor validated unless Series::labels() is called.
  virtual bool KnownLabelBytes(std::string_view label_bytes) {
    (void)label_bytes;
    return false;
  }
  virtual void OnSeries(const Series& series) = 0;
  virtual void OnMetadata(const MetricMetadata& metadata) { (void)metadata; }
};

// Why something was refused. The label is Mimir's `reason` label value where Mimir has one.
enum class Refusal : uint8_t {
  kNoLabels,                             // every label had an empty value (Mimir drops it silently)
  kMissingMetricName,                    // missing_metric_name
  kInvalidMetricName,                    // metric_name_invalid
  kMaxLabelNamesPerSeries,               // max_label_names_per_series
  kMaxLabelNamesPerInfoSeries,           // max_label_names_per_info_series
  kInvalidLabel,                         // label_invalid
  kInvalidLabelValue,                    // label_value_invalid (not UTF-8)
  kLabelNameTooLong,                     // label_name_too_long
  kLabelValueTooLong,                    // label_value_too_long
  kDuplicateLabelNames,                  // duplicate_label_names
  kLabelsNotSorted,                      // labels_not_sorted
  kTooFarInFuture,                       // too_far_in_future
  kTooFarInPast,                         // too_far_in_past
  kInvalidNativeHistogramSchema,         // invalid_native_histogram_schema
  kNativeHistogramSpansBucketsMismatch,  // native_histogram_spans_buckets_mismatch
  kNativeHistogramNegativeBucketCount,   // native_histogram_negative_bucket_count
  kNativeHistogramSpanNegativeOffset,    // native_histogram_span_negative_offset
  kExemplarLabelsMissing,                // exemplar_labels_missing
  kExemplarLabelsBlank,                  // exemplar_labels_blank
  kExemplarLabelsTooLong,                // exemplar_labels_too_long
  kExemplarTimestampInvalid,             // exemplar_timestamp_invalid
  kExemplarLabelsInvalidUtf8,            // Sprout's: an exemplar label not valid UTF-8
  kMetadataMissingMetricName,            // missing_metric_name (Mimir's metadata counter)
  kMetadataMetricNameTooLong,            // metric_name_too_long
  kMetadataUnitTooLong,                  // unit_too_long
  kMetadataInvalidUtf8,                  // Sprout's: a metadata string not valid UTF-8
  kCount,
};
constexpr size_t kRefusalCount = static_cast<size_t>(Refusal::kCount);
std::string_view RefusalLabel(Refusal reason);

struct IngestResult {
  // 200 when everything was delivered (the API answers 204), else 400.
  int http_status = 200;
  // Empty when everything was delivered; otherwise the whole-request error, or the first
  // refusal's message in Mimir's words (with its err-mimir-... ID).
  std::string message;
  // True when the request was refused as a whole (size, snappy, protobuf): nothing was delivered.
  bool request_refused = false;

  int64_t series_accepted = 0;
  int64_t series_refused = 0;
  int64_t samples_accepted = 0;
  int64_t histograms_accepted = 0;
  int64_t exemplars_accepted = 0;
  int64_t metadata_accepted = 0;
  // Per reason. A refused series refuses all its samples, histograms and exemplars.
  std::array<int64_t, kRefusalCount> samples_refused{};
  std::array<int64_t, kRefusalCount> histograms_refused{};
  std::array<int64_t, kRefusalCount> exemplars_refused{};
  std::array<int64_t, kRefusalCount> metadata_refused{};

  bool ok() const { return http_status < 300; }
};

// Mimir's refusal of a body over -distributor.max-recv-msg-size; `kind` is "compressed" or
// "uncompressed". For the HTTP layer, which refuses an over-limit body before reading it.
std::string MessageSizeLimitMessage(size_t size, std::string_view kind, size_t limit);

// The message a body holds, from its Content-Type (remote write 2.0's content negotiation).
enum class Protocol : uint8_t {
  kV1,  // prometheus.WriteRequest
  kV2,  // io.prometheus.write.v2.Request
};

class RemoteWriteDecoder {
 public:
  explicit RemoteWriteDecoder(Limits limits = {}) : limits_(limits) {}

  // A snappy block-format body (Content-Encoding: snappy). `now_ms` is the wall clock in Unix
  // milliseconds, for the grace periods.
  IngestResult DecodeSnappy(std::string_view body, int64_t now_ms, WriteVisitor& visitor,
                            Protocol protocol = Protocol::kV1);
  // An uncompressed prometheus.WriteRequest (kV1) or io.prometheus.write.v2.Request (kV2).
  IngestResult Decode(std::string_view wire, int64_t now_ms, WriteVisitor& visitor,
                      Protocol protocol = Protocol::kV1);

  const Limits& limits() const { return limits_; }
  // The limits of the next decodes (the request's tenant's).
  void set_limits(const Limits& limits) { limits_ = limits; }

 private:
  friend class Series;
  struct ExemplarRange {
    uint32_t first_label;
    uint32_t label_count;
  };

  bool DecodeTimeSeries(std::string_view ts);
  void HandleTimeSeries(std::string_view ts, int64_t now_ms, WriteVisitor& visitor,
                        IngestResult* result);
  // Remote write 2.0: fills what DecodeTimeSeries fills (the label bytes encoded as 1.0's) and
  // metadata_v2_; an empty string, or the refusal of a reference outside the symbol table.
  std::string DecodeTimeSeriesV2(std::string_view ts);
  void HandleTimeSeriesV2(std::string_view ts, int64_t now_ms, WriteVisitor& visitor,
                          IngestResult* result);
  // The common part: validation of the decoded series, delivery, and (v2) its metadata.
  void ValidateAndDeliver(int64_t now_ms, WriteVisitor& visitor, IngestResult* result,
                          const MetricMetadata* metadata);
  // A v2 symbol reference into *out, or false when it is outside the table.
  bool Symbol(uint64_t ref, std::string_view* out) const;
  void HandleMetadata(std::string_view md, WriteVisitor& visitor, IngestResult* result);
  void DecodeLabels(std::string_view label_bytes);

  Limits limits_;
  std::string body_;        // the decompressed request
  std::string label_copy_;  // label fields gathered when they were not contiguous
  std::string_view label_bytes_;
  std::vector<Label> labels_;  // the current series' labels
  std::vector<Label> exemplar_labels_;
  std::vector<ExemplarRange> exemplar_ranges_;
  std::vector<Sample> samples_;
  std::vector<Exemplar> exemplars_;
  std::vector<HistogramSample> histograms_;  // entries beyond histogram_count_ keep capacity
  size_t histogram_count_ = 0;
  std::vector<std::string_view> histogram_payloads_;  // decoded after the labels pass
  std::vector<int64_t> deltas_;
  std::vector<int64_t> neg_deltas_;
  std::vector<std::string_view> series_views_;
  std::vector<std::string_view> metadata_views_;
  std::vector<std::string_view> symbols_;  // remote write 2.0's symbol table
  std::vector<uint64_t> refs_;
  std::vector<int64_t> histogram_starts_;  // v2: each histogram's start_timestamp (field 17)
  MetricMetadata metadata_v2_;
  size_t series_index_ = 0;  // v2: the series' index in the request, for messages
};

}  // namespace sprout::metrics::ingest
