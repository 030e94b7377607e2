// TenantQuerier: one tenant's read view over its head and the blocks of its object-store prefix,
// for a time range [mint, maxt] (inclusive milliseconds). BlockSet: the tenant's blocks, listed
// from the store, opened when a query first needs them, cached, refreshed on demand.
//
// Guarantees:
//  - LabelNames / LabelValues / Series answer the union over the head and every block whose
//    [minTime, maxTime) overlaps the range: sorted (Series in Prometheus's label order), each
//    value once. Matchers are applied by each source (MemPostings::Select semantics: an empty
//    list selects nothing for Series/SelectSamples; LabelNames/LabelValues without matchers
//    consider every series). Only series with a chunk (blocks) or a sample (head) in the range
//    count.
//  - Select answers the same series lazily (SeriesSet), each with a SeriesIterator that merges
//    the sources chunk by chunk (read and decoded when reached; Seek skips whole chunks) with
//    SelectSamples' precedence, under a QueryLimiter's limits, cancellation and deadline.
//  - SelectSamples (built on Select) answers one series per label set, in label order; its
//    samples are those of every source in [mint, maxt], merged by time, each timestamp once.
//    When several sources hold a timestamp (blocks overlapping each other or the head after a crash
//    or an interrupted compaction), the head's sample wins, then the block with the newest ULID (as
//    the compactor's merge decides). Series without a sample in the range are left out.
//  - A block that vanished or cannot be read (deleted between list and read by a compaction or
//    retention, a failed read, corruption) never fails a query: it is skipped and a warning
//    naming it is recorded (warnings()). Its data may then be missing from the answer only when
//    it was deleted without a replacement (retention).
//
// Thread-safety: BlockSet and QueryLimiter are thread-safe. A TenantQuerier (and a SeriesSet with
// its iterators) is used by one thread at a time; many queriers may share one head and one
// BlockSet. The head and the readers (shared_ptr) must
// outlive the querier; a SampleSet keeps its readers alive and must not outlive the head.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/ulid.h"
#include "metrics/tsdb/block/bucket_index.h"
#include "metrics/tsdb/block/meta.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/chunkenc/chunk.h"
#include "metrics/tsdb/chunkenc/histogram.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/index/labels.h"
#include "metrics/tsdb/index/matcher.h"
#include "objstore/object_store.h"

namespace sprout::metrics::tsdb {

// What a Select is for. start/end (inclusive ms) narrow the querier's own [mint, maxt]; the other
// fields describe the selector for later use (Prometheus's SelectHints) and are not used yet.
struct SelectHints {
  int64_t start = INT64_MIN;
  int64_t end = INT64_MAX;
  int64_t step_ms = 0;   // the query's step (0: instant query)
  int64_t range_ms = 0;  // a range selector's range ([5m] → 300000)
  std::string func;      // the function around the selector ("rate"), if any
};

// Per-query limits and the query's cancellation and deadline, shared by every Select of one
// query (thread-safe: a query's selectors may be read on several threads). Each check returns
// an absl::Status the engine maps to its HTTP answer:
//  - ResourceExhausted with Mimir's texts for max_fetched_series_per_query
//    (err-mimir-max-series-per-query; series are counted once per label set across the query's
//    Selects, as Mimir's limiter does) and max_fetched_chunks_per_query
//    (err-mimir-max-chunks-per-query; every head and block chunk of a selected series that
//    overlaps the range counts, when the series is reached): Mimir answers both with 422;
//  - Cancelled "query was canceled in expression evaluation" after Cancel() (Prometheus's
//    ErrQueryCanceled text; 503 `canceled` in the Prometheus API);
//  - DeadlineExceeded "query timed out in expression evaluation" once the deadline passed
//    (Prometheus's ErrQueryTimeout; 503 `timeout`).
// SeriesSet checks between series, SeriesIterator before each chunk it reads.
class QueryLimiter {
 public:
  // 0: no limit.
  explicit QueryLimiter(uint64_t max_series = 0, uint64_t max_chunks = 0,
                        absl::Time deadline = absl::InfiniteFuture());

  // A series reached by a Select: counted once per label set (by hash).
  absl::Status AddSeries(const Labels& series);
  absl::Status AddChunks(uint64_t n);
  // Cancelled, else DeadlineExceeded, else OK.
  absl::Status Check() const;

  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  absl::Time deadline() const { return deadline_; }
  uint64_t series() const;
  uint64_t chunks() const { return chunks_.load(std::memory_order_relaxed); }

  // Mimir's texts (the limit value and the hint).
  static std::string MaxSeriesMessage(uint64_t limit);
  static std::string MaxChunksMessage(uint64_t limit);
  static constexpr char kCanceledMessage[] = "query was canceled in expression evaluation";
  static constexpr char kTimeoutMessage[] = "query timed out in expression evaluation";

 private:
  const uint64_t max_series_;
  const uint64_t max_chunks_;
  const absl::Time deadline_;
  std::atomic<bool> cancelled_{false};
  std::atomic<uint64_t> chunks_{0};
  mutable absl::Mutex mu_;
  absl::flat_hash_set<uint64_t> series_ ABSL_GUARDED_BY(mu_);
};

// The iterator over one series of a SeriesSet: the samples of every source (head chunks, block
// chunks) in the Select's range, merged by time, one per timestamp (the head's, else the newest
// block's). Chunks are read (blocks) and decoded only when the iteration reaches them; Seek(t)
// drops every chunk whose max time is before t without reading or decoding it. Implements
// chunkenc::Iterator: Next/Seek return the sample's type (a series may change type between
// chunks), At/AtHistogram/AtFloatHistogram/AtT read it. Err() is the limiter's error
// (cancellation, deadline) that stopped it; a block that fails is skipped with a warning on the
// SeriesSet instead. Independent of the set once taken (TakeIterator), but it shares the set's
// warnings and failed-block list: use both from one thread at a time; the QueryLimiter must
// outlive it.
class SeriesIterator final : public chunkenc::Iterator {
 public:
  ~SeriesIterator() override;
  chunkenc::ValueType Next() override;
  chunkenc::ValueType Seek(int64_t t) override;
  std::pair<int64_t, double> At() const override;
  int64_t AtHistogram(chunkenc::Histogram* h) const override;
  int64_t AtFloatHistogram(chunkenc::FloatHistogram* h) const override;
  int64_t AtT() const override { return cur_t_; }
  const absl::Status& Err() const override { return err_; }
  // Chunks of this series in the range, and how many were decoded so far.
  size_t num_chunks() const;
  size_t chunks_decoded() const { return decoded_; }

  struct Shared;
  struct ChunkDesc;
  struct Cursor;

 private:
  friend class SeriesSet;
  SeriesIterator();
  chunkenc::ValueType Settle();
  bool Open(ChunkDesc& d);
  chunkenc::ValueType Stop(absl::Status s);
  void Drop(size_t i);

  std::shared_ptr<Shared> shared_;
  int64_t mint_ = 0;
  int64_t maxt_ = 0;
  std::vector<ChunkDesc> chunks_;  // sorted by min time, then rank
  size_t next_ = 0;                // the next chunk not opened yet
  std::vector<std::unique_ptr<Cursor>> active_;
  Cursor* cur_ = nullptr;
  int64_t cur_t_ = 0;
  int64_t floor_ = 0;  // no sample below this is returned any more
  bool started_ = false;
  bool done_ = false;
  size_t decoded_ = 0;
  absl::Status err_;
};

// The answer of TenantQuerier::Select: series in label order (a k-way merge of the head's and
// every block's postings), each reached lazily; nothing is read for a series before Next()
// reaches it (then its chunk list: the head's chunk copies and the blocks' chunk metas).
class SeriesSet {
 public:
  ~SeriesSet();
  // Moves to the next series; false at the end or on an error (Err()).
  bool Next();
  const Labels& labels() const { return labels_; }
  // The current series' iterator; valid until Next().
  SeriesIterator& iterator() { return *it_; }
  // The current series' iterator, owned by the caller (valid after Next(); see SeriesIterator).
  std::unique_ptr<SeriesIterator> TakeIterator();
  // The limiter's error that ended the set (series or chunk limit, cancellation, deadline).
  const absl::Status& Err() const { return err_; }
  // Blocks skipped so far, by the set or its iterators ("skipped block <prefix>: <error>").
  const std::vector<std::string>& warnings() const;

 private:
  friend class TenantQuerier;
  SeriesSet();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Labels labels_;
  std::unique_ptr<SeriesIterator> it_;
  absl::Status err_;
};

// One sample of a merged series.
struct QuerySample {
  int64_t t = 0;
  chunkenc::ValueType type = chunkenc::ValueType::kFloat;
  double v = 0;
  chunkenc::Histogram h;        // kHistogram
  chunkenc::FloatHistogram fh;  // kFloatHistogram
};

// The answer of TenantQuerier::SelectSamples: series in label order, each merged when reached.
class SampleSet {
 public:
  ~SampleSet();
  // Moves to the next series; false at the end.
  bool Next();
  const Labels& labels() const;
  // The current series' merged samples (time order, unique timestamps); valid until Next().
  const std::vector<QuerySample>& sample_list() const;
  // An iterator over sample_list(); valid until Next().
  chunkenc::Iterator& samples();
  // Blocks skipped while reading (appended to as the set is walked).
  const std::vector<std::string>& warnings() const;

 private:
  friend class TenantQuerier;
  SampleSet();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class TenantQuerier {
 public:
  // `head` may be null (a tenant without a head on this instance). Blocks that do not overlap
  // [mint, maxt] are dropped here.
  TenantQuerier(const TenantHead* head, std::vector<std::shared_ptr<const BlockReader>> blocks,
                int64_t mint, int64_t maxt);

  std::vector<std::string> LabelNames(std::span<const Matcher> matchers);
  std::vector<std::string> LabelValues(std::string_view name, std::span<const Matcher> matchers);
  std::vector<Labels> Series(std::span<const Matcher> matchers);
  // The series `matchers` select (an empty list selects nothing) with a chunk (blocks) or a
  // sample span (head) overlapping the range, lazily: see SeriesSet. The range is the querier's
  // [mint, maxt] narrowed by hints.start/end. A series' iterator may hold no sample in the range
  // (its chunks overlap it, its samples do not). `limiter` may be null (no limits) and must
  // outlive the set and its iterators.
  std::unique_ptr<SeriesSet> Select(std::span<const Matcher> matchers,
                                    const SelectHints& hints = {}, QueryLimiter* limiter = nullptr);
  // Select, each series' samples materialised (series without a sample in the range left out).
  std::unique_ptr<SampleSet> SelectSamples(std::span<const Matcher> matchers);

  // Blocks skipped by the label and series calls ("block <prefix>: <error>").
  const std::vector<std::string>& warnings() const { return warnings_; }
  size_t num_blocks() const { return blocks_.size(); }

 private:
  // Calls `fn` with the labels of every series of `block` the matchers select (every series
  // when `all`) with a chunk in the range. False (and a warning) when the block failed.
  bool ForEachBlockSeries(const BlockReader& block, std::span<const Matcher> matchers, bool all,
                          const std::function<void(const Labels&)>& fn);
  bool Inside(const BlockReader& block) const;

  const TenantHead* head_;
  std::vector<std::shared_ptr<const BlockReader>> blocks_;  // sorted by ULID
  const int64_t mint_;
  const int64_t maxt_;
  std::vector<std::string> warnings_;
};

// The blocks under one prefix of an ObjectStore ("tenant"; a trailing '/' is ignored).
class BlockSet {
 public:
  // `store` must outlive the set; so must `bucket_index` (may be null: always list).
  BlockSet(objstore::ObjectStore* store, std::string prefix,
           TenantBucketIndex* bucket_index = nullptr);

  // Learns the blocks from the tenant's bucket index when `bucket_index` lets readers use it
  // (TenantBucketIndex::ReadForListing: synced in this process, present, undamaged, not stale),
  // taking new blocks' ranges from it (no meta.json read); otherwise lists the blocks
  // (ListBlocks) and reads the meta.json of new ones. Forgets blocks that are gone (readers
  // handed out stay valid). Blocks whose meta.json vanished or does not parse are left out (the
  // latter with a warning). A block the index lists that is gone by the time a query opens it
  // (deleted after the index was read, or before its removal reached the index) is skipped
  // without a warning. Error: the listing failed (the set is unchanged).
  absl::Status Refresh();
  // Whether the last successful Refresh used the bucket index.
  bool last_refresh_from_index() const;
  // Refresh when the last successful one is older than `max_age` (or there was none).
  absl::Status RefreshIfOlder(absl::Duration max_age);

  // Readers of the known blocks overlapping [mint, maxt], sorted by ULID, opened now when not yet
  // cached. A block that fails to open is skipped and named in `warnings` (may be null).
  std::vector<std::shared_ptr<const BlockReader>> Readers(int64_t mint, int64_t maxt,
                                                          std::vector<std::string>* warnings);
  std::vector<BlockMeta> Metas() const;
  size_t num_open() const;
  const std::string& prefix() const { return prefix_; }

 private:
  struct Entry {
    BlockMeta meta;  // from meta.json, or what the bucket index knows (range, level)
    std::shared_ptr<const BlockReader> reader;
    bool from_index = false;
  };
  absl::Status RefreshFromIndex(const BucketIndex& index);

  objstore::ObjectStore* const store_;
  const std::string prefix_;
  TenantBucketIndex* const bucket_index_;
  mutable absl::Mutex mu_;
  std::map<Ulid, Entry> blocks_ ABSL_GUARDED_BY(mu_);
  bool refreshed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_refresh_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> refresh_warnings_ ABSL_GUARDED_BY(mu_);
  bool from_index_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sprout::metrics::tsdb
