// Internal to sprout_traces_block: the byte-level vocabulary shared by the writer, the reader and
// the tests (column ids, object headers, varint/zigzag helpers and a bounds-checked decoder).
// The bytes are documented in docs/format/traces-block.md; change both together.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "base/coding.h"

namespace sprout::traces::block::format {

inline constexpr char kDataMagic[4] = {'S', 'P', 'T', 'D'};
inline constexpr char kIndexMagic[4] = {'S', 'P', 'T', 'I'};
inline constexpr char kBloomMagic[4] = {'S', 'P', 'T', 'B'};
inline constexpr size_t kHeaderSize = 8;  // magic + u32 version

// Chunk identity: `scope` is kFixedScope for the fixed columns (then `sub` is a Col), else an
// AttrScope value with `key` the key's number in the page's key table of that scope and `sub` an
// AttrSub.
inline constexpr uint8_t kFixedScope = 0xFF;
inline constexpr int kScopes = 5;

enum Col : uint8_t {
  // trace level (one value per trace)
  kTraceId = 0,       // 16 raw bytes
  kTraceSpans,        // uvarint span count
  kTraceStart,        // zigzag varint: start - previous trace's start (first: - 0)
  kTraceDuration,     // zigzag varint end - start
  kTraceRootService,  // uvarint index into kTraceRootServiceDict
  kTraceRootServiceDict,
  kTraceRootName,  // uvarint index into kTraceRootNameDict
  kTraceRootNameDict,
  kTraceGroups,  // per trace: uvarint #resource groups; per group: uvarint resource ref,
                 // uvarint #scope groups; per scope group: uvarint scope ref, uvarint #spans
  // span level (one value per span, in row order)
  kSpanId,         // 8 raw bytes (spans whose ID is not 8 bytes: none here, see kSpanIdExc)
  kSpanBits,       // uvarint bit set: SpanBit
  kSpanIdExc,      // uvarint length + bytes, for spans with kBitIrregularId
  kSpanParent,     // uvarint: 0 no parent in the trace, i+1 the trace's i-th span
  kSpanParentExc,  // uvarint length + bytes, for spans with kBitParentRaw
  kSpanLeft,       // uvarint nested-set left
  kSpanRight,      // uvarint nested-set right
  kSpanStart,      // uvarint start - trace start
  kSpanDuration,   // zigzag varint end - start
  kSpanName,       // uvarint dictionary index
  kSpanNameDict,
  kSpanKind,        // zigzag varint
  kSpanStatusCode,  // zigzag varint (0 without status)
  kSpanStatusMsg,   // uvarint dictionary index (only for spans with kBitHasStatus)
  kSpanStatusMsgDict,
  kSpanTraceState,  // uvarint dictionary index
  kSpanTraceStateDict,
  kSpanFlags,            // uvarint
  kSpanDroppedAttrs,     // uvarint
  kSpanDroppedEvents,    // uvarint
  kSpanDroppedLinks,     // uvarint
  kSpanEventCount,       // uvarint
  kSpanLinkCount,        // uvarint
  // event rows
  kEventTime,  // zigzag varint: time - span start
  kEventName,  // uvarint dictionary index
  kEventNameDict,
  kEventDropped,  // uvarint
  // link rows
  kLinkTraceId,  // uvarint length + bytes; length 0xFF... see kLinkBits
  kLinkBits,     // uvarint: bit 0 trace ID equals the span's trace ID (kLinkTraceId skipped)
  kLinkSpanId,   // uvarint length + bytes
  kLinkTraceState,  // uvarint dictionary index
  kLinkTraceStateDict,
  kLinkFlags,    // uvarint
  kLinkDropped,  // uvarint
  // resource table rows
  kResBits,    // uvarint: bit 0 has resource
  kResSchema,  // uvarint dictionary index (ResourceSpans.schema_url)
  kResSchemaDict,
  kResDropped,  // uvarint
  kResExtra,    // uvarint length + serialized Resource holding only what is not columned
  // scope table rows
  kScopeBits,  // uvarint: bit 0 has scope
  kScopeName,  // uvarint dictionary index
  kScopeNameDict,
  kScopeVersion,  // uvarint dictionary index
  kScopeVersionDict,
  kScopeSchema,  // uvarint dictionary index (ScopeSpans.schema_url)
  kScopeSchemaDict,
  kScopeDropped,  // uvarint
  // per attribute scope s (0..4): the row's key list id, and the key-list dictionary
  kKeyList0,  // kKeyList0 + s: uvarint key-list id per row of scope s
  kKeyListDict0 = kKeyList0 + kScopes,  // + s: per list uvarint n, n uvarint key numbers
  kColCount = kKeyListDict0 + kScopes,
};

enum SpanBit : uint32_t {
  kBitHasStatus = 1,
  kBitIrregularId = 2,
  kBitParentRaw = 4,
};

// Value types in an attribute column's type stream.
enum ValueType : uint8_t {
  kTypeNone = 0,    // KeyValue without a value
  kTypeString = 1,  // kSubStr / kSubStrDict
  kTypeBool = 2,    // kSubBool (1 byte)
  kTypeInt = 3,     // kSubInt (zigzag varint)
  kTypeDouble = 4,  // kSubDouble (8 bytes little endian)
  kTypeRaw = 5,     // kSubRaw: uvarint length + serialized AnyValue (bytes, arrays, kvlists, empty)
  kTypeCount = 6,
};

enum AttrSub : uint8_t {
  kSubType = 0,
  kSubStr = 1,
  kSubStrDict = 2,
  kSubInt = 3,
  kSubDouble = 4,
  kSubBool = 5,
  kSubRaw = 6,
  kSubCount = 7,
};

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline void PutBytes(std::string& out, std::string_view b) {
  PutUvarint(out, b.size());
  out.append(b.data(), b.size());
}

inline void PutFixed32(std::string& out, uint32_t v) {
  char b[4];
  PutU32(b, v);
  out.append(b, 4);
}

// A bounds-checked cursor over decoded bytes: every read fails (returns false and sets `bad`)
// instead of reading past the end.
class Decoder {
 public:
  Decoder() = default;
  explicit Decoder(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool ok() const { return !bad_; }
  bool done() const { return p_ == end_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  const char* pos() const { return p_; }

  bool Uvarint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail();
      const uint8_t b = static_cast<uint8_t>(*p_++);
      r |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) {
        *v = r;
        return true;
      }
    }
    return Fail();
  }
  // A uvarint that must be <= max.
  bool Bounded(uint64_t max, uint64_t* v) { return Uvarint(v) && (*v <= max || Fail()); }
  bool U32(uint32_t* v) {
    uint64_t x;
    if (!Bounded(0xffffffffu, &x)) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool Varint(int64_t* v) {
    uint64_t x;
    if (!Uvarint(&x)) return false;
    *v = UnZigZag(x);
    return true;
  }
  bool Raw(size_t n, std::string_view* out) {
    if (left() < n) return Fail();
    *out = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  bool Bytes(std::string_view* out) {
    uint64_t n;
    return Uvarint(&n) && (n <= left() || Fail()) && Raw(static_cast<size_t>(n), out);
  }
  bool Fixed32(uint32_t* v) {
    std::string_view s;
    if (!Raw(4, &s)) return false;
    *v = GetU32(s.data());
    return true;
  }
  bool Fixed64(uint64_t* v) {
    std::string_view s;
    if (!Raw(8, &s)) return false;
    *v = GetU64(s.data());
    return true;
  }
  bool Fail() {
    bad_ = true;
    p_ = end_;
    return false;
  }

 private:
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  bool bad_ = false;
};

}  // namespace sprout::traces::block::format
