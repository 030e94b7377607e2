// Byte-level helpers of the block format (docs/format/metrics-block.md, "Conventions"):
// little-endian fixed-width integers, LEB128 uvarints, zigzag varints, and a bounds-checked
// decoder for reading untrusted bytes. Internal to src/metrics/tsdb/block.
//
// Decoder never reads outside the span it was given: every read returns false (and reads
// nothing) when the bytes run out or a varint is longer than 10 bytes or overflows 64 bits.
//
// Thread-safety: pure functions; a Decoder belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/coding.h"

namespace sprout::metrics::tsdb::block_internal {

inline void PutUvarint(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline void PutVarint(std::string* out, int64_t v) { PutUvarint(out, ZigZag(v)); }

inline void PutFixed32(std::string* out, uint32_t v) {
  char buf[4];
  PutU32(buf, v);
  out->append(buf, 4);
}

inline void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  PutU64(buf, v);
  out->append(buf, 8);
}

inline size_t UvarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

class Decoder {
 public:
  Decoder() = default;
  explicit Decoder(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }
  const char* position() const { return p_; }

  bool Uvarint(uint64_t* v) {
    uint64_t result = 0;
    const char* p = p_;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p == end_) return false;
      const uint8_t b = static_cast<uint8_t>(*p++);
      if (shift == 63 && b > 1) return false;  // more than 64 bits
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        p_ = p;
        *v = result;
        return true;
      }
    }
    return false;  // longer than 10 bytes
  }

  bool Varint(int64_t* v) {
    uint64_t u;
    if (!Uvarint(&u)) return false;
    *v = UnZigZag(u);
    return true;
  }

  bool Byte(uint8_t* v) {
    if (p_ == end_) return false;
    *v = static_cast<uint8_t>(*p_++);
    return true;
  }

  bool Fixed32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = GetU32(p_);
    p_ += 4;
    return true;
  }

  bool Fixed64(uint64_t* v) {
    if (remaining() < 8) return false;
    *v = GetU64(p_);
    p_ += 8;
    return true;
  }

  bool Bytes(uint64_t n, std::string_view* out) {
    if (n > remaining()) return false;
    *out = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  bool Skip(uint64_t n) {
    if (n > remaining()) return false;
    p_ += n;
    return true;
  }

 private:
  const char* p_ = nullptr;
  const char* end_ = nullptr;
};

}  // namespace sprout::metrics::tsdb::block_internal
