// The bit-level primitives every chunk encoding is built from (docs/format/chunks.md, "Bit
// stream"): a writer and a reader of bit fields stored most significant bit first, LEB128
// varints inside the stream, the "varbit" bucketed signed integers used for delta-of-deltas, and
// the XOR codec for doubles.
//
// Both sides work on whole 64-bit words: a write ORs the field into one big-endian word loaded at
// the current byte (the buffer keeps 8 zero bytes of slack past the last written bit, and bytes
// past the written bits are always zero); a read loads the word at the current byte and shifts.
// Fields wider than 56 bits are split in two. Nothing is virtual and everything is inline.
//
// The reader never reads outside its buffer: bits past the end read as zeros and position()
// keeps counting, so a decoder checks overrun() once per sample instead of once per field.
//
// Thread-safety: a BitWriter is used by one thread; a BitReader is a cursor owned by one thread
// over bytes that must not change while it reads.
#pragma once

#include <algorithm>
#include <cassert>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace sprout::metrics::chunkenc {

namespace bits_internal {

inline uint64_t LoadBE64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

inline void StoreBE64(uint8_t* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

}  // namespace bits_internal

class BitWriter {
 public:
  // The first `header_bytes` bytes are zero and left to the caller (PatchByte); bits follow.
  explicit BitWriter(size_t header_bytes)
      : buf_(new uint8_t[header_bytes + 8 + 16]()),
        size_(static_cast<uint32_t>(header_bytes + 8 + 16)),
        bits_(static_cast<uint32_t>(header_bytes * 8)) {}
  BitWriter(const BitWriter& o) : buf_(new uint8_t[o.size_]), size_(o.size_), bits_(o.bits_) {
    std::memcpy(buf_.get(), o.buf_.get(), size_);
  }
  BitWriter& operator=(const BitWriter& o) {
    if (this != &o) *this = BitWriter(o);
    return *this;
  }
  BitWriter(BitWriter&&) noexcept = default;
  BitWriter& operator=(BitWriter&&) noexcept = default;

  // Appends the low `n` bits of `v` (0 <= n <= 64), most significant first.
  void Write(uint64_t v, int n) {
    if (n > 56) {
      WriteSmall(v >> 32, n - 32);
      v &= 0xffffffffu;
      n = 32;
    }
    if (n > 0) WriteSmall(v, n);
  }
  void WriteBit(bool bit) { WriteSmall(bit ? 1 : 0, 1); }

  void WriteUvarint(uint64_t v) {
    while (v >= 0x80) {
      WriteSmall((v & 0x7f) | 0x80, 8);
      v >>= 7;
    }
    WriteSmall(v, 8);
  }
  void WriteVarint(int64_t v) {  // zigzag
    WriteUvarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }

  void PatchByte(size_t index, uint8_t b) { buf_[index] = b; }

  size_t bit_size() const { return bits_; }
  size_t byte_size() const { return (bits_ + 7) / 8; }
  std::string_view bytes() const {
    return std::string_view(reinterpret_cast<const char*>(buf_.get()), byte_size());
  }
  // Capacity held, for memory accounting.
  size_t allocated_bytes() const { return size_; }

 private:
  void WriteSmall(uint64_t v, int n) {  // 1 <= n <= 56
    size_t byte = bits_ >> 3;
    if (byte + 8 > size_) Grow(byte + 8);
    uint64_t w = bits_internal::LoadBE64(&buf_[byte]);
    w |= (v << (64 - n)) >> (bits_ & 7);
    bits_internal::StoreBE64(&buf_[byte], w);
    bits_ += static_cast<uint32_t>(n);
  }

  // Grows by a quarter (at least 16 bytes), rounded up to 16 bytes (the allocator's size
  // classes), and exactly to that size: the head keeps one open chunk per series, so doubling
  // would leave up to half of every buffer unused.
  // A pointer and two 32-bit sizes instead of a std::vector: 8 bytes less per open chunk.
  void Grow(size_t need) {
    size_t n = std::max(need, size_t{size_} + std::max<size_t>(16, size_ / 4));
    n = (n + 15) & ~size_t{15};
    assert(n <= UINT32_MAX);
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[n]);
    std::memcpy(bigger.get(), buf_.get(), size_);
    std::memset(bigger.get() + size_, 0, n - size_);
    buf_ = std::move(bigger);
    size_ = static_cast<uint32_t>(n);
  }

  std::unique_ptr<uint8_t[]> buf_;  // zero past bits_, at least 8 bytes past bits_ / 8
  uint32_t size_;                   // bytes allocated
  uint32_t bits_;
};

class BitReader {
 public:
  BitReader() = default;
  BitReader(std::string_view bytes, size_t start_bit)
      : data_(reinterpret_cast<const uint8_t*>(bytes.data())),
        size_(bytes.size()),
        pos_(start_bit) {}

  // The next 64 bits (at least 57 of them meaningful); zeros past the end.
  uint64_t Peek() const {
    size_t byte = pos_ >> 3;
    uint64_t w;
    if (byte + 8 <= size_) {
      w = bits_internal::LoadBE64(data_ + byte);
    } else {
      w = 0;
      for (size_t i = 0; i < 8 && byte + i < size_; ++i) {
        w |= static_cast<uint64_t>(data_[byte + i]) << (56 - 8 * i);
      }
    }
    return w << (pos_ & 7);
  }

  // Reads `n` bits, 0 <= n <= 64.
  uint64_t Read(int n) {
    if (n > 56) {
      uint64_t hi = ReadSmall(n - 32);
      return (hi << 32) | ReadSmall(32);
    }
    return n == 0 ? 0 : ReadSmall(n);
  }
  bool ReadBit() { return ReadSmall(1) != 0; }
  void Skip(int n) { pos_ += n; }

  // Reads a LEB128 varint; false when it is longer than 10 bytes or overflows 64 bits.
  bool ReadUvarint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      uint64_t b = ReadSmall(8);
      if (shift == 63 && b > 1) return false;
      v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        *out = v;
        return true;
      }
    }
    return false;
  }
  bool ReadVarint(int64_t* out) {
    uint64_t u;
    if (!ReadUvarint(&u)) return false;
    *out = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }

  size_t position() const { return pos_; }
  size_t size_bits() const { return size_ * 8; }
  bool overrun() const { return pos_ > size_ * 8; }
  // Bits left (0 after an overrun).
  size_t remaining() const { return overrun() ? 0 : size_ * 8 - pos_; }

 private:
  uint64_t ReadSmall(int n) {  // 1 <= n <= 56
    uint64_t v = Peek() >> (64 - n);
    pos_ += n;
    return v;
  }

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;
};

// Varbit: a signed integer in one of six buckets, chosen by a unary prefix.
//   0                 the value 0
//   10    + 5 bits    [-16, 15]
//   110   + 9 bits    [-256, 255]
//   1110  + 16 bits   [-32768, 32767]
//   11110 + 32 bits   [-2^31, 2^31 - 1]
//   11111 + 64 bits   any
// Values are two's complement in their bucket's width. Sized for millisecond delta-of-deltas:
// scrape jitter of a few ms fits the 7-bit form, a change of scrape interval the 19-bit one.
inline constexpr int kVarbitWidths[5] = {5, 9, 16, 32, 64};

inline void WriteVarbit(BitWriter& w, int64_t v) {
  if (v == 0) {
    w.Write(0, 1);
    return;
  }
  for (int i = 0; i < 4; ++i) {
    int width = kVarbitWidths[i];
    int64_t lo = -(int64_t{1} << (width - 1));
    if (v >= lo && v < -lo) {
      uint64_t prefix = (uint64_t{1} << (i + 2)) - 2;  // i+1 ones then a zero
      uint64_t field = static_cast<uint64_t>(v) & ((uint64_t{1} << width) - 1);
      w.Write((prefix << width) | field, i + 2 + width);
      return;
    }
  }
  w.Write(0x1f, 5);
  w.Write(static_cast<uint64_t>(v), 64);
}

inline int64_t ReadVarbit(BitReader& r) {
  int ones = std::countl_one(r.Peek());
  if (ones == 0) {
    r.Skip(1);
    return 0;
  }
  if (ones >= 5) {
    r.Skip(5);
    return static_cast<int64_t>(r.Read(64));
  }
  r.Skip(ones + 1);
  int width = kVarbitWidths[ones - 1];
  uint64_t field = r.Read(width);
  return static_cast<int64_t>(field << (64 - width)) >> (64 - width);  // sign-extend
}

// XOR codec for doubles (Gorilla): each value is XORed with the previous one's bits.
//   0                                   equal bits
//   10 + m bits                         the meaningful bits, in the window of the last '11'
//   11 + 5 bits lead + 6 bits m + m bits  a new window: lead leading zeros (at most 31), m
//                                       meaningful bits (0 stands for 64)
// The writer uses the old window only when the XOR fits it and it is not longer than a new
// window would be (Gorilla always reuses a window that fits).
struct XorState {
  uint64_t prev = 0;    // bits of the previous value
  uint8_t lead = 0xff;  // window; 0xff: none yet
  uint8_t trail = 0;
};

inline void WriteXor(BitWriter& w, XorState& s, uint64_t bits) {
  uint64_t x = bits ^ s.prev;
  s.prev = bits;
  if (x == 0) {
    w.Write(0, 1);
    return;
  }
  int lead = std::countl_zero(x);
  int trail = std::countr_zero(x);
  if (lead > 31) lead = 31;
  int m = 64 - lead - trail;
  if (s.lead != 0xff && lead >= s.lead && trail >= s.trail) {
    int old_m = 64 - s.lead - s.trail;
    if (old_m <= m + 11) {
      w.Write(0b10, 2);
      w.Write(x >> s.trail, old_m);
      return;
    }
  }
  s.lead = static_cast<uint8_t>(lead);
  s.trail = static_cast<uint8_t>(trail);
  w.Write((uint64_t{0b11} << 11) | (static_cast<uint64_t>(lead) << 6) | (m & 63), 13);
  w.Write(x >> trail, m);
}

// False on bits no writer produces (a window reused before any was set, lead + m > 64).
inline bool ReadXor(BitReader& r, XorState& s) {
  uint64_t top = r.Peek();
  if ((top >> 63) == 0) {
    r.Skip(1);
    return true;
  }
  if ((top >> 62) == 0b10) {
    r.Skip(2);
    if (s.lead == 0xff) return false;
    int m = 64 - s.lead - s.trail;
    s.prev ^= r.Read(m) << s.trail;
    return true;
  }
  r.Skip(2);
  uint64_t hdr = r.Read(11);
  int lead = static_cast<int>(hdr >> 6);
  int m = static_cast<int>(hdr & 63);
  if (m == 0) m = 64;
  if (lead + m > 64) return false;
  int trail = 64 - lead - m;
  s.lead = static_cast<uint8_t>(lead);
  s.trail = static_cast<uint8_t>(trail);
  s.prev ^= r.Read(m) << trail;
  return true;
}

// Delta-of-delta state of an integer field (timestamps, integer histogram counts). Sample 0 is
// written by the caller; sample 1 as a delta; later samples as the change of the delta. All
// arithmetic wraps (two's complement), so any sequence of int64 round-trips.
struct DodState {
  uint64_t prev = 0;
  uint64_t delta = 0;
};

}  // namespace sprout::metrics::chunkenc
