#include "metrics/tsdb/chunkenc/histogram_chunk.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "base/coding.h"

namespace sprout::metrics::chunkenc {

namespace {

constexpr size_t kHeaderBytes = 3;  // u16 little-endian sample count, flags byte
constexpr uint8_t kHintMask = 0x03;

template <typename C>
uint64_t CountBits(C v) {
  if constexpr (std::is_same_v<C, double>) {
    return std::bit_cast<uint64_t>(v);
  } else {
    return v;
  }
}

}  // namespace

template <typename H>
BasicHistogramChunk<H>::BasicHistogramChunk(CounterResetHint hint) : w_(kHeaderBytes), hint_(hint) {
  w_.PatchByte(2, static_cast<uint8_t>(hint) & kHintMask);
}

template <typename H>
bool BasicHistogramChunk<H>::SameLayout(const H& h) const {
  return h.schema == schema_ && std::bit_cast<uint64_t>(h.zero_threshold) == zero_threshold_bits_ &&
         h.positive_spans == positive_spans_ && h.negative_spans == negative_spans_ &&
         SameCustomValues(h.custom_values, custom_values_);
}

template <typename H>
bool BasicHistogramChunk<H>::DecreasedFromPrevious(const H& h) const {
  auto prev = [this](size_t field) -> Count {
    if constexpr (std::is_same_v<Count, double>) {
      return std::bit_cast<double>(floats_[field].prev);
    } else {
      return ints_[field].prev;
    }
  };
  if (h.count < prev(0) || h.zero_count < prev(1)) return true;
  size_t field = 2;
  for (Count c : h.positive_buckets) {
    if (c < prev(field++)) return true;
  }
  for (Count c : h.negative_buckets) {
    if (c < prev(field++)) return true;
  }
  return false;
}

template <typename H>
void BasicHistogramChunk<H>::WriteCount(size_t field, Count v) {
  if constexpr (std::is_same_v<Count, double>) {
    WriteXor(w_, floats_[field], std::bit_cast<uint64_t>(v));
  } else {
    DodState& s = ints_[field];
    if (count_ == 0) {
      WriteVarbit(w_, static_cast<int64_t>(v));
    } else if (count_ == 1) {
      s.delta = v - s.prev;
      WriteVarbit(w_, static_cast<int64_t>(s.delta));
    } else {
      uint64_t delta = v - s.prev;
      WriteVarbit(w_, static_cast<int64_t>(delta - s.delta));
      s.delta = delta;
    }
    s.prev = v;
  }
}

template <typename H>
AppendResult BasicHistogramChunk<H>::Append(int64_t t, const H& h) {
  if (count_ >= kMaxSamples) return AppendResult::kFull;
  if (!ValidateLayout(h).ok() || !ValidateCustomBuckets(h).ok()) return AppendResult::kInvalid;
  const size_t fields = 2 + h.positive_buckets.size() + h.negative_buckets.size();
  uint64_t ut = static_cast<uint64_t>(t);
  if (count_ == 0) {
    schema_ = h.schema;
    zero_threshold_bits_ = std::bit_cast<uint64_t>(h.zero_threshold);
    positive_spans_ = h.positive_spans;
    negative_spans_ = h.negative_spans;
    w_.WriteVarint(schema_);
    w_.Write(zero_threshold_bits_, 64);
    for (const auto* spans : {&positive_spans_, &negative_spans_}) {
      w_.WriteUvarint(spans->size());
      for (const BucketSpan& s : *spans) {
        w_.WriteVarint(s.offset);
        w_.WriteUvarint(s.length);
      }
    }
    if (h.UsesCustomBuckets()) {
      custom_values_ = h.custom_values;
      w_.WriteUvarint(custom_values_.size());
      for (double v : custom_values_) w_.Write(std::bit_cast<uint64_t>(v), 64);
    }
    if constexpr (std::is_same_v<Count, double>) {
      floats_.assign(fields, XorState{});
    } else {
      ints_.assign(fields, DodState{});
    }
    w_.WriteVarint(t);
    min_t_ = t;
  } else {
    if (!SameLayout(h)) return AppendResult::kLayoutChanged;
    const bool gauge_chunk = hint_ == CounterResetHint::kGauge;
    if (h.reset_hint != CounterResetHint::kUnknown &&
        (h.reset_hint == CounterResetHint::kGauge) != gauge_chunk) {
      return AppendResult::kGaugeChanged;
    }
    if (!gauge_chunk &&
        (h.reset_hint == CounterResetHint::kCounterReset || DecreasedFromPrevious(h))) {
      return AppendResult::kCounterReset;
    }
    if (count_ == 1) {
      t_.delta = ut - t_.prev;
      w_.WriteUvarint(t_.delta);
    } else {
      uint64_t delta = ut - t_.prev;
      WriteVarbit(w_, static_cast<int64_t>(delta - t_.delta));
      t_.delta = delta;
    }
  }
  t_.prev = ut;
  WriteCount(0, h.count);
  WriteCount(1, h.zero_count);
  WriteXor(w_, sum_, std::bit_cast<uint64_t>(h.sum));
  size_t field = 2;
  for (Count c : h.positive_buckets) WriteCount(field++, c);
  for (Count c : h.negative_buckets) WriteCount(field++, c);
  ++count_;
  w_.PatchByte(0, static_cast<uint8_t>(count_));
  w_.PatchByte(1, static_cast<uint8_t>(count_ >> 8));
  return AppendResult::kAppended;
}

template class BasicHistogramChunk<Histogram>;
template class BasicHistogramChunk<FloatHistogram>;

HistogramChunkIterator::HistogramChunkIterator(Encoding encoding, std::string_view payload)
    : float_(encoding == Encoding::kFloatHistogram),
      type_(float_ ? ValueType::kFloatHistogram : ValueType::kHistogram) {
  if (payload.size() < kHeaderBytes) {
    Fail(absl::StrCat("payload of ", payload.size(), " bytes is shorter than its header"));
    return;
  }
  total_ = GetU16(payload.data());
  uint8_t flags = static_cast<uint8_t>(payload[2]);
  if ((flags & ~kHintMask) != 0) {
    Fail(absl::StrCat("unknown flags 0x", absl::Hex(flags)));
    return;
  }
  hint_ = static_cast<CounterResetHint>(flags & kHintMask);
  r_ = BitReader(payload, kHeaderBytes * 8);
}

ValueType HistogramChunkIterator::Fail(std::string_view what) {
  if (err_.ok()) {
    err_ = absl::DataLossError(
        absl::StrCat(float_ ? "float histogram" : "histogram", " chunk: ", std::string(what)));
  }
  done_ = true;
  return ValueType::kNone;
}

bool HistogramChunkIterator::ReadSpans(std::vector<BucketSpan>* spans, uint64_t* buckets) {
  uint64_t n;
  if (!r_.ReadUvarint(&n)) return false;
  // Each span takes at least two bytes: a count beyond that is garbage, not an allocation.
  if (n > r_.remaining() / 16) return false;
  spans->resize(n);
  for (BucketSpan& s : *spans) {
    int64_t offset;
    uint64_t length;
    if (!r_.ReadVarint(&offset) || !r_.ReadUvarint(&length)) return false;
    if (offset != static_cast<int32_t>(offset) || length > UINT32_MAX) return false;
    s.offset = static_cast<int32_t>(offset);
    s.length = static_cast<uint32_t>(length);
    *buckets += length;
  }
  return true;
}

bool HistogramChunkIterator::ReadLayout() {
  int64_t schema;
  if (!r_.ReadVarint(&schema) || schema != static_cast<int32_t>(schema)) return false;
  schema_ = static_cast<int32_t>(schema);
  zero_threshold_ = std::bit_cast<double>(r_.Read(64));
  uint64_t buckets = 0;
  if (!ReadSpans(&positive_spans_, &buckets)) return false;
  positive_count_ = buckets;
  if (!ReadSpans(&negative_spans_, &buckets)) return false;
  custom_values_.clear();
  if (schema_ == kCustomBucketsSchema) {
    uint64_t n;
    // Each value takes 64 bits: a count beyond the bits left is garbage, not an allocation.
    if (!r_.ReadUvarint(&n) || n > r_.remaining() / 64) return false;
    custom_values_.resize(n);
    for (double& v : custom_values_) v = std::bit_cast<double>(r_.Read(64));
    // The appender wrote only valid custom buckets: anything else is damage.
    Histogram layout;
    layout.schema = schema_;
    layout.zero_threshold = zero_threshold_;
    layout.positive_spans = positive_spans_;
    layout.negative_spans = negative_spans_;
    layout.custom_values = custom_values_;
    if (!negative_spans_.empty() || !ValidateCustomBuckets(layout).ok()) return false;
  }
  // Every bucket takes at least one bit per sample.
  if (r_.overrun() || buckets > r_.remaining()) return false;
  if (float_) {
    floats_.assign(2 + buckets, XorState{});
  } else {
    ints_.assign(2 + buckets, DodState{});
  }
  return true;
}

ValueType HistogramChunkIterator::Next() {
  if (done_) return ValueType::kNone;
  if (read_ >= total_) {
    done_ = true;
    if (r_.remaining() >= 8) {
      return Fail(
          absl::StrCat(r_.remaining() / 8, " bytes follow the last of ", total_, " samples"));
    }
    return ValueType::kNone;
  }
  if (read_ == 0) {
    if (!ReadLayout()) return Fail("bad bucket layout");
    int64_t t;
    if (!r_.ReadVarint(&t)) return Fail("sample 0: bad timestamp varint");
    ts_.prev = static_cast<uint64_t>(t);
  } else if (read_ == 1) {
    if (!r_.ReadUvarint(&ts_.delta)) return Fail("sample 1: bad timestamp delta varint");
    ts_.prev += ts_.delta;
  } else {
    ts_.delta += static_cast<uint64_t>(ReadVarbit(r_));
    ts_.prev += ts_.delta;
  }
  if (float_) {
    size_t n = floats_.size();
    if (!ReadXor(r_, floats_[0]) || !ReadXor(r_, floats_[1]) || !ReadXor(r_, sum_)) {
      return Fail(absl::StrCat("sample ", read_, ": bad value bits"));
    }
    for (size_t i = 2; i < n; ++i) {
      if (!ReadXor(r_, floats_[i])) return Fail(absl::StrCat("sample ", read_, ": bad bucket"));
      if (r_.overrun()) break;  // garbage: stop early, reported below
    }
  } else {
    const size_t n = ints_.size();
    auto read_int = [this](DodState& s) {
      int64_t v = ReadVarbit(r_);
      if (read_ == 0) {
        s.prev = static_cast<uint64_t>(v);
      } else if (read_ == 1) {
        s.delta = static_cast<uint64_t>(v);
        s.prev += s.delta;
      } else {
        s.delta += static_cast<uint64_t>(v);
        s.prev += s.delta;
      }
    };
    read_int(ints_[0]);
    read_int(ints_[1]);
    if (!ReadXor(r_, sum_)) return Fail(absl::StrCat("sample ", read_, ": bad sum bits"));
    for (size_t i = 2; i < n && !r_.overrun(); ++i) read_int(ints_[i]);
  }
  if (r_.overrun()) return Fail(absl::StrCat("truncated in sample ", read_, " of ", total_));
  t_ = static_cast<int64_t>(ts_.prev);
  ++read_;
  return type_;
}

ValueType HistogramChunkIterator::Seek(int64_t t) {
  if (done_) return ValueType::kNone;
  if (read_ > 0 && t_ >= t) return type_;
  while (Next() != ValueType::kNone) {
    if (t_ >= t) return type_;
  }
  return ValueType::kNone;
}

CounterResetHint HistogramChunkIterator::CurrentHint() const {
  if (read_ == 1) return hint_;
  return hint_ == CounterResetHint::kGauge ? CounterResetHint::kGauge
                                           : CounterResetHint::kNotCounterReset;
}

int64_t HistogramChunkIterator::AtHistogram(Histogram* h) const {
  if (float_ || read_ == 0) return t_;
  h->reset_hint = CurrentHint();
  h->schema = schema_;
  h->zero_threshold = zero_threshold_;
  h->count = ints_[0].prev;
  h->zero_count = ints_[1].prev;
  h->sum = std::bit_cast<double>(sum_.prev);
  h->positive_spans = positive_spans_;
  h->negative_spans = negative_spans_;
  h->custom_values = custom_values_;
  h->positive_buckets.resize(positive_count_);
  h->negative_buckets.resize(ints_.size() - 2 - positive_count_);
  for (size_t i = 0; i < positive_count_; ++i) h->positive_buckets[i] = ints_[2 + i].prev;
  for (size_t i = 0; i < h->negative_buckets.size(); ++i) {
    h->negative_buckets[i] = ints_[2 + positive_count_ + i].prev;
  }
  return t_;
}

int64_t HistogramChunkIterator::AtFloatHistogram(FloatHistogram* h) const {
  if (read_ == 0) return t_;
  h->reset_hint = CurrentHint();
  h->schema = schema_;
  h->zero_threshold = zero_threshold_;
  h->sum = std::bit_cast<double>(sum_.prev);
  h->positive_spans = positive_spans_;
  h->negative_spans = negative_spans_;
  h->custom_values = custom_values_;
  size_t fields = float_ ? floats_.size() : ints_.size();
  auto value = [this](size_t i) -> double {
    return float_ ? std::bit_cast<double>(floats_[i].prev) : static_cast<double>(ints_[i].prev);
  };
  h->count = value(0);
  h->zero_count = value(1);
  h->positive_buckets.resize(positive_count_);
  h->negative_buckets.resize(fields - 2 - positive_count_);
  for (size_t i = 0; i < positive_count_; ++i) h->positive_buckets[i] = value(2 + i);
  for (size_t i = 0; i < h->negative_buckets.size(); ++i) {
    h->negative_buckets[i] = value(2 + positive_count_ + i);
  }
  return t_;
}

}  // namespace sprout::metrics::chunkenc
