// The constants and small value types of the metrics block format, shared by BlockWriter and
// BlockReader. The layout is docs/format/metrics-block.md; a change here changes that file in the
// same commit.
//
// A block is three kinds of objects under one prefix `<block>/`:
//   chunks/000001, chunks/000002, …  chunk segment files (the compressed samples)
//   index                            symbols, series, postings, label index, table of contents
//   meta.json                        identity, time range, stats, compaction lineage
// meta.json is written last: a prefix without it is not a block.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "metrics/tsdb/chunkenc/chunk.h"

namespace sprout::metrics::tsdb {

// Where a chunk lives: the segment file's number (1-based) in the high 32 bits, the byte offset
// of its record in that file in the low 32 bits.
using ChunkRef = uint64_t;

inline constexpr ChunkRef MakeChunkRef(uint32_t segment, uint32_t offset) {
  return (uint64_t{segment} << 32) | offset;
}
inline constexpr uint32_t ChunkRefSegment(ChunkRef ref) { return static_cast<uint32_t>(ref >> 32); }
inline constexpr uint32_t ChunkRefOffset(ChunkRef ref) { return static_cast<uint32_t>(ref); }

// One chunk of a series. For BlockWriter::AddSeries: the time range of its samples (inclusive),
// its encoding and its payload bytes (the bytes after the encoding byte; chunkenc's `bytes()`);
// `ref` is ignored. From BlockReader::Series: `ref` says where to read it, `bytes` is empty.
struct ChunkMeta {
  int64_t min_time = 0;
  int64_t max_time = 0;
  chunkenc::Encoding encoding = chunkenc::Encoding::kNone;
  std::string_view bytes;
  ChunkRef ref = 0;
};

namespace block_format {

// "SPIX" and "SPCK" as they appear in the files (u32 little-endian values).
inline constexpr uint32_t kIndexMagic = 0x58495053;
inline constexpr uint32_t kChunksMagic = 0x4B435053;
inline constexpr uint8_t kIndexVersion = 1;
inline constexpr uint8_t kChunksVersion = 1;
// magic u32, version u8, three zero bytes.
inline constexpr size_t kHeaderSize = 8;

// The index's sections in file order, and its table of contents: (offset u64, length u64) per
// section, then a CRC32C of those bytes.
enum Section { kSymbols = 0, kSeries, kSeriesOffsets, kPostings, kLabelIndex, kNumSections };
inline constexpr size_t kTocSize = kNumSections * 16 + 4;

// Every kSeriesStride-th series' offset is in the series-offsets section.
inline constexpr uint64_t kSeriesStride = 16;

// A new chunk segment is started when a record would take the current one past this size.
inline constexpr uint64_t kDefaultSegmentSize = uint64_t{512} << 20;

// meta.json's "version" this code writes and the newest it reads.
inline constexpr int kMetaVersion = 1;

inline constexpr std::string_view kMetaFile = "meta.json";
inline constexpr std::string_view kIndexFile = "index";
inline constexpr std::string_view kChunksDir = "chunks";

// "000001" for segment 1.
std::string SegmentName(uint32_t segment);

}  // namespace block_format
}  // namespace sprout::metrics::tsdb
