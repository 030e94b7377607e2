// The per-tenant bucket index: `<prefix>/bucket-index.json.gz`, Mimir's file listing a tenant's
// complete blocks (docs/format/metrics-bucket-index.md), so that readers learn the blocks from one
// object instead of listing the bucket and probing every block's meta.json.
//
// Format (gzip of one JSON object, Mimir's field names):
//   {"version":2,"blocks":[{"block_id":"01J…","min_time":…,"max_time":…,
//     "segments_format":"1b6d","segments_num":1,"uploaded_at":…,"compaction_level":1}],
//    "block_deletion_marks":[],"updated_at":…}
// Times of blocks in milliseconds ([min_time, max_time)); uploaded_at, updated_at and
// deletion_time in Unix seconds. Versions 1 and 2 are read (2 only added compactor_shard_id);
// 2 is written. Fields sprout does not use (compactor_shard_id, source, out_of_order, labels)
// are read and written back as they were.
//
// TenantBucketIndex: the one writer of a tenant's index in the process, and the readers' gate.
// - Writers call Update(added, removed) after every change of the tenant's blocks (a block
//   uploaded, blocks deleted): the change is applied to the in-memory copy and the whole file
//   is Put (atomic: a reader sees the old index or the new one). Resync() rebuilds the copy from
//   a listing (ListBlocks, meta.json of blocks not yet known) and Puts it.
// - The in-memory copy is trusted to match the bucket only after a Resync in this process
//   (never at start: a crash between a block change and its index update leaves the file behind
//   the bucket) and while every Put since succeeded. A failed Put or listing is reported through
//   `on_failure` and never returned to the caller's caller: the change itself is done.
// - Readers call ReadForListing(): the index read from the bucket, when this process trusts it
//   (synced), the Get works, it parses, and it is not older than max_stale_period; otherwise an
//   error saying why (NotFound, DataLoss, FailedPrecondition "stale" / "not synced"), and the
//   reader lists the bucket instead (ListBlocks). Readers must tolerate a listed block that is
//   gone (deleted after its index update was written, or before it).
//
// Thread-safety: TenantBucketIndex is thread-safe (one mutex: Update and Resync are serialised,
// Resync holds it from its listing to its Put so that no change is lost between them). The free
// functions are pure or only use their arguments.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/ulid.h"
#include "metrics/tsdb/block/meta.h"
#include "objstore/object_store.h"

namespace sprout::metrics::tsdb {

inline constexpr char kBucketIndexFile[] = "bucket-index.json.gz";
inline constexpr int kBucketIndexVersion = 2;
// Mimir's SegmentsFormat1Based6Digits: segments chunks/000001 … chunks/<segments_num>.
inline constexpr char kSegmentsFormat1Based6Digits[] = "1b6d";
// A gzip'd index inflating beyond this is refused as damaged (about 300 bytes per block: a
// million blocks).
inline constexpr size_t kMaxBucketIndexBytes = size_t{256} << 20;

struct BucketIndexBlock {
  Ulid ulid;                    // block_id
  int64_t min_time = 0;         // ms, inclusive
  int64_t max_time = 0;         // ms, exclusive
  int64_t uploaded_at = 0;      // Unix seconds: meta.json's last-modified time
  std::string segments_format;  // "" (unknown) or "1b6d"
  int64_t segments_num = 0;
  int compaction_level = 0;  // 0: not given
  // Read and written back, not used by sprout.
  std::string compactor_shard_id;
  std::string source;
  bool out_of_order = false;
  std::map<std::string, std::string> labels;

  friend bool operator==(const BucketIndexBlock&, const BucketIndexBlock&) = default;
};

struct BucketIndexDeletionMark {
  Ulid ulid;                  // block_id
  int64_t deletion_time = 0;  // Unix seconds
  friend bool operator==(const BucketIndexDeletionMark&, const BucketIndexDeletionMark&) = default;
};

struct BucketIndex {
  int version = kBucketIndexVersion;
  std::vector<BucketIndexBlock> blocks;  // sorted by ULID when sprout wrote them
  std::vector<BucketIndexDeletionMark> block_deletion_marks;
  int64_t updated_at = 0;  // Unix seconds

  friend bool operator==(const BucketIndex&, const BucketIndex&) = default;
};

// "<prefix>/bucket-index.json.gz" ("bucket-index.json.gz" for an empty prefix).
std::string BucketIndexKey(std::string_view prefix);

// Compact JSON (Go's encoding/json layout: no spaces, fields in Mimir's order, empty optional
// fields left out). Blocks and marks are written sorted by ULID.
std::string BucketIndexToJson(const BucketIndex& index);
// InvalidArgument for JSON that is not a bucket index (a block_id that is not a ULID, a field of
// the wrong type, min_time > max_time); FailedPrecondition for a version above 2. A block listed
// twice is kept once (the later entry); the result is sorted by ULID.
absl::StatusOr<BucketIndex> ParseBucketIndex(std::string_view json);

// gzip (as Mimir writes it) of BucketIndexToJson, and the reverse: DataLoss for bytes that are
// not gzip or inflate beyond kMaxBucketIndexBytes, then ParseBucketIndex's errors.
absl::StatusOr<std::string> EncodeBucketIndex(const BucketIndex& index);
absl::StatusOr<BucketIndex> DecodeBucketIndex(std::string_view gz);

// The index entry of a block: range and level from its meta; segments "1b6d" × `segments` when
// known (> 0); `uploaded_at` in Unix seconds.
BucketIndexBlock IndexBlockFromMeta(const BlockMeta& meta, int64_t segments,
                                    absl::Time uploaded_at);
// What the index knows of a block as a BlockMeta (ulid, range, level; no stats, no sources).
BlockMeta MetaFromIndexBlock(const BucketIndexBlock& block);

// Get + decode. NotFound when there is none; DataLoss (naming the key) when it is damaged.
absl::StatusOr<BucketIndex> ReadBucketIndex(objstore::ObjectStore* store, std::string_view prefix);
absl::Status WriteBucketIndex(objstore::ObjectStore* store, std::string_view prefix,
                              const BucketIndex& index);

// The index of what the bucket holds now: ListBlocks, then for each block not in `previous` its
// meta.json (a partial or unreadable one is skipped), the Attributes of meta.json (uploaded_at)
// and a listing of its chunks/ (segments). Entries of `previous` still listed are kept as they
// are (blocks are immutable). updated_at = `now`.
absl::StatusOr<BucketIndex> BuildBucketIndex(objstore::ObjectStore* store, std::string_view prefix,
                                             const BucketIndex* previous, absl::Time now);

struct TenantBucketIndexOptions {
  // Readers ignore an index whose updated_at is older than this (Mimir's
  // blocks_storage.bucket_store.bucket_index.max_stale_period, default 1h); ≤ 0: no bound.
  absl::Duration max_stale_period = absl::Hours(1);
  // Now (tests move it).
  std::function<absl::Time()> now;
  // Called for every failed index operation: op is "put", "get" or "list" (a Resync's listing),
  // `status` the error. The metrics store counts and logs these.
  std::function<void(std::string_view op, const absl::Status& status)> on_failure;
  // Called when ReadForListing refuses the index, with the reason: "not_synced", "missing",
  // "damaged", "stale" or "get_failed" (the reader then lists the bucket).
  std::function<void(std::string_view reason)> on_fallback;
};

class TenantBucketIndex {
 public:
  // `store` must outlive this. `prefix` is the tenant's blocks prefix.
  TenantBucketIndex(objstore::ObjectStore* store, std::string prefix,
                    TenantBucketIndexOptions options = {});

  // After a change of the tenant's blocks: `added` were uploaded (meta.json written), `removed`
  // deleted (or being deleted). Applied to the in-memory index and Put; when there is no
  // in-memory index yet (the first change in this process, or after a failed listing), a Resync
  // instead (the bucket already shows the change). The error is also reported to on_failure.
  absl::Status Update(std::span<const BucketIndexBlock> added, std::span<const Ulid> removed);
  // Rebuilds the index from a listing of the bucket (reusing known entries) and Puts it.
  absl::Status Resync();

  // For readers (see the file comment).
  absl::StatusOr<BucketIndex> ReadForListing();

  // True when the file in the bucket is known to hold every change this process made.
  bool synced() const;
  // When this process last wrote the index successfully (InfinitePast: never).
  absl::Time last_written() const;
  // The in-memory index (nullopt before the first successful listing).
  std::optional<BucketIndex> current() const;
  const std::string& prefix() const { return prefix_; }

 private:
  absl::Time Now() const;
  absl::Status PutLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ResyncLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Report(std::string_view op, const absl::Status& status) const;

  objstore::ObjectStore* const store_;
  const std::string prefix_;
  const TenantBucketIndexOptions options_;
  mutable absl::Mutex mu_;
  std::optional<BucketIndex> current_ ABSL_GUARDED_BY(mu_);
  // Read by readers without mu_ (a Resync holds mu_ through its listing).
  std::atomic<bool> synced_{false};
  absl::Time last_written_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// The ULIDs of a tenant's blocks for a reader: from `index` when it is given and
// ReadForListing() works, else ListBlocks. `from_index` (may be null) says which.
absl::StatusOr<std::vector<Ulid>> ListBlocksPreferIndex(objstore::ObjectStore* store,
                                                        std::string_view prefix,
                                                        TenantBucketIndex* index,
                                                        bool* from_index = nullptr);

}  // namespace sprout::metrics::tsdb
