// TenantHead: one tenant's in-memory head of the metrics TSDB — series, their chunks, the
// postings index, exemplars and metric metadata — and its write-ahead log in `<dir>/wal/`,
// replayed when the head is opened. See README.md for the design and docs/format/metrics-wal.md
// for the WAL's bytes.
//
// Guarantees:
//  - Append stores every good sample of a request and refuses the bad ones one by one, with
//    Mimir's error kinds and texts (Refusal::Message). It writes the request's accepted data as
//    one contiguous group of WAL records (new series first, then samples, histograms, float
//    histograms — in rounds, so that each series' samples keep the request's order — then
//    exemplars, metadata), then applies it to memory in request order, then returns: once
//    Append returned, readers see the data. With SyncPolicy::kEveryAppend the records are on
//    disk (fdatasync, group commit) before Append returns; with kInterval they are in the OS (a
//    process crash loses nothing, a machine crash at most `wal_sync_interval` of acknowledged
//    appends; so does a failed background fsync, after which the head fails closed:
//    wal_status()).
//  - The order of samples in memory is the order of the WAL: appends of one tenant are
//    serialised from validation to the in-memory apply (the fsync of kEveryAppend happens after,
//    outside that section, shared by every append waiting for it), so replay rebuilds exactly the
//    state readers saw.
//  - Open replays the WAL: a torn tail is cut by the segment log and reported, never fatal;
//    samples of a series id the WAL never defined are counted (replay_stats()) and skipped.
//
// Errors: Open fails on an unusable directory, a WAL written by a newer sprout, or a lock held by
// another head. Append's AppendResult::status is not OK only when the WAL write or sync failed,
// or the head failed closed (kUnavailable until reopened: wal_status()): then the request must be
// answered with a retryable error (5xx); what was refused sample by sample is in `refusals`.
//
// Thread-safety: every method may be called from any thread. Appends of one head run one at a
// time through their critical section; readers run concurrently with appends (they copy a series'
// open chunk under its stripe lock).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/chunkenc/chunk.h"
#include "metrics/tsdb/chunkenc/histogram.h"
#include "metrics/tsdb/head/exemplars.h"
#include "metrics/tsdb/head/wal_record.h"
#include "metrics/tsdb/index/labels.h"
#include "metrics/tsdb/index/matcher.h"
#include "metrics/tsdb/index/postings.h"
#include "metrics/tsdb/index/symbols.h"
#include "storage/env.h"
#include "storage/log_format.h"
#include "storage/segment_log.h"

namespace sprout::metrics::tsdb {

inline constexpr int64_t kDefaultChunkRangeMs = 2 * 3600 * 1000;

struct HeadOptions {
  storage::Env* env = storage::Env::Default();
  // The tenant's directory; the WAL is `<dir>/wal/`, the lock `<dir>/LOCK`.
  std::string dir;
  // kInterval (default): a 2xx means the request is in the OS; kEveryAppend: on disk (group
  // commit); kManual: the caller's SyncWal() decides (tests, batch tools).
  storage::SyncPolicy wal_sync = storage::SyncPolicy::kInterval;
  absl::Duration wal_sync_interval = absl::Seconds(1);
  uint64_t wal_segment_size = 64 << 20;
  // 0: in-order only (Mimir's default). Above 0, a float sample older than its series' newest,
  // or below the in-order too-old bound, is stored as out of order when it is not older than
  // (head max time − window); older than that: too old, with the window's text (README
  // "Out-of-order samples").
  int64_t out_of_order_time_window_ms = 0;
  // Out-of-order samples a series buffers (sorted) before they are sealed into out-of-order
  // chunks: Prometheus's out_of_order_cap_max / Mimir's
  // -blocks-storage.tsdb.out-of-order-capacity-max, default 32, 1..255.
  int out_of_order_cap_max = 32;
  uint64_t max_series = 0;  // 0: no limit
  // Series per metric name (__name__), Mimir's max_global_series_per_metric; 0: no limit.
  uint64_t max_series_per_metric = 0;
  size_t max_exemplars = 0;  // 0: exemplars off
  int64_t chunk_range_ms = kDefaultChunkRangeMs;
  int samples_per_chunk = 120;
  // Every repair the segment log makes and all damage replay skips (for a log line and a counter).
  std::function<void(const storage::LogDamage&)> on_wal_damage;
};

// `start_zero`: a zero the ingest path injected at a sample's start (created) timestamp (remote
// write 2.0). The head stores it only in order after the series' last sample and inside the
// accepted time range; otherwise it is dropped silently — never a Refusal — and counted in
// AppendResult::start_zeros_dropped (Prometheus's ErrOutOfOrderCT, which callers ignore).
struct FloatSample {
  int64_t t = 0;
  double v = 0;
  bool start_zero = false;
};

struct HistogramSample {
  int64_t t = 0;
  std::variant<chunkenc::Histogram, chunkenc::FloatHistogram> h;
  bool start_zero = false;  // as FloatSample::start_zero
};

struct MetricMetadata {
  std::string metric_family;
  wal::MetricType type = wal::MetricType::kUnknown;
  std::string unit;
  std::string help;
};

inline constexpr uint32_t kNoSeries = UINT32_MAX;

// One series of a request.
struct AppendSeries {
  // The `labels` entries of the remote-write TimeSeries as they arrived (raw_labels.h); empty
  // when the caller has none (in-process ingest).
  std::string_view raw_labels;
  // The decoded, validated, canonical labels; may be empty when raw_labels is set and the
  // request has a `decode_labels` callback (then they are decoded only on a cache miss).
  Labels labels;
  // The series LookupRawLabels found for raw_labels (kNoSeries: none asked or none found). Used
  // only when the request's hints_head is this head's instance_id() and the series still exists;
  // otherwise the head looks the series up itself.
  uint32_t known_series = kNoSeries;
  std::span<const FloatSample> samples;         // timestamp order
  std::span<const HistogramSample> histograms;  // timestamp order (after the samples)
  std::span<const Exemplar> exemplars;
};

// What decode_labels returns for a series that cannot be stored: the message is the refusal's.
struct LabelsOrError {
  Labels labels;
  std::string error;  // non-empty: refused with this text
};

struct AppendRequest {
  std::span<const AppendSeries> series;
  std::span<const MetricMetadata> metadata;
  // Decodes and validates series[i]'s raw labels; called only when series[i].labels is empty and
  // its raw labels name no known series.
  std::function<LabelsOrError(size_t index)> decode_labels;
  // TenantHead::instance_id() of the head whose LookupRawLabels set the series' known_series
  // (0: none). A request built against another head (reopened meanwhile) is looked up afresh.
  uint64_t hints_head = 0;
};

enum class RefusalKind : uint8_t {
  kOutOfOrder,         // err-mimir-sample-out-of-order
  kTooOld,             // err-mimir-sample-timestamp-too-old
  kTooOldOooWindow,    // err-mimir-sample-timestamp-too-old, beyond the out-of-order window
  kDuplicate,          // err-mimir-sample-duplicate-timestamp
  kSeriesLimit,        // err-mimir-max-series-per-user (every sample of the series)
  kMetricSeriesLimit,  // err-mimir-max-series-per-metric (every sample of the series)
  kInvalidLabels,      // decode_labels' message (every sample of the series)
  kInvalidHistogram,   // buckets do not match spans, or bad custom buckets
};

struct Refusal {
  RefusalKind kind = RefusalKind::kOutOfOrder;
  uint32_t series_index = 0;  // in AppendRequest::series
  // The sample's index in its series' samples (is_histogram false) or histograms, injected
  // start zeros included; for the series-level kinds the first sample's.
  uint32_t sample_index = 0;
  bool is_histogram = false;
  uint32_t count = 1;  // samples this refusal stands for (series-level kinds: all of them)
  int64_t timestamp = 0;
  Labels series;       // empty for kInvalidLabels
  int64_t limit = 0;   // kSeriesLimit: the limit; kTooOldOooWindow: the window in ms
  std::string detail;  // kInvalidLabels, kInvalidHistogram

  // Mimir's text, e.g. "the sample has been rejected because another sample with a more recent
  // timestamp has already been ingested and out-of-order samples are not allowed
  // (err-mimir-sample-out-of-order). The affected sample has timestamp 2024-01-02T03:04:05.6Z
  // and is from series {__name__="up"}".
  std::string Message() const;
};

struct AppendResult {
  absl::Status status;  // not OK: the WAL failed; nothing of this request was applied
  uint64_t samples_appended = 0;
  uint64_t histograms_appended = 0;
  uint64_t exemplars_appended = 0;
  uint64_t duplicates_ignored = 0;  // same timestamp and value: accepted, not stored twice
  // Of samples_appended, those stored as out-of-order samples.
  uint64_t ooo_samples_appended = 0;
  uint64_t exemplars_dropped = 0;  // duplicate or out-of-order exemplars, or disabled
  uint64_t series_created = 0;
  // Injected start-timestamp zeros (FloatSample::start_zero): stored, and dropped silently. Not
  // in samples_appended / histograms_appended (those count what the sender sent).
  uint64_t start_zeros_appended = 0;
  uint64_t start_zeros_dropped = 0;
  uint64_t samples_refused = 0;   // sum of refusals' counts
  std::vector<Refusal> refusals;  // in request order
};

// A series' samples in a time range, over copies of its chunks. Implements chunkenc::Iterator.
class SeriesSampleIterator;

// A copy of one head chunk of a series (sealed or the open one), taken under the series' stripe
// lock: readers decode it without holding anything.
struct HeadChunkCopy {
  int64_t min_time = 0;  // of the samples it held when copied
  int64_t max_time = 0;
  chunkenc::Encoding encoding = chunkenc::Encoding::kNone;
  std::string bytes;  // the payload (no encoding byte)
};

// The answer of SelectSamples: series in Prometheus's label order, each read when reached.
class HeadSeriesSet {
 public:
  ~HeadSeriesSet();
  // Moves to the next series; false at the end.
  bool Next();
  const Labels& labels() const;
  // Over the current series' samples in [mint, maxt]; valid until the next Next().
  chunkenc::Iterator& samples();
  // The copies of the current series' chunks that overlap [mint, maxt], oldest first; valid until
  // the next Next(). A caller may move them out (the querier does), but then must not use
  // samples() for this series.
  std::vector<HeadChunkCopy>& chunks();

 private:
  friend class TenantHead;
  HeadSeriesSet() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct SeriesExemplars {
  Labels series;
  std::vector<Exemplar> exemplars;
};

struct ReplayStats {
  uint64_t records = 0;
  uint64_t series = 0;
  uint64_t samples = 0;
  uint64_t histograms = 0;
  uint64_t exemplars = 0;
  uint64_t metadata = 0;
  uint64_t unknown_series_samples = 0;  // samples/histograms/exemplars of undefined series ids
  uint64_t refused_samples = 0;         // out of order / duplicate on replay (never expected)
  uint64_t ooo_samples = 0;             // of `samples`, stored as out-of-order samples
  uint64_t corrupt_records = 0;         // records that failed to decode (skipped)
  // Series entries whose id is beyond what a valid log can hold (skipped; their samples then
  // count as unknown_series_samples).
  uint64_t ids_out_of_range = 0;
  uint64_t damage_reports = 0;  // segment log repairs and skipped damage
  absl::Duration duration;
};

// A chunk of a series in the head (what the block writer will walk).
struct HeadChunkMeta {
  int64_t min_time = 0;
  int64_t max_time = 0;
  chunkenc::Encoding encoding = chunkenc::Encoding::kNone;
  size_t bytes = 0;
  bool open = false;  // still being appended to
  // An out-of-order chunk (sealed, or the series' out-of-order buffer when `open`); these
  // follow the in-order chunks and may overlap them.
  bool out_of_order = false;
};

struct HeadStats {
  uint64_t series = 0;
  int64_t min_time = 0;  // INT64_MAX / INT64_MIN when the head holds no sample
  int64_t max_time = 0;
  uint64_t samples_appended = 0;
  uint64_t samples_refused = 0;
  uint64_t ooo_samples_appended = 0;  // of samples_appended
  uint64_t exemplars = 0;
  uint64_t wal_bytes = 0;
  uint64_t alias_entries = 0;
};

class TenantHead {
 public:
  static absl::StatusOr<std::unique_ptr<TenantHead>> Open(HeadOptions options);
  ~TenantHead();
  TenantHead(const TenantHead&) = delete;
  TenantHead& operator=(const TenantHead&) = delete;

  AppendResult Append(const AppendRequest& request);

  // Changes the series limits (HeadOptions::max_series, max_series_per_metric; 0: none) and the
  // out-of-order window for the appends that start afterwards (a tenant's runtime overrides).
  // Series over a lowered limit stay; only new series are refused.
  void SetLimits(uint64_t max_series, uint64_t max_series_per_metric,
                 int64_t out_of_order_time_window_ms);
  // Resizes the exemplar store (HeadOptions::max_exemplars): the newest exemplars stay.
  void SetMaxExemplars(size_t max_exemplars) { exemplars_.SetCapacity(max_exemplars); }

  // The series whose labels `raw` (remote-write label bytes, raw_labels.h) are exactly, in
  // canonical order, if an earlier Append of these bytes created or found it: the ingest layer
  // may then skip decoding and validating them (WriteVisitor::KnownLabelBytes) and pass the id
  // as AppendSeries::known_series with hints_head = instance_id(), so Append does not look the
  // series up again. Never a false positive (the bytes are compared with the series' labels,
  // which never change); nullopt for bytes not seen yet and for other encodings of a known set
  // (aliases), which the ingest layer then validates. The id may name a series that Truncate
  // removes before the Append: Append checks. A cache keyed by a seeded hash of the bytes
  // (one pass, no parsing), sharded, so decoding threads do not wait for the append section.
  std::optional<uint32_t> LookupRawLabels(std::string_view raw) const;
  bool KnownRawLabels(std::string_view raw) const { return LookupRawLabels(raw).has_value(); }

  // Unique among the heads of this process (never 0): what AppendRequest::hints_head names.
  uint64_t instance_id() const { return instance_id_; }

  // kManual: makes everything appended durable. Otherwise a no-op beyond the log's own Sync.
  absl::Status SyncWal();

  // OK, or why every Append is refused (kUnavailable, retryable) until the head is reopened:
  // the WAL lost, or may not hold, records the head applied to memory (a failed sync, the cut
  // that follows one, a failed write that left part of its group in the log). Replay at the next
  // Open rebuilds exactly what the WAL holds. Readers keep being served meanwhile.
  absl::Status wal_status() const;

  // Read API. Times are inclusive milliseconds. Matchers as MemPostings::Select (an empty list
  // selects nothing), except that LabelNames/LabelValues with no matchers consider every series.
  // Only series with a sample in [mint, maxt] count.
  std::vector<std::string> LabelNames(std::span<const Matcher> matchers, int64_t mint,
                                      int64_t maxt) const;
  std::vector<std::string> LabelValues(std::string_view name, std::span<const Matcher> matchers,
                                       int64_t mint, int64_t maxt) const;
  // Sorted in Prometheus's label order.
  std::vector<Labels> Series(std::span<const Matcher> matchers, int64_t mint, int64_t maxt) const;
  std::unique_ptr<HeadSeriesSet> SelectSamples(std::span<const Matcher> matchers, int64_t mint,
                                               int64_t maxt) const;
  std::vector<SeriesExemplars> Exemplars(std::span<const Matcher> matchers, int64_t start,
                                         int64_t end) const;
  // The latest metadata per metric family, by name; only `metric` when not empty.
  std::vector<MetricMetadata> Metadata(std::string_view metric = {}) const;

  // The chunks of the series with exactly these labels, oldest first (empty when unknown).
  std::vector<HeadChunkMeta> Chunks(const Labels& series) const;

  // Block cutting (README "Cutting blocks"). One cut at a time (cut_mu_); appends and readers
  // go on meanwhile.
  //
  // CutBlock writes every series' chunks inside [mint, maxt) to `writer` (AddSeries in label
  // order; the caller then calls Finish and Upload). First it raises the too-old bound to
  // `maxt` (no sample below it is accepted any more: the range is complete) and seals every
  // open chunk whose samples all lie below `maxt`. `maxt` must be a multiple of chunk_range_ms
  // or above the head's max time (chunks are cut at those boundaries); an open chunk that
  // straddles `maxt` is InvalidArgument before anything is written. Returns the series written
  // (0: none; the caller should then not Finish, the writer refuses an empty block without
  // range). Out-of-order samples: every series' buffer is sealed first, and the out-of-order
  // chunks inside [mint, maxt) are merged with the in-order ones (README "Out-of-order
  // samples"); the cut is remembered for the Truncate of the same maxt.
  absl::StatusOr<uint64_t> CutBlock(int64_t mint, int64_t maxt, BlockWriter* writer);

  // Drops every chunk that ends before `maxt` (sealing open ones that do), deletes the series
  // left without samples (postings, label maps, aliases; their exemplars are no longer served),
  // raises the too-old bound to `maxt`, then checkpoints the WAL (docs/format/metrics-wal.md):
  // a new segment N is started, `wal/checkpoint.N` is written from memory (the live series,
  // their samples, exemplars at or after `maxt`, metadata) under a temporary name, synced and
  // renamed, and the segments below N and older checkpoints are removed. An error of the
  // checkpoint is returned; memory is truncated all the same and the WAL still replays to a
  // superset (the old checkpoint and segments are kept until a checkpoint succeeds).
  // Out-of-order chunks go only when the latest CutBlock (same maxt, this process) wrote them;
  // the others stay, whatever their time (cut again later), and the checkpoint keeps them.
  absl::Status Truncate(int64_t maxt);

  // The too-old bound set by CutBlock/Truncate (INT64_MIN before any).
  int64_t min_valid_time() const { return min_valid_time_.load(); }

  HeadStats Stats() const;

  // Cardinality from the index (MemPostings::Cardinality): per label name (only `names` when
  // not empty) the series per value, over the series `matchers` select (every series when
  // empty), and with `active_since` > INT64_MIN only the series whose newest sample is at or
  // after it. No series' labels are read; without matchers and activity filter the answer is
  // the lists' lengths only. Views into the head's symbol table (valid while the head is open).
  std::vector<MemPostings::NameCardinality> LabelCardinality(std::span<const std::string> names,
                                                             std::span<const Matcher> matchers,
                                                             int64_t active_since) const;
  // The number of series LabelCardinality would consider (same selection).
  uint64_t CountSeries(std::span<const Matcher> matchers, int64_t active_since) const;
  // Chunks in memory (sealed and open) over every series: one pass over the series (stripe lock
  // each), as Prometheus's prometheus_tsdb_head_chunks gauge counts them.
  uint64_t ChunkCount() const;

  const ReplayStats& replay_stats() const { return replay_stats_; }
  // Heap bytes of the head's structures (series, chunks, labels, postings, symbols, maps), an
  // estimate from capacities; the benchmark also measures it with the allocator.
  size_t MemoryBytes() const;

 private:
  struct MemSeries;
  struct SealedChunk;
  struct OooChunk;
  struct OooData;
  class SealedList;
  struct Staged;
  struct SeriesKeyHash;
  struct SeriesKeyEq;
  using SeriesSet = absl::flat_hash_set<uint32_t, SeriesKeyHash, SeriesKeyEq>;

  explicit TenantHead(HeadOptions options);
  absl::Status Replay();
  // Replays the newest complete checkpoint, if any; its number (0: none) in *segment.
  absl::Status ReplayCheckpoint(uint64_t* segment);
  // Open's error for a record of a newer record-format version (in a segment or a checkpoint).
  absl::Status NewerWalFormat() const;
  // `ooo_seq`: the out-of-order chunks sealed below it are written (later ones are in the WAL).
  absl::Status WriteCheckpoint(uint64_t segment, int64_t maxt, uint64_t ooo_seq,
                               const std::vector<std::pair<uint32_t, int64_t>>& live);
  void DeleteSeries(uint32_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  bool replaying_checkpoint_ = false;
  // Serialises CutBlock and Truncate.
  absl::Mutex cut_mu_;
  void ReplayRecord(const storage::LogRecord& record);

  // Series lookup and creation (append section).
  MemSeries* series(uint32_t id) const;         // the appender (append_mu_ held) or replay only
  MemSeries* SeriesForRead(uint32_t id) const;  // any thread
  // The slot of any id, nullptr when its page is not allocated (replay: ids from the WAL).
  MemSeries* FindSlot(uint32_t id) const;
  // Calls f(id, slot) for every slot below num_series_ of every allocated page, in id order,
  // until f returns false (the appender or replay).
  template <typename F>
  void ForEachSlot(F&& f) const;
  std::optional<uint32_t> FindByLabels(const Labels& labels, uint64_t hash) const;
  uint32_t CreateSeries(const Labels& labels, uint64_t hash, std::optional<uint32_t> id);
  // The label-bytes cache (known_): `raw_hash` (SeededRawBytesHash) now names series `id`.
  void NoteRawLabels(uint64_t raw_hash, uint32_t id);
  static size_t KnownShardOf(uint64_t raw_hash);
  std::optional<uint32_t> LookupRawLabels(std::string_view raw, uint64_t raw_hash) const;

  // The chunk appends, shared by Append and replay; `s` is locked by the caller.
  void AppendFloat(MemSeries& s, int64_t t, double v);
  void AppendHistogram(MemSeries& s, int64_t t, const chunkenc::Histogram& h);
  void AppendFloatHistogram(MemSeries& s, int64_t t, const chunkenc::FloatHistogram& h);
  void Seal(MemSeries& s);
  bool NeedsCut(const MemSeries& s, int64_t t) const;

  // Out-of-order storage (README "Out-of-order samples"). A series with out-of-order data has
  // `has_ooo` set and an OooData in ooo_ (ooo_mu_ guards the map, the stripe lock the data).
  // The series' OooData, nullptr when it has none; the stripe lock of `id` is held.
  OooData* Ooo(uint32_t id) const;
  // Stores an out-of-order float sample (stripe lock held, append section or replay); false
  // when HasSampleAt(t) (the first one stays: Prometheus's rule).
  bool InsertOoo(uint32_t id, MemSeries& s, int64_t t, double v);
  // Seals the series' out-of-order buffer into chunks (stripe lock held, append section).
  void SealOoo(OooData& d);
  // True when the series holds a sample at `t` in its in-order chunks or its out-of-order
  // buffer (not its sealed out-of-order chunks: reads and cuts keep the first of those).
  bool HasSampleAt(const MemSeries& s, const OooData* d, int64_t t) const;
  // Copies of the out-of-order chunks (and buffer) overlapping [mint, maxt], sealing order,
  // buffer last (stripe lock held).
  void CopyOoo(uint32_t id, int64_t mint, int64_t maxt, std::vector<HeadChunkCopy>* out) const;

  absl::Mutex& Stripe(uint32_t id) const;
  std::vector<uint32_t> Select(std::span<const Matcher> matchers, int64_t mint, int64_t maxt) const;
  bool Overlaps(uint32_t id, int64_t mint, int64_t maxt) const;
  void NoteTimes(int64_t t);
  // Live series with the metric name of `labels`.
  uint64_t SeriesOfMetric(const Labels& labels);
  // kEveryAppend: waits for a sync that began after this thread's write; then `mark`'s records
  // (none: nullopt) must be durable, not cut by that sync's repair.
  absl::Status WaitDurable(const std::optional<storage::SegmentLog::AppendMark>& mark);

  const HeadOptions options_;
  std::unique_ptr<storage::FileLock> lock_;
  std::unique_ptr<storage::SegmentLog> wal_;
  ReplayStats replay_stats_;
  // Bumped whenever the segment log cut records it had written (a failed sync, a repair): series
  // whose record may be gone are logged again by the next append that uses them.
  std::atomic<uint32_t> wal_epoch_{1};
  // Set once by FailClosed: Append refuses everything with failed_status_.
  void FailClosed(const std::string& why);
  // Fails closed when a cut (the log's count is `cuts`) removed the records of `applied` (the
  // latest group applied to memory); true when the head is failed.
  bool CheckApplied(const std::optional<storage::SegmentLog::AppendMark>& applied, uint64_t cuts);
  // Logs a kBounds record (min valid time, newest sample ever) as an applied record, so that
  // replay routes the float samples logged after it as the append did (append_mu_ held).
  absl::Status LogBounds(int64_t min_valid_time) ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_);
  std::atomic<bool> wal_failed_{false};
  mutable absl::Mutex failed_mu_;
  absl::Status failed_status_ ABSL_GUARDED_BY(failed_mu_);
  std::string last_damage_ ABSL_GUARDED_BY(failed_mu_);  // the latest on_damage report
  // A sync failed: the log cuts back at its next write. The next append makes it do so first
  // (so that the epoch moves before the request's records are chosen).
  std::atomic<bool> repair_pending_{false};

  // The append section: validation, WAL write, in-memory apply.
  mutable absl::Mutex append_mu_;
  std::unique_ptr<SeriesSet> by_labels_ ABSL_GUARDED_BY(append_mu_);
  // Raw-label encodings that are not the canonical order (unsorted labels, empty values):
  // hash of the raw walk → series id and the raw bytes (compared on a hit). Bounded.
  struct Alias {
    uint32_t id;
    std::string raw;
  };
  absl::flat_hash_map<uint64_t, Alias> aliases_ ABSL_GUARDED_BY(append_mu_);
  std::unique_ptr<Staged> staged_ ABSL_GUARDED_BY(append_mu_);
  // The WAL records of the latest group applied to memory (every earlier one precedes them).
  std::optional<storage::SegmentLog::AppendMark> last_applied_ ABSL_GUARDED_BY(append_mu_);

  // Series by id: pages of 2^kPageBits slots that never move; readers take pages_mu_ shared to
  // find a page. Only the pages that hold a series are allocated (null otherwise): ids come
  // from the WAL on replay, and a checkpoint after much churn (or a damaged log) may name ids
  // far apart, so memory follows the series, not the highest id.
  static constexpr uint32_t kPageBits = 10;
  mutable absl::Mutex pages_mu_;
  std::vector<std::unique_ptr<MemSeries[]>> pages_ ABSL_GUARDED_BY(pages_mu_);
  // 1 + the highest id created (slots below it on null pages, and many others, are unused).
  std::atomic<uint32_t> num_series_{0};
  std::atomic<uint64_t> series_count_{0};  // series created
  // The limits Append applies (HeadOptions' values until SetLimits).
  std::atomic<uint64_t> max_series_{0};
  std::atomic<uint64_t> max_series_per_metric_{0};
  std::atomic<int64_t> ooo_window_ms_{0};
  // Live series per metric name (CreateSeries and DeleteSeries, under append_mu_ or replay).
  absl::Mutex per_metric_mu_;
  absl::flat_hash_map<std::string, uint64_t> series_per_metric_ ABSL_GUARDED_BY(per_metric_mu_);
  std::atomic<uint64_t> damage_reports_{0};
  const uint64_t instance_id_;

  static constexpr uint32_t kStripes = 4096;
  std::unique_ptr<absl::Mutex[]> stripes_;

  // SeededRawBytesHash of label bytes that Append resolved to a series and that are exactly its
  // labels in canonical order → series id, for LookupRawLabels from any thread (by_labels_
  // needs the append section). One id per hash: a colliding second series is simply not
  // "known". Entries of removed series are erased by DeleteSeries when their bytes are the
  // canonical encoding; others are caught by the deleted check in Append and overwritten.
  static constexpr size_t kKnownShards = 64;
  struct KnownShard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<uint64_t, uint32_t> ids ABSL_GUARDED_BY(mu);
  };
  std::unique_ptr<KnownShard[]> known_{new KnownShard[kKnownShards]};

  SymbolTable symbols_;
  MemPostings postings_{&symbols_};
  ExemplarStore exemplars_;

  mutable absl::Mutex metadata_mu_;
  absl::flat_hash_map<std::string, MetricMetadata> metadata_ ABSL_GUARDED_BY(metadata_mu_);

  std::atomic<int64_t> min_time_{INT64_MAX};
  std::atomic<int64_t> max_time_{INT64_MIN};
  // The newest sample ever taken (not reset by Truncate): the out-of-order window's reference.
  std::atomic<int64_t> newest_ever_{INT64_MIN};
  // Samples older than this are too old whatever the head's max time (set when a block is cut).
  std::atomic<int64_t> min_valid_time_{INT64_MIN};
  std::atomic<uint64_t> samples_appended_{0};
  std::atomic<uint64_t> samples_refused_{0};
  std::atomic<uint64_t> ooo_samples_appended_{0};

  // Out-of-order data by series id (see Ooo()). Lock order: a stripe, then ooo_mu_.
  mutable absl::Mutex ooo_mu_;
  absl::flat_hash_map<uint32_t, std::unique_ptr<OooData>> ooo_ ABSL_GUARDED_BY(ooo_mu_);
  // Sequence numbers of sealed out-of-order chunks (append section or replay).
  uint64_t next_ooo_seq_ = 1;
  // The latest CutBlock (cut_mu_): Truncate(maxt) of the same maxt drops exactly the
  // out-of-order chunks it wrote (sealed before it, inside [mint, maxt)); later ones stay.
  struct CutRecord {
    int64_t mint = 0;
    int64_t maxt = 0;
    uint64_t seq = 0;  // out-of-order chunks below this were sealed before the cut read them
  };
  std::optional<CutRecord> last_cut_;

  // Group commit for kEveryAppend (the segment log runs in kManual).
  absl::Mutex sync_mu_;
  absl::CondVar sync_cv_;
  uint64_t syncs_started_ ABSL_GUARDED_BY(sync_mu_) = 0;
  uint64_t syncs_done_ ABSL_GUARDED_BY(sync_mu_) = 0;
  uint64_t last_failed_sync_ ABSL_GUARDED_BY(sync_mu_) = 0;
  absl::Status last_sync_error_ ABSL_GUARDED_BY(sync_mu_);
  bool syncing_ ABSL_GUARDED_BY(sync_mu_) = false;
};

}  // namespace sprout::metrics::tsdb
