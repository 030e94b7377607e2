// FloatChunk: float samples in the XOR encoding (Encoding::kXor, docs/format/chunks.md):
// timestamps as a varint, a delta, then delta-of-deltas in varbit buckets; values as 64 raw
// bits, then XORs with the previous value (Gorilla). Every double, each NaN payload (the stale
// marker 0x7ff0000000000002 included), the infinities and -0.0 round-trip bit for bit.
//
// Contract: the caller appends timestamps in strictly increasing order (the head checks order
// and duplicates before appending). The encoding itself round-trips any int64 sequence; only
// Seek() and min_time()/max_time() assume the order. A chunk holds at most kMaxSamples samples;
// when to cut one earlier (Prometheus cuts at 120 samples) is the caller's choice.
//
// Thread-safety: one writer. bytes() is valid until the next Append. See README.md for reading
// a chunk that is still being appended.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "base/coding.h"
#include "metrics/tsdb/chunkenc/bit_stream.h"
#include "metrics/tsdb/chunkenc/chunk.h"

namespace sprout::metrics::chunkenc {

class FloatChunk {
 public:
  static constexpr int kMaxSamples = 65535;  // the header's u16 count
  static constexpr Encoding kEncoding = Encoding::kXor;

  FloatChunk();

  // Appends one sample; false (and nothing appended) when the chunk already holds kMaxSamples.
  [[nodiscard]] bool Append(int64_t t, double v);

  // The count lives only in the payload's header and the first timestamp only in the stream:
  // an open chunk per series in the head is 48 bytes plus its buffer.
  int num_samples() const { return GetU16(w_.bytes().data()); }
  bool full() const { return num_samples() >= kMaxSamples; }
  // Timestamps of the first and last sample; 0 for an empty chunk.
  int64_t min_time() const;
  int64_t max_time() const { return static_cast<int64_t>(t_.prev); }
  // The payload: header and bit stream, exactly byte_size() bytes.
  std::string_view bytes() const { return w_.bytes(); }
  size_t byte_size() const { return w_.byte_size(); }
  size_t allocated_bytes() const { return w_.allocated_bytes(); }

 private:
  BitWriter w_;
  DodState t_;
  XorState v_;
};

// Decodes a kXor payload. Usable directly (no virtual call per sample when the static type is
// known) or through NewIterator().
class FloatChunkIterator final : public Iterator {
 public:
  explicit FloatChunkIterator(std::string_view payload);

  ValueType Next() override;
  ValueType Seek(int64_t t) override;
  std::pair<int64_t, double> At() const override;
  int64_t AtT() const override { return t_; }
  const absl::Status& Err() const override { return err_; }

  int num_samples() const { return total_; }

 private:
  ValueType Fail(std::string_view what);

  BitReader r_;
  absl::Status err_;
  int total_ = 0;
  int read_ = 0;       // samples decoded so far
  bool done_ = false;  // past the end or failed
  int64_t t_ = 0;
  DodState ts_;
  XorState v_;
};

}  // namespace sprout::metrics::chunkenc
