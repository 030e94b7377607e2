// MetricsStore: the metrics store of `sprout metrics` put together — one TenantHead per tenant
// under `<blocks_storage.tsdb.dir>/<tenant>/`, the remote-write ingest path in front of them
// (decode and validate, the tenant's ingestion rate limit, append), the Prometheus metadata read
// API (it implements api::Queryable) and remote read.
//
// Guarantees:
//  - Tenants are fully separate: one head, one WAL, one directory and one rate limiter each. A
//    tenant ID is checked with dskit's rules (net::ValidateTenantId) before it names a directory.
//  - Start() opens (and so replays) every tenant directory that exists before it returns; until
//    then pushes and reads answer 503 and ready() is false. Heads of new tenants are opened on
//    their first push; reads of a tenant that never wrote answer empty results.
//  - Push stores every good sample of a request and answers for the rest as Mimir does: a
//    whole-request refusal (size, snappy, protobuf: 400), the ingestion rate limit (429, nothing
//    stored), per-series validation and head refusals (400 with the first message, the good part
//    stored; the head's refusal wins over the validation one, as Mimir's ingester error wins over
//    its distributor's partial error), a WAL failure (500, retryable); a head that failed closed
//    is reopened (WAL replay) and the request answered 503 (retryable).
//  - IngestOtlp (the in-process path of `sprout all`) translates an OTLP export request with
//    the OTLP → Prometheus translation into ingest::OtlpSink (no remote-write message built),
//    validates its series as remote write validates them and then takes Push's path from the
//    rate limit on: the same limits, refusals, texts and counters as pushing the translation's
//    remote-write request.
//  - PushWriteRequest (the metrics-generator's in-process output in `sprout all`) takes a
//    decoded prometheus.WriteRequest: its wire form goes through Push's path from the decode on
//    (no snappy), so the validation, limits, refusals, texts and counters are Push's.
//  - Reads merge the tenant's head with its blocks in blocks_store() (tsdb::TenantQuerier); a
//    block that cannot be read is skipped, never failing the read. A compaction + retention job
//    runs every compactor.compaction_interval (RunCompactionOnce).
//  - A 2xx means the request's data is in the WAL (and fsynced with wal_fsync_before_ack) and
//    visible to readers.
//
// Errors: Start fails when the data directory cannot be listed or a head cannot be opened (a
// WAL written by a newer sprout, a lock held by another process).
//
// Thread-safety: every method may be called from any thread once Start() returned (Push and the
// reads also before: they answer 503). Close() must not race with other calls.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/metrics.h"
#include "metrics/api/queryable.h"
#include "metrics/config/metrics_config.h"
#include "metrics/config/runtime_config.h"
#include "metrics/ingest/remote_write.h"
#include "metrics/store/rate_limiter.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/querier/querier.h"
#include "objstore/object_store.h"
#include "storage/env.h"

namespace opentelemetry::proto::collector::metrics::v1 {
class ExportMetricsServiceRequest;
}  // namespace opentelemetry::proto::collector::metrics::v1
namespace sprout::otlp {
struct PromTranslationSettings;
}  // namespace sprout::otlp
namespace prometheus {
class WriteRequest;
}  // namespace prometheus

namespace sprout::metrics {

class AppendBuilder;

struct MetricsStoreOptions {
  MetricsConfig config;
  storage::Env* env = storage::Env::Default();
  MetricsRegistry* registry = nullptr;  // optional: Mimir's ingest counters when set
  // The per-tenant limits (runtime_config.h); null: every tenant gets config's `limits`. Must
  // outlive the store.
  const RuntimeConfigManager* runtime_config = nullptr;
  // Wall clock in Unix milliseconds (grace periods) and a monotonic clock in nanoseconds (the
  // rate limiter); tests set both.
  std::function<int64_t()> now_ms;
  std::function<int64_t()> monotonic_ns;
  // Every WAL repair and damage report, with the tenant (for a log line).
  std::function<void(std::string_view tenant, const storage::LogDamage&)> on_wal_damage;
  // Every WAL replay (a tenant's head opened at Start(), on its first push, or reopened after a
  // WAL failure), with its statistics (for a log line; /metrics has them too).
  std::function<void(std::string_view tenant, const tsdb::ReplayStats&)> on_replay;
};

// The answer to a push: the HTTP status and, unless it succeeded, the body text.
struct PushResult {
  int http_status = 200;  // 200 (the route may answer 204), 400, 429, 500 or 503
  std::string message;
  // What the head stored (remote write 2.0's X-Prometheus-Remote-Write-*-Written headers): 0
  // when nothing was (a whole-request refusal, 429, 5xx).
  int64_t samples_written = 0;
  int64_t histograms_written = 0;
  int64_t exemplars_written = 0;
  bool ok() const { return http_status < 300; }
};

// The outcome of IngestOtlp, for the caller (the `sprout all` exporter) to answer its pipeline:
// success, a retryable error (nothing was stored: send the whole request again) or a permanent
// one (the good part was stored; the rest can never be).
struct OtlpIngestResult {
  // What Push answers for the translation's remote-write request: 200; 400 (some series or
  // samples refused, the rest stored; `message` is the first refusal, Mimir's text); 429 (the
  // ingestion rate limit: nothing stored); 500 (the WAL write failed) or 503 (starting, or the
  // head was reopened after a WAL failure): nothing stored.
  int http_status = 200;
  std::string message;
  // Metrics the translation refused (the Collector's texts, e.g. delta temporality); their
  // points are not stored and counted in dropped_points. Permanent.
  std::vector<std::string> translation_errors;
  int64_t dropped_points = 0;
  // Prometheus samples (floats and native histograms) stored, and refused (validation, the head,
  // or all of them when the request failed as a whole).
  int64_t samples_stored = 0;
  int64_t samples_refused = 0;

  bool ok() const { return http_status < 300 && translation_errors.empty(); }
  // 429 or 5xx: nothing was stored, the same request may succeed later.
  bool retryable() const { return http_status == 429 || http_status >= 500; }
  bool permanent() const { return !ok() && !retryable(); }
  // As a consumer error (otlp/consumer_error.h): OK; ResourceExhausted (429) or Unavailable
  // (5xx), retryable; else InvalidArgument marked permanent, with `message` and the translation
  // errors joined by "; ".
  absl::Status ToStatus() const;
};

// The answer to a remote read: the body (snappy-compressed prometheus.ReadResponse) or an error
// text for the status.
struct ReadResult {
  int http_status = 200;  // 200, 400, 500 or 503
  std::string body;       // 200: the compressed response; otherwise the error text
};

class MetricsStore;

// One tenant's read view for a query (MetricsStore::Querier): the tenant's head, held against a
// reopen, and the blocks overlapping [mint, maxt] listed once when it was made, with the
// tenant's read barrier held shared for its whole lifetime, so a cut's truncation or a
// compaction's deletion of sources waits until it is destroyed (README "Read barrier"): every
// Select/LabelNames/LabelValues/Series call of one query sees the same data, never a sample
// twice or missing because it moved between the head and the blocks meanwhile. Hold it for one
// query only (a cut and the reads that arrive after it wait for it), and destroy it on the
// thread that made it (it holds reader locks).
//
// Single-threaded like tsdb::TenantQuerier. The sets and iterators of Select must not outlive
// it; the QueryLimiter must outlive them.
class StoreQuerier {
 public:
  ~StoreQuerier();
  StoreQuerier(const StoreQuerier&) = delete;
  StoreQuerier& operator=(const StoreQuerier&) = delete;

  // tsdb::TenantQuerier::Select: series in label order, each merged lazily chunk by chunk.
  std::unique_ptr<tsdb::SeriesSet> Select(std::span<const tsdb::Matcher> matchers,
                                          const tsdb::SelectHints& hints = {},
                                          tsdb::QueryLimiter* limiter = nullptr);
  std::vector<std::string> LabelNames(std::span<const tsdb::Matcher> matchers);
  std::vector<std::string> LabelValues(std::string_view name,
                                       std::span<const tsdb::Matcher> matchers);
  std::vector<tsdb::Labels> Series(std::span<const tsdb::Matcher> matchers);
  // Warnings of the block listing and of the label/series calls so far (blocks skipped); those
  // of a Select are on its SeriesSet.
  std::vector<std::string> warnings() const;
  tsdb::TenantQuerier& tsdb();

 private:
  friend class MetricsStore;
  StoreQuerier();
  struct State;
  std::unique_ptr<State> state_;
};

class MetricsStore : public api::Queryable {
 public:
  explicit MetricsStore(MetricsStoreOptions options);
  ~MetricsStore() override;
  MetricsStore(const MetricsStore&) = delete;
  MetricsStore& operator=(const MetricsStore&) = delete;

  // Opens every tenant directory under the TSDB directory (WAL replay), then marks the store
  // started. Directories whose names are not valid tenant IDs are skipped (and logged by the
  // caller through the returned list).
  absl::Status Start();
  bool started() const;
  // Names skipped by Start() (not valid tenant IDs).
  const std::vector<std::string>& skipped_dirs() const { return skipped_dirs_; }
  // One line per tenant whose cut a crash interrupted, saying how Start() settled it (README
  // "Cutting blocks"), or why it could not (then the next cut settles it).
  const std::vector<std::string>& start_notes() const { return start_notes_; }

  // A remote-write body (snappy block format) for `tenant`: 1.0's prometheus.WriteRequest, or
  // 2.0's io.prometheus.write.v2.Request (the route picks it from the Content-Type).
  PushResult Push(std::string_view tenant, std::string_view snappy_body,
                  ingest::Protocol protocol = ingest::Protocol::kV1);
  // A decoded remote-write request for `tenant`: answered as Push answers the same request sent
  // snappy-compressed (the message is serialized and decoded by the same decoder; only snappy is
  // skipped), exemplars and native histograms included.
  PushResult PushWriteRequest(std::string_view tenant, const prometheus::WriteRequest& request);

  // An OTLP export request for `tenant`, translated with `settings` (send_metadata decides
  // whether metric metadata is stored) straight into the tenant's head. See OtlpIngestResult.
  OtlpIngestResult IngestOtlp(
      std::string_view tenant,
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request,
      const otlp::PromTranslationSettings& settings);

  // The merged samples (head and blocks, tsdb::TenantQuerier::SelectSamples: each timestamp
  // once) of the series `matchers` select with a sample in [mint, maxt]: `fn` is called once
  // per series, in label order. Unavailable before Start().
  absl::Status SelectSamples(
      std::string_view tenant, std::span<const tsdb::Matcher> matchers, int64_t mint, int64_t maxt,
      const std::function<void(const tsdb::Labels&, std::span<const tsdb::QuerySample>)>& fn);

  // The read view of `tenant` over [mint, maxt] (inclusive ms) for one query: see StoreQuerier.
  // A tenant that never wrote (or an invalid ID) gets an empty view. Unavailable before Start().
  absl::StatusOr<std::unique_ptr<StoreQuerier>> Querier(std::string_view tenant, int64_t mint,
                                                        int64_t maxt);

  // A remote-read request body (snappy-compressed prometheus.ReadRequest), SAMPLES only.
  ReadResult RemoteRead(std::string_view tenant, std::string_view snappy_body);

  // The head of `tenant`, or nullptr when it never wrote (nothing is created). The pointer is
  // valid until the head is reopened after a WAL failure (tests and single-threaded tools only).
  tsdb::TenantHead* FindHead(std::string_view tenant) const;
  // The head of `tenant`, opened (created) when needed. InvalidArgument for an invalid ID.
  absl::StatusOr<tsdb::TenantHead*> GetOrOpenHead(std::string_view tenant);

  // Closes every head (the WAL is synced by each head's close). Idempotent.
  void Close();

  // Block cutting (README "Cutting blocks"). Blocks go to the blocks bucket (filesystem
  // backend: BlocksFilesystemDir(); others are Unimplemented for now) under
  // `[storage_prefix/]<tenant>/<ULID>/`, written first in `<tsdb dir>/<tenant>/cut-tmp/`.
  // After each upload the head is truncated and its WAL checkpointed. One cut at a time.
  //
  // Flush cuts everything the heads of `tenants` (every tenant when empty) hold, open chunks
  // included, into blocks aligned on the 2 h range (Mimir's POST /ingester/flush). Samples
  // older than the end of the last block are refused as too old afterwards.
  absl::Status Flush(const std::vector<std::string>& tenants = {});
  // Flush on the cutting job's thread, soon (`/ingester/flush` without wait=true); its error is
  // only logged by the job.
  void RequestFlush(std::vector<std::string> tenants);
  // One pass of the cutting job: for each tenant whose head spans more than 1.5 × 2 h (Prometheus's
  // rule), cuts the oldest complete 2 h range, as long as the rule holds. Start() runs it every
  // minute on its own thread until Close().
  absl::Status CutCompleteBlocks();

  // api::Queryable.
  absl::StatusOr<std::vector<std::string>> LabelNames(
      std::string_view tenant, const std::vector<api::MatcherSet>& matcher_sets, int64_t mint_ms,
      int64_t maxt_ms, int64_t limit) override;
  absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view tenant, std::string_view label_name,
      const std::vector<api::MatcherSet>& matcher_sets, int64_t mint_ms, int64_t maxt_ms,
      int64_t limit) override;
  absl::StatusOr<std::vector<tsdb::Labels>> Series(std::string_view tenant,
                                                   const std::vector<api::MatcherSet>& matcher_sets,
                                                   int64_t mint_ms, int64_t maxt_ms,
                                                   int64_t limit) override;
  // The cardinality endpoints over the tenant's head (tsdb::TenantHead::LabelCardinality: from
  // the postings lists, no series read without a selector or activity filter).
  absl::StatusOr<api::CardinalityResult> Cardinality(std::string_view tenant,
                                                     const api::MatcherSet& selector,
                                                     const std::vector<std::string>& names,
                                                     int64_t active_since_ms) override;
  absl::StatusOr<std::vector<tsdb::Labels>> ActiveSeries(std::string_view tenant,
                                                         const api::MatcherSet& selector,
                                                         int64_t active_since_ms) override;
  absl::StatusOr<api::HeadStatus> TsdbHeadStatus(std::string_view tenant) override;
  absl::StatusOr<api::UserStats> TenantUserStats(std::string_view tenant) override;
  absl::StatusOr<std::map<std::string, std::vector<api::MetricMetadata>>> Metadata(
      std::string_view tenant, std::string_view metric, int64_t limit,
      int64_t limit_per_metric) override;
  // The head's exemplars (blocks hold none, as in Prometheus and Mimir).
  absl::StatusOr<std::vector<api::SeriesExemplars>> Exemplars(
      std::string_view tenant, const std::vector<api::MatcherSet>& matcher_sets, int64_t start_ms,
      int64_t end_ms) override;
  // The PromQL engine's view of `tenant` (promql_queryable.cc): each Open(mint, maxt) is one
  // Querier(tenant, mint, maxt) (a StoreQuerier: the read barrier is held until the engine
  // destroys it, on the thread that opened it); Unavailable before Start().
  std::unique_ptr<promql::Queryable> PromQueryable(std::string_view tenant) override;

  const MetricsConfig& config() const { return options_.config; }

  // The blocks' object store: a FilesystemObjectStore at config().BlocksFilesystemDir() (through
  // the store's Env), created on first use; a tenant's blocks are under the prefix "<tenant>".
  // The error of its creation (retried on the next call).
  absl::StatusOr<objstore::ObjectStore*> blocks_store();

  // One pass of the compaction job over every tenant with blocks: Compactor::Run (local
  // directory `<compactor.data_dir>/<tenant>`), then ApplyRetention with
  // limits.compactor_blocks_retention_period. Every tenant is attempted; the first error is
  // returned. Start() runs it every compactor.compaction_interval (> 0) on its own thread.
  absl::Status RunCompactionOnce();
  // The bucket index's periodic rewrite (the cutting job calls it after every pass; Start()
  // once): every open tenant's `bucket-index.json.gz` not known to be in step with the bucket
  // (never written by this process, a failed Put or listing) or last written more than
  // compactor.cleanup_interval ago is rebuilt from a listing (TenantBucketIndex::Resync).
  // Failures are counted and logged, and retried by the next call. No-op when
  // blocks_storage.bucket_store.bucket_index.enabled is false.
  void MaintainBucketIndexes();
  // The tenant's bucket index (null when disabled or the blocks store is unavailable).
  tsdb::TenantBucketIndex* BucketIndexFor(const std::string& tenant);
  // Times the head of a tenant was reopened after it failed closed.
  uint64_t head_reopens() const { return head_reopens_.load(); }

  // Mimir's rate-limit text for the limits of `tenant` (for tests and the docs).
  std::string RateLimitedMessage(std::string_view tenant = {}) const;

  // The limits of `tenant` in force now: config's `limits` with the tenant's runtime overrides.
  TenantLimits LimitsFor(std::string_view tenant) const;

 private:
  friend class StoreQuerier;
  struct Tenant;
  struct TenantCounters;

  Tenant* FindTenant(std::string_view tenant) const;
  absl::StatusOr<Tenant*> GetOrOpenTenant(std::string_view tenant);
  absl::StatusOr<std::unique_ptr<Tenant>> OpenTenant(const std::string& tenant);
  tsdb::HeadOptions HeadOptionsFor(const std::string& tenant) const;
  // Push's path after decoding (or the OTLP sink): the tenant's head opened, counters, the rate
  // limit, the append, the answer. `appended` (may be null) gets the head's result.
  PushResult Ingest(std::string_view tenant, const ingest::IngestResult& decoded,
                    AppendBuilder& builder, tsdb::AppendResult* appended);
  // Push and PushWriteRequest: a remote-write body (snappy-compressed or not) decoded, then
  // Ingest.
  PushResult PushBody(std::string_view tenant, std::string_view body, bool snappy,
                      ingest::Protocol protocol = ingest::Protocol::kV1);
  std::unique_ptr<ingest::RemoteWriteDecoder> TakeDecoder();
  void ReturnDecoder(std::unique_ptr<ingest::RemoteWriteDecoder> decoder);
  absl::Status CutTenant(Tenant& t, bool flush) ABSL_EXCLUSIVE_LOCKS_REQUIRED(cut_mu_);
  absl::Status CutRange(Tenant& t, int64_t mint, int64_t maxt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(cut_mu_);
  // Settles the tenant's pending-cut marker (README "Cutting blocks"): when the block it names
  // (or a compacted block listing it among its sources) is in the bucket, truncates the head to
  // the marker's maxTime; otherwise deletes the unfinished upload. Then removes the marker. The
  // caller keeps other cuts and reopens of the tenant's head away.
  // `note` (optional) receives a line saying what was done.
  absl::Status ResolvePendingCut(Tenant& t, std::string* note = nullptr);
  // `<blocks_storage.tsdb.dir>/<tenant>`.
  std::string TenantDir(std::string_view tenant) const;
  // The tenant's prefix in the blocks store: `[storage_prefix/]<tenant>`.
  std::string BlocksPrefix(std::string_view tenant) const;
  std::vector<Tenant*> TenantsToCut(const std::vector<std::string>& tenants) const;
  void CutLoop();
  void StopCutter();
  // A head was opened (its WAL replayed): on_replay and the replay gauges.
  void NoteReplay(const std::string& tenant, const tsdb::TenantHead& head);
  void CountDiscarded(Tenant& t, std::string_view family, std::string_view reason, int64_t n);
  // The validation limits of a request of a tenant with `limits`.
  ingest::Limits IngestLimits(const TenantLimits& limits) const;
  // Applies the tenant's limits to its head and rate limiter when the runtime configuration
  // changed since they were last applied; returns the limits in force.
  TenantLimits RefreshLimits(Tenant& t);

  // Reads: the tenant's head (read-locked against a reopen while `view` lives) and its blocks
  // overlapping [mint, maxt] (the block list refreshed first).
  struct ReadView;
  std::unique_ptr<ReadView> OpenReadView(std::string_view tenant, int64_t mint, int64_t maxt);
  tsdb::BlockSet* BlockSetFor(const std::string& tenant);
  // The tenant's read barrier: every read holds it shared from before it lists the blocks to
  // its end. ReadBarrier takes it exclusively and lets it go at once, so it returns when every
  // read that began before has ended: a cut calls it between its upload and the head's
  // truncation, a compaction between its upload and the deletion of its sources, so that no
  // read misses data that moved between the head and the blocks after it listed them.
  absl::Mutex* ReadBarrierFor(const std::string& tenant);
  void ReadBarrier(const std::string& tenant);
  // The head failed closed (or a reopen failed before): closes and reopens (replays) it, unless
  // a concurrent caller already did.
  absl::Status ReopenHead(Tenant& t);
  absl::Status StartCompactionJob();
  void StopCompactionJob();

  const MetricsStoreOptions options_;
  ingest::Limits ingest_limits_;
  std::vector<std::string> skipped_dirs_;
  std::vector<std::string> start_notes_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, std::unique_ptr<Tenant>> tenants_ ABSL_GUARDED_BY(mu_);
  // Serialises the opening of new heads (replay can take a while; reads of open tenants go on).
  absl::Mutex open_mu_;

  absl::Mutex decoders_mu_;
  std::vector<std::unique_ptr<ingest::RemoteWriteDecoder>> decoders_ ABSL_GUARDED_BY(decoders_mu_);

  // Process-wide counters (no tenant label), looked up once.
  Counter* ingested_samples_ = nullptr;
  Counter* ingested_samples_failures_ = nullptr;
  std::vector<int> callbacks_;

  // Blocks: the object store and one BlockSet per tenant.
  absl::Mutex blocks_mu_;
  std::unique_ptr<objstore::ObjectStore> blocks_store_ ABSL_GUARDED_BY(blocks_mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<tsdb::BlockSet>> block_sets_
      ABSL_GUARDED_BY(blocks_mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<absl::Mutex>> read_barriers_
      ABSL_GUARDED_BY(blocks_mu_);
  // One bucket-index writer per tenant (tsdb::TenantBucketIndex), shared by the cuts, the
  // compaction job and the readers' BlockSets.
  absl::flat_hash_map<std::string, std::unique_ptr<tsdb::TenantBucketIndex>> bucket_indexes_
      ABSL_GUARDED_BY(blocks_mu_);
  std::atomic<uint64_t> head_reopens_{0};

  // The compaction job's thread.
  absl::Mutex compaction_mu_;
  bool compaction_stop_ ABSL_GUARDED_BY(compaction_mu_) = false;
  absl::Mutex compaction_run_mu_;  // one RunCompactionOnce at a time
  std::thread compaction_thread_;
  // Block cutting: held for a whole cut (or flush); Close() takes it before closing the heads.
  absl::Mutex cut_mu_;
  absl::Mutex cutter_mu_;
  bool stop_cutter_ ABSL_GUARDED_BY(cutter_mu_) = false;
  bool wake_cutter_ ABSL_GUARDED_BY(cutter_mu_) = false;  // stop or a requested flush
  std::vector<std::vector<std::string>> flush_requests_ ABSL_GUARDED_BY(cutter_mu_);
  std::thread cutter_;
};

}  // namespace sprout::metrics
