#include "cmd/all/all_config.h"

#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collector/exporter/otlp/config.h"
#include "collector/receiver/otlp/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace sprout::cmd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/all_config_test_" + name;
  std::ofstream(path) << text;
  return path;
}

AllConfigOptions Options(std::vector<std::string> uris = {}, std::vector<std::string> sets = {},
                         std::string data_dir = "") {
  AllConfigOptions o;
  o.uris = std::move(uris);
  o.set_overrides = std::move(sets);
  o.data_dir_flag = std::move(data_dir);
  std::map<std::string, std::string> env = {{"HOSTNAME", "sprout-host"}};
  o.env = [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return o;
}

std::string LoadError(const AllConfigOptions& options) {
  auto r = LoadAllConfig(options);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : std::string(r.status().message());
}

const collector::ComponentEntry* Find(const AllConfig& c, collector::Kind kind,
                                      const std::string& id) {
  auto parsed = collector::ComponentID::Parse(id);
  if (!parsed.ok()) return nullptr;
  return c.collector.Find(kind, *parsed);
}

std::vector<std::string> Ids(const std::vector<collector::ComponentID>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids) out.push_back(id.String());
  return out;
}

const collector::PipelineConfig* Pipeline(const AllConfig& c, collector::Signal signal) {
  for (const auto& p : c.collector.pipelines) {
    if (p.id.signal == signal && p.id.name.empty()) return &p;
  }
  return nullptr;
}

TEST(AllConfig, DefaultsWithoutAFile) {
  auto r = LoadAllConfig(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  const AllConfig& c = r->config;
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.HttpEndpoint(), "localhost:3200");
  EXPECT_FALSE(c.multitenancy_enabled);
  EXPECT_EQ(c.tenant, "single-tenant");
  EXPECT_TRUE(c.collector_is_default);

  // traces: every path under data_dir, the seed's retention and processors, no OTLP ingress
  // of its own, the one HTTP port.
  EXPECT_EQ(c.traces.backend, "local");
  EXPECT_EQ(c.traces.LocalPath(), "./data/traces/blocks");
  EXPECT_EQ(c.traces.wal_path, "./data/traces/wal");
  EXPECT_EQ(c.traces.metrics_generator.storage_path, "./data/traces/generator/wal");
  EXPECT_EQ(c.traces.block_retention, absl::Hours(720));
  EXPECT_TRUE(c.traces.flush_all_on_shutdown);
  EXPECT_THAT(c.traces.generator_overrides.processors,
              ElementsAre("service-graphs", "span-metrics"));
  EXPECT_FALSE(c.traces.otlp_grpc.enabled);
  EXPECT_FALSE(c.traces.otlp_http.enabled);
  EXPECT_FALSE(c.traces.multitenancy_enabled);
  EXPECT_EQ(c.traces.HttpEndpoint(), "localhost:3200");

  // metrics: the same tenant, every path under data_dir, 30 d retention, exemplars kept.
  EXPECT_FALSE(c.metrics.multitenancy_enabled);
  EXPECT_EQ(c.metrics.DefaultTenant(), "single-tenant");
  EXPECT_EQ(c.metrics.BlocksBackend(), "filesystem");
  EXPECT_EQ(c.metrics.BlocksFilesystemDir(), "./data/metrics/blocks");
  EXPECT_EQ(c.metrics.tsdb_dir, "./data/metrics/tsdb/");
  EXPECT_EQ(c.metrics.sync_dir, "./data/metrics/tsdb-sync/");
  EXPECT_EQ(c.metrics.compactor_data_dir, "./data/metrics/compactor/");
  EXPECT_EQ(c.metrics.activity_tracker_filepath, "./data/metrics/metrics-activity.log");
  EXPECT_EQ(c.metrics.compactor_blocks_retention_period, absl::Hours(30 * 24));
  EXPECT_GT(c.metrics.max_global_exemplars_per_user, 0);
  EXPECT_EQ(c.metrics.HttpEndpoint(), "localhost:3200");

  // collector: otlp → memory_limiter → the stores, no batch, no logs pipeline.
  const auto* otlp = Find(c, collector::Kind::kReceiver, "otlp");
  ASSERT_NE(otlp, nullptr);
  const auto& rc = static_cast<const collector::otlpreceiver::Config&>(*otlp->config);
  EXPECT_TRUE(rc.grpc.enabled);
  EXPECT_EQ(rc.grpc.endpoint, "localhost:4317");
  EXPECT_TRUE(rc.http.enabled);
  EXPECT_EQ(rc.http.endpoint, "localhost:4318");
  ASSERT_NE(Find(c, collector::Kind::kProcessor, "memory_limiter"), nullptr);
  EXPECT_EQ(Find(c, collector::Kind::kProcessor, "batch"), nullptr);
  EXPECT_EQ(c.collector.processors.size(), 1u);
  EXPECT_NE(Find(c, collector::Kind::kExporter, "sprout/traces"), nullptr);
  EXPECT_NE(Find(c, collector::Kind::kExporter, "sprout/metrics"), nullptr);
  ASSERT_EQ(c.collector.pipelines.size(), 2u);
  const auto* traces = Pipeline(c, collector::Signal::kTraces);
  ASSERT_NE(traces, nullptr);
  EXPECT_THAT(Ids(traces->receivers), ElementsAre("otlp"));
  EXPECT_THAT(Ids(traces->processors), ElementsAre("memory_limiter"));
  EXPECT_THAT(Ids(traces->exporters), ElementsAre("sprout/traces"));
  const auto* metrics = Pipeline(c, collector::Signal::kMetrics);
  ASSERT_NE(metrics, nullptr);
  EXPECT_THAT(Ids(metrics->receivers), ElementsAre("otlp"));
  EXPECT_THAT(Ids(metrics->processors), ElementsAre("memory_limiter"));
  EXPECT_THAT(Ids(metrics->exporters), ElementsAre("sprout/metrics"));
  EXPECT_EQ(Pipeline(c, collector::Signal::kLogs), nullptr);
  // The process's telemetry is served on the one HTTP port, not on :8888.
  EXPECT_EQ(c.collector.telemetry.metrics_address, "");
  EXPECT_THAT(r->warnings, IsEmpty());
  EXPECT_TRUE(CheckRunnable(c).ok());
}

TEST(AllConfig, DataDirFromTheFileAndTheFlagWins) {
  const std::string file = WriteFile("datadir.yaml", "data_dir: /srv/sprout/\n");
  auto from_file = LoadAllConfig(Options({file}));
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->config.data_dir, "/srv/sprout/");
  EXPECT_EQ(from_file->config.traces.wal_path, "/srv/sprout/traces/wal");
  EXPECT_EQ(from_file->config.metrics.tsdb_dir, "/srv/sprout/metrics/tsdb/");

  auto flag = LoadAllConfig(Options({file}, {}, "/tmp/flag-dir"));
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_EQ(flag->config.data_dir, "/tmp/flag-dir");
  EXPECT_EQ(flag->config.traces.LocalPath(), "/tmp/flag-dir/traces/blocks");
  EXPECT_EQ(flag->config.traces.metrics_generator.storage_path,
            "/tmp/flag-dir/traces/generator/wal");
  EXPECT_EQ(flag->config.metrics.BlocksFilesystemDir(), "/tmp/flag-dir/metrics/blocks");

  // A path set in a role section wins over the data_dir default.
  const std::string own = WriteFile("ownpath.yaml",
                                    "data_dir: /d\n"
                                    "traces:\n  storage:\n    trace:\n      wal:\n"
                                    "        path: /fast/wal\n");
  auto r = LoadAllConfig(Options({own}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.traces.wal_path, "/fast/wal");
  EXPECT_EQ(r->config.traces.LocalPath(), "/d/traces/blocks");
}

TEST(AllConfig, TopLevelSettings) {
  const std::string file = WriteFile("top.yaml",
                                     "http:\n  listen_address: 0.0.0.0\n  port: 8080\n"
                                     "multitenancy_enabled: true\n");
  auto r = LoadAllConfig(Options({file}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.HttpEndpoint(), "0.0.0.0:8080");
  EXPECT_EQ(r->config.traces.HttpEndpoint(), "0.0.0.0:8080");
  EXPECT_EQ(r->config.metrics.HttpEndpoint(), "0.0.0.0:8080");
  EXPECT_TRUE(r->config.traces.multitenancy_enabled);
  EXPECT_TRUE(r->config.metrics.multitenancy_enabled);

  EXPECT_EQ(LoadError(Options({}, {"http.port=70000"})),
            "configuration: 'http::port' invalid port 70000: must be between 0 and 65535");
}

TEST(AllConfig, SelfMonitoring) {
  auto r = LoadAllConfig(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->config.self_monitoring_enabled);
  EXPECT_EQ(r->config.self_monitoring_interval, absl::Seconds(15));
  EXPECT_THAT(r->config.EffectiveYaml(), HasSubstr("self_monitoring:\n  enabled: true\n  "
                                                   "interval: 15s"));

  r = LoadAllConfig(Options({}, {"self_monitoring.interval=1s"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->config.self_monitoring_enabled);
  EXPECT_EQ(r->config.self_monitoring_interval, absl::Seconds(1));

  const std::string file =
      WriteFile("self.yaml", "self_monitoring:\n  enabled: false\n  interval: 1m30s\n");
  r = LoadAllConfig(Options({file}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->config.self_monitoring_enabled);
  EXPECT_EQ(r->config.self_monitoring_interval, absl::Seconds(90));

  EXPECT_EQ(LoadError(Options({}, {"self_monitoring.interval=0s"})),
            "configuration: 'self_monitoring::interval' must be at least 1ms, got 0");
  EXPECT_THAT(LoadError(Options({}, {"self_monitoring.interval=soon"})),
              HasSubstr("self_monitoring::interval"));
  EXPECT_THAT(LoadError(Options({}, {"self_monitoring.tenant=x"})),
              HasSubstr("'self_monitoring' has invalid keys: tenant"));
}

TEST(AllConfig, UnknownTopLevelKeysAreErrors) {
  const std::string file = WriteFile("unknown.yaml", "tracess: {}\nserver: {}\n");
  EXPECT_EQ(LoadError(Options({file})),
            "configuration has invalid keys: server, tracess (valid keys: collector, data_dir, "
            "http, metrics, multitenancy_enabled, self_monitoring, traces)");
  EXPECT_THAT(LoadError(Options({}, {"http.address=x"})),
              HasSubstr("'http' has invalid keys: address"));
}

TEST(AllConfig, RefusedKeysPointToTheTopLevelSettings) {
  const std::string file = WriteFile("refused.yaml",
                                     "traces:\n"
                                     "  multitenancy_enabled: true\n"
                                     "  server:\n    http_listen_port: 8080\n"
                                     "  distributor:\n    receivers:\n      otlp:\n"
                                     "        protocols:\n          grpc:\n"
                                     "metrics:\n"
                                     "  server:\n    log_level: debug\n"
                                     "  multitenancy_enabled: false\n"
                                     "  no_auth_tenant: anonymous\n");
  const std::string error = LoadError(Options({file}));
  EXPECT_EQ(error,
            "'traces::server' is not read by sprout all: one process serves one HTTP port: set it "
            "with the top-level http::listen_address and http::port (the log level: "
            "collector::service::telemetry::logs::level)\n"
            "'traces::distributor::receivers' is not read by sprout all: the OTLP ingress of "
            "sprout all is the collector section's otlp receiver (collector::receivers::otlp, by "
            "default on localhost:4317 and localhost:4318)\n"
            "'traces::multitenancy_enabled' is not read by sprout all: multi-tenancy is one "
            "switch for every role: set the top-level multitenancy_enabled\n"
            "'metrics::server' is not read by sprout all: one process serves one HTTP port: set "
            "it with the top-level http::listen_address and http::port (the log level: "
            "collector::service::telemetry::logs::level)\n"
            "'metrics::multitenancy_enabled' is not read by sprout all: multi-tenancy is one "
            "switch for every role: set the top-level multitenancy_enabled\n"
            "'metrics::no_auth_tenant' is not read by sprout all: sprout all uses one tenant for "
            "every role when multi-tenancy is off: single-tenant (Tempo's), so the traces, the "
            "generator's series and Grafana's requests meet");

  EXPECT_EQ(LoadError(Options({}, {"collector::service::telemetry::metrics::address=:9999"})),
            "'collector::service::telemetry::metrics::address' is not read by sprout all: sprout "
            "all serves the process's own telemetry at /metrics on the top-level HTTP port "
            "(http::listen_address, http::port)");
}

TEST(AllConfig, RoleErrorsAndWarningsNameTheirSection) {
  const std::string file = WriteFile("roles.yaml",
                                     "traces:\n  ingester:\n    max_block_byte: 1\n"
                                     "    concurrent_flushes: 4\n"
                                     "metrics:\n  limits:\n    ingestion_rat: 1\n");
  EXPECT_EQ(LoadError(Options({file})),
            "traces: 'ingester' has invalid keys: max_block_byte\n"
            "metrics: 'limits' has invalid keys: ingestion_rat");

  const std::string ok =
      WriteFile("warn.yaml", "traces:\n  ingester:\n    concurrent_flushes: 4\n");
  auto r = LoadAllConfig(Options({ok}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->warnings,
              ElementsAre("traces: 'ingester::concurrent_flushes' is a Tempo setting that sprout "
                          "traces does not implement yet; it is ignored"));

  EXPECT_EQ(LoadError(Options({}, {"collector.service.pipelines.traces.processors=[batch]"})),
            "collector: service::pipelines::traces: references processor \"batch\" which is not "
            "configured");
}

TEST(AllConfig, SetEditsTheDefaultCollectorSection) {
  auto r =
      LoadAllConfig(Options({}, {"collector.receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->config.collector_is_default);
  const auto* otlp = Find(r->config, collector::Kind::kReceiver, "otlp");
  ASSERT_NE(otlp, nullptr);
  const auto& rc = static_cast<const collector::otlpreceiver::Config&>(*otlp->config);
  EXPECT_EQ(rc.grpc.endpoint, "0.0.0.0:4317");
  EXPECT_TRUE(rc.http.enabled);
  EXPECT_EQ(rc.http.endpoint, "localhost:4318");
  EXPECT_EQ(r->config.collector.pipelines.size(), 2u);
}

TEST(AllConfig, SetIntoTheRoleSections) {
  auto r = LoadAllConfig(Options({}, {"traces.compactor.compaction.block_retention=48h",
                                      "metrics::limits::max_global_exemplars_per_user=5"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.traces.block_retention, absl::Hours(48));
  EXPECT_EQ(r->config.metrics.max_global_exemplars_per_user, 5);
}

// The seed's collector (filter for /health, otlp/tempo + prometheusremotewrite exporters) as the
// collector section, its two endpoints changed by --set.
TEST(AllConfig, UserCollectorSectionIsUsedAsIs) {
  const std::string file = WriteFile("seedcollector.yaml", R"(collector:
  receivers:
    otlp:
      protocols:
        grpc:
          endpoint: ${env:HOSTNAME}:4317
  processors:
    memory_limiter:
      check_interval: 5s
      limit_percentage: 80
      spike_limit_percentage: 25
    filter:
      error_mode: ignore
      traces:
        span:
          - attributes["http.target"] == "/health"
  exporters:
    otlp/tempo:
      endpoint: tempo.my-local-domain:4317
      tls:
        insecure: true
    prometheusremotewrite:
      endpoint: "https://prometheus.my-local-domain:9090/api/v1/push"
    sprout/traces:
  service:
    pipelines:
      traces:
        receivers: [otlp]
        processors: [memory_limiter, filter]
        exporters: [sprout/traces]
      traces/loopback:
        receivers: [otlp]
        processors: [memory_limiter]
        exporters: [otlp/tempo]
      metrics:
        receivers: [otlp]
        processors: [memory_limiter]
        exporters: [prometheusremotewrite]
)");
  auto r = LoadAllConfig(Options(
      {file}, {"collector.exporters.otlp/tempo.endpoint=localhost:4317",
               "collector::exporters::prometheusremotewrite::endpoint=http://localhost:3200/api/"
               "v1/push"}));
  ASSERT_TRUE(r.ok()) << r.status();
  const AllConfig& c = r->config;
  EXPECT_FALSE(c.collector_is_default);
  // As is: no default exporter, no http protocol added.
  EXPECT_EQ(Find(c, collector::Kind::kExporter, "sprout/metrics"), nullptr);
  const auto* otlp = Find(c, collector::Kind::kReceiver, "otlp");
  ASSERT_NE(otlp, nullptr);
  const auto& rc = static_cast<const collector::otlpreceiver::Config&>(*otlp->config);
  EXPECT_EQ(rc.grpc.endpoint, "sprout-host:4317");
  EXPECT_FALSE(rc.http.enabled);
  const auto* tempo = Find(c, collector::Kind::kExporter, "otlp/tempo");
  ASSERT_NE(tempo, nullptr);
  EXPECT_EQ(static_cast<const collector::otlpexporter::Config&>(*tempo->config).endpoint,
            "localhost:4317");
  const auto* traces = Pipeline(c, collector::Signal::kTraces);
  ASSERT_NE(traces, nullptr);
  EXPECT_THAT(Ids(traces->processors), ElementsAre("memory_limiter", "filter"));
  EXPECT_THAT(Ids(traces->exporters), ElementsAre("sprout/traces"));
  EXPECT_THAT(r->warnings,
              ElementsAre("collector: no metrics pipeline exports to sprout/metrics: the metrics "
                          "store receives nothing from the collector (the generator's series "
                          "still reach it)"));
  // The prometheusremotewrite endpoint as set, through the effective YAML.
  EXPECT_THAT(c.EffectiveYaml(), HasSubstr("endpoint: http://localhost:3200/api/v1/push"));
}

TEST(AllConfig, StoreExportersHaveTwoNamesAndOneSignalEach) {
  const std::string file = WriteFile("badstore.yaml", R"(collector:
  receivers:
    otlp:
      protocols:
        grpc:
  exporters:
    sprout/logs:
    sprout/traces:
    sprout/metrics:
  service:
    pipelines:
      traces:
        receivers: [otlp]
        exporters: [sprout/metrics]
      metrics:
        receivers: [otlp]
        exporters: [sprout/traces]
)");
  EXPECT_EQ(LoadError(Options({file})),
            "collector: exporters: \"sprout/logs\": the stores' exporters are sprout/traces and "
            "sprout/metrics\n"
            "collector: service::pipelines::traces: exporter \"sprout/metrics\" takes only "
            "metrics\n"
            "collector: service::pipelines::metrics: exporter \"sprout/traces\" takes only traces");
  // Their configs are empty.
  EXPECT_THAT(LoadError(Options({}, {"collector.exporters.sprout/traces.endpoint=x"})),
              HasSubstr("'exporters::sprout/traces' has invalid keys: endpoint"));
}

TEST(AllConfig, EffectiveYamlMasksSecretsAndLeavesOutRefusedKeys) {
  const std::string file = WriteFile("secrets.yaml", R"(collector:
  receivers:
    otlp:
      protocols:
        http:
  exporters:
    otlp:
      endpoint: remote:4317
      headers:
        authorization: Bearer abc
    sprout/traces:
  service:
    pipelines:
      traces:
        receivers: [otlp]
        exporters: [otlp, sprout/traces]
)");
  auto r = LoadAllConfig(Options({file}));
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string text = r->config.EffectiveYaml();
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Bearer abc")));
  const YAML::Node y = YAML::Load(text);
  EXPECT_EQ(y["collector"]["exporters"]["otlp"]["headers"]["authorization"].as<std::string>(),
            "[REDACTED]");
  EXPECT_EQ(y["data_dir"].as<std::string>(), "./data");
  EXPECT_EQ(y["http"]["port"].as<int>(), 3200);
  EXPECT_FALSE(y["traces"]["server"].IsDefined());
  EXPECT_FALSE(y["traces"]["distributor"].IsDefined());
  EXPECT_FALSE(y["metrics"]["server"].IsDefined());
  EXPECT_FALSE(y["metrics"]["no_auth_tenant"].IsDefined());
  EXPECT_EQ(y["traces"]["compactor"]["compaction"]["block_retention"].as<std::string>(),
            "720h0m0s");
  EXPECT_EQ(y["traces"]["storage"]["trace"]["wal"]["path"].as<std::string>(), "./data/traces/wal");
}

// examples/seed/sprout.yaml: the seed's three files as one sprout.yaml.
TEST(AllConfig, SeedExampleLoads) {
  auto r = LoadAllConfig(Options({"examples/seed/sprout.yaml"}));
  ASSERT_TRUE(r.ok()) << r.status();
  const AllConfig& c = r->config;
  EXPECT_THAT(r->warnings, IsEmpty());
  EXPECT_EQ(c.traces.block_retention, absl::Hours(720));
  EXPECT_TRUE(c.traces.flush_all_on_shutdown);
  EXPECT_THAT(c.traces.generator_overrides.processors,
              ElementsAre("service-graphs", "span-metrics"));
  EXPECT_EQ(c.metrics.compactor_blocks_retention_period, absl::Hours(30 * 24));
  EXPECT_EQ(c.traces.wal_path, "./data/traces/wal");
  EXPECT_EQ(c.metrics.tsdb_dir, "./data/metrics/tsdb/");
  const auto* traces = Pipeline(c, collector::Signal::kTraces);
  ASSERT_NE(traces, nullptr);
  EXPECT_THAT(Ids(traces->processors), ElementsAre("memory_limiter", "filter"));
  EXPECT_THAT(Ids(traces->exporters), ElementsAre("sprout/traces"));
  const auto* metrics = Pipeline(c, collector::Signal::kMetrics);
  ASSERT_NE(metrics, nullptr);
  EXPECT_THAT(Ids(metrics->exporters), ElementsAre("sprout/metrics"));
  const auto* otlp = Find(c, collector::Kind::kReceiver, "otlp");
  ASSERT_NE(otlp, nullptr);
  EXPECT_EQ(static_cast<const collector::otlpreceiver::Config&>(*otlp->config).grpc.endpoint,
            "sprout-host:4317");
  EXPECT_THAT(Ids(c.collector.service_extensions), ElementsAre("health_check"));
  EXPECT_TRUE(CheckRunnable(c).ok());
}

TEST(AllConfig, S3IsAcceptedButNotRunnable) {
  auto r = LoadAllConfig(Options({}, {"metrics.common.storage.backend=s3"}));
  ASSERT_TRUE(r.ok()) << r.status();
  absl::Status s = CheckRunnable(r->config);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("metrics: storage backend \"s3\""));
}

}  // namespace
}  // namespace sprout::cmd

namespace sprout::cmd {
namespace {

// The effective configuration is itself a sprout.yaml that loads to the same configuration.
TEST(AllConfig, EffectiveYamlOfTheSeedLoadsAgain) {
  auto r = LoadAllConfig(Options({"examples/seed/sprout.yaml"}));
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string effective = r->config.EffectiveYaml();
  const std::string file = WriteFile("effective.yaml", effective);
  auto again = LoadAllConfig(Options({file}));
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << effective;
  EXPECT_EQ(again->config.EffectiveYaml(), effective);
  EXPECT_THAT(again->warnings, IsEmpty());
}

}  // namespace
}  // namespace sprout::cmd

namespace sprout::cmd {
namespace {

// Several files merge as for the other commands: maps key by key, the later file winning.
TEST(AllConfig, SeveralFilesMergeInOrder) {
  const std::string base = WriteFile("merge1.yaml",
                                     "data_dir: /first\n"
                                     "traces:\n  ingester:\n    max_block_bytes: 1000\n"
                                     "    trace_idle_period: 7s\n");
  const std::string overlay = WriteFile("merge2.yaml",
                                        "traces:\n  ingester:\n    max_block_bytes: 2000\n"
                                        "metrics:\n  limits:\n    ingestion_rate: 5\n");
  auto r = LoadAllConfig(Options({base, overlay}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.data_dir, "/first");
  EXPECT_EQ(r->config.traces.max_block_bytes, 2000);
  EXPECT_EQ(r->config.traces.trace_idle_period, absl::Seconds(7));
  EXPECT_EQ(r->config.metrics.ingestion_rate, 5);
  EXPECT_TRUE(r->config.collector_is_default);
}

TEST(AllConfig, EnvironmentVariablesExpandInEverySection) {
  const std::string file = WriteFile("env.yaml",
                                     "data_dir: ${env:HOSTNAME}-data\n"
                                     "traces:\n  compactor:\n    compaction:\n"
                                     "      block_retention: ${env:RETENTION:-24h}\n"
                                     "metrics:\n  activity_tracker:\n"
                                     "    filepath: ${env:UNSET_VAR}\n");
  auto r = LoadAllConfig(Options({file}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.data_dir, "sprout-host-data");
  EXPECT_EQ(r->config.traces.wal_path, "sprout-host-data/traces/wal");
  EXPECT_EQ(r->config.traces.block_retention, absl::Hours(24));
  // A value that is exactly an unset variable is null (as in the Collector): the default stays.
  EXPECT_EQ(r->config.metrics.activity_tracker_filepath,
            "sprout-host-data/metrics/metrics-activity.log");
  EXPECT_THAT(r->warnings,
              ElementsAre("Configuration references unset environment variable: UNSET_VAR"));
}

TEST(AllConfig, MultitenancyIsOneSwitchForBothStores) {
  auto r = LoadAllConfig(Options({}, {"multitenancy_enabled=true"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->config.multitenancy_enabled);
  EXPECT_TRUE(r->config.traces.multitenancy_enabled);
  EXPECT_TRUE(r->config.metrics.multitenancy_enabled);
}

// Other receivers (a second otlp listening elsewhere, for example) are the user's to add.
TEST(AllConfig, OtherReceiversAreAllowed) {
  auto r = LoadAllConfig(
      Options({}, {"collector::receivers::otlp/internal::protocols::http::endpoint=localhost:14318",
                   "collector.service.pipelines.traces.receivers=[otlp, otlp/internal]"}));
  ASSERT_TRUE(r.ok()) << r.status();
  const auto* traces = Pipeline(r->config, collector::Signal::kTraces);
  ASSERT_NE(traces, nullptr);
  EXPECT_THAT(Ids(traces->receivers), ElementsAre("otlp", "otlp/internal"));
}

}  // namespace
}  // namespace sprout::cmd
