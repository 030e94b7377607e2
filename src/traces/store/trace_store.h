// TraceStore: the tenants of the trace store's data directory (issue 11) and the read seam
// (traces/api/trace_queryable.h) over their live traces.
//
//   Start()               opens every tenant directory under `wal_dir` (each
//                         live::TenantTraces::Open replays its WAL into its live set); a
//                         directory whose name is not a valid tenant ID (net::ValidateTenantId)
//                         is skipped and listed in skipped_dirs().
//   Push(tenant, request) validates the tenant ID, opens the tenant on its first push
//                         (`<wal_dir>/<tenant>/`) and pushes into its TenantTraces. With a
//                         rate limit set, the request's serialized size (ByteSizeLong) is first
//                         taken from the tenant's token bucket (Tempo's local ingestion limiter:
//                         `ingestion_rate_limit_bytes` per second up to `ingestion_burst_size_bytes`,
//                         full at the tenant's first push); when the bytes are not there nothing
//                         is stored and Push answers ResourceExhausted with Tempo's text
//                         "RATE_LIMITED: ingestion rate limit (<rate> bytes) exceeded while adding
//                         <n> bytes" (the OTLP receivers answer 429 / RESOURCE_EXHAUSTED).
//   FindTraceByID, Search, TagNames, TagValues: TraceQueryable over the live sets (blocks come
//                         with the block issue). A tenant that never wrote answers empty.
//
// Search semantics (the legacy `/api/search` parameters; see README.md): a trace matches when
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

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "storage/env.h"
#include "traces/api/trace_queryable.h"
#include "traces/live/tenant_traces.h"

namespace sprout::traces::store {

// Tempo's root service name when a trace's root span has not arrived.
inline constexpr char kRootSpanNotYetReceived[] = "<root span not yet received>";

struct TraceStoreOptions {
  std::string wal_dir;  // storage.trace.wal.path; one sub-directory per tenant
  storage::Env* env = storage::Env::Default();
  live::TenantTracesOptions tenant;  // every tenant's options (limits, WAL sync, clock)
  // Per-tenant ingestion rate limit in bytes per second (overrides.defaults.ingestion.
  // rate_limit_bytes); 0 = no limit. The bucket holds at most ingestion_burst_size_bytes.
  // Time comes from tenant.clock (default absl::Now).
  int64_t ingestion_rate_limit_bytes = 0;
  int64_t ingestion_burst_size_bytes = 0;
};

class TraceStore : public TraceQueryable {
 public:
  explicit TraceStore(TraceStoreOptions options);
  ~TraceStore() override;

  absl::Status Start();
  // Closes every tenant (its WAL synced and closed); later calls answer Unavailable.
  void Close();

  absl::StatusOr<live::PushResult> Push(
      std::string_view tenant,
      const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request);

  // Tenant IDs with an open TenantTraces, sorted.
  std::vector<std::string> tenants() const;
  // Directory names under wal_dir skipped by Start (not valid tenant IDs).
  const std::vector<std::string>& skipped_dirs() const { return skipped_dirs_; }

  absl::StatusOr<std::optional<opentelemetry::proto::trace::v1::TracesData>> FindTraceByID(
      std::string_view tenant, std::string_view trace_id, uint32_t start_s,
      uint32_t end_s) override;
  absl::StatusOr<SearchResult> Search(std::string_view tenant,
                                      const SearchRequest& request) override;
  absl::StatusOr<TagNamesResult> TagNames(std::string_view tenant, std::string_view scope,
                                          uint32_t start_s, uint32_t end_s) override;
  absl::StatusOr<TagValuesResult> TagValues(std::string_view tenant, std::string_view name,
                                            uint32_t start_s, uint32_t end_s,
                                            uint32_t limit) override;

 private:
  // The tenant's TenantTraces, nullptr when it never wrote; Unavailable before Start.
  absl::StatusOr<live::TenantTraces*> FindTenant(std::string_view tenant) const;
  // The live traces of `tenant` overlapping [start_s, end_s] (0 = unbounded), by trace ID.
  absl::StatusOr<std::vector<std::pair<std::string, opentelemetry::proto::trace::v1::TracesData>>>
  LiveTraces(std::string_view tenant, uint32_t start_s, uint32_t end_s) const;

  const TraceStoreOptions options_;
  std::vector<std::string> skipped_dirs_;  // written by Start only
  mutable std::mutex mu_;
  bool started_ = false;  // guarded by mu_
  bool closed_ = false;   // guarded by mu_
  std::map<std::string, std::unique_ptr<live::TenantTraces>, std::less<>> tenants_;  // mu_
  std::mutex open_mu_;  // serializes opening new tenants

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
  std::map<std::string, ByteBucket, std::less<>> buckets_;  // guarded by limit_mu_
};

}  // namespace sprout::traces::store
