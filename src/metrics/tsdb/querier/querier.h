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
//  - SelectSamples answers one series per label set, in label order; its samples are those of
//    every source in [mint, maxt], merged by time, each timestamp once. When several sources hold
//    a timestamp (blocks overlapping each other or the head after a crash or an interrupted
//    compaction), the head's sample wins, then the block with the newest ULID (as the
//    compactor's merge decides). Series without a sample in the range are left out.
//  - A block that vanished or cannot be read (deleted between list and read by a compaction or
//    retention, a failed read, corruption) never fails a query: it is skipped and a warning
//    naming it is recorded (warnings()). Its data may then be missing from the answer only when
//    it was deleted without a replacement (retention).
//
// Thread-safety: BlockSet is thread-safe. A TenantQuerier is used by one thread at a time; many
// queriers may share one head and one BlockSet. The head and the readers (shared_ptr) must
// outlive the querier; a SampleSet keeps its readers alive and must not outlive the head.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "base/ulid.h"
#include "metrics/tsdb/block/meta.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/chunkenc/chunk.h"
#include "metrics/tsdb/chunkenc/histogram.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/index/labels.h"
#include "metrics/tsdb/index/matcher.h"
#include "objstore/object_store.h"

namespace sprout::metrics::tsdb {

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
  // `store` must outlive the set.
  BlockSet(objstore::ObjectStore* store, std::string prefix);

  // Lists the blocks (ListBlocks) and reads the meta.json of new ones; forgets blocks that are
  // gone (readers handed out stay valid). Blocks whose meta.json vanished or does not parse are
  // left out (the latter with a warning). Error: the listing failed (the set is unchanged).
  absl::Status Refresh();
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
    BlockMeta meta;
    std::shared_ptr<const BlockReader> reader;
  };
  objstore::ObjectStore* const store_;
  const std::string prefix_;
  mutable absl::Mutex mu_;
  std::map<Ulid, Entry> blocks_ ABSL_GUARDED_BY(mu_);
  bool refreshed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_refresh_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> refresh_warnings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sprout::metrics::tsdb
