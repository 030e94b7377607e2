// Compactor: merges the blocks of one tenant prefix in an ObjectStore as the planner says
// (planner.h: 2 h blocks into 12 h ones, overlapping blocks de-duplicated) and removes the blocks
// a compaction replaced.
//
// One compaction: open the source blocks (BlockReader), merge their series (merge.h) into a
// BlockWriter in a directory under `local_dir` (through the Env), Finish, Upload (chunk
// segments, index, meta.json last), remove the local directory, then delete each source block:
// its meta.json first (from then on no reader takes it for a block), then the rest of it with
// DeletePrefix. The new block's meta.json says compaction level = the sources' highest + 1,
// sources = the union of the sources' sources, parents = the source blocks.
//
// Crash safety (tested with failed ObjectStore calls and machine crashes at every step):
//  - before the new meta.json is written, the sources are untouched and the new block is
//    invisible (a partial block, removed later by DeletePartialBlocks in retention.h);
//  - after it, and until the sources are deleted, the data is visible twice (the querier
//    de-duplicates), never missing: Run() first deletes every block whose sources another block
//    covers (CoveredBlocks), which finishes an interrupted compaction;
//  - a source left without meta.json is a partial block, removed by DeletePartialBlocks;
//  - leftovers in `local_dir` are removed at the start of every Run().
// So every sample stays readable through any crash, and after the next Run exactly once.
//
// Errors: the first failing store, Env or decode call's Status, with the block named; a failed
// compaction leaves the state described above and is retried by the next Run. A meta.json that
// does not parse is an error (a corrupt block is never silently dropped or merged).
//
// Thread-safety: one Run/Compact at a time per tenant prefix and per local_dir, in the whole
// system (deciding which instance compacts a tenant is the ring's job, later). Run from one
// thread; the object is not internally locked. The store, Env and clock must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "base/ulid.h"
#include "metrics/tsdb/block/bucket_index.h"
#include "metrics/tsdb/block/meta.h"
#include "metrics/tsdb/compact/merge.h"
#include "metrics/tsdb/compact/planner.h"
#include "objstore/object_store.h"
#include "storage/env.h"

namespace sprout::metrics::tsdb {

struct CompactorOptions {
  PlannerOptions planner;
  // Where blocks are written before their upload; owned by this compactor (its contents are
  // removed at the start of every Run). Required.
  std::string local_dir;
  storage::Env* env = storage::Env::Default();
  const Clock* clock = Clock::Real();
  uint64_t segment_size = block_format::kDefaultSegmentSize;
  // Compactions one Run does at most (a backlog is worked off over several runs).
  int max_compactions_per_run = 1000;
  // Called after a compaction's new block is uploaded and before its sources are deleted (may
  // be empty). The metrics store waits there for the reads that may have listed the blocks
  // before the upload: they would find the sources gone and miss their samples.
  std::function<void()> before_deleting_sources;
  // The tenant's bucket index (may be null): planning learns the blocks from it when readers may
  // use it (else ListBlocks), and every change is reported to it — the new block after its
  // upload and before before_deleting_sources, the sources and covered blocks after their
  // deletion. Its failures never fail the run (the index reports them itself).
  TenantBucketIndex* bucket_index = nullptr;
};

struct CompactionRunResult {
  std::vector<BlockMeta> new_blocks;
  std::vector<Ulid> deleted_covered;  // leftovers of interrupted compactions
  MergeStats merge;
};

class Compactor {
 public:
  // `prefix` is the tenant's prefix ("tenant"; "" for the store's root).
  Compactor(objstore::ObjectStore* store, std::string prefix, CompactorOptions options);

  // Cleans local_dir, deletes covered blocks, then plans and compacts until the planner has
  // nothing more (or max_compactions_per_run). Stops at the first error.
  absl::StatusOr<CompactionRunResult> Run();

  // Executes one plan; returns the new block's meta. The sources are deleted when it returns OK.
  absl::StatusOr<BlockMeta> Compact(const CompactionPlan& plan, MergeStats* stats);

 private:
  absl::Status CleanLocalDir();

  objstore::ObjectStore* const store_;
  const std::string prefix_;
  const CompactorOptions options_;
};

// The meta.json of every complete block under `prefix` (ListBlocks, or the bucket index when
// `bucket_index` is given and readers may use it: ListBlocksPreferIndex), sorted by ULID. A block
// whose meta.json vanished since the listing is skipped; one that does not parse, or names
// another ULID than its directory, is an error naming it.
absl::StatusOr<std::vector<BlockMeta>> ReadBlockMetas(objstore::ObjectStore* store,
                                                      std::string_view prefix,
                                                      TenantBucketIndex* bucket_index = nullptr);

// Deletes one block so that it disappears as a unit for readers: meta.json first, then every
// other object under `<prefix>/<ulid>/`. OK when it is already gone.
absl::Status DeleteBlock(objstore::ObjectStore* store, std::string_view prefix, const Ulid& ulid);

// Removes `path` (a file, or a directory with everything under it) through `env`; OK when it
// does not exist.
absl::Status RemoveLocalTree(storage::Env* env, const std::string& path);

}  // namespace sprout::metrics::tsdb
