// The records of the metrics head's write-ahead log (docs/format/metrics-wal.md, byte by byte):
// what one TenantHead::Append writes to its storage::SegmentLog, and what replay reads back.
//
// Every record's payload starts with the record-format version byte (kRecordFormatVersion),
// then entries until the end of the payload (the segment log knows the length; no count is
// stored). The segment log's record type byte says which kind of entries follow:
//   kSeries           uvarint id, uvarint len, canonical Labels bytes (labels.h)
//   kSamples          id and t delta-coded against the previous entry (zigzag varints; the first
//                     entry's are absolute: uvarint id, zigzag t), then the value's 64 bits
//   kHistograms       id/t as kSamples, then an integer native histogram
//   kFloatHistograms  id/t as kSamples, then a float native histogram
//   kExemplars        id/t as kSamples, then the value's 64 bits and the exemplar's Labels bytes
//   kMetadata         metric family name, type byte, unit, help (length-prefixed strings)
//   kBounds           zigzag min valid time, zigzag newest sample ever taken (ms): the head's
//                     bounds from this point of the log on (a cut raised them); replay routes a
//                     later float sample older than the min valid time to out-of-order storage,
//                     as the append did
// Values are stored as their IEEE-754 bits, so every NaN (the stale marker 0x7ff0000000000002)
// survives bit for bit.
//
// Decoding never reads outside the payload, never allocates more than a small multiple of it,
// and reports malformed input as DataLoss naming the record type and the byte offset. A version
// byte other than kRecordFormatVersion is FailedPrecondition (a newer sprout wrote it).
//
// Thread-safety: the encoder is used by one thread at a time; decoding functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "metrics/tsdb/chunkenc/histogram.h"
#include "metrics/tsdb/index/labels.h"

namespace sprout::metrics::tsdb::wal {

inline constexpr uint8_t kRecordFormatVersion = 1;

// The segment log's record type bytes. On disk: never renumber.
enum RecordType : uint8_t {
  kSeries = 1,
  kSamples = 2,
  kHistograms = 3,
  kFloatHistograms = 4,
  kExemplars = 5,
  kMetadata = 6,
  kBounds = 7,
};

// Prometheus's metric types, numbered as remote write 1.0's MetricMetadata.MetricType.
enum class MetricType : uint8_t {
  kUnknown = 0,
  kCounter = 1,
  kGauge = 2,
  kHistogram = 3,
  kGaugeHistogram = 4,
  kSummary = 5,
  kInfo = 6,
  kStateset = 7,
};
// "counter", "gauge", ... as the Prometheus metadata API writes them ("unknown" otherwise).
std::string_view MetricTypeName(MetricType type);

struct SeriesEntry {
  uint32_t id = 0;
  Labels labels;
};
struct SampleEntry {
  uint32_t id = 0;
  int64_t t = 0;
  uint64_t value_bits = 0;
};
struct HistogramEntry {
  uint32_t id = 0;
  int64_t t = 0;
  chunkenc::Histogram h;
};
struct FloatHistogramEntry {
  uint32_t id = 0;
  int64_t t = 0;
  chunkenc::FloatHistogram h;
};
struct ExemplarEntry {
  uint32_t id = 0;
  int64_t t = 0;
  uint64_t value_bits = 0;
  Labels labels;
};
struct BoundsEntry {
  int64_t min_valid_time = 0;
  int64_t newest_sample = 0;
};
struct MetadataEntry {
  std::string metric_family;
  MetricType type = MetricType::kUnknown;
  std::string unit;
  std::string help;
};

// Builds one record payload of one type, entry by entry. Reuses its buffer between records.
class RecordBuilder {
 public:
  // Starts a record (writes the version byte); forgets the previous entry's id and t.
  void Start();
  void AddSeries(uint32_t id, std::string_view labels_bytes);
  void AddSample(uint32_t id, int64_t t, uint64_t value_bits);
  void AddHistogram(uint32_t id, int64_t t, const chunkenc::Histogram& h);
  void AddFloatHistogram(uint32_t id, int64_t t, const chunkenc::FloatHistogram& h);
  void AddExemplar(uint32_t id, int64_t t, uint64_t value_bits, std::string_view labels_bytes);
  void AddMetadata(std::string_view metric_family, MetricType type, std::string_view unit,
                   std::string_view help);
  void AddBounds(int64_t min_valid_time, int64_t newest_sample);

  // Entries added since Start().
  size_t entries() const { return entries_; }
  // The payload so far (valid until the next Start/Add).
  std::string_view data() const { return buf_; }

 private:
  void IdAndTime(uint32_t id, int64_t t);

  std::string buf_;
  size_t entries_ = 0;
  uint32_t prev_id_ = 0;
  int64_t prev_t_ = 0;
};

// Decoders: replace *out with the payload's entries.
absl::Status DecodeSeries(std::string_view payload, std::vector<SeriesEntry>* out);
absl::Status DecodeSamples(std::string_view payload, std::vector<SampleEntry>* out);
absl::Status DecodeHistograms(std::string_view payload, std::vector<HistogramEntry>* out);
absl::Status DecodeFloatHistograms(std::string_view payload, std::vector<FloatHistogramEntry>* out);
absl::Status DecodeExemplars(std::string_view payload, std::vector<ExemplarEntry>* out);
absl::Status DecodeMetadata(std::string_view payload, std::vector<MetadataEntry>* out);
absl::Status DecodeBounds(std::string_view payload, std::vector<BoundsEntry>* out);

}  // namespace sprout::metrics::tsdb::wal
