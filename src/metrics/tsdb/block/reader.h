// Reading a block (docs/format/metrics-block.md) from an objstore::ObjectStore.
//
// IndexReader parses an `index` file held in memory: it checks the header, the table of contents
// and every section's CRC32C once at Open, decodes the symbol table, the sampled series offsets
// and the label index (name → values → where each postings list starts) into small arrays, and
// decodes series entries and postings lists lazily from the bytes on each call.
//
// BlockReader::Open reads `<block>/meta.json` (refusing a newer format version with
// FailedPrecondition) and loads the whole index with one ranged read (GetRange) — the index is
// kept in memory for the reader's lifetime; reading only the sections a query needs is future
// work. Chunks are read lazily, one GetRange per chunk (a second one only for a chunk longer than
// the first read), after the segment file's header was read and checked once and cached.
//
// Semantics: series references are the series' positions in label order (0 … numSeries−1).
// Select follows MemPostings::Select (Prometheus's PostingsForMatchers): matchers that do not
// match "" intersect the union of their values' lists; matchers that match "" subtract the union
// of the lists of the values they reject (name=~".*" is skipped); with only the latter, start
// from every series; no matchers select nothing. LabelNames/LabelValues without matchers come
// from the label index; with matchers, from the series Select picks.
//
// Corrupt input: any byte of any file may be wrong. Every call returns a Status error (DataLoss
// naming the block, the file and what is wrong; NotFound for a missing meta.json; the store's
// error for a failed read), never crashes, loops or allocates more than a small multiple of the
// bytes it read. Postings iterators report corruption through Err().
//
// Thread-safety: IndexReader and BlockReader are immutable after Open; every method may be
// called from any thread concurrently (BlockReader's segment-header cache has its own mutex).
// Returned string_views point into the loaded index and live as long as the reader. The store
// must outlive the BlockReader.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "metrics/tsdb/block/format.h"
#include "metrics/tsdb/block/meta.h"
#include "metrics/tsdb/chunkenc/chunk.h"
#include "metrics/tsdb/index/labels.h"
#include "metrics/tsdb/index/matcher.h"
#include "metrics/tsdb/index/postings.h"
#include "objstore/object_store.h"

namespace sprout::metrics::tsdb {

class IndexReader {
 public:
  // Takes the whole index file. DataLoss for anything malformed, FailedPrecondition for an
  // index format version newer than this code reads.
  static absl::StatusOr<std::unique_ptr<IndexReader>> Open(std::string bytes);

  uint64_t num_series() const { return num_series_; }
  size_t num_symbols() const { return symbols_.size(); }
  size_t size_bytes() const { return data_.size(); }
  // The bytes of one section (without its CRC), for size reports.
  uint64_t section_bytes(block_format::Section s) const { return sections_[s].size(); }
  size_t num_label_pairs() const { return value_symbols_.size(); }

  // Every label name, sorted.
  std::vector<std::string_view> LabelNames() const;
  // Every value of `name`, sorted ({} for an unknown name).
  std::vector<std::string_view> LabelValues(std::string_view name) const;
  // With matchers: names / values of `name` of the series the matchers select.
  absl::StatusOr<std::vector<std::string_view>> LabelNames(std::span<const Matcher> matchers) const;
  absl::StatusOr<std::vector<std::string_view>> LabelValues(
      std::string_view name, std::span<const Matcher> matchers) const;

  // The series with label name=value (empty iterator when none).
  std::unique_ptr<PostingsIterator> Postings(std::string_view name, std::string_view value) const;
  // Every series.
  std::unique_ptr<PostingsIterator> AllPostings() const;
  absl::StatusOr<std::vector<SeriesRef>> Select(std::span<const Matcher> matchers) const;

  // The labels and chunk metas (ref and range; no bytes) of series `ref`. NotFound for a ref
  // past the last series; DataLoss for a corrupt entry.
  absl::Status Series(SeriesRef ref, Labels* labels, std::vector<ChunkMeta>* chunks) const;

 private:
  IndexReader() = default;
  struct NameEntry {
    uint32_t name;   // symbol
    uint32_t first;  // index into value_symbols_ / list_offsets_
    uint32_t count;
  };

  absl::Status Parse();
  absl::Status ParseSymbols();
  absl::Status ParseSeriesOffsets();
  absl::Status ParseLabelIndex();
  const NameEntry* FindName(std::string_view name) const;
  std::unique_ptr<PostingsIterator> ListAt(uint32_t pair) const;
  // The lists of the values of m.name() for which m.Matches(value) == want.
  void CollectLists(const Matcher& m, bool want,
                    std::vector<std::unique_ptr<PostingsIterator>>* out) const;
  absl::Status SeriesEntry(SeriesRef ref, std::string_view* entry) const;
  // The (name, value) symbol pairs of an entry; `rest` gets the bytes after them.
  absl::Status LabelRefs(SeriesRef ref, std::string_view entry,
                         std::vector<std::pair<uint32_t, uint32_t>>* refs,
                         std::string_view* rest) const;

  std::string data_;
  std::string_view sections_[block_format::kNumSections];
  std::vector<std::string_view> symbols_;
  uint64_t num_series_ = 0;
  uint64_t stride_ = block_format::kSeriesStride;
  std::vector<uint64_t> series_offsets_;  // of every stride-th series in the series section
  std::vector<NameEntry> names_;          // sorted by name
  std::vector<uint32_t> value_symbols_;   // per label pair, sorted within each name
  std::vector<uint64_t> list_offsets_;    // per label pair, into the postings section
};

// A chunk read from a segment: its encoding and payload (CRC checked).
struct BlockChunk {
  chunkenc::Encoding encoding = chunkenc::Encoding::kNone;
  std::string payload;
  // Over `payload`, which must outlive it.
  std::unique_ptr<chunkenc::Iterator> NewIterator() const {
    return chunkenc::NewIterator(encoding, payload);
  }
};

class BlockReader {
 public:
  // `block_prefix` is the block's key prefix ("tenant/01J…", no trailing '/'). NotFound when it
  // has no meta.json (not a block, or an upload not finished). `store` must outlive the reader.
  static absl::StatusOr<std::unique_ptr<BlockReader>> Open(objstore::ObjectStore* store,
                                                           std::string block_prefix);

  const BlockMeta& meta() const { return meta_; }
  const IndexReader& index() const { return *index_; }
  const std::string& prefix() const { return prefix_; }

  absl::StatusOr<std::vector<std::string_view>> LabelNames(
      std::span<const Matcher> matchers = {}) const;
  absl::StatusOr<std::vector<std::string_view>> LabelValues(
      std::string_view name, std::span<const Matcher> matchers = {}) const;
  std::unique_ptr<PostingsIterator> Postings(std::string_view name, std::string_view value) const {
    return index_->Postings(name, value);
  }
  absl::StatusOr<std::vector<SeriesRef>> Select(std::span<const Matcher> matchers) const;
  absl::Status Series(SeriesRef ref, Labels* labels, std::vector<ChunkMeta>* chunks) const;

  // The chunk at `ref` (from Series). DataLoss for a ref that points at no valid record, a CRC
  // mismatch, a missing segment or a bad segment header.
  absl::StatusOr<BlockChunk> ReadChunk(ChunkRef ref) const;

 private:
  BlockReader(objstore::ObjectStore* store, std::string prefix)
      : store_(store), prefix_(std::move(prefix)) {}
  absl::Status Annotated(const absl::Status& s) const;
  // A segment whose header is valid: its size and a reader kept open for its chunks (cached).
  struct Segment {
    uint64_t size = 0;
    std::shared_ptr<objstore::RangeReader> reader;
  };
  absl::StatusOr<Segment> OpenSegment(uint32_t segment) const;

  objstore::ObjectStore* const store_;
  const std::string prefix_;
  BlockMeta meta_;
  std::unique_ptr<IndexReader> index_;
  mutable std::mutex mu_;
  mutable absl::flat_hash_map<uint32_t, Segment> segments_;
};

}  // namespace sprout::metrics::tsdb
