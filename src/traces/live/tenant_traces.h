// One tenant's write path of the trace store and its live set (issue 11 item 2).
//
// TenantTraces owns the tenant's TracesWal (traces/wal/traces_wal.h) and the live set: the
// traces that have received spans since they were last cut, each kept as the ResourceSpans
// groups it arrived in (one group per pushed ResourceSpans and trace), with its first and last
// arrival time, its byte size and its span time bounds (read from the bytes, nothing parsed).
//
//   Open(env, dir, options)  opens the WAL in `dir` and replays every batch into the live set
//                            (arrival time: the clock at Open; no size limit: every replayed
//                            span was acknowledged once).
//   Push(request)            splits the request's spans by trace ID, applies
//                            `max_bytes_per_trace`, appends the kept spans to the WAL as one
//                            batch (durable on return per the WAL's sync policy: with the
//                            default kEveryAppend an OK means fdatasync'd), then adds them to the
//                            live set. Returns the accepted and discarded span counts.
//   FindTrace(id)            the live trace as one TracesData, or nullopt.
//   TraceIdsStartingIn(s, e) the traces whose span bounds may hold a span starting in [s, e).
//   Snapshot(ids)            those traces' stored parts (TraceParts), merged and parsed later.
//   CutIdle(now, idle)       moves the traces idle longer than `idle` from `live` to `pending`.
//   StartFlush(...)          when a block is due (pending bytes, pending age, or force): rotates
//                            the WAL, checkpoints the live traces into the new segment, and moves
//                            `pending` to `flushing` as one FlushJob (whole traces by trace ID).
//   CompleteFlush(job, ok)   ok: the block is durable, `flushing` is dropped and the WAL
//                            truncated below the checkpoint; not ok: back to `pending`.
//
// Three sets of traces, all read by FindTrace (a trace ID may be in several at once, e.g. late
// spans after its cut: FindTrace merges every part): `live` (receiving spans), `pending` (cut,
// waiting for the next block), `flushing` (in the block being written; one job at a time).
//
// The WAL is truncated only after a block is durable. StartFlush rotates the WAL to segment N
// and writes every live trace into N (a checkpoint) before moving pending to flushing, so the
// segments below N hold nothing that is neither in the job nor in the checkpoint:
// CompleteFlush(ok) may delete them. A crash anywhere replays old segments and checkpoints
// together; the duplicate groups are dropped at replay and FindTrace keeps exact duplicate spans
// once, so every acknowledged span is found exactly once.
//
// Limits, as Tempo applies them per trace: a trace's size is the sum of the serialized sizes of
// its ResourceSpans groups (resource + scope + that trace's spans). When a push would take a
// trace over `max_bytes_per_trace` (0 = no limit), that push's spans OF THAT TRACE are dropped
// and counted under reason "trace_too_large"; the spans already live stay, the other traces of
// the request are kept and the push succeeds. The size restarts at zero once CutIdle cut the
// trace (only the live part counts). A span whose trace ID is not 16 bytes is dropped under reason
// "invalid_trace_id".
//
// Storage: a trace's spans are the serialized ResourceSpans groups written to the WAL (split by
// trace at the byte level, span_bytes.h), kept as chunks of one shared buffer per push; they are
// merged and parsed only for FindTrace and a flush job.
//
// Thread-safety: every method may be called from any thread. One mutex guards the three sets.
// Push splits its request without it; under it, decides the limits and reserves the kept bytes
// on their live traces (so every limit decision sees every earlier and concurrent push); then
// appends to the WAL WITHOUT it (concurrent pushers share the segment log's write and
// fdatasync: group commit) and takes it again to insert the spans (or to undo the reservation
// when the append failed). Acknowledged spans are live before Push returns; two concurrent
// pushes of one trace may be kept in either order. CutIdle leaves a trace with a push in
// flight live. StartFlush holds the mutex to rotate the WAL (new pushes wait, the appends in
// flight finish first, so every acknowledged span is below the new segment and in memory) and
// to move pending to flushing; it writes the checkpoint and builds the job without it.
// FindTrace merges and parses outside it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "storage/env.h"
#include "traces/live/span_bytes.h"
#include "traces/wal/traces_wal.h"

namespace sprout::traces::live {

// Discard reasons (the `reason` label Tempo uses for discarded spans).
inline constexpr char kReasonTraceTooLarge[] = "trace_too_large";
inline constexpr char kReasonInvalidTraceId[] = "invalid_trace_id";

struct TenantTracesOptions {
  int64_t max_bytes_per_trace = 0;  // 0 = no limit (TracesConfig::max_bytes_per_trace)
  wal::TracesWalOptions wal;
  // The arrival clock (tests inject one). Default absl::Now.
  std::function<absl::Time()> clock;
};

struct PushResult {
  int64_t accepted_spans = 0;
  std::map<std::string, int64_t> discarded_spans;  // by reason; absent = 0
  int64_t discarded_total() const {
    int64_t n = 0;
    for (const auto& [reason, count] : discarded_spans) n += count;
    return n;
  }
};

// One trace of a FlushJob: every part of it that was pending. Its spans stay the stored bytes
// until FlushJob::ReadTrace merges and parses them, one trace at a time.
struct CutTrace {
  std::string trace_id;  // 16 bytes
  absl::Time first_arrival;
  absl::Time last_arrival;
  int64_t bytes = 0;  // the parts' byte size (sum of their ResourceSpans groups)
  int64_t spans = 0;  // spans of the merged trace (exact duplicates once)
};

class FlushJobTraces;  // the stored bytes of a job's traces (tenant_traces.cc)

// A run of framed ResourceSpans groups of one trace (see span_bytes.h) in a shared, immutable
// buffer: the bytes of one push (or one replayed group), as they were written to the WAL.
struct SpanChunk {
  std::shared_ptr<const std::string> buffer;
  size_t offset = 0;
  size_t size = 0;
  std::string_view view() const { return std::string_view(buffer->data() + offset, size); }
};

// Some traces' stored parts as TenantTraces::Snapshot found them (every part of each, flushing,
// pending, live: the chunks FindTrace would merge at that moment), sharing the stored bytes
// (nothing copied or parsed). A scan lists traces cheaply and merges and parses each one later,
// one at a time, into a message it reuses. Valid for as long as it is held, whatever the
// tenant does meanwhile (flushes included: the bytes are immutable).
class TraceParts {
 public:
  size_t size() const { return traces_.size(); }
  const std::string& trace_id(size_t i) const { return traces_[i].id; }
  // Trace `i` merged as FindTrace merges, parsed into `*out` (cleared first); `*bytes` (when
  // given) gets the merged TracesData's serialized size. With a `projection`, only what it keeps
  // is parsed (ProjectSerializedTraces: a pass over the bytes, far cheaper than parsing the
  // attributes, events and links it drops). DataLoss when the stored bytes do not merge or parse
  // (not reached: they parsed when pushed); OutOfRange for a bad `i`.
  absl::Status Read(size_t i, opentelemetry::proto::trace::v1::TracesData* out,
                    int64_t* bytes = nullptr, const Projection* projection = nullptr) const;

 private:
  friend class TenantTraces;
  struct Trace {
    std::string id;
    std::vector<SpanChunk> chunks;  // flushing, pending, live parts, in order
  };
  std::vector<Trace> traces_;
};

// The traces of one block, handed out by StartFlush and settled by CompleteFlush. The job holds
// no parsed span: a block sink asks ReadTrace for each trace in turn (so building a block holds
// one parsed trace at a time, not the whole job as messages).
struct FlushJob {
  uint64_t id = 0;               // per TenantTraces, from 1; CompleteFlush checks it
  uint64_t wal_segment = 0;      // the checkpoint segment: CompleteFlush(ok) truncates below it
  std::vector<CutTrace> traces;  // sorted by trace ID, one per trace
  int64_t bytes = 0;             // sum of the traces' merged TracesData sizes (OTLP bytes)
  int64_t spans = 0;

  // Trace `i` of `traces`, merged as FindTrace merges, parsed into `*out` (cleared first; reuse
  // one message across calls). Valid until CompleteFlush; any thread, concurrently with the
  // tenant's other methods. DataLoss when the stored bytes do not merge or parse (not reached:
  // they parsed when pushed); OutOfRange for a bad `i`.
  absl::Status ReadTrace(size_t i, opentelemetry::proto::trace::v1::TracesData* out) const;
  // The same, returned by value (tests).
  opentelemetry::proto::trace::v1::TracesData Trace(size_t i) const;

  std::shared_ptr<const FlushJobTraces> source;  // set by StartFlush
};

struct ReplayInfo {
  wal::ReplayStats wal;
  uint64_t unparsable_resource_spans = 0;  // decoded framing, but not a ResourceSpans: skipped
  // Groups identical (same bytes) to one already replayed for the same trace, dropped: a trace
  // in both an old segment and a flush checkpoint (a crash before the WAL was truncated).
  uint64_t duplicate_groups = 0;
};

class TenantTraces {
 public:
  static absl::StatusOr<std::unique_ptr<TenantTraces>> Open(storage::Env* env, std::string dir,
                                                            TenantTracesOptions options);

  // Pushes a request's spans (see the file comment). A WAL failure is returned and nothing of the
  // request enters the live set (a partial write may still be replayed after a restart, as with
  // any unacknowledged request). A request with no kept span appends nothing.
  absl::StatusOr<PushResult> Push(
      const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request);
  absl::StatusOr<PushResult> Push(
      const google::protobuf::RepeatedPtrField<opentelemetry::proto::trace::v1::ResourceSpans>&
          resource_spans);
  // The same for serialized ResourceSpans (each as SerializeAsString writes it: the live set
  // keeps these bytes, split by trace). InvalidArgument when one is not valid wire format.
  absl::StatusOr<PushResult> PushSerialized(std::span<const std::string_view> resource_spans);

  // The live trace `trace_id` (16 bytes): one ResourceSpans per distinct resource (by bytes),
  // one ScopeSpans per distinct scope within it (by bytes, with the schema URLs), spans in
  // arrival order, exact duplicates (same span ID and same serialized bytes) kept once. Nullopt
  // when the trace is not live.
  std::optional<opentelemetry::proto::trace::v1::TracesData> FindTrace(
      const std::string& trace_id) const;

  // Moves every live trace whose last arrival is MORE than `idle_period` before `now` to
  // `pending` (merged with a pending part of the same trace; its cut time is `now` unless it
  // was already pending). Returns the IDs moved, sorted. Still found by FindTrace.
  std::vector<std::string> CutIdle(absl::Time now, absl::Duration idle_period);

  // Starts a block when one is due: `force` (every live trace is cut first: shutdown), or the
  // pending bytes are >= `max_block_bytes` (> 0), or the oldest pending cut time is at least
  // `max_block_duration` before `now`. Nullopt when nothing is due, nothing is pending, or a job
  // is already flushing (one at a time). Otherwise: WAL Rotate() to segment N, every live trace
  // appended to N (the checkpoint; batches under the WAL's max_record_size), WAL synced, then
  // pending -> flushing and the job returned. On an error nothing moves (a partial checkpoint
  // is harmless: duplicates are dropped at replay).
  absl::StatusOr<std::optional<FlushJob>> StartFlush(absl::Time now,
                                                     absl::Duration max_block_duration,
                                                     int64_t max_block_bytes, bool force);
  // Settles the in-flight job. ok (the block is durable and readable): its traces leave
  // `flushing` and the WAL is truncated below job.wal_segment (an error of Truncate is
  // returned; the traces are gone from memory either way). Not ok: its traces go back to
  // `pending` (before any newer pending part), the WAL is untouched, a later StartFlush retries
  // them. FailedPrecondition when `job` is not the in-flight job.
  absl::Status CompleteFlush(const FlushJob& job, bool ok);

  size_t live_traces() const;
  size_t pending_traces() const;
  size_t flushing_traces() const;
  int64_t pending_bytes() const;
  // The IDs of the live traces (the `live` set only), sorted.
  std::vector<std::string> LiveTraceIds() const;
  // The IDs of every trace FindTrace finds (live, pending, flushing), sorted and distinct: a
  // snapshot for readers that scan (search, tag names and values call FindTrace on each).
  std::vector<std::string> TraceIds() const;
  // The IDs of the traces of TraceIds() that may hold a span starting in [start_ns, end_ns)
  // (unix ns), sorted and distinct: those whose span bounds over every part (least start,
  // greatest end; kept per part from the bytes at Push and at replay, nothing parsed) meet it.
  // A superset of the traces FindTrace would show with such a span at the time of the call.
  std::vector<std::string> TraceIdsStartingIn(uint64_t start_ns, uint64_t end_ns) const;
  // The stored parts of the traces `ids` that are in memory now (in the order of `ids`; those
  // in no set left out), under one hold of the mutex: see TraceParts.
  TraceParts Snapshot(std::span<const std::string> ids) const;
  const ReplayInfo& replay_info() const { return replay_info_; }
  wal::TracesWal* wal() { return wal_.get(); }

 private:
  friend class FlushJobTraces;
  using Chunk = SpanChunk;
  struct Trace {
    std::vector<Chunk> chunks;  // in arrival order
    absl::Time first_arrival;
    absl::Time last_arrival;
    absl::Time cut;     // when it entered `pending` (pending and flushing parts only)
    int64_t bytes = 0;  // the sum of its groups' serialized sizes (+ pushes in flight: live)
    int64_t spans = 0;
    SpanTimes times;       // its spans' bounds (start, end; unix ns)
    int32_t inflight = 0;  // live only: pushes whose WAL append is in progress
  };
  using TraceMap = absl::flat_hash_map<TraceKey, Trace>;

  TenantTraces(std::unique_ptr<wal::TracesWal> wal, TenantTracesOptions options);
  absl::Time Now() const;
  // Moves `part` into `*to` under `id`: appended after an existing part (or before it when
  // `in_front`), arrival times widened, the oldest cut time kept.
  static void MergeInto(TraceMap* to, const TraceKey& id, Trace part, bool in_front);
  // Appends the groups of `chunks` to the WAL (the checkpoint) in batches under the WAL's
  // max_record_size, then syncs it.
  absl::Status WriteCheckpoint(const std::vector<Chunk>& chunks);
  // Moves the flushing set back to pending, in front of newer parts. Needs mu_.
  void ReturnFlushingToPending();

  std::unique_ptr<wal::TracesWal> wal_;
  const TenantTracesOptions options_;
  ReplayInfo replay_info_;
  mutable std::mutex mu_;
  TraceMap live_;     // guarded by mu_
  TraceMap pending_;  // guarded by mu_
  // The job's traces: immutable while the job is built (outside mu_), replaced under mu_.
  std::shared_ptr<TraceMap> flushing_;  // guarded by mu_
  int64_t pending_bytes_ = 0;           // guarded by mu_
  uint64_t next_job_id_ = 1;            // guarded by mu_
  uint64_t flushing_job_ = 0;           // guarded by mu_; 0 = none
  bool flushing_ready_ = false;         // guarded by mu_; StartFlush returned the job
  std::condition_variable cv_;          // appends_in_flight_ reached 0; rotating_ cleared
  int appends_in_flight_ = 0;           // guarded by mu_
  bool rotating_ = false;               // guarded by mu_; StartFlush is rotating: pushes wait
};

// The merge rule of FindTrace, for any parts of one trace (e.g. the ResourceSpans of several
// blocks' copies of it, in order): one ResourceSpans per distinct resource (serialized resource +
// schema URL), one ScopeSpans per distinct scope within it (serialized scope + schema URL), in
// first-appearance order; spans in order; an exact duplicate span (same span ID and same
// serialized bytes) kept once, a span with the same ID but other bytes kept.
opentelemetry::proto::trace::v1::TracesData MergeGroups(
    const std::vector<const opentelemetry::proto::trace::v1::ResourceSpans*>& groups);

// Splits `rs` by trace ID: one ResourceSpans per trace (same resource, same scopes, that trace's
// spans only, empty scopes dropped), keyed by trace ID. Spans with an ID not 16 bytes long are
// counted in `*invalid`.
std::map<std::string, opentelemetry::proto::trace::v1::ResourceSpans> SplitByTrace(
    const opentelemetry::proto::trace::v1::ResourceSpans& rs, int64_t* invalid);

}  // namespace sprout::traces::live
