// BlockWriter: writes one immutable block (docs/format/metrics-block.md) into a local temporary
// directory through storage::Env, then uploads it to an objstore::ObjectStore.
//
// Use: Create(env, dir, options); AddSeries(labels, chunks) for every series in Prometheus label
// order (Labels::Compare), each with its chunks in time order; Finish(); Upload(store, prefix);
// RemoveLocal(). Series come from any source (a head being cut, a compaction's merge).
//
// Guarantees:
//  - AddSeries refuses (InvalidArgument, nothing written, the writer still usable) a series that
//    is empty, not strictly after the previous one in label order, has no chunks, a chunk with
//    min_time > max_time, chunks that overlap or are out of order (each must start after the
//    previous one ends), an unknown encoding, a payload too short for its header, or a chunk
//    outside the block's range when the options fix one. Chunk bytes are written (buffered) to
//    the segment files as they arrive; the caller's bytes are not kept.
//  - Finish writes the index and meta.json and syncs every file and both directories: when it
//    returns OK the local block survives a machine crash.
//  - Upload puts the chunk segments and the index, then meta.json last, under
//    `<prefix>/<ULID>/`. Readers (BlockReader, ListBlocks) ignore a prefix without meta.json, so
//    a crash or error mid-upload leaves no visible block (the leftovers are garbage for a
//    clean-up, not a broken block); a retried Upload rewrites every object.
//  - An I/O error is returned and sticks: every later call returns it (the temporary directory
//    is then the caller's to remove).
//
// Memory: chunk bytes are streamed, but the index is built at Finish from what AddSeries kept
// per series: the Labels (shared with the caller's, not copied), ~10 bytes per chunk, and the
// postings (4 bytes per label). Streaming that to a temporary file is future work.
//
// Thread-safety: one thread at a time (no internal locking).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "base/ulid.h"
#include "metrics/tsdb/block/format.h"
#include "metrics/tsdb/block/meta.h"
#include "metrics/tsdb/index/labels.h"
#include "objstore/object_store.h"
#include "storage/env.h"

namespace sprout::metrics::tsdb {

struct BlockWriterOptions {
  // The block's range [min_time, max_time) for meta.json. Unset: from the chunks (the first
  // chunk's min_time to the last max_time + 1). Set: every chunk must lie inside.
  std::optional<int64_t> min_time;
  std::optional<int64_t> max_time;
  // Zero: a new one (Ulid::Generate()).
  Ulid ulid;
  int compaction_level = 1;
  // Empty: the block's own ULID (a level-1 block is its own source).
  std::vector<Ulid> sources;
  std::vector<BlockParent> parents;
  // A new chunk segment is started when a record would take the current one past this.
  uint64_t segment_size = block_format::kDefaultSegmentSize;
};

class BlockWriter {
 public:
  // Makes `dir` (and its parents; kAlreadyExists when `dir` exists) and its chunks/ directory.
  // `env` must outlive the writer.
  static absl::StatusOr<std::unique_ptr<BlockWriter>> Create(storage::Env* env, std::string dir,
                                                             BlockWriterOptions options = {});
  ~BlockWriter();

  absl::Status AddSeries(const Labels& labels, std::span<const ChunkMeta> chunks);

  // Writes index and meta.json, syncs all. FailedPrecondition without series when the options
  // give no range.
  absl::Status Finish();

  // After Finish: puts the block under `<prefix>/<ULID>/` (prefix "" → `<ULID>/`), meta.json
  // last, and returns that block prefix ("tenant/01J…", no trailing '/').
  absl::StatusOr<std::string> Upload(objstore::ObjectStore* store, std::string_view prefix) const;

  // Removes the local files and directories (after Upload, or to abandon the block).
  absl::Status RemoveLocal();

  // Final after Finish (stats and range).
  const BlockMeta& meta() const { return meta_; }
  const std::string& dir() const { return dir_; }
  // Segment files written so far (1-based numbers are their positions + 1).
  uint32_t num_segments() const { return segment_; }

 private:
  BlockWriter(storage::Env* env, std::string dir, BlockWriterOptions options);

  absl::Status Validate(const Labels& labels, std::span<const ChunkMeta> chunks) const;
  absl::Status WriteChunk(const ChunkMeta& chunk, ChunkRef* ref);
  absl::Status OpenSegment();
  absl::Status FlushSegment();
  absl::Status CloseSegment();
  absl::Status WriteIndex();
  absl::Status Fail(absl::Status s);

  storage::Env* const env_;
  const std::string dir_;
  BlockWriterOptions options_;
  BlockMeta meta_;
  absl::Status error_;
  bool finished_ = false;

  // Chunk segments.
  uint32_t segment_ = 0;  // current segment's number; 0 before the first
  std::unique_ptr<storage::File> segment_file_;
  uint64_t segment_size_ = 0;  // bytes in the current segment, buffered ones included
  std::string segment_buffer_;

  // Per series, for the index.
  std::vector<Labels> series_;
  std::string chunk_metas_;                // every series' encoded chunk metas, back to back
  std::vector<uint64_t> chunk_meta_ends_;  // end offset in chunk_metas_ per series
  absl::flat_hash_set<std::string_view> symbols_;  // views into series_' buffers
  int64_t first_time_ = 0;
  int64_t last_time_ = 0;
};

// The ULIDs of the complete blocks (those with a meta.json) directly under `prefix` ("" for the
// store's root), sorted. Prefixes that are not ULIDs are ignored.
absl::StatusOr<std::vector<Ulid>> ListBlocks(objstore::ObjectStore* store, std::string_view prefix);

// "<prefix>/<ulid>" ("<ulid>" for an empty prefix).
std::string BlockPrefix(std::string_view prefix, const Ulid& ulid);

}  // namespace sprout::metrics::tsdb
