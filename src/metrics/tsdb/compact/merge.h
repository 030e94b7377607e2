// Merging the series of several blocks into one BlockWriter: the data half of a compaction.
//
// Series are merged in Prometheus label order (a k-way merge over the blocks' series, which each
// block stores in that order); a series present in several blocks becomes one. Per series, the
// chunks of all blocks are sorted by time and split into runs of chunks that overlap (a chunk
// overlaps the run when it starts at or before the run's last timestamp):
//   - a run of one chunk is copied as it is: its bytes are not decoded or re-encoded;
//   - a run of several chunks (only overlapping blocks produce one) is decoded through the
//     chunk iterators and re-encoded, in time order, into new chunks of at most
//     kMergedChunkSamples samples (a new chunk also starts when the sample type changes, or a
//     histogram chunk asks for one: layout change, counter reset, gauge/counter change).
// De-duplication: samples with the same timestamp are kept once. When their values differ
// (bit for bit for floats, field by field for histograms), the sample of the block with the
// newest ULID wins — the most recent upload is taken as the most authoritative, as a head that
// re-cut a block after a crash saw at least what the earlier cut saw. Both cases are counted.
//
// Errors: a chunk that fails to read or decode (DataLoss from the reader or the iterator) or a
// writer error stops the merge and is returned; the writer is then the caller's to abandon.
//
// Thread-safety: MergeBlocks and MergeSeriesChunks use only their arguments; the readers may be
// shared with other threads (BlockReader is thread-safe), the writer may not.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "metrics/tsdb/block/format.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"

namespace sprout::metrics::tsdb {

// Samples per re-encoded chunk (Prometheus's 120).
inline constexpr int kMergedChunkSamples = 120;

struct MergeStats {
  uint64_t series = 0;               // series written
  uint64_t chunks_copied = 0;        // written as they were read
  uint64_t chunks_reencoded = 0;     // input chunks decoded for a re-encoding
  uint64_t chunks_written = 0;       // output chunks, copied and new
  uint64_t duplicate_samples = 0;    // same timestamp and value as a kept sample: dropped
  uint64_t conflicting_samples = 0;  // same timestamp, another value: the older block's dropped

  MergeStats& operator+=(const MergeStats& o);
};

// One input chunk of a series: its meta with `bytes` set, and the rank of its block (a larger
// rank wins a conflict: the block's position when the blocks are sorted by ULID).
struct SourceChunk {
  ChunkMeta meta;
  int rank = 0;
};

// Merges one series' chunks (see the file comment) into `out` (time order, not overlapping, as
// BlockWriter::AddSeries wants). Copied chunks point at the input bytes; re-encoded chunks' bytes
// are appended to `storage`, which must outlive `out`. DataLoss for a chunk that does not decode.
absl::Status MergeSeriesChunks(std::vector<SourceChunk> chunks, std::vector<ChunkMeta>* out,
                               std::deque<std::string>* storage, MergeStats* stats);

// Merges every series of `blocks` (any order; sorted here by ULID for conflicts) into `writer`
// (AddSeries per series; the caller calls Finish).
absl::Status MergeBlocks(std::span<const BlockReader* const> blocks, BlockWriter* writer,
                         MergeStats* stats);

}  // namespace sprout::metrics::tsdb
