#include "cmd/traces_role.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "traces/traceql/metrics.h"

namespace sprout::cmd {

absl::StatusOr<std::unique_ptr<TracesRole>> TracesRole::Create(const traces::TracesConfig& config,
                                                               TracesRoleOptions options) {
  std::unique_ptr<TracesRole> role(new TracesRole(config, std::move(options)));
  const log::Logger logger = role->options_.logger;
  traces::store::TraceStoreOptions store_options;
  store_options.wal_dir = config.wal_path;
  store_options.tenant.max_bytes_per_trace = config.max_bytes_per_trace;
  store_options.ingestion_rate_limit_bytes = config.ingestion_rate_limit_bytes;
  store_options.ingestion_burst_size_bytes = config.ingestion_burst_size_bytes;
  // The blocks (storage.trace.local.path): the flush pipeline (ingester.*) writes each block
  // there through the store's own sink, and reads merge them with memory.
  auto block_store =
      objstore::FilesystemObjectStore::Open(storage::Env::Default(), config.LocalPath());
  if (!block_store.ok()) {
    return absl::Status(
        block_store.status().code(),
        absl::StrCat("cannot open the trace block store: ", block_store.status().message()));
  }
  // Temporary files of Puts that a crash interrupted (no other process writes this path).
  if (auto cleaned = (*block_store)->CleanUp(absl::InfiniteFuture()); !cleaned.ok()) {
    logger.Warn("trace block store clean-up failed",
                {{"error", std::string(cleaned.status().message())}});
  }
  role->block_store_ = *std::move(block_store);
  store_options.block_store = role->block_store_.get();
  store_options.trace_idle_period = config.trace_idle_period;
  store_options.max_block_duration = config.max_block_duration;
  store_options.max_block_bytes = config.max_block_bytes;
  store_options.flush_check_period = config.flush_check_period;
  store_options.flush_all_on_shutdown = config.flush_all_on_shutdown;
  store_options.on_flush_error = [logger](std::string_view tenant, const absl::Status& s) {
    logger.Warn("traces block flush failed; the traces stay in memory and in the WAL",
                {{"tenant", std::string(tenant)}, {"error", std::string(s.message())}});
  };
  store_options.tenant.wal.on_damage = [logger](const storage::LogDamage& damage) {
    logger.Warn("traces WAL damage repaired or skipped", {{"file", damage.file},
                                                          {"offset", std::to_string(damage.offset)},
                                                          {"reason", damage.reason}});
  };
  // The generator's output: the one given (sprout all: the metrics store, in-process), else
  // remote write from a WAL per tenant and remote_write entry under
  // metrics_generator.storage.path. As Tempo: processors on but no storage.path → a warning, and
  // the generator is off.
  traces::generator::GeneratorOutput* output = role->options_.generator_output;
  traces::GeneratorOverrides generator_overrides = config.generator_overrides;
  const traces::generator::EnabledProcessors enabled =
      traces::generator::ParseProcessors(generator_overrides.processors);
  if (output == nullptr && (enabled.span_metrics || enabled.service_graphs)) {
    // (not for local-blocks / host-info alone)
    traces::generator::RemoteWriteOutputOptions output_options;
    output_options.logger = logger;
    output_options.user_agent = "sprout/" + role->options_.version;
    auto created = traces::generator::RemoteWriteOutput::Create(
        config.metrics_generator, config.generator_overrides, output_options);
    if (created.ok()) {
      role->remote_write_ = *std::move(created);
      output = role->remote_write_.get();
    } else if (absl::IsFailedPrecondition(created.status())) {
      logger.Warn(std::string(created.status().message()), {});
      generator_overrides.processors.clear();
    } else {
      return absl::Status(created.status().code(),
                          absl::StrCat("metrics_generator: ", created.status().message()));
    }
  }
  // The metrics-generator (metrics_generator.*, overrides.defaults.metrics_generator.*): fed by
  // the store's write path, collected into the remote-write output.
  traces::generator::GeneratorServiceOptions generator_options;
  generator_options.config = config.metrics_generator;
  generator_options.overrides = generator_overrides;
  generator_options.output = output;
  generator_options.on_error = [logger](std::string_view tenant, const absl::Status& s) {
    logger.Warn("metrics-generator: a collection could not be written",
                {{"tenant", std::string(tenant)}, {"error", std::string(s.message())}});
  };
  auto generator = traces::generator::GeneratorService::Create(generator_options);
  if (!generator.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid configuration: metrics_generator: ", generator.status().message()));
  }
  role->generator_ = *std::move(generator);
  if (role->generator_->enabled()) {
    traces::generator::GeneratorService* g = role->generator_.get();
    store_options.on_pushed =
        [g](std::string_view tenant,
            const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request) {
          g->PushSpans(tenant, request);
        };
  }
  role->store_ = std::make_unique<traces::store::TraceStore>(store_options);

  // Compaction and retention (compactor.compaction.*) over the store's block lists.
  traces::compact::CompactorOptions compactor_options;
  compactor_options.plan.compaction_window = config.compaction_window;
  compactor_options.plan.max_block_bytes =
      static_cast<uint64_t>(std::max<int64_t>(0, config.compaction_max_block_bytes));
  compactor_options.plan.max_compaction_objects =
      static_cast<uint64_t>(std::max<int64_t>(0, config.max_compaction_objects));
  compactor_options.block_retention = config.block_retention;
  compactor_options.compacted_block_retention = config.compacted_block_retention;
  compactor_options.compaction_cycle = config.compaction_cycle;
  traces::store::TraceStore* store = role->store_.get();
  role->compactor_ = std::make_unique<traces::compact::Compactor>(
      compactor_options, [store] { return store->AllTenantBlocks(); });

  traces::TracesApiOptions api_options;
  api_options.multitenancy_enabled = config.multitenancy_enabled;
  api_options.default_tenant = role->options_.default_tenant;
  api_options.serve_ready = role->options_.serve_ready;
  api_options.build.revision = "";
  api_options.build.branch = "main";
  api_options.build.go_version = std::string("c++ ") + __VERSION__;
  api_options.queryable = role->store_.get();
  api_options.max_bytes_per_trace =
      static_cast<uint64_t>(std::max<int64_t>(0, config.max_bytes_per_trace));
  api_options.metrics_limits.max_duration = config.metrics_max_duration;
  api_options.metrics_limits.max_intervals =
      static_cast<uint64_t>(std::max<int64_t>(0, config.metrics_max_intervals));
  api_options.metrics_limits.max_exemplars =
      static_cast<uint32_t>(std::max(0, config.metrics_max_exemplars));
  api_options.metrics_limits.max_series =
      static_cast<uint32_t>(std::max(0, config.metrics_max_response_series));
  // TraceQL metrics: the engine's compiler (without it the routes answer 400 `localblocks
  // processor not found`, as a Tempo without the local-blocks processor does).
  api_options.compile_metrics = traces::traceql::MetricsProgram::Compile;
  role->api_ = std::make_unique<traces::TracesApi>(api_options);
  return role;
}

TracesRole::~TracesRole() {
  if (!stopped_) Stop(absl::Now());
}

absl::Status TracesRole::Register(net::Router* router) { return api_->Register(router); }

absl::Status TracesRole::Start() {
  if (absl::Status s = store_->Start(); !s.ok()) return s;
  for (const std::string& dir : store_->skipped_dirs()) {
    options_.logger.Warn("skipping a directory of the WAL directory that is not a valid tenant ID",
                         {{"dir", dir}});
  }
  for (const auto& [tenant, report] : store_->load_reports()) {
    for (const std::string& id : report.deleted_replaced) {
      options_.logger.Info("deleted a block replaced by a finished compaction",
                           {{"tenant", tenant}, {"block", id}});
    }
    for (const auto& [id, error] : report.unreadable) {
      options_.logger.Warn("skipping an unreadable trace block (kept on disk)",
                           {{"tenant", tenant}, {"block", id}, {"error", error}});
    }
  }
  compactor_->Start();
  generator_->Start();
  return absl::OkStatus();
}

void TracesRole::Stop(absl::Time deadline) {
  if (stopped_) return;
  stopped_ = true;
  api_->SetReady(false);
  // The generator's last collection, delivered until the deadline; then the compactor and the
  // store (flush_all_on_shutdown).
  generator_->Stop(deadline);
  compactor_->Stop();
  store_->Close();
}

void TracesRole::RefreshMetrics() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  MetricsRegistry* registry = options_.registry;
  // The store's, the generator's, its output's and the compactor's counters only grow: each
  // scrape raises the registry's counter to the total.
  const auto set_total = [registry](const char* name, const char* help, const MetricLabels& labels,
                                    auto total) {
    Counter* c = registry->GetCounter(name, help, labels);
    c->Add(static_cast<double>(total) - c->value());
  };
  const auto set_gauge = [registry](const char* name, const char* help, const MetricLabels& labels,
                                    auto value) {
    registry->GetGauge(name, help, labels)->Set(static_cast<double>(value));
  };
  for (const auto& [tenant, st] : store_->Stats()) {
    const MetricLabels labels = {{"tenant", tenant}};
    set_gauge("tempo_ingester_live_traces", "The current number of live traces per tenant.", labels,
              st.live_traces);
    set_gauge("sprout_traces_pending_traces",
              "Traces cut from the live set and waiting for a block (or being flushed).", labels,
              st.pending_traces + st.flushing_traces);
    set_total("tempo_ingester_blocks_flushed_total", "The total number of blocks flushed.", labels,
              st.blocks_flushed);
    set_total("tempo_ingester_failed_flushes_total", "The total number of failed flushes.", labels,
              st.flush_failures);
    set_total("sprout_traces_flushed_bytes_total",
              "The OTLP bytes of the traces flushed to blocks.", labels, st.bytes_flushed);
    set_total("sprout_traces_flushed_traces_total", "The traces flushed to blocks.", labels,
              st.traces_flushed);
    set_total("sprout_traces_block_bytes_written_total",
              "The bytes of the blocks the flushes wrote (data, index, bloom).", labels,
              st.block_bytes_written);
    set_gauge("tempodb_blocklist_length", "Total number of blocks per tenant.", labels, st.blocks);
    set_gauge("sprout_traces_block_bytes", "The bytes of the tenant's blocks (data, index, bloom).",
              labels, st.block_bytes);
  }
  for (const auto& [tenant, st] : generator_->Stats()) {
    const MetricLabels labels = {{"tenant", tenant}};
    set_total("tempo_metrics_generator_spans_received_total",
              "The total number of spans received per tenant", labels, st.generator.spans_received);
    set_total("tempo_metrics_generator_spans_discarded_total",
              "The total number of discarded spans received per tenant",
              {{"tenant", tenant}, {"reason", "outside_metrics_ingestion_slack"}},
              st.generator.spans_outside_slack);
    set_gauge("tempo_metrics_generator_registry_active_series", "The active series per tenant",
              labels, st.generator.active_series);
    set_gauge("tempo_metrics_generator_registry_max_active_series",
              "The maximum active series per tenant", labels,
              config_.generator_overrides.max_active_series);
    set_total("tempo_metrics_generator_registry_series_limited_total",
              "The total number of series not added because of limits", labels,
              st.generator.series_limited);
    set_total("tempo_metrics_generator_registry_series_removed_total",
              "The total number of series removed as stale", labels, st.generator.series_removed);
    set_total("tempo_metrics_generator_processor_service_graphs_edges",
              "Total number of unique edges", labels, st.edges);
    set_total("tempo_metrics_generator_processor_service_graphs_expired_edges",
              "Total number of expired edges", labels, st.expired_edges);
    set_total("tempo_metrics_generator_processor_service_graphs_dropped_spans",
              "Number of spans dropped when trying to add edges", labels, st.dropped_spans);
    set_total("tempo_metrics_generator_processor_service_graphs_dropped_edges_total",
              "Number of edges dropped because one of their spans was dropped", labels,
              st.dropped_edges);
    set_total("sprout_metrics_generator_samples_written_total",
              "Samples of the generator's collections handed to its output.", labels,
              st.samples_written);
    set_total("sprout_metrics_generator_histograms_written_total",
              "Native histogram samples of the generator's collections handed to its output.",
              labels, st.histograms_written);
    set_total("sprout_metrics_generator_exemplars_written_total",
              "Exemplars of the generator's collections handed to its output.", labels,
              st.exemplars_written);
    set_total("sprout_metrics_generator_write_failures_total",
              "Collections the generator's output refused (the next carries the totals).", labels,
              st.write_failures);
  }
  if (remote_write_ != nullptr) {
    for (const auto& e : remote_write_->Stats()) {
      const MetricLabels labels = {
          {"tenant", e.tenant}, {"remote_name", e.remote_name}, {"url", e.url}};
      set_total("prometheus_remote_storage_samples_total",
                "Total number of samples sent to remote storage.", labels, e.samples_sent);
      set_total("prometheus_remote_storage_exemplars_total",
                "Total number of exemplars sent to remote storage.", labels, e.exemplars_sent);
      set_total("prometheus_remote_storage_histograms_total",
                "Total number of histograms sent to remote storage.", labels, e.histograms_sent);
      set_total("sprout_metrics_generator_remote_write_requests_total",
                "Remote-write requests sent (whatever the answer).", labels, e.requests_sent);
      set_total("sprout_metrics_generator_remote_write_requests_failed_total",
                "Remote-write attempts that failed (retried unless dropped).", labels,
                e.requests_failed);
      set_total("sprout_metrics_generator_remote_write_requests_dropped_total",
                "Remote-write requests refused for good by the receiver (4xx).", labels,
                e.requests_dropped);
      set_total("sprout_metrics_generator_wal_writes_failed_total",
                "Collections that could not be appended to the remote-write WAL.", labels,
                e.wal_writes_failed);
      set_total("sprout_metrics_generator_wal_repaired_bytes_total",
                "Bytes of the remote-write WAL skipped as damaged or cut off as an interrupted "
                "write.",
                labels, e.wal_repaired_bytes);
      set_total("sprout_metrics_generator_wal_repaired_records_total",
                "Records of the remote-write WAL lost to damage or cut off as interrupted writes "
                "(a lower bound).",
                labels, e.wal_repaired_records);
      set_gauge("sprout_metrics_generator_wal_size_bytes",
                "Bytes of the remote-write WAL's segment files.", labels, e.wal_size_bytes);
    }
  }
  const traces::compact::CompactorStats cs = compactor_->stats();
  set_total("sprout_traces_compaction_cycles_total", "Compaction and retention cycles run.", {},
            cs.cycles);
  set_total("sprout_traces_compactions_total", "Compaction jobs finished.", {}, cs.compactions);
  set_total("tempodb_compaction_blocks_total", "Total number of blocks compacted.", {},
            cs.blocks_compacted);
  set_total("sprout_traces_compaction_blocks_written_total", "Blocks written by compaction.", {},
            cs.blocks_written);
  set_total("tempodb_compaction_objects_written_total",
            "Total number of objects written to backend during compaction.", {},
            cs.objects_written);
  set_total("tempodb_compaction_objects_combined_total",
            "Total number of objects combined during compaction.", {}, cs.objects_combined);
  set_total("tempodb_compaction_bytes_written_total",
            "Total number of bytes written to backend during compaction.", {}, cs.bytes_written);
  set_total("tempodb_compaction_errors_total",
            "Total number of errors occurring during compaction.", {}, cs.compaction_failures);
  set_total("tempodb_retention_marked_for_deletion_total",
            "Total number of blocks marked for deletion.", {}, cs.retention_marked);
  set_total("tempodb_retention_deleted_total", "Total number of blocks deleted.", {},
            cs.blocks_deleted);
  set_total("tempodb_retention_errors_total", "Total number of times retention errored.", {},
            cs.delete_failures);
}

}  // namespace sprout::cmd
