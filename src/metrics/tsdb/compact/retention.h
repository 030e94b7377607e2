// Retention and clean-up of one tenant prefix in an ObjectStore: whole blocks past the
// retention period, and leftovers of uploads or deletes that never finished.
//
// ApplyRetention deletes (DeleteBlock: meta.json first, then the rest) every block whose
// maxTime ≤ now − retention, in milliseconds: maxTime is exclusive, so such a block holds no
// sample at or after the cut, and a block with any newer sample is always kept (blocks are
// deleted whole, never cut). retention ≤ 0 keeps every block (Mimir's
// compactor_blocks_retention_period 0 = forever). It then calls DeletePartialBlocks with
// now − partial_block_delay.
//
// DeletePartialBlocks removes every `<prefix>/<ULID>/` that has no meta.json and whose newest
// object was last modified before `modified_before`: an upload that failed or crashed before its
// meta.json, or a delete that removed meta.json and stopped. The delay must exceed the longest
// upload (an upload in flight has recent objects and is left alone). Keys under the prefix that
// are not ULIDs are never touched.
//
// Errors: the store's Status of the first failing call; what was deleted before stays deleted
// (each block goes meta.json first, so no partial block is ever visible).
//
// Thread-safety: plain functions; they may run beside a Compactor on the same prefix (a block
// being compacted may be deleted under it: the compaction then fails and is retried) and beside
// readers (which must tolerate blocks disappearing).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/ulid.h"
#include "metrics/tsdb/block/bucket_index.h"
#include "objstore/object_store.h"

namespace sprout::metrics::tsdb {

struct RetentionResult {
  std::vector<Ulid> deleted_blocks;          // past the retention period
  std::vector<std::string> deleted_partial;  // prefixes ("tenant/01J…/") of partial blocks
};

// With `bucket_index` (may be null) the blocks are learnt from it when readers may use it, and
// the deleted ones are removed from it (its failures are its own to report, never this call's).
absl::StatusOr<RetentionResult> ApplyRetention(objstore::ObjectStore* store,
                                               std::string_view prefix, absl::Duration retention,
                                               absl::Time now,
                                               absl::Duration partial_block_delay = absl::Hours(1),
                                               TenantBucketIndex* bucket_index = nullptr);

// The prefixes removed (see the file comment).
absl::StatusOr<std::vector<std::string>> DeletePartialBlocks(objstore::ObjectStore* store,
                                                             std::string_view prefix,
                                                             absl::Time modified_before);

}  // namespace sprout::metrics::tsdb
