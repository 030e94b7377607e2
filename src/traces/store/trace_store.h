// TraceStore: the tenants of the trace store's data directory (issue 11) and the read seam
// (traces/api/trace_queryable.h) over their traces in memory and in blocks.
//
//   Start()               opens every tenant directory under `wal_dir` (each
//                         live::TenantTraces::Open replays its WAL into its live set); a
//                         directory whose name is not a valid tenant ID (net::ValidateTenantId)
//                         is skipped and listed in skipped_dirs(). With a block_store, then
//                         loads the blocks (TenantBlocks::Load) of every tenant of wal_dir or
//                         of the store, deletes the prefixes without meta.json (a crash's
//                         partial blocks) and keeps what Load settled in load_reports().
//   Push(tenant, request) (or PushWire, the same from the request's wire bytes)
//                         validates the tenant ID, opens the tenant on its first push
//                         (`<wal_dir>/<tenant>/`) and pushes into its TenantTraces. With a
//                         rate limit set, the request's serialized size (ByteSizeLong) is first
//                         taken from the tenant's token bucket (Tempo's local ingestion limiter:
//                         `ingestion_rate_limit_bytes` per second up to
//                         `ingestion_burst_size_bytes`, full at the tenant's first push); when the
//                         bytes are not there nothing is stored and Push answers ResourceExhausted
//                         with Tempo's text "RATE_LIMITED: ingestion rate limit (<rate> bytes)
//                         exceeded while adding <n> bytes" (the OTLP receivers answer 429 /
//                         RESOURCE_EXHAUSTED).
//   FindTraceByID, Search, TagNames, TagValues: TraceQueryable over every trace a tenant holds
//                         in memory (live, pending and flushing) and in its blocks; a trace's
//                         parts (memory, several blocks) are read as one trace (blocks' parts
//                         oldest first, then memory's, combined by live::MergeGroups: exact
//                         duplicate spans once). Memory is read before the block snapshot, so
//                         a trace flushed meanwhile is never missed. A tenant that never wrote
//                         answers empty.
//   FlushOnce(force)      one pass of the flush pipeline over every tenant: CutIdle (traces idle
//                         for trace_idle_period leave the live set), StartFlush (a block is due
//                         by max_block_bytes / max_block_duration, or `force`), BlockSink::
//                         WriteBlock, CompleteFlush (ok: WAL truncated; failed: traces pending
//                         again, retried after a backoff). A background thread started by
//                         Start runs it every flush_check_period when a sink is set; Close stops
//                         it and, with flush_all_on_shutdown, runs a forced pass first.
//
// Search semantics (the legacy `/api/search` parameters; see README.md), on the whole trace
// (over blocks answered from the columns — every tag's filter, the trace rows' time range and
// duration, most recent pages first with the rest skipped once `limit` better hits are kept;
// traces with parts elsewhere judged whole; only the returned hits read, projected): a trace
// matches when
// every tag name=value is carried by some span (intrinsic `name` = span name, `status` =
// `error`/`ok`/`unset`, any other name = a span or resource attribute whose value prints as the
// given text), its duration (last span end − first span start) is within the bounds, and its
// span time range overlaps [start, end].
//
// Errors: before Start() and after Close() every call answers Unavailable; an invalid tenant ID
// is InvalidArgument (net::ValidateTenantId's text). Start fails when the directory cannot be
// created or listed or a tenant's WAL cannot be opened.
//
// Thread-safety: every method may be called from any thread; Close() must not race with others.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "objstore/object_store.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "storage/env.h"
#include "traces/api/trace_queryable.h"
#include "traces/block/block.h"
#include "traces/live/tenant_traces.h"
#include "traces/store/tenant_blocks.h"

namespace sprout::traces::store {

// Tempo's root service name when a trace's root span has not arrived.
inline constexpr char kRootSpanNotYetReceived[] = "<root span not yet received>";

// Where flushed traces go: the seam between the flush pipeline and the block writer. WriteBlock
// writes the job's traces (whole, sorted by trace ID) as one block of `tenant` and returns once
// the block is durable AND readable by the store's reads (registered in its block list): only
// then does the pipeline drop the traces from memory and truncate the WAL. An error keeps the
// traces pending (still read from memory) and the pass is retried later. Called from one thread
// at a time (the flush pass).
class BlockSink {
 public:
  virtual ~BlockSink() = default;
  virtual absl::Status WriteBlock(std::string_view tenant, const live::FlushJob& job) = 0;
};

// The sink until blocks exist: every WriteBlock answers Unavailable("blocks are not implemented
// yet"), so cut traces stay pending, in memory and in the WAL, and queryable.
class UnavailableBlockSink : public BlockSink {
 public:
  absl::Status WriteBlock(std::string_view tenant, const live::FlushJob& job) override;
};

// The sink of a real store: each FlushJob becomes one block of the tenant with a fresh ULID in
// `store` (`<tenant>/<block id>/`, meta.json written last by block::BlockWriter, so a crash
// never leaves a visible partial block), opened and added to the tenant's TenantBlocks (given
// by `blocks_for`) before WriteBlock returns OK. A failed write deletes what it wrote (best
// effort; a leftover without meta.json is invisible and cleaned by DeleteIncomplete).
class ObjectStoreBlockSink : public BlockSink {
 public:
  using BlocksFn = std::function<absl::StatusOr<TenantBlocks*>(std::string_view tenant)>;
  ObjectStoreBlockSink(objstore::ObjectStore* store, BlocksFn blocks_for,
                       block::BlockWriterOptions writer_options = {});
  absl::Status WriteBlock(std::string_view tenant, const live::FlushJob& job) override;

  // The written blocks' total_bytes since start, per tenant.
  std::map<std::string, uint64_t> bytes_written() const;

 private:
  objstore::ObjectStore* const store_;
  const BlocksFn blocks_for_;
  const block::BlockWriterOptions writer_options_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t, std::less<>> bytes_written_;  // guarded by mu_
};

// The flush pipeline's figures for one tenant (TraceStore::Stats).
struct TenantFlushStats {
  int64_t live_traces = 0;      // receiving spans
  int64_t pending_traces = 0;   // cut, waiting for a block
  int64_t flushing_traces = 0;  // in the block being written
  int64_t blocks_flushed = 0;   // WriteBlock OK
  int64_t flush_failures = 0;   // WriteBlock, StartFlush or CompleteFlush failed
  int64_t traces_flushed = 0;
  int64_t bytes_flushed = 0;        // the flushed jobs' OTLP bytes (FlushJob::bytes)
  int64_t blocks = 0;               // blocks in the tenant's block list now
  int64_t block_bytes = 0;          // their total_bytes
  int64_t block_bytes_written = 0;  // total_bytes of the blocks the flushes wrote
};

struct TraceStoreOptions {
  std::string wal_dir;  // storage.trace.wal.path; one sub-directory per tenant
  storage::Env* env = storage::Env::Default();
  live::TenantTracesOptions tenant;  // every tenant's options (limits, WAL sync, clock)
  // Per-tenant ingestion rate limit in bytes per second (overrides.defaults.ingestion.
  // rate_limit_bytes); 0 = no limit. The bucket holds at most ingestion_burst_size_bytes.
  // Time comes from tenant.clock (default absl::Now).
  int64_t ingestion_rate_limit_bytes = 0;
  int64_t ingestion_burst_size_bytes = 0;

  // The flush pipeline (Tempo's ingester keys). Time comes from tenant.clock.
  absl::Duration trace_idle_period = absl::Seconds(5);    // ingester.trace_idle_period
  absl::Duration max_block_duration = absl::Minutes(30);  // ingester.max_block_duration
  int64_t max_block_bytes = 524288000;                    // ingester.max_block_bytes (0 = none)
  absl::Duration flush_check_period = absl::Seconds(10);  // ingester.flush_check_period
  bool flush_all_on_shutdown = false;                     // ingester.flush_all_on_shutdown
  // After a failed flush of a tenant, its next attempt waits flush_check_period, doubled after
  // each further failure up to this (by the clock); a success resets it.
  absl::Duration max_flush_backoff = absl::Minutes(5);
  // The block store (storage.trace.local.path); not owned, must outlive the store. When set,
  // Start loads every tenant's blocks (`<tenant>/` prefixes of the store, and every tenant of
  // wal_dir), reads merge them with memory, and, with no block_sink given, the store flushes
  // into it through its own ObjectStoreBlockSink.
  objstore::ObjectStore* block_store = nullptr;
  block::BlockWriterOptions block_writer;
  // Workers of a TraceQL metrics query (QueryMetrics): memory chunks and block pages are spread
  // over this many threads, one accumulator each. 0: the machine's hardware threads.
  size_t metrics_query_threads = 0;
  // Not owned; must outlive the store. nullptr (and no block_store): no pipeline (no thread;
  // FlushOnce does nothing; traces stay live).
  BlockSink* block_sink = nullptr;
  // Told of every failed flush step (the command logs it). May be empty.
  std::function<void(std::string_view tenant, const absl::Status&)> on_flush_error;
  // Called with every request Push stored (after the limits and the WAL append), on the pushing
  // thread: the metrics-generator's feed (traces/generator/service.h), so that spans reach it once,
  // on the write path, and a client's retry of a refused request is not counted twice. May be
  // empty.
  std::function<void(std::string_view tenant,
                     const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest&)>
      on_pushed;
};

class TraceStore : public TraceQueryable {
 public:
  explicit TraceStore(TraceStoreOptions options);
  ~TraceStore() override;

  // Opens the tenants, then starts the flush thread (a block sink set and flush_check_period > 0).
  absl::Status Start();
  // Stops the flush thread; with flush_all_on_shutdown (and a sink) runs FlushOnce(true); then
  // closes every tenant (its WAL synced and closed); later calls answer Unavailable.
  void Close();

  // One pass of the flush pipeline over every open tenant (see the file comment); `force` cuts
  // every live trace and flushes whatever is pending, ignoring the limits and the backoff.
  // Returns the first error of the pass (each is also counted and told to on_flush_error); OK
  // when nothing was due. Passes are serialized. Unavailable before Start / after Close.
  absl::Status FlushOnce(bool force);
  // Per tenant (open tenants), sorted by tenant ID.
  std::map<std::string, TenantFlushStats> Stats() const;

  absl::StatusOr<live::PushResult> Push(
      std::string_view tenant,
      const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request);
  // The same for a request as its wire bytes (an ExportTraceServiceRequest as received): the
  // ResourceSpans are pushed as the bytes they are (no parse and re-serialization), the rate
  // limit takes the wire's size, and `decoded` — the same request parsed, e.g. the collector
  // batch's lazily decoded message — is asked for only when on_pushed is set, after the push
  // succeeded. InvalidArgument when the bytes are not wire format (nothing stored).
  absl::StatusOr<live::PushResult> PushWire(
      std::string_view tenant, std::string_view wire,
      absl::FunctionRef<
          const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest&()>
          decoded);

  // Tenant IDs with an open TenantTraces, sorted.
  std::vector<std::string> tenants() const;
  // Directory names under wal_dir skipped by Start (not valid tenant IDs).
  const std::vector<std::string>& skipped_dirs() const { return skipped_dirs_; }
  // What Start's block loads settled, per tenant (only tenants with something to report).
  const std::map<std::string, LoadReport>& load_reports() const { return load_reports_; }

  // The block list of every tenant with one (block_store set), sorted by tenant; the pointers
  // stay valid until Close (the compactor's tenants).
  std::vector<TenantBlocks*> AllTenantBlocks() const;
  // The tenant's block list, created empty on first use; FailedPrecondition without a
  // block_store, Unavailable before Start / after Close.
  absl::StatusOr<TenantBlocks*> BlocksFor(std::string_view tenant);

  absl::StatusOr<std::optional<opentelemetry::proto::trace::v1::TracesData>> FindTraceByID(
      std::string_view tenant, std::string_view trace_id, uint32_t start_s,
      uint32_t end_s) override;
  absl::StatusOr<SearchResult> Search(std::string_view tenant,
                                      const SearchRequest& request) override;
  absl::StatusOr<TagNamesResult> TagNames(std::string_view tenant, std::string_view scope,
                                          uint32_t start_s, uint32_t end_s,
                                          std::string_view query) override;
  absl::StatusOr<TagValuesResult> TagValues(std::string_view tenant, std::string_view name,
                                            uint32_t start_s, uint32_t end_s, uint32_t limit,
                                            std::string_view query) override;
  // TraceQL metrics (README.md § Scan): every trace part that may hold a span starting in the
  // program's grid — memory (live, pending, flushing) and the pages of the blocks whose time range
  // overlaps it — observed once per part, projected to the plan's keys and pre-filtered by its
  // column conditions; memory chunks and block pages spread over metrics_query_threads
  // workers, one accumulator each.
  absl::StatusOr<traceql::MetricsResult> QueryMetrics(
      std::string_view tenant, const traceql::MetricsProgram& program,
      const std::function<bool()>& cancelled) override;

 private:
  // The tenant's TenantTraces, nullptr when it never wrote; Unavailable before Start.
  absl::StatusOr<live::TenantTraces*> FindTenant(std::string_view tenant) const;
  // Push's admission: the tenant ID checked, `bytes` taken from the rate limit, the tenant opened.
  absl::StatusOr<live::TenantTraces*> Admit(std::string_view tenant, int64_t bytes);
  // The tenant's block snapshot (empty without blocks).
  BlockSnapshot Blocks(std::string_view tenant) const;
  // Every in-memory trace of `tenant` (live, pending, flushing), by trace ID, whole as memory
  // holds it (no time filter).
  absl::StatusOr<std::map<std::string, opentelemetry::proto::trace::v1::TracesData>> MemoryTraces(
      std::string_view tenant) const;
  // Search with a TraceQL query (request.query set).
  absl::StatusOr<SearchResult> SearchTraceQL(std::string_view tenant, const SearchRequest& request);

  const TraceStoreOptions options_;
  std::vector<std::string> skipped_dirs_;  // written by Start only
  mutable std::mutex mu_;
  bool started_ = false;  // guarded by mu_
  bool closed_ = false;   // guarded by mu_
  std::map<std::string, std::unique_ptr<live::TenantTraces>, std::less<>> tenants_;  // mu_
  std::map<std::string, std::unique_ptr<TenantBlocks>, std::less<>> blocks_;         // mu_
  std::map<std::string, LoadReport> load_reports_;  // written by Start only
  std::unique_ptr<ObjectStoreBlockSink> own_sink_;  // with block_store and no block_sink
  BlockSink* sink_ = nullptr;                       // block_sink or own_sink_
  std::mutex open_mu_;                              // serializes opening new tenants

  // A token bucket of bytes: `rate` per second accrue up to `burst`; a request passes when its
  // bytes are all there and takes them, else takes nothing (so a request larger than the burst
  // never passes). Guarded by limit_mu_.
  struct ByteBucket {
    double tokens = 0;
    absl::Time last;
  };
  // Takes `bytes` from the tenant's bucket (created full); false when they are not there.
  bool AllowBytes(std::string_view tenant, int64_t bytes);
  absl::Time Now() const;
  std::mutex limit_mu_;

  // The flush pipeline.
  void FlushLoop();
  // One tenant's step of a pass (counts and reports its failures).
  absl::Status FlushTenant(const std::string& name, live::TenantTraces* t, bool force,
                           absl::Time now);
  struct FlushState {
    absl::Time retry_at = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
  };
  std::mutex flush_mu_;  // serializes passes; guards flush_
  std::map<std::string, FlushState, std::less<>> flush_;
  mutable std::mutex stats_mu_;  // guards counters_ (blocks/failures/traces/bytes flushed)
  std::map<std::string, TenantFlushStats, std::less<>> counters_;
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_loop_ = false;  // guarded by loop_mu_
  std::thread loop_;
  std::map<std::string, ByteBucket, std::less<>> buckets_;  // guarded by limit_mu_
};

}  // namespace sprout::traces::store
