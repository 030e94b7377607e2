// The metrics-generator's remote-write output (issue 13, item 2): every tenant's collections,
// made durable in a write-ahead log per tenant and `metrics_generator.storage.remote_write`
// entry, and delivered from there to the entry's URL with Prometheus remote write 1.0. The WAL,
// its senders and the HTTP client are src/remotewrite, shared with the prometheusremotewrite
// exporter.
//
//  - Layout: `<storage.path>/<tenant>/<dir>`, `dir` the entry's `name`, or `url-` and 16 hex
//    digits of the SHA-256 of its `url` (docs/format/generator-remote-write.md). Each directory
//    is a remotewrite::Wal (docs/format/prw-wal.md) written with one shard.
//  - Write(tenant, request) encodes the request once (requests of at most 2000 series, snappy)
//    and appends it to the WAL of every entry; it returns once every append is durable. One
//    WalSender per WAL delivers with a remotewrite::Client, retrying 5xx and transport errors
//    until delivered or Close; a 4xx (429 included, as Prometheus' default) drops that request.
//  - Restart: Create() reopens the WAL of every tenant directory found under storage.path for
//    the configured entries, and what was not delivered is sent first (Tempo deletes its WAL at
//    start and stop instead; README.md).
//  - Headers as Tempo (reference §4.1): the entry's `headers`, then the tenant's
//    `remote_write_headers` (replacing an entry header of the same name), then
//    `X-Scope-OrgID: <tenant>` unless `remote_write_add_org_id_header` is false, the tenant is
//    `single-tenant` (multi-tenancy off), or a header of that name (any case) with a value is
//    already there. basic_auth and authorization become an `Authorization` header (their files
//    read at Create). Exemplars are always sent (Tempo forces `send_exemplars: true`).
//  - Close(deadline): delivers what the WALs hold until `deadline`, then stops; the rest stays
//    in the WALs for the next start.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/backoff.h"
#include "base/logging.h"
#include "storage/env.h"
#include "traces/config/generator_config.h"
#include "traces/generator/output.h"

namespace sprout::traces::generator {

struct RemoteWriteOutputOptions {
  log::Logger logger;
  std::string user_agent = "sprout";  // the command passes "sprout/<version>"
  storage::Env* env = nullptr;        // nullptr: the real file system
  // Bytes of one WAL (tenant × entry) beyond which Write refuses that entry's append (the other
  // entries still get it); 0: no bound.
  uint64_t wal_max_size_bytes = uint64_t{1} << 30;
  // Series per request (Prometheus' queue_config.max_samples_per_send; one sample per series).
  int64_t max_series_per_request = 2000;
  // Retries of a request (Prometheus' queue_config min_backoff 30ms, max_backoff 5s, doubling).
  BackoffConfig retry = DefaultRetry();
  absl::Duration commit_interval = absl::Seconds(1);    // of each WAL's cursor
  absl::Duration truncate_interval = absl::Minutes(1);  // delivered segments deleted

  static BackoffConfig DefaultRetry();
};

// Counters of one WAL (tenant × remote_write entry), for the command's /metrics.
struct RemoteWriteEndpointStats {
  std::string tenant;
  std::string remote_name;  // the entry's `name`, or its directory name (`url-…`)
  std::string url;
  // Appended to the WAL by Write.
  int64_t samples_written = 0;
  int64_t exemplars_written = 0;
  int64_t histograms_written = 0;
  // Delivered (the receiver answered 2xx).
  int64_t samples_sent = 0;
  int64_t exemplars_sent = 0;
  int64_t histograms_sent = 0;
  int64_t requests_sent = 0;      // HTTP requests, whatever the answer
  int64_t requests_failed = 0;    // attempts that failed (retried or not)
  int64_t requests_dropped = 0;   // refused for good (4xx): never sent again
  int64_t wal_writes_failed = 0;  // Write could not append to this WAL
  int64_t wal_bytes_written = 0;
  uint64_t wal_size_bytes = 0;  // segment files now
  // What damage cost (a torn tail cut off at open, a damaged block skipped on reading): the
  // bytes, and the records as the segment log counts them (a lower bound). Each is also logged.
  int64_t wal_repaired_bytes = 0;
  int64_t wal_repaired_records = 0;
};

class RemoteWriteOutput : public GeneratorOutput {
 public:
  // Fails with the text Tempo uses when `storage_path` is empty ("no metrics_generator.storage.
  // path configured, metrics generator will be disabled", FailedPrecondition: Tempo's single
  // binary then warns and runs without the generator); InvalidArgument for two entries sharing
  // a directory, a `name` that cannot be a directory name, or an unreadable password or
  // credentials file; the WAL's errors for a tenant directory that cannot be opened.
  // `overrides` gives each tenant's remote_write_headers (every tenant gets the defaults).
  static absl::StatusOr<std::unique_ptr<RemoteWriteOutput>> Create(
      const traces::GeneratorConfig& config, const traces::GeneratorOverrides& overrides,
      RemoteWriteOutputOptions options = {});
  ~RemoteWriteOutput() override;  // Close(now) unless closed

  // Appends to every entry's WAL (opening the tenant's WALs at its first write). Errors: the
  // first failed append's, naming the entry (the others were still appended); FailedPrecondition
  // after Close. With no `remote_write` entries the collection is dropped (OK).
  absl::Status Write(std::string_view tenant, prometheus::WriteRequest request) override;
  // Delivers until `deadline`, then stops and releases the WALs (a new output may open them).
  void Close(absl::Time deadline) override;

  // Every open WAL's counters; after Close, those at Close.
  std::vector<RemoteWriteEndpointStats> Stats() const;
  // The directory of an entry (`name`, or `url-` + 16 hex digits of the SHA-256 of `url`).
  static std::string EntryDirectory(const traces::RemoteWriteConfig& entry);
  // The headers sent for `tenant` to `entry` (before the protocol's own).
  static std::vector<std::pair<std::string, std::string>> TenantHeaders(
      const traces::RemoteWriteConfig& entry, const std::map<std::string, std::string>& overrides,
      std::string_view tenant, bool add_org_id_header);

 private:
  struct Endpoint;
  struct Tenant;
  RemoteWriteOutput(const traces::GeneratorConfig& config,
                    const traces::GeneratorOverrides& overrides, RemoteWriteOutputOptions options);
  // The tenant's endpoints, opened on first use (outside mu_; requires neither mutex held).
  absl::StatusOr<Tenant*> GetOrOpenTenant(std::string_view tenant);
  std::vector<RemoteWriteEndpointStats> StatsLocked() const;  // requires mu_
  absl::StatusOr<std::unique_ptr<Endpoint>> OpenEndpoint(const std::string& tenant, size_t entry);

  const traces::GeneratorConfig config_;
  const traces::GeneratorOverrides overrides_;
  RemoteWriteOutputOptions options_;
  std::vector<std::string> dirs_;           // per entry
  std::vector<std::string> authorization_;  // per entry: the Authorization header, or ""

  std::mutex open_mu_;  // one tenant opened at a time (taken before mu_, never while holding it)
  mutable std::mutex mu_;
  std::condition_variable writers_cv_;  // writers_ reached 0
  std::map<std::string, std::unique_ptr<Tenant>, std::less<>> tenants_;
  int writers_ = 0;  // Writes appending now (Close waits for them)
  bool closed_ = false;
  std::vector<RemoteWriteEndpointStats> final_stats_;  // at Close
};

}  // namespace sprout::traces::generator
