// The trace store as a role of a command: the block store on storage.trace.local.path, the
// TraceStore with its flush pipeline, the metrics-generator fed by its write path, the compactor,
// and Tempo's HTTP API over the store, with the logging of their start and the copy of their
// figures into the command's registry. `sprout traces` runs one alone (the generator remote-writes
// from its own WAL); `sprout all` runs one beside the metrics store (the generator writes into it
// in-process) on a shared router and registry.
//
//   auto role = TracesRole::Create(config, options);   // config errors here
//   (*role)->Register(&router);                        // before the HTTP server starts
//   (*role)->Start();                                  // WAL replay, blocks, compactor, generator
//   ... (*role)->store() takes pushes; RefreshMetrics() before each /metrics scrape ...
//   (*role)->SetReady(false); (*role)->Stop(deadline);
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/logging.h"
#include "base/metrics.h"
#include "net/http_router.h"
#include "objstore/filesystem.h"
#include "traces/api/traces_api.h"
#include "traces/compact/compact.h"
#include "traces/config/traces_config.h"
#include "traces/generator/output.h"
#include "traces/generator/remote_write_output.h"
#include "traces/generator/service.h"
#include "traces/store/trace_store.h"

namespace sprout::cmd {

struct TracesRoleOptions {
  MetricsRegistry* registry = nullptr;  // required: RefreshMetrics writes here
  log::Logger logger;
  std::string version;  // the remote-write User-Agent
  // false: /ready is the command's (several APIs on one router).
  bool serve_ready = true;
  // The tenant of header-less requests with multi-tenancy off.
  std::string default_tenant = std::string(traces::TracesConfig::kSingleTenant);
  // Where the generator's collections go; not owned. nullptr: a RemoteWriteOutput built from
  // metrics_generator.storage (with Tempo's warning, and the generator off, without
  // storage.path).
  traces::generator::GeneratorOutput* generator_output = nullptr;
};

class TracesRole {
 public:
  // Errors: the block store cannot be opened; the generator's or its output's settings.
  static absl::StatusOr<std::unique_ptr<TracesRole>> Create(const traces::TracesConfig& config,
                                                            TracesRoleOptions options);
  ~TracesRole();

  // Tempo's API routes. Errors: a route registered twice.
  absl::Status Register(net::Router* router);
  // Opens the tenants (WAL replay) and their blocks, logs what start settled, then starts the
  // compactor and the generator's loop. The API is made ready by SetReady.
  absl::Status Start();
  void SetReady(bool ready) { api_->SetReady(ready); }
  bool ready() const { return api_->ready(); }
  // The generator's last collection (delivered until `deadline` by its output), the compactor
  // stopped, the store closed (flush_all_on_shutdown honoured).
  void Stop(absl::Time deadline);

  // Copies the store's, the generator's, its remote-write output's and the compactor's figures
  // into the registry (Tempo's metric names; docs/traces.md). Thread-safe.
  void RefreshMetrics();

  traces::store::TraceStore& store() { return *store_; }
  const traces::TracesConfig& config() const { return config_; }

 private:
  TracesRole(const traces::TracesConfig& config, TracesRoleOptions options)
      : config_(config), options_(std::move(options)) {}

  const traces::TracesConfig config_;
  TracesRoleOptions options_;
  std::unique_ptr<objstore::FilesystemObjectStore> block_store_;
  std::unique_ptr<traces::generator::RemoteWriteOutput> remote_write_;  // when options give none
  std::unique_ptr<traces::generator::GeneratorService> generator_;
  std::unique_ptr<traces::store::TraceStore> store_;
  std::unique_ptr<traces::compact::Compactor> compactor_;
  std::unique_ptr<traces::TracesApi> api_;
  std::mutex refresh_mu_;
  bool stopped_ = false;
};

}  // namespace sprout::cmd
