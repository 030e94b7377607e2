// What a block or head reader needs to decode any chunk: the encoding byte, one iterator
// interface over every encoding, and the factory that picks the decoder.
//
// A stored chunk is its encoding byte followed by its payload (docs/format/chunks.md); block
// formats may keep the byte apart from the payload, hence NewIterator(encoding, payload) beside
// NewIteratorFromRecord(byte + payload).
//
// Errors: a payload that no appender could have written (truncated, garbage, unknown encoding)
// ends the iteration early with Next()/Seek() returning kNone and Err() saying why
// (absl DataLoss, or InvalidArgument for an unknown encoding). Decoding never reads outside the
// payload, allocates at most a small multiple of its size and visits at most the sample count
// in its header, so every iteration terminates.
//
// Thread-safety: an iterator belongs to one thread. Iterators only read the payload bytes,
// which must outlive them and must not change while they run (see README.md for chunks still
// being appended).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "metrics/tsdb/chunkenc/histogram.h"

namespace sprout::metrics::chunkenc {

// The encoding byte. Values are on disk: never renumber.
enum class Encoding : uint8_t {
  kNone = 0,            // never written
  kXor = 1,             // FloatChunk
  kHistogram = 2,       // HistogramChunk (integer counts)
  kFloatHistogram = 3,  // FloatHistogramChunk
};

// Name for messages ("xor", "histogram", "float histogram", "unknown(7)").
std::string EncodingName(Encoding e);

// What the iterator is positioned at.
enum class ValueType : uint8_t {
  kNone = 0,  // before the first Next(), past the end, or after an error
  kFloat,
  kHistogram,
  kFloatHistogram,
};

class Iterator {
 public:
  virtual ~Iterator() = default;

  // Moves to the next sample; kNone at the end or on an error (see Err()).
  virtual ValueType Next() = 0;
  // Moves forward to the first sample with a timestamp >= t and returns its type. Never moves
  // back: when the current sample's timestamp is already >= t it stays. kNone when no later
  // sample qualifies (the iterator is then exhausted) or on an error. Seek before the first
  // Next() starts from the first sample.
  virtual ValueType Seek(int64_t t) = 0;

  // The current sample. Only valid after Next()/Seek() returned the matching type; for other
  // types At() returns {AtT(), 0} and the histogram accessors leave *h unchanged.
  virtual std::pair<int64_t, double> At() const { return {AtT(), 0}; }
  // Fills *h (its vectors are reused: no allocation once they are large enough); returns the
  // timestamp. AtFloatHistogram also converts an integer histogram.
  virtual int64_t AtHistogram(Histogram* h) const { return AtT(); }
  virtual int64_t AtFloatHistogram(FloatHistogram* h) const { return AtT(); }
  virtual int64_t AtT() const = 0;

  // OK unless the payload was found corrupt.
  virtual const absl::Status& Err() const = 0;
};

// A decoder for `payload` (the bytes after the encoding byte), which must outlive it. Never null:
// an unknown encoding gives an iterator whose first Next() returns kNone with Err() set.
std::unique_ptr<Iterator> NewIterator(Encoding encoding, std::string_view payload);
// The same for a stored chunk: the encoding byte, then the payload. An empty record is an error.
std::unique_ptr<Iterator> NewIteratorFromRecord(std::string_view record);

}  // namespace sprout::metrics::chunkenc
