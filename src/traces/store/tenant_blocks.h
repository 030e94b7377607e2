// TenantBlocks: the complete blocks of one tenant of the trace store, open for reading, as
// immutable snapshots that readers take without blocking writers (flushes, compaction,
// retention).
//
//   Load(store, tenant)   lists `<tenant>/` (block::ListBlocks: only prefixes with a meta.json)
//                         and opens every block (block::BlockReader::Open). Then it settles what
//                         a crash may have left:
//                          - a block listed in the `sources` of another complete block was
//                            replaced by a compaction that finished writing its output but not
//                            deleting its inputs: it is deleted now (meta.json first) and not
//                            listed;
//                          - a block that fails to open (damaged meta, index or bloom) is not
//                            listed and is reported in LoadReport::unreadable (kept on disk for
//                            an operator to look at, never deleted).
//                         Prefixes without meta.json (a crash while a block was written) are
//                         invisible here; DeleteIncomplete removes them.
//   snapshot()            the blocks now, sorted by block ID (ULIDs: oldest first).
//   Add(reader)           a newly written block becomes visible to later snapshots.
//   Replace(ids, reader, now) in one step, the blocks `ids` leave and `reader` (may be null)
//                         joins — compaction's swap, so no snapshot sees both or neither (and
//                         retention's removal, with a null reader). The removed blocks are
//                         deleted from the store later, by DeleteRemoved, once `grace` has passed
//                         (Tempo's compacted_block_retention): queries that took an older
//                         snapshot keep reading them meanwhile. A crash before that leaves them
//                         on disk; the next Load deletes compaction inputs by the `sources` rule
//                         and retention deletes expired blocks again.
//   DeleteRemoved(now, grace) deletes the removed blocks whose grace has passed (meta.json first,
//                         then the prefix); a failed delete is retried by the next call.
//   DeleteIncomplete(age) deletes the prefixes under `<tenant>/` that have no meta.json and whose
//                         ULID is older than `age` (a crash's leftovers; younger ones may be a
//                         block still being written by another process).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "objstore/object_store.h"
#include "traces/block/block.h"

namespace sprout::traces::store {

using BlockList = std::vector<std::shared_ptr<const block::BlockReader>>;
using BlockSnapshot = std::shared_ptr<const BlockList>;

struct LoadReport {
  std::vector<std::string> deleted_replaced;  // sources of a complete compaction, deleted
  std::vector<std::pair<std::string, std::string>> unreadable;  // block ID, error
};

class TenantBlocks {
 public:
  static absl::StatusOr<std::unique_ptr<TenantBlocks>> Load(objstore::ObjectStore* store,
                                                            std::string tenant,
                                                            LoadReport* report = nullptr);
  // An empty list (a tenant with no block yet).
  TenantBlocks(objstore::ObjectStore* store, std::string tenant);

  BlockSnapshot snapshot() const;
  size_t size() const;
  uint64_t total_bytes() const;

  void Add(std::shared_ptr<const block::BlockReader> reader);
  // See the file comment.
  void Replace(const std::vector<std::string>& removed_ids,
               std::shared_ptr<const block::BlockReader> added, absl::Time now);
  absl::Status DeleteRemoved(absl::Time now, absl::Duration grace);
  absl::Status DeleteIncomplete(absl::Time now, absl::Duration age);
  // Blocks removed from the list and not yet deleted.
  size_t removed_pending_delete() const;

  const std::string& tenant() const { return tenant_; }
  objstore::ObjectStore* object_store() const { return store_; }

 private:
  objstore::ObjectStore* const store_;
  const std::string tenant_;
  mutable std::mutex mu_;
  BlockSnapshot blocks_;  // guarded by mu_; sorted by block ID
  std::vector<std::pair<std::string, absl::Time>> removed_;  // guarded by mu_: id, removed at
};

// Deletes one block: its meta.json first (so readers and Load ignore the rest), then the prefix.
absl::Status DeleteBlock(objstore::ObjectStore* store, std::string_view tenant,
                         std::string_view block_id);

}  // namespace sprout::traces::store
