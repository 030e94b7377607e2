// Trace block compaction and retention (issue 11 item 4): see README.md.
//
//   Plan(blocks, options, now)   which blocks to merge (pure; Tempo's time-window selection)
//   CompactBlocks(store, tenant, inputs, level)  k-way merge of whole blocks into a new one
//   Compactor                    a thread running retention, deletes and compaction per cycle
//
// Thread-safety: Plan and CompactBlocks are reentrant. Compactor's methods may be called from
// any thread; RunOnce is serialized with the thread's cycles.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "objstore/object_store.h"
#include "traces/block/block.h"
#include "traces/store/tenant_blocks.h"

namespace sprout::traces::compact {

struct PlanOptions {
  // compactor.compaction.compaction_window: blocks are grouped by the window of their end time.
  absl::Duration compaction_window = absl::Hours(1);
  // Tempo's time-window selector: 2 to 4 input blocks a job.
  size_t min_input_blocks = 2;
  size_t max_input_blocks = 4;
  // compactor.compaction.max_block_bytes / max_compaction_objects: a job's inputs together stay
  // within both (sum of the inputs' total_bytes / trace_count).
  uint64_t max_block_bytes = uint64_t{100} << 30;
  uint64_t max_compaction_objects = 6000000;
  // Blocks whose window ends within this of `now` are grouped by window AND compaction level;
  // older ones by window only (Tempo's "active window", 24h).
  absl::Duration active_window = absl::Hours(24);
};

// What the planner needs of a block (block::BlockMeta has all of it).
struct PlanBlock {
  std::string id;
  uint32_t level = 0;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  uint64_t bytes = 0;
  uint64_t objects = 0;  // traces
  static PlanBlock FromMeta(const block::BlockMeta& meta);
};

struct Job {
  std::vector<std::string> inputs;  // block IDs, ascending
  uint32_t output_level = 0;        // max input level + 1
};

// Disjoint jobs over `blocks`: each group (see PlanOptions) is taken in (start time, ID) order
// and cut into runs of up to max_input_blocks consecutive blocks whose sums stay within
// max_block_bytes / max_compaction_objects (a block too big on its own is never compacted); a run
// of at least min_input_blocks is a job. Jobs come oldest window first.
std::vector<Job> Plan(const std::vector<PlanBlock>& blocks, const PlanOptions& options,
                      absl::Time now);

struct CompactStats {
  uint64_t traces_in = 0;   // traces read, counting each block's copy
  uint64_t traces_out = 0;  // traces written
  uint64_t spans_out = 0;
  uint64_t bytes_written = 0;  // the new block's total_bytes
};

// Merges `inputs` (blocks of `tenant` in `store`) into one new block under a fresh ULID, with
// compaction_level `output_level` and sources = the inputs' IDs, and returns it opened. Traces
// are read page by page from every input at once (one page per input in memory) in trace-ID
// order; the copies of one trace are combined by live::MergeGroups (one ResourceSpans per
// distinct resource, exact duplicate spans once). The inputs are not touched: the caller swaps
// them out with TenantBlocks::Replace. On error the partial output (no meta.json) is deleted
// best effort; an output whose meta.json was written is complete (Load settles it).
absl::StatusOr<std::unique_ptr<block::BlockReader>> CompactBlocks(
    objstore::ObjectStore* store, std::string_view tenant,
    const std::vector<std::shared_ptr<const block::BlockReader>>& inputs, uint32_t output_level,
    CompactStats* stats = nullptr, block::BlockWriterOptions writer_options = {});

// Retention: Replace's out (null added) every block of `blocks` whose meta end time is older
// than now - retention (Tempo compares the block's end time). Returns the removed IDs. They are
// deleted later by TenantBlocks::DeleteRemoved(now, compacted_block_retention).
std::vector<std::string> ApplyRetention(store::TenantBlocks* blocks, absl::Time now,
                                        absl::Duration retention);

struct CompactorOptions {
  PlanOptions plan;
  absl::Duration block_retention = absl::Hours(336);  // compactor.compaction.block_retention
  absl::Duration compacted_block_retention = absl::Hours(1);  // ... compacted_block_retention
  absl::Duration compaction_cycle = absl::Seconds(30);        // ... compaction_cycle
  // Prefixes without meta.json older than this are deleted (a crash's partial block).
  absl::Duration incomplete_block_age = absl::Hours(1);
  block::BlockWriterOptions writer;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// Counters since start, for /metrics (names in README.md).
struct CompactorStats {
  uint64_t cycles = 0;            // RunOnce calls finished
  uint64_t compactions = 0;       // jobs finished (sprout_traces_compactions_total)
  uint64_t blocks_compacted = 0;  // input blocks replaced (tempodb_compaction_blocks_total)
  uint64_t blocks_written = 0;    // output blocks
  uint64_t objects_written =
      0;  // traces in output blocks (tempodb_compaction_objects_written_total)
  uint64_t objects_combined =
      0;  // traces found in more than one input (tempodb_compaction_objects_combined_total)
  uint64_t bytes_written = 0;        // (tempodb_compaction_bytes_written_total)
  uint64_t compaction_failures = 0;  // (tempodb_compaction_errors_total)
  uint64_t retention_marked =
      0;  // blocks removed by retention (tempodb_retention_marked_for_deletion_total)
  uint64_t blocks_deleted =
      0;  // removed blocks deleted after the grace (tempodb_retention_deleted_total)
  uint64_t delete_failures = 0;  // failed deletes (tempodb_retention_errors_total)
};

class Compactor {
 public:
  // `tenants` returns the tenants' block lists now (the pointers must stay valid until the call
  // returns again or Stop()).
  using TenantsFn = std::function<std::vector<store::TenantBlocks*>()>;

  Compactor(CompactorOptions options, TenantsFn tenants);
  ~Compactor();  // Stop()

  // Starts the thread: a cycle now and then every compaction_cycle.
  void Start();
  // Stops the thread (a running job finishes first). Idempotent.
  void Stop();

  // One cycle for every tenant: retention, deletes due, incomplete prefixes, then compaction
  // jobs (re-planning after each round) until the plan is empty or a job fails. The first error.
  absl::Status RunOnce();

  CompactorStats stats() const;

 private:
  absl::Status RunTenant(store::TenantBlocks* blocks);

  const CompactorOptions options_;
  const TenantsFn tenants_;
  std::mutex run_mu_;  // serializes cycles
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;     // guarded by mu_
  CompactorStats stats_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace sprout::traces::compact
