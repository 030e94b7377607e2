// Native histogram chunks (docs/format/chunks.md): HistogramChunk (Encoding::kHistogram,
// integer counts) and FloatHistogramChunk (Encoding::kFloatHistogram, float counts).
//
// One chunk has one bucket layout — schema, zero threshold, positive and negative spans, and for
// schema -53 the custom bucket boundaries — written once, before the first sample. A sample with another layout is refused (kLayoutChanged) and
// the caller starts a new chunk; layouts compare exactly (an equivalent layout written with
// other spans is another layout). Per sample: the timestamp as in the XOR chunk; integer counts
// (count, zero count, each bucket) as delta-of-deltas over time in varbit buckets; float values
// (the sum; every count of a float histogram) XORed with the same field of the previous sample.
//
// Counter resets: the chunk stores one CounterResetHint, given at construction, for its first
// sample. A counter chunk (hint other than kGauge) never holds a reset after its first sample:
// Append refuses a sample whose count, zero count or any bucket went down, or whose own hint is
// kCounterReset (kCounterReset), and the caller starts a new chunk with the hint kCounterReset.
// A gauge chunk (kGauge) accepts any values. Iterators report the chunk's hint on the first
// sample, then kNotCounterReset (counter chunks) or kGauge.
//
// Thread-safety: as FloatChunk (one writer; see README.md).
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "metrics/tsdb/chunkenc/bit_stream.h"
#include "metrics/tsdb/chunkenc/chunk.h"
#include "metrics/tsdb/chunkenc/histogram.h"

namespace sprout::metrics::chunkenc {

enum class AppendResult : uint8_t {
  kAppended = 0,
  kFull,           // kMaxSamples reached: start a new chunk
  kLayoutChanged,  // schema, zero threshold, spans or custom bounds differ: start a new chunk
  kCounterReset,   // a reset in a counter chunk: start a new chunk with hint kCounterReset
  kGaugeChanged,   // a gauge sample (hint kGauge) in a counter chunk or the reverse
  kInvalid,        // buckets do not match the spans (ValidateLayout) or bad custom buckets
                   // (ValidateCustomBuckets): the sample is bad
};

template <typename H>
class BasicHistogramChunk {
 public:
  using Count = decltype(H::count);
  static constexpr int kMaxSamples = 65535;
  static constexpr Encoding kEncoding =
      std::is_same_v<H, Histogram> ? Encoding::kHistogram : Encoding::kFloatHistogram;

  explicit BasicHistogramChunk(CounterResetHint hint = CounterResetHint::kUnknown);

  // Appends `h` at time `t` unless the result says why not (then nothing is appended). h's own
  // reset_hint is only checked (see above), never stored.
  [[nodiscard]] AppendResult Append(int64_t t, const H& h);

  CounterResetHint reset_hint() const { return hint_; }
  int num_samples() const { return count_; }
  bool full() const { return count_ >= kMaxSamples; }
  int64_t min_time() const { return min_t_; }
  int64_t max_time() const { return static_cast<int64_t>(t_.prev); }
  std::string_view bytes() const { return w_.bytes(); }
  size_t byte_size() const { return w_.byte_size(); }
  size_t allocated_bytes() const { return w_.allocated_bytes(); }

 private:
  bool SameLayout(const H& h) const;
  bool DecreasedFromPrevious(const H& h) const;
  void WriteCount(size_t field, Count v);

  BitWriter w_;
  CounterResetHint hint_;
  int count_ = 0;
  int64_t min_t_ = 0;
  DodState t_;
  // The layout of the first sample.
  int32_t schema_ = 0;
  uint64_t zero_threshold_bits_ = 0;
  std::vector<BucketSpan> positive_spans_, negative_spans_;
  std::vector<double> custom_values_;  // schema -53 only
  // Per-field state: [0] count, [1] zero count, then positive and negative buckets in order.
  std::vector<DodState> ints_;    // integer histograms
  std::vector<XorState> floats_;  // float histograms
  XorState sum_;
};

using HistogramChunk = BasicHistogramChunk<Histogram>;
using FloatHistogramChunk = BasicHistogramChunk<FloatHistogram>;

extern template class BasicHistogramChunk<Histogram>;
extern template class BasicHistogramChunk<FloatHistogram>;

// Decodes a kHistogram or kFloatHistogram payload.
class HistogramChunkIterator final : public Iterator {
 public:
  HistogramChunkIterator(Encoding encoding, std::string_view payload);

  ValueType Next() override;
  ValueType Seek(int64_t t) override;
  int64_t AtHistogram(Histogram* h) const override;
  int64_t AtFloatHistogram(FloatHistogram* h) const override;
  int64_t AtT() const override { return t_; }
  const absl::Status& Err() const override { return err_; }

  CounterResetHint reset_hint() const { return hint_; }
  int num_samples() const { return total_; }

 private:
  ValueType Fail(std::string_view what);
  bool ReadLayout();
  bool ReadSpans(std::vector<BucketSpan>* spans, uint64_t* buckets);
  CounterResetHint CurrentHint() const;

  bool float_;
  ValueType type_;
  BitReader r_;
  absl::Status err_;
  CounterResetHint hint_ = CounterResetHint::kUnknown;
  int total_ = 0;
  int read_ = 0;
  bool done_ = false;
  int64_t t_ = 0;
  DodState ts_;
  int32_t schema_ = 0;
  double zero_threshold_ = 0;
  std::vector<BucketSpan> positive_spans_, negative_spans_;
  std::vector<double> custom_values_;  // schema -53 only
  size_t positive_count_ = 0;   // buckets on the positive side
  std::vector<DodState> ints_;  // as in the appender
  std::vector<XorState> floats_;
  XorState sum_;
};

}  // namespace sprout::metrics::chunkenc
