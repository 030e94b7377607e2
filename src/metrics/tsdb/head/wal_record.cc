#include "metrics/tsdb/head/wal_record.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/coding.h"

namespace sprout::metrics::tsdb::wal {
namespace {

using chunkenc::BucketSpan;
using chunkenc::CounterResetHint;

inline void PutUvarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }
inline void PutVarint(std::string& out, int64_t v) { PutUvarint(out, ZigZag(v)); }
inline void PutFixed64(std::string& out, uint64_t v) {
  char b[8];
  PutU64(b, v);
  out.append(b, 8);
}
inline void PutDouble(std::string& out, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  PutFixed64(out, bits);
}
inline void PutString(std::string& out, std::string_view s) {
  PutUvarint(out, s.size());
  out.append(s);
}

void PutSpans(std::string& out, const std::vector<BucketSpan>& spans) {
  PutUvarint(out, spans.size());
  for (const BucketSpan& s : spans) {
    PutVarint(out, s.offset);
    PutUvarint(out, s.length);
  }
}

// A cursor over a payload that records the first failure.
class Reader {
 public:
  Reader(std::string_view data, const char* what) : data_(data), what_(what) {}

  bool done() const { return pos_ >= data_.size(); }
  size_t left() const { return data_.size() - pos_; }
  const absl::Status& status() const { return status_; }

  bool Fail(std::string_view why) {
    if (status_.ok()) {
      status_ = absl::DataLossError(
          absl::StrCat("metrics WAL: ", what_, " record: ", std::string(why), " at byte ", pos_));
    }
    pos_ = data_.size();
    return false;
  }

  bool Uvarint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= data_.size()) return Fail("truncated varint");
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && b > 1) return Fail("varint overflows 64 bits");
      v |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) {
        *out = v;
        return true;
      }
    }
    return Fail("varint too long");
  }
  bool Varint(int64_t* out) {
    uint64_t u = 0;
    if (!Uvarint(&u)) return false;
    *out = UnZigZag(u);
    return true;
  }
  bool Fixed64(uint64_t* out) {
    if (left() < 8) return Fail("truncated 64-bit value");
    *out = GetU64(data_.data() + pos_);
    pos_ += 8;
    return true;
  }
  bool Double(double* out) {
    uint64_t bits = 0;
    if (!Fixed64(&bits)) return false;
    std::memcpy(out, &bits, 8);
    return true;
  }
  bool Byte(uint8_t* out) {
    if (left() < 1) return Fail("truncated byte");
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool Bytes(std::string_view* out) {
    uint64_t len = 0;
    if (!Uvarint(&len)) return false;
    if (len > left()) return Fail("length past the end of the record");
    *out = data_.substr(pos_, len);
    pos_ += len;
    return true;
  }
  // A count of items that each take at least one byte: bounded by what is left.
  bool Count(uint64_t* out) {
    if (!Uvarint(out)) return false;
    if (*out > left()) return Fail("count larger than the record");
    return true;
  }
  bool Labels(tsdb::Labels* out) {
    std::string_view bytes;
    if (!Bytes(&bytes)) return false;
    absl::StatusOr<tsdb::Labels> labels = tsdb::Labels::FromBytes(bytes);
    if (!labels.ok()) return Fail(absl::StrCat("bad labels: ", labels.status().message()));
    *out = *std::move(labels);
    return true;
  }

  // The entry's id and time: absolute for the first entry, deltas afterwards.
  bool IdAndTime(uint32_t* id, int64_t* t) {
    if (first_) {
      uint64_t raw_id = 0;
      if (!Uvarint(&raw_id) || !Varint(&prev_t_)) return false;
      if (raw_id > UINT32_MAX) return Fail("series id above 32 bits");
      prev_id_ = static_cast<int64_t>(raw_id);
      first_ = false;
    } else {
      int64_t did = 0, dt = 0;
      if (!Varint(&did) || !Varint(&dt)) return false;
      // prev_id_ is in [0, 2^32): check before adding (a delta near ±2^63 would overflow).
      if (did < -prev_id_ || did > int64_t{UINT32_MAX} - prev_id_) {
        return Fail("series id out of range");
      }
      prev_id_ += did;
      prev_t_ = static_cast<int64_t>(static_cast<uint64_t>(prev_t_) + static_cast<uint64_t>(dt));
    }
    *id = static_cast<uint32_t>(prev_id_);
    *t = prev_t_;
    return true;
  }

  bool Spans(std::vector<BucketSpan>* spans) {
    uint64_t n = 0;
    if (!Count(&n)) return false;
    spans->resize(n);
    for (BucketSpan& s : *spans) {
      int64_t offset = 0;
      uint64_t length = 0;
      if (!Varint(&offset) || !Uvarint(&length)) return false;
      if (offset < INT32_MIN || offset > INT32_MAX || length > UINT32_MAX) {
        return Fail("span out of range");
      }
      s.offset = static_cast<int32_t>(offset);
      s.length = static_cast<uint32_t>(length);
    }
    return true;
  }

  bool Version() {
    uint8_t v = 0;
    if (!Byte(&v)) return false;
    if (v != kRecordFormatVersion) {
      status_ = absl::FailedPreconditionError(
          absl::StrCat("metrics WAL: ", what_, " record has format version ", v,
                       " (this sprout reads version ", kRecordFormatVersion, ")"));
      pos_ = data_.size();
      return false;
    }
    return true;
  }

 private:
  std::string_view data_;
  const char* what_;
  size_t pos_ = 0;
  absl::Status status_;
  bool first_ = true;
  int64_t prev_id_ = 0;
  int64_t prev_t_ = 0;
};

// Schema -53 only, after the buckets: the count, then each custom value's 8 bytes.
template <typename H>
void PutCustomValues(std::string& buf, const H& h) {
  if (!h.UsesCustomBuckets()) return;
  PutUvarint(buf, h.custom_values.size());
  for (double v : h.custom_values) PutDouble(buf, v);
}

template <typename H, typename ReadCount>
bool ReadHistogram(Reader& r, H* h, ReadCount read_count) {
  uint8_t hint = 0;
  int64_t schema = 0;
  if (!r.Byte(&hint) || !r.Varint(&schema) || !r.Double(&h->zero_threshold)) return false;
  if (hint > 3) return r.Fail("bad counter-reset hint");
  if (schema < INT32_MIN || schema > INT32_MAX) return r.Fail("schema out of range");
  h->reset_hint = static_cast<CounterResetHint>(hint);
  h->schema = static_cast<int32_t>(schema);
  if (!read_count(&h->zero_count) || !read_count(&h->count) || !r.Double(&h->sum)) return false;
  if (!r.Spans(&h->positive_spans) || !r.Spans(&h->negative_spans)) return false;
  for (auto* buckets : {&h->positive_buckets, &h->negative_buckets}) {
    uint64_t n = 0;
    if (!r.Count(&n)) return false;
    buckets->resize(n);
    for (auto& b : *buckets) {
      if (!read_count(&b)) return false;
    }
  }
  h->custom_values.clear();
  if (h->schema == chunkenc::kCustomBucketsSchema) {
    uint64_t n = 0;
    if (!r.Count(&n)) return false;
    h->custom_values.resize(n);
    for (double& v : h->custom_values) {
      if (!r.Double(&v)) return false;
    }
  }
  return true;
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kGaugeHistogram:
      return "gaugehistogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kInfo:
      return "info";
    case MetricType::kStateset:
      return "stateset";
    default:
      return "unknown";
  }
}

void RecordBuilder::Start() {
  buf_.clear();
  buf_.push_back(static_cast<char>(kRecordFormatVersion));
  entries_ = 0;
}

void RecordBuilder::IdAndTime(uint32_t id, int64_t t) {
  if (entries_ == 0) {
    PutUvarint(buf_, id);
    PutVarint(buf_, t);
  } else {
    PutVarint(buf_, static_cast<int64_t>(id) - static_cast<int64_t>(prev_id_));
    PutVarint(buf_,
              static_cast<int64_t>(static_cast<uint64_t>(t) - static_cast<uint64_t>(prev_t_)));
  }
  prev_id_ = id;
  prev_t_ = t;
  ++entries_;
}

void RecordBuilder::AddSeries(uint32_t id, std::string_view labels_bytes) {
  PutUvarint(buf_, id);
  PutString(buf_, labels_bytes);
  ++entries_;
}

void RecordBuilder::AddSample(uint32_t id, int64_t t, uint64_t value_bits) {
  IdAndTime(id, t);
  PutFixed64(buf_, value_bits);
}

void RecordBuilder::AddHistogram(uint32_t id, int64_t t, const chunkenc::Histogram& h) {
  IdAndTime(id, t);
  buf_.push_back(static_cast<char>(h.reset_hint));
  PutVarint(buf_, h.schema);
  PutDouble(buf_, h.zero_threshold);
  PutUvarint(buf_, h.zero_count);
  PutUvarint(buf_, h.count);
  PutDouble(buf_, h.sum);
  PutSpans(buf_, h.positive_spans);
  PutSpans(buf_, h.negative_spans);
  for (const auto* buckets : {&h.positive_buckets, &h.negative_buckets}) {
    PutUvarint(buf_, buckets->size());
    for (uint64_t b : *buckets) PutUvarint(buf_, b);
  }
  PutCustomValues(buf_, h);
}

void RecordBuilder::AddFloatHistogram(uint32_t id, int64_t t, const chunkenc::FloatHistogram& h) {
  IdAndTime(id, t);
  buf_.push_back(static_cast<char>(h.reset_hint));
  PutVarint(buf_, h.schema);
  PutDouble(buf_, h.zero_threshold);
  PutDouble(buf_, h.zero_count);
  PutDouble(buf_, h.count);
  PutDouble(buf_, h.sum);
  PutSpans(buf_, h.positive_spans);
  PutSpans(buf_, h.negative_spans);
  for (const auto* buckets : {&h.positive_buckets, &h.negative_buckets}) {
    PutUvarint(buf_, buckets->size());
    for (double b : *buckets) PutDouble(buf_, b);
  }
  PutCustomValues(buf_, h);
}

void RecordBuilder::AddExemplar(uint32_t id, int64_t t, uint64_t value_bits,
                                std::string_view labels_bytes) {
  IdAndTime(id, t);
  PutFixed64(buf_, value_bits);
  PutString(buf_, labels_bytes);
}

void RecordBuilder::AddMetadata(std::string_view metric_family, MetricType type,
                                std::string_view unit, std::string_view help) {
  PutString(buf_, metric_family);
  buf_.push_back(static_cast<char>(type));
  PutString(buf_, unit);
  PutString(buf_, help);
  ++entries_;
}

void RecordBuilder::AddBounds(int64_t min_valid_time, int64_t newest_sample) {
  PutVarint(buf_, min_valid_time);
  PutVarint(buf_, newest_sample);
  ++entries_;
}

absl::Status DecodeSeries(std::string_view payload, std::vector<SeriesEntry>* out) {
  out->clear();
  Reader r(payload, "series");
  if (!r.Version()) return r.status();
  while (!r.done()) {
    SeriesEntry e;
    uint64_t id = 0;
    if (!r.Uvarint(&id)) break;
    if (id > UINT32_MAX) {
      r.Fail("series id above 32 bits");
      break;
    }
    e.id = static_cast<uint32_t>(id);
    if (!r.Labels(&e.labels)) break;
    out->push_back(std::move(e));
  }
  return r.status();
}

absl::Status DecodeSamples(std::string_view payload, std::vector<SampleEntry>* out) {
  out->clear();
  Reader r(payload, "samples");
  if (!r.Version()) return r.status();
  while (!r.done()) {
    SampleEntry e;
    if (!r.IdAndTime(&e.id, &e.t) || !r.Fixed64(&e.value_bits)) break;
    out->push_back(e);
  }
  return r.status();
}

absl::Status DecodeHistograms(std::string_view payload, std::vector<HistogramEntry>* out) {
  out->clear();
  Reader r(payload, "histograms");
  if (!r.Version()) return r.status();
  while (!r.done()) {
    HistogramEntry e;
    if (!r.IdAndTime(&e.id, &e.t)) break;
    if (!ReadHistogram(r, &e.h, [&](uint64_t* v) { return r.Uvarint(v); })) break;
    out->push_back(std::move(e));
  }
  return r.status();
}

absl::Status DecodeFloatHistograms(std::string_view payload,
                                   std::vector<FloatHistogramEntry>* out) {
  out->clear();
  Reader r(payload, "float histograms");
  if (!r.Version()) return r.status();
  while (!r.done()) {
    FloatHistogramEntry e;
    if (!r.IdAndTime(&e.id, &e.t)) break;
    if (!ReadHistogram(r, &e.h, [&](double* v) { return r.Double(v); })) break;
    out->push_back(std::move(e));
  }
  return r.status();
}

absl::Status DecodeExemplars(std::string_view payload, std::vector<ExemplarEntry>* out) {
  out->clear();
  Reader r(payload, "exemplars");
  if (!r.Version()) return r.status();
  while (!r.done()) {
    ExemplarEntry e;
    if (!r.IdAndTime(&e.id, &e.t) || !r.Fixed64(&e.value_bits) || !r.Labels(&e.labels)) break;
    out->push_back(std::move(e));
  }
  return r.status();
}

absl::Status DecodeMetadata(std::string_view payload, std::vector<MetadataEntry>* out) {
  out->clear();
  Reader r(payload, "metadata");
  if (!r.Version()) return r.status();
  while (!r.done()) {
    std::string_view name, unit, help;
    uint8_t type = 0;
    if (!r.Bytes(&name) || !r.Byte(&type) || !r.Bytes(&unit) || !r.Bytes(&help)) break;
    if (type > static_cast<uint8_t>(MetricType::kStateset)) {
      r.Fail("unknown metric type");
      break;
    }
    out->push_back(MetadataEntry{std::string(name), static_cast<MetricType>(type),
                                 std::string(unit), std::string(help)});
  }
  return r.status();
}

absl::Status DecodeBounds(std::string_view payload, std::vector<BoundsEntry>* out) {
  out->clear();
  Reader r(payload, "bounds");
  if (!r.Version()) return r.status();
  while (!r.done()) {
    BoundsEntry e;
    if (!r.Varint(&e.min_valid_time) || !r.Varint(&e.newest_sample)) break;
    out->push_back(e);
  }
  return r.status();
}

}  // namespace sprout::metrics::tsdb::wal
