// Reading protobuf's wire format the way protobuf's own parser (3.21) reads it. The validating
// scan (wire_scan.h) and the byte-level filter (wire_filter.h) both read tags and varints only
// through these, so they can never disagree with each other or with the parser about where a
// field starts, what its number is, or whether the bytes are malformed:
//  - a tag is a varint of at most 5 bytes; bits beyond the 32nd are dropped (a 5-byte tag with
//    high bits set still names its low field number); a 6th byte is malformed;
//  - any other varint (a value or a length) has at most 10 bytes; bits beyond 64 are dropped.
// `*p` advances past what was read; on false (truncated or too long) it is left anywhere in
// [*p, end] and the caller must give up.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace sprout::otlp::wire {

constexpr int kMaxTagBytes = 5;
constexpr int kMaxVarintBytes = 10;

inline bool ReadVarint(const char** p, const char* end, uint64_t* value,
                       int max_bytes = kMaxVarintBytes) {
  if (*p < end && static_cast<uint8_t>(**p) < 0x80) {
    *value = static_cast<uint8_t>(*(*p)++);
    return true;
  }
  uint64_t result = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (*p >= end) return false;
    const uint8_t byte = static_cast<uint8_t>(*(*p)++);
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

inline bool ReadTag(const char** p, const char* end, uint32_t* tag) {
  uint64_t value;
  if (!ReadVarint(p, end, &value, kMaxTagBytes)) return false;
  *tag = static_cast<uint32_t>(value);
  return true;
}

}  // namespace sprout::otlp::wire
