// The compaction planner: which blocks of one tenant to merge next. A pure function of the
// blocks' meta.json contents, the configured ranges and the current time, so every decision is
// unit-tested without an object store.
//
// Ranges: `ranges_ms` ascending, the first one the head's block size (2 h), each later one a
// compaction level (12 h, 24 h: Mimir's compactor.block_ranges default). For every range R after
// the first, a group is the blocks whose [min_time, max_time) lies inside one aligned range [k·R,
// (k+1)·R); a block that crosses such a boundary belongs to no group of that range (the head cuts
// aligned blocks, so only foreign blocks do).
//
// A group is planned when
//   - it holds ≥ 2 blocks (adjacent ones, ones with gaps between them, or overlapping ones —
//     vertical compaction: a re-upload after a crash is merged and de-duplicated), and
//   - its range is complete: some block of the tenant ends after the range's end (the head has
//     moved past it, so no more level-1 blocks for it will come), or the range ended at least
//     `complete_delay_ms` before `now_ms` (a tenant that stopped sending).
// A single block is never planned, whatever its level (a finished 12 h block is left alone).
// Only the plans of the smallest range that has any are returned (their groups are disjoint);
// after they ran, planning again yields the next level's.
//
// Blocks made obsolete by a compaction whose sources were not deleted (a crash between the
// upload and the deletes) must be removed first: CoveredBlocks names them, and the planner
// ignores them too, so a duplicate is never merged with the block that already holds its data.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/ulid.h"
#include "metrics/tsdb/block/meta.h"

namespace sprout::metrics::tsdb {

inline constexpr int64_t kHourMs = int64_t{3600} * 1000;

struct PlannerOptions {
  // Ascending; the first is the level-1 block size. Must not be empty; each range > 0.
  std::vector<int64_t> ranges_ms = {2 * kHourMs, 12 * kHourMs, 24 * kHourMs};
  // A range with no newer block is complete once its end is this old.
  int64_t complete_delay_ms = 3 * kHourMs;
};

struct CompactionPlan {
  int64_t range_start = 0;  // the aligned range [range_start, range_end)
  int64_t range_end = 0;
  std::vector<BlockMeta> blocks;  // sorted by (min_time, ulid); ≥ 2
  bool overlapping = false;       // some blocks overlap in time (a vertical compaction)
};

// The plans for the smallest range with any (see the file comment); empty when there is
// nothing to do. Covered blocks (CoveredBlocks) are left out. Ranges that are not ascending or
// not positive plan nothing.
std::vector<CompactionPlan> PlanCompactions(std::span<const BlockMeta> metas,
                                            const PlannerOptions& options, int64_t now_ms);

// The blocks whose data another visible block already holds: B is covered by C ≠ B when every
// ULID of B's `compaction.sources` is among C's. When two blocks have exactly the same sources
// (one compaction made twice), the one with the larger ULID is kept. Sorted.
std::vector<Ulid> CoveredBlocks(std::span<const BlockMeta> metas);

// Whether [a_min, a_max) and [b_min, b_max) share a millisecond.
inline bool RangesOverlap(int64_t a_min, int64_t a_max, int64_t b_min, int64_t b_max) {
  return a_min < b_max && b_min < a_max;
}

}  // namespace sprout::metrics::tsdb
