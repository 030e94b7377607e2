// The segment log's on-disk layout (docs/format/segment-log.md is the reference, byte by byte,
// and changes in the same commit as these constants) and the types its reader and writer share.
//
// A log is a directory of segment files named by a 20-digit sequence number plus ".log". A
// segment starts with a 32-byte header and is cut into 32 KiB blocks; a record is stored as one
// or more chunks, none crossing a block boundary, each with its own CRC-32C. A damaged block
// costs at most the records touching it: the reader resumes at the next block boundary.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace sprout::storage::log {

constexpr uint64_t kBlockSize = 32 * 1024;
constexpr uint64_t kChunkHeaderSize = 8;  // CRC u32, length u16, chunk type u8, record type u8
constexpr uint64_t kMaxChunkPayload = kBlockSize - kChunkHeaderSize;
constexpr uint64_t kSegmentHeaderSize = 32;
constexpr uint32_t kFormatVersion = 1;
constexpr char kSegmentMagic[8] = {'s', 'p', 'r', 'o', 'u', 't', 'l', 'g'};
constexpr char kSegmentSuffix[] = ".log";
constexpr size_t kSegmentNameDigits = 20;

enum ChunkType : uint8_t {
  kFullChunk = 1,    // a whole record
  kFirstChunk = 2,   // the start of a record continued in the next chunks
  kMiddleChunk = 3,  // neither its start nor its end
  kLastChunk = 4,    // the end of a record
};

}  // namespace sprout::storage::log

namespace sprout::storage {

// A place in a log: a segment number and a byte offset in that segment. Records are ordered by
// their positions. Reading resumes at a record's `end` position.
struct LogPosition {
  uint64_t segment = 0;
  uint64_t offset = 0;
  auto operator<=>(const LogPosition&) const = default;
  std::string ToString() const;  // "segment 3 offset 4096"
};

// What a reader skipped, or what recovery cut off: never silent.
struct LogDamage {
  std::string file;      // the segment file ("" when the damage is missing files)
  uint64_t offset = 0;   // where the skipped bytes start
  uint64_t bytes = 0;    // how many bytes were skipped or cut
  uint64_t records = 0;  // records whose start was seen in them (a lower bound)
  std::string reason;    // "checksum mismatch", "torn tail cut off at open", ...
  std::string ToString() const;
};

}  // namespace sprout::storage
