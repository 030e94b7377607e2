// One tenant's write path of the trace store and its live set (issue 11 item 2).
//
// TenantTraces owns the tenant's TracesWal (traces/wal/traces_wal.h) and the live set: the
// traces that have received spans since they were last cut, each kept as the ResourceSpans
// groups it arrived in (one group per pushed ResourceSpans and trace), with its first and last
// arrival time and its byte size.
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
//   IdleTraces(now, idle)    removes and returns the traces idle longer than `idle`.
//
// Limits, as Tempo applies them per trace: a trace's size is the sum of the serialized sizes of
// its ResourceSpans groups (resource + scope + that trace's spans). When a push would take a
// trace over `max_bytes_per_trace` (0 = no limit), that push's spans OF THAT TRACE are dropped
// and counted under reason "trace_too_large"; the spans already live stay, the other traces of
// the request are kept and the push succeeds. The size restarts at zero once IdleTraces cut the
// trace. A span whose trace ID is not 16 bytes is dropped under reason "invalid_trace_id".
//
// Thread-safety: every method may be called from any thread. One mutex guards the live set and
// is held for the whole of Push (limit check, WAL append and sync, insertion), so pushes are
// serialized and a limit decision always sees every earlier push; FindTrace and IdleTraces wait
// for a Push in progress. (A later change may reserve bytes under the lock and append outside
// it to share WAL syncs between pushers.)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "storage/env.h"
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

// A trace cut from the live set by IdleTraces.
struct CutTrace {
  std::string trace_id;                               // 16 bytes
  opentelemetry::proto::trace::v1::TracesData trace;  // as FindTrace returns it
  absl::Time first_arrival;
  absl::Time last_arrival;
  int64_t bytes = 0;
};

struct ReplayInfo {
  wal::ReplayStats wal;
  uint64_t unparsable_resource_spans = 0;  // decoded framing, but not a ResourceSpans: skipped
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

  // The live trace `trace_id` (16 bytes): one ResourceSpans per distinct resource (by bytes),
  // one ScopeSpans per distinct scope within it (by bytes, with the schema URLs), spans in
  // arrival order, exact duplicates (same span ID and same serialized bytes) kept once. Nullopt
  // when the trace is not live.
  std::optional<opentelemetry::proto::trace::v1::TracesData> FindTrace(
      const std::string& trace_id) const;

  // The seam of the block cutter: removes from the live set and returns every trace whose last
  // arrival is more than `idle_period` before `now` (ordered by trace ID). The caller writes
  // them to a block and, once the block is flushed, truncates the WAL (wal()->Rotate/Truncate).
  std::vector<CutTrace> IdleTraces(absl::Time now, absl::Duration idle_period);

  size_t live_traces() const;
  // The IDs of the live traces, sorted (a snapshot: readers such as search then call FindTrace).
  std::vector<std::string> LiveTraceIds() const;
  const ReplayInfo& replay_info() const { return replay_info_; }
  wal::TracesWal* wal() { return wal_.get(); }

 private:
  struct LiveTrace {
    std::vector<opentelemetry::proto::trace::v1::ResourceSpans> groups;
    absl::Time first_arrival;
    absl::Time last_arrival;
    int64_t bytes = 0;
  };

  TenantTraces(std::unique_ptr<wal::TracesWal> wal, TenantTracesOptions options);
  absl::Time Now() const;
  // The trace's groups merged as FindTrace describes.
  static opentelemetry::proto::trace::v1::TracesData Merge(const LiveTrace& trace);

  std::unique_ptr<wal::TracesWal> wal_;
  const TenantTracesOptions options_;
  ReplayInfo replay_info_;
  mutable std::mutex mu_;
  std::map<std::string, LiveTrace> live_;  // guarded by mu_
};

// Splits `rs` by trace ID: one ResourceSpans per trace (same resource, same scopes, that trace's
// spans only, empty scopes dropped), keyed by trace ID. Spans with an ID not 16 bytes long are
// counted in `*invalid`.
std::map<std::string, opentelemetry::proto::trace::v1::ResourceSpans> SplitByTrace(
    const opentelemetry::proto::trace::v1::ResourceSpans& rs, int64_t* invalid);

}  // namespace sprout::traces::live
