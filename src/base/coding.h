// Little-endian fixed-width integers in byte buffers: the one encoding every on-disk format of
// ours uses (segment log, remote-write WAL cursor and records, docs/format/*.md) and the hash of
// series labels reads its words in.
//
// Get* read from and Put* write to at least sizeof(T) bytes at the pointer; neither checks
// bounds nor alignment (callers check lengths first). A memcpy of the whole word compiles to one
// load or store; a big-endian host swaps the bytes, so the bytes are the same on every host.
//
// Thread-safety: pure functions.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace sprout {

namespace coding_internal {

// std::byteswap is C++23.
inline uint16_t ByteSwap(uint16_t v) { return __builtin_bswap16(v); }
inline uint32_t ByteSwap(uint32_t v) { return __builtin_bswap32(v); }
inline uint64_t ByteSwap(uint64_t v) { return __builtin_bswap64(v); }

template <typename T>
inline T Load(const char* in) {
  T v;
  std::memcpy(&v, in, sizeof(T));
  if constexpr (std::endian::native == std::endian::big) v = ByteSwap(v);
  return v;
}

template <typename T>
inline void Store(char* out, T v) {
  if constexpr (std::endian::native == std::endian::big) v = ByteSwap(v);
  std::memcpy(out, &v, sizeof(T));
}

}  // namespace coding_internal

inline uint16_t GetU16(const char* in) { return coding_internal::Load<uint16_t>(in); }
inline uint32_t GetU32(const char* in) { return coding_internal::Load<uint32_t>(in); }
inline uint64_t GetU64(const char* in) { return coding_internal::Load<uint64_t>(in); }

inline void PutU16(char* out, uint16_t v) { coding_internal::Store(out, v); }
inline void PutU32(char* out, uint32_t v) { coding_internal::Store(out, v); }
inline void PutU64(char* out, uint64_t v) { coding_internal::Store(out, v); }

// Protobuf-style unsigned varints (7 bits a byte, low group first, high bit = more follow):
// the bytes UvarintLength(v) counts and PutUvarint appends to `out`.
inline size_t UvarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void PutUvarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

}  // namespace sprout
