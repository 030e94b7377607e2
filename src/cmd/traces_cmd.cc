#include "cmd/traces_cmd.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/logging.h"
#include "base/metrics.h"
#include "base/process_stats.h"
#include "base/signals.h"
#include "cmd/all/store_exporters.h"
#include "cmd/process_metrics.h"
#include "collector/component.h"
#include "collector/receiver/otlp/config.h"
#include "collector/receiver/otlp/otlp_receiver.h"
#include "config/config.h"
#include "net/http_server.h"
#include "objstore/filesystem.h"
#include "traces/api/traces_api.h"
#include "traces/compact/compact.h"
#include "traces/config/traces_config.h"
#include "traces/generator/remote_write_output.h"
#include "traces/generator/service.h"
#include "traces/store/trace_store.h"

namespace sprout::cmd {
namespace {

absl::StatusOr<traces::TracesConfigResult> LoadTracesFlags(const std::vector<std::string>& configs,
                                                           const std::vector<std::string>& sets) {
  config::LoadOptions options;
  options.uris = configs;
  options.set_overrides = sets;
  return traces::LoadTracesConfig(options);
}

class NoHost : public collector::Host {
 public:
  collector::Component* GetExtension(const collector::ComponentID&) const override {
    return nullptr;
  }
};

void PrintError(const absl::Status& status, const char* prefix = "Error: ") {
  std::fprintf(stderr, "%s%s\n", prefix, std::string(status.message()).c_str());
}

}  // namespace

int RunValidateTraces(const std::vector<std::string>& configs,
                      const std::vector<std::string>& sets) {
  auto cfg = LoadTracesFlags(configs, sets);
  if (!cfg.ok()) {
    PrintError(cfg.status(), "Error: invalid configuration: ");
    return 1;
  }
  for (const std::string& warning : cfg->warnings) {
    std::fprintf(stderr, "Warning: %s\n", warning.c_str());
  }
  return 0;
}

int RunTraces(const std::vector<std::string>& configs, const std::vector<std::string>& sets,
              absl::Duration shutdown_timeout) {
  const log::Logger logger;
  auto cfg = LoadTracesFlags(configs, sets);
  if (!cfg.ok()) {
    PrintError(cfg.status(), "Error: invalid configuration: ");
    return 1;
  }
  for (const std::string& warning : cfg->warnings) logger.Warn(warning, {});
  const traces::TracesConfig& config = cfg->config;
  if (absl::Status runnable = traces::CheckRunnable(config); !runnable.ok()) {
    PrintError(runnable);
    return 1;
  }

  MetricsRegistry registry;
  RegisterProcessMetrics(registry, SPROUT_VERSION, "sprout traces");

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
    PrintError(block_store.status(), "Error: cannot open the trace block store: ");
    return 1;
  }
  // Temporary files of Puts that a crash interrupted (no other process writes this path).
  if (auto cleaned = (*block_store)->CleanUp(absl::InfiniteFuture()); !cleaned.ok()) {
    logger.Warn("trace block store clean-up failed",
                {{"error", std::string(cleaned.status().message())}});
  }
  store_options.block_store = block_store->get();
  store_options.trace_idle_period = config.trace_idle_period;
  store_options.max_block_duration = config.max_block_duration;
  store_options.max_block_bytes = config.max_block_bytes;
  store_options.flush_check_period = config.flush_check_period;
  store_options.flush_all_on_shutdown = config.flush_all_on_shutdown;
  store_options.on_flush_error = [&logger](std::string_view tenant, const absl::Status& s) {
    logger.Warn("traces block flush failed; the traces stay in memory and in the WAL",
                {{"tenant", std::string(tenant)}, {"error", std::string(s.message())}});
  };
  store_options.tenant.wal.on_damage = [&logger](const storage::LogDamage& damage) {
    logger.Warn("traces WAL damage repaired or skipped", {{"file", damage.file},
                                                          {"offset", std::to_string(damage.offset)},
                                                          {"reason", damage.reason}});
  };
  // The generator's output: remote write from a WAL per tenant and remote_write entry under
  // metrics_generator.storage.path. As Tempo: processors on but no storage.path → a warning, and
  // the generator is off.
  std::unique_ptr<traces::generator::RemoteWriteOutput> generator_output;
  traces::GeneratorOverrides generator_overrides = config.generator_overrides;
  const traces::generator::EnabledProcessors enabled =
      traces::generator::ParseProcessors(generator_overrides.processors);
  if (enabled.span_metrics || enabled.service_graphs) {  // not for local-blocks / host-info alone
    traces::generator::RemoteWriteOutputOptions output_options;
    output_options.logger = logger;
    output_options.user_agent = std::string("sprout/") + SPROUT_VERSION;
    auto output = traces::generator::RemoteWriteOutput::Create(
        config.metrics_generator, config.generator_overrides, output_options);
    if (output.ok()) {
      generator_output = *std::move(output);
    } else if (absl::IsFailedPrecondition(output.status())) {
      logger.Warn(std::string(output.status().message()), {});
      generator_overrides.processors.clear();
    } else {
      PrintError(output.status(), "Error: metrics_generator: ");
      return 1;
    }
  }
  // The metrics-generator (metrics_generator.*, overrides.defaults.metrics_generator.*): fed by
  // the store's write path, collected into the remote-write output.
  traces::generator::GeneratorServiceOptions generator_options;
  generator_options.config = config.metrics_generator;
  generator_options.overrides = generator_overrides;
  generator_options.output = generator_output.get();
  generator_options.on_error = [&logger](std::string_view tenant, const absl::Status& s) {
    logger.Warn("metrics-generator: a collection could not be written",
                {{"tenant", std::string(tenant)}, {"error", std::string(s.message())}});
  };
  auto generator = traces::generator::GeneratorService::Create(generator_options);
  if (!generator.ok()) {
    PrintError(generator.status(), "Error: invalid configuration: metrics_generator: ");
    return 1;
  }
  if ((*generator)->enabled()) {
    traces::generator::GeneratorService* g = generator->get();
    store_options.on_pushed =
        [g](std::string_view tenant,
            const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request) {
          g->PushSpans(tenant, request);
        };
  }
  traces::store::TraceStore store(store_options);

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
  traces::compact::Compactor compactor(compactor_options,
                                       [&store] { return store.AllTenantBlocks(); });

  traces::TracesApiOptions api_options;
  api_options.multitenancy_enabled = config.multitenancy_enabled;
  api_options.build.revision = "";
  api_options.build.branch = "main";
  api_options.build.go_version = std::string("c++ ") + __VERSION__;
  api_options.queryable = &store;
  api_options.max_bytes_per_trace =
      static_cast<uint64_t>(std::max<int64_t>(0, config.max_bytes_per_trace));
  traces::TracesApi api(api_options);
  net::Router router;
  if (absl::Status s = api.Register(&router); !s.ok()) {
    PrintError(s);
    return 1;
  }
  // /metrics: the process, the OTLP receiver (otelcol_receiver_*) and the store's counters.
  // The flush pipeline's figures are copied from TraceStore::Stats at each scrape.
  std::mutex flush_metrics_mu;
  const auto refresh_flush_metrics = [&registry, &store, &compactor, &flush_metrics_mu, &generator,
                                      &generator_output, &config] {
    std::lock_guard<std::mutex> lock(flush_metrics_mu);
    // The store's, the generator's, its output's and the compactor's counters only grow: each
    // scrape raises the registry's counter to the total.
    const auto set_total = [&registry](const char* name, const char* help,
                                       const MetricLabels& labels, auto total) {
      Counter* c = registry.GetCounter(name, help, labels);
      c->Add(static_cast<double>(total) - c->value());
    };
    const auto set_gauge = [&registry](const char* name, const char* help,
                                       const MetricLabels& labels, auto value) {
      registry.GetGauge(name, help, labels)->Set(static_cast<double>(value));
    };
    for (const auto& [tenant, st] : store.Stats()) {
      const MetricLabels labels = {{"tenant", tenant}};
      set_gauge("tempo_ingester_live_traces", "The current number of live traces per tenant.",
                labels, st.live_traces);
      set_gauge("sprout_traces_pending_traces",
                "Traces cut from the live set and waiting for a block (or being flushed).", labels,
                st.pending_traces + st.flushing_traces);
      set_total("tempo_ingester_blocks_flushed_total", "The total number of blocks flushed.",
                labels, st.blocks_flushed);
      set_total("tempo_ingester_failed_flushes_total", "The total number of failed flushes.",
                labels, st.flush_failures);
      set_total("sprout_traces_flushed_bytes_total",
                "The OTLP bytes of the traces flushed to blocks.", labels, st.bytes_flushed);
      set_total("sprout_traces_flushed_traces_total", "The traces flushed to blocks.", labels,
                st.traces_flushed);
      set_total("sprout_traces_block_bytes_written_total",
                "The bytes of the blocks the flushes wrote (data, index, bloom).", labels,
                st.block_bytes_written);
      set_gauge("tempodb_blocklist_length", "Total number of blocks per tenant.", labels,
                st.blocks);
      set_gauge("sprout_traces_block_bytes",
                "The bytes of the tenant's blocks (data, index, bloom).", labels, st.block_bytes);
    }
    for (const auto& [tenant, st] : (*generator)->Stats()) {
      const MetricLabels labels = {{"tenant", tenant}};
      set_total("tempo_metrics_generator_spans_received_total",
                "The total number of spans received per tenant", labels,
                st.generator.spans_received);
      set_total("tempo_metrics_generator_spans_discarded_total",
                "The total number of discarded spans received per tenant",
                {{"tenant", tenant}, {"reason", "outside_metrics_ingestion_slack"}},
                st.generator.spans_outside_slack);
      set_gauge("tempo_metrics_generator_registry_active_series", "The active series per tenant",
                labels, st.generator.active_series);
      set_gauge("tempo_metrics_generator_registry_max_active_series",
                "The maximum active series per tenant", labels,
                config.generator_overrides.max_active_series);
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
    if (generator_output != nullptr) {
      for (const auto& e : generator_output->Stats()) {
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
        set_gauge("sprout_metrics_generator_wal_size_bytes",
                  "Bytes of the remote-write WAL's segment files.", labels, e.wal_size_bytes);
      }
    }
    const traces::compact::CompactorStats cs = compactor.stats();
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
  };
  net::RouteOptions metrics_route;
  metrics_route.gzip = true;
  if (absl::Status s = router.Handle(
          "GET", "/metrics",
          [&registry, &refresh_flush_metrics](net::HttpRequest&, net::HttpResponse& response) {
            refresh_flush_metrics();
            response.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            response.body = registry.RenderText();
          },
          metrics_route);
      !s.ok()) {
    PrintError(s);
    return 1;
  }
  net::HttpServerOptions server_options;
  server_options.endpoint = config.HttpEndpoint();
  server_options.worker_threads =
      static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  auto server = net::HttpServer::Start(server_options, std::move(router));
  if (!server.ok()) {
    PrintError(server.status(), "Error: cannot start the HTTP server: ");
    return 1;
  }
  const absl::Time replay_start = absl::Now();
  if (absl::Status s = store.Start(); !s.ok()) {
    PrintError(s);
    (*server)->Shutdown(absl::ZeroDuration());
    return 1;
  }
  for (const std::string& dir : store.skipped_dirs()) {
    logger.Warn("skipping a directory of the WAL directory that is not a valid tenant ID",
                {{"dir", dir}});
  }
  for (const auto& [tenant, report] : store.load_reports()) {
    for (const std::string& id : report.deleted_replaced) {
      logger.Info("deleted a block replaced by a finished compaction",
                  {{"tenant", tenant}, {"block", id}});
    }
    for (const auto& [id, error] : report.unreadable) {
      logger.Warn("skipping an unreadable trace block (kept on disk)",
                  {{"tenant", tenant}, {"block", id}, {"error", error}});
    }
  }
  compactor.Start();
  (*generator)->Start();

  // The OTLP receivers: the collector's otlp receiver, feeding the store.
  std::unique_ptr<collector::Component> receiver;
  if (config.otlp_grpc.enabled || config.otlp_http.enabled) {
    auto factory = collector::otlpreceiver::NewFactory();
    auto receiver_config = factory->CreateDefaultConfig();
    auto* otlp_config = static_cast<collector::otlpreceiver::Config*>(receiver_config.get());
    otlp_config->grpc.enabled = config.otlp_grpc.enabled;
    if (!config.otlp_grpc.endpoint.empty()) otlp_config->grpc.endpoint = config.otlp_grpc.endpoint;
    otlp_config->grpc.include_metadata = true;
    otlp_config->http.enabled = config.otlp_http.enabled;
    if (!config.otlp_http.endpoint.empty()) otlp_config->http.endpoint = config.otlp_http.endpoint;
    otlp_config->http.include_metadata = true;
    if (absl::Status s = receiver_config->Validate(); !s.ok()) {
      PrintError(s, "Error: invalid OTLP receiver configuration: ");
      (*server)->Shutdown(absl::ZeroDuration());
      compactor.Stop();
      store.Close();
      return 1;
    }
    collector::CreateSettings settings{*collector::ComponentID::Parse("otlp"), {}};
    settings.telemetry.logger = logger;
    settings.telemetry.metrics = &registry;
    settings.telemetry.build_version = SPROUT_VERSION;
    // The request's tenant (X-Scope-OrgID with multitenancy_enabled, else `single-tenant`),
    // answered after the push (and so the WAL append, synced per policy) returned.
    auto consumer = std::make_shared<TraceStoreConsumer>(
        &store,
        TenantSelector{config.multitenancy_enabled,
                       std::string(traces::TracesConfig::kSingleTenant)},
        &registry);
    auto created =
        factory->CreateReceiver(settings, *receiver_config, {consumer, nullptr, nullptr});
    NoHost host;
    absl::Status started = created.ok() ? (*created)->Start(host) : created.status();
    if (!started.ok()) {
      PrintError(started, "Error: cannot start the OTLP receivers: ");
      (*server)->Shutdown(absl::ZeroDuration());
      compactor.Stop();
      store.Close();
      return 1;
    }
    receiver = std::move(*created);
  }

  api.SetReady(true);
  const std::string host =
      config.http_listen_address.empty() ? "0.0.0.0" : config.http_listen_address;
  logger.Info("sprout traces is ready",
              {{"address", host + ":" + std::to_string((*server)->port())},
               {"otlp_grpc", config.otlp_grpc.enabled ? config.otlp_grpc.endpoint : "off"},
               {"otlp_http", config.otlp_http.enabled ? config.otlp_http.endpoint : "off"},
               {"multitenancy_enabled", config.multitenancy_enabled ? "true" : "false"},
               {"wal_path", config.wal_path},
               {"blocks_path", config.LocalPath()},
               {"replay", absl::FormatDuration(absl::Now() - replay_start)}});
  const int sig = WaitForTerminationSignal();
  logger.Info("Received signal from OS", {{"signal", sig == SIGTERM ? "terminated" : "interrupt"}});
  api.SetReady(false);
  const absl::Time deadline = absl::Now() + shutdown_timeout;
  if (receiver) {
    receiver->PrepareShutdown(deadline);
    if (absl::Status s = receiver->Shutdown(deadline); !s.ok()) {
      logger.Warn("OTLP receiver shutdown", {{"error", std::string(s.message())}});
    }
  }
  (*server)->Shutdown(std::max(absl::ZeroDuration(), deadline - absl::Now()));
  // The generator's last collection, delivered until remote_write_flush_deadline.
  (*generator)->Stop(absl::Now() + config.metrics_generator.remote_write_flush_deadline);
  compactor.Stop();
  store.Close();
  return 0;
}

}  // namespace sprout::cmd
