#include "traces/config/traces_config.h"

#include <string>
#include <vector>

#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::traces {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A backend is required in a file (Tempo has no default one); tests that are about something
// else name it through this prefix.
constexpr char kLocal[] = "storage: {trace: {backend: local}}";

// Loads `yaml` as the only config source, with `sets` as --set overrides.
absl::StatusOr<TracesConfigResult> LoadYaml(const std::string& yaml,
                                            std::vector<std::string> sets = {}) {
  config::LoadOptions options;
  options.uris = {"yaml:" + yaml};
  options.set_overrides = std::move(sets);
  options.env = [](std::string_view) { return std::nullopt; };
  return LoadTracesConfig(options);
}

TEST(TracesConfigTest, TempoDefaultsForEveryKeyAbsentFromTheFile) {
  auto r = LoadYaml(std::string("{") + kLocal + "}");
  ASSERT_TRUE(r.ok()) << r.status();
  const TracesConfig& c = r->config;
  EXPECT_EQ(c.target, "all");
  EXPECT_FALSE(c.multitenancy_enabled);
  EXPECT_EQ(TracesConfig::kSingleTenant, "single-tenant");
  EXPECT_EQ(c.http_listen_address, "");
  EXPECT_EQ(c.http_listen_port, 3200);
  EXPECT_EQ(c.grpc_listen_port, 9095);
  EXPECT_EQ(c.HttpEndpoint(), ":3200");
  // Tempo starts no receiver the file does not name.
  EXPECT_FALSE(c.otlp_grpc.enabled);
  EXPECT_FALSE(c.otlp_http.enabled);
  EXPECT_FALSE(c.flush_all_on_shutdown);
  EXPECT_EQ(c.max_block_duration, absl::Minutes(30));
  EXPECT_EQ(c.max_block_bytes, 524288000);  // 500 MiB
  EXPECT_EQ(c.trace_idle_period, absl::Seconds(5));
  EXPECT_EQ(c.flush_check_period, absl::Seconds(10));
  EXPECT_EQ(c.block_retention, absl::Hours(336));
  // Tempo's compactor defaults.
  EXPECT_EQ(c.compacted_block_retention, absl::Hours(1));
  EXPECT_EQ(c.compaction_cycle, absl::Seconds(30));
  EXPECT_EQ(c.compaction_window, absl::Hours(1));
  EXPECT_EQ(c.compaction_max_block_bytes, int64_t{107374182400});  // 100 GiB
  EXPECT_EQ(c.max_compaction_objects, 6000000);
  // query_frontend.metrics: current Tempo's defaults.
  EXPECT_EQ(c.metrics_max_duration, absl::Hours(24));
  EXPECT_EQ(c.metrics_max_intervals, 10000);
  EXPECT_EQ(c.metrics_max_exemplars, 100);
  EXPECT_EQ(c.metrics_max_response_series, 0);
  EXPECT_EQ(c.backend, "local");
  EXPECT_EQ(c.local_path, "");
  EXPECT_EQ(c.wal_path, "/var/tempo/wal");
  EXPECT_EQ(c.LocalPath(), "/var/tempo/traces");
  EXPECT_EQ(c.ingestion_rate_limit_bytes, 15000000);
  EXPECT_EQ(c.ingestion_burst_size_bytes, 20000000);
  EXPECT_EQ(c.max_bytes_per_trace, 5000000);
  EXPECT_TRUE(CheckRunnable(c).ok());
  EXPECT_THAT(r->warnings, IsEmpty());
}

TEST(TracesConfigTest, AFileWithoutBackendIsRefusedAsTempoDoes) {
  auto r = LoadYaml("{server: {http_listen_port: 3200}}");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("'storage::trace::backend' is not set"));
}

TEST(TracesConfigTest, NoConfigAtAllGivesLocalDefaults) {
  config::LoadOptions options;
  options.env = [](std::string_view) { return std::nullopt; };
  auto r = LoadTracesConfig(options);
  ASSERT_TRUE(r.ok()) << r.status();
  const TracesConfig& c = r->config;
  EXPECT_EQ(c.backend, "local");
  EXPECT_EQ(c.LocalPath(), "./data/traces/blocks");
  EXPECT_EQ(c.wal_path, "./data/traces/wal");
  EXPECT_TRUE(c.otlp_grpc.enabled);
  EXPECT_EQ(c.otlp_grpc.endpoint, "localhost:4317");
  EXPECT_TRUE(c.otlp_http.enabled);
  EXPECT_EQ(c.otlp_http.endpoint, "localhost:4318");
  EXPECT_EQ(c.http_listen_port, 3200);
  EXPECT_EQ(c.block_retention, absl::Hours(336));
  EXPECT_FALSE(c.multitenancy_enabled);
  EXPECT_TRUE(CheckRunnable(c).ok());
  EXPECT_THAT(r->warnings, IsEmpty());
}

TEST(TracesConfigTest, NoConfigWithSetOverridesKeepsLocalDefaultsForTheRest) {
  config::LoadOptions options;
  options.set_overrides = {"server.http_listen_port=0",
                           "distributor.receivers.otlp.protocols.grpc.endpoint=127.0.0.1:0"};
  auto r = LoadTracesConfig(options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.http_listen_port, 0);
  EXPECT_EQ(r->config.otlp_grpc.endpoint, "127.0.0.1:0");
  EXPECT_TRUE(r->config.otlp_http.enabled);  // still the default
  EXPECT_EQ(r->config.otlp_http.endpoint, "localhost:4318");
  EXPECT_EQ(r->config.wal_path, "./data/traces/wal");
}

TEST(TracesConfigTest, EveryImplementedKeyIsRead) {
  auto r = LoadYaml(R"({
    target: all, multitenancy_enabled: true,
    server: {http_listen_address: 127.0.0.1, http_listen_port: 3300, grpc_listen_port: 9096},
    distributor: {receivers: {otlp: {protocols: {grpc: {endpoint: "0.0.0.0:14317"},
                                                 http: {endpoint: "0.0.0.0:14318"}}}}},
    ingester: {flush_all_on_shutdown: true, max_block_duration: 5m, max_block_bytes: 1000,
               trace_idle_period: 2s, flush_check_period: 250ms},
    compactor: {compaction: {block_retention: 720h, compacted_block_retention: 10m,
                             compaction_cycle: 1s, compaction_window: 2h,
                             max_block_bytes: 1048576, max_compaction_objects: 1000}},
    query_frontend: {metrics: {max_duration: 168h, max_intervals: 500, max_exemplars: 7,
                                max_response_series: 1000}},
    storage: {trace: {backend: s3, local: {path: /blocks}, wal: {path: /wal},
                      s3: {bucket: b, endpoint: "s3.example:9000", region: r, prefix: p,
                           access_key: ak, secret_key: sk, insecure: true}}},
    overrides: {defaults: {ingestion: {rate_limit_bytes: 100, burst_size_bytes: 200},
                           global: {max_bytes_per_trace: 300}}}
  })");
  ASSERT_TRUE(r.ok()) << r.status();
  const TracesConfig& c = r->config;
  EXPECT_TRUE(c.multitenancy_enabled);
  EXPECT_EQ(c.HttpEndpoint(), "127.0.0.1:3300");
  EXPECT_EQ(c.grpc_listen_port, 9096);
  EXPECT_TRUE(c.otlp_grpc.enabled);
  EXPECT_EQ(c.otlp_grpc.endpoint, "0.0.0.0:14317");
  EXPECT_TRUE(c.otlp_http.enabled);
  EXPECT_EQ(c.otlp_http.endpoint, "0.0.0.0:14318");
  EXPECT_TRUE(c.flush_all_on_shutdown);
  EXPECT_EQ(c.max_block_duration, absl::Minutes(5));
  EXPECT_EQ(c.max_block_bytes, 1000);
  EXPECT_EQ(c.trace_idle_period, absl::Seconds(2));
  EXPECT_EQ(c.flush_check_period, absl::Milliseconds(250));
  EXPECT_EQ(c.block_retention, absl::Hours(720));
  EXPECT_EQ(c.compacted_block_retention, absl::Minutes(10));
  EXPECT_EQ(c.compaction_cycle, absl::Seconds(1));
  EXPECT_EQ(c.compaction_window, absl::Hours(2));
  EXPECT_EQ(c.compaction_max_block_bytes, 1048576);
  EXPECT_EQ(c.max_compaction_objects, 1000);
  EXPECT_EQ(c.metrics_max_duration, absl::Hours(168));
  EXPECT_EQ(c.metrics_max_intervals, 500);
  EXPECT_EQ(c.metrics_max_exemplars, 7);
  EXPECT_EQ(c.metrics_max_response_series, 1000);
  EXPECT_EQ(c.backend, "s3");
  EXPECT_EQ(c.LocalPath(), "/blocks");
  EXPECT_EQ(c.wal_path, "/wal");
  EXPECT_EQ(c.s3.bucket, "b");
  EXPECT_EQ(c.s3.endpoint, "s3.example:9000");
  EXPECT_EQ(c.s3.region, "r");
  EXPECT_EQ(c.s3.prefix, "p");
  EXPECT_EQ(c.s3.access_key, "ak");
  EXPECT_EQ(c.s3.secret_key, "sk");
  EXPECT_TRUE(c.s3.insecure);
  EXPECT_EQ(c.ingestion_rate_limit_bytes, 100);
  EXPECT_EQ(c.ingestion_burst_size_bytes, 200);
  EXPECT_EQ(c.max_bytes_per_trace, 300);
  EXPECT_THAT(r->warnings, IsEmpty());
}

TEST(TracesConfigTest, AProtocolListedWithoutEndpointUsesTheReceiversDefault) {
  auto r = LoadYaml(std::string("{") + kLocal +
                    ", distributor: {receivers: {otlp: {protocols: {grpc: , http: {}}}}}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->config.otlp_grpc.enabled);
  EXPECT_EQ(r->config.otlp_grpc.endpoint, "localhost:4317");
  EXPECT_TRUE(r->config.otlp_http.enabled);
  EXPECT_EQ(r->config.otlp_http.endpoint, "localhost:4318");
}

TEST(TracesConfigTest, GoDurationsAsTempoWritesThem) {
  auto r = LoadYaml(std::string("{") + kLocal +
                    ", ingester: {max_block_duration: 1h30m, trace_idle_period: 1500ms},"
                    " compactor: {compaction: {block_retention: 336h0m0s}}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.max_block_duration, absl::Minutes(90));
  EXPECT_EQ(r->config.trace_idle_period, absl::Milliseconds(1500));
  EXPECT_EQ(r->config.block_retention, absl::Hours(336));
}

TEST(TracesConfigTest, RealTempoKeyNotImplementedIsAWarningNamingThePath) {
  auto r = LoadYaml(std::string("{") + kLocal +
                    ", ingester: {concurrent_flushes: 2, lifecycler: {ring: {replication_factor: "
                    "1}}}, memberlist: {bind_port: 1},"
                    " distributor: {receivers: {jaeger: {protocols: {thrift_http: }}}}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->warnings,
              ElementsAre("'ingester::concurrent_flushes' is a Tempo setting that sprout traces "
                          "does not implement yet; it is ignored",
                          "'ingester::lifecycler::ring::replication_factor' is a Tempo setting "
                          "that sprout traces does not implement yet; it is ignored",
                          "'memberlist::bind_port' is a Tempo setting that sprout traces does not "
                          "implement yet; it is ignored",
                          "'distributor::receivers::jaeger' is a Tempo setting that sprout traces "
                          "does not implement yet; it is ignored"));
}

TEST(TracesConfigTest, S3KeysAreAcceptedSilently) {
  auto r = LoadYaml(R"({storage: {trace: {backend: local, s3: {forcepathstyle: true,
                                                               sse: {type: SSE-S3}}}}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->warnings, IsEmpty());
}

TEST(TracesConfigTest, UnknownKeysAreErrorsNamingTheirPath) {
  auto r = LoadYaml(std::string("{") + kLocal +
                    ", ingester: {max_block_byte: 1, zz: 2}, tagret: all,"
                    " metrics_generator: {nope: 1}, overrides: {defaults: {global: {x: 1}}}}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("'ingester' has invalid keys: max_block_byte, zz"));
  EXPECT_THAT(msg, HasSubstr("configuration has invalid keys: tagret"));
  // An accepted block still refuses what is not a Tempo key.
  EXPECT_THAT(msg, HasSubstr("'metrics_generator' has invalid keys: nope"));
  EXPECT_THAT(msg, HasSubstr("'overrides::defaults::global' has invalid keys: x"));
}

TEST(TracesConfigTest, WrongTypesAreErrorsNamingTheKeyAllReportedTogether) {
  auto r = LoadYaml(
      "{server: {http_listen_port: abc}, multitenancy_enabled: yes,"
      " ingester: {max_block_bytes: 1.5, trace_idle_period: 5x},"
      " storage: {trace: {backend: local, s3: {insecure: maybe}}},"
      " overrides: {defaults: {ingestion: {rate_limit_bytes: lots}}}}");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("'server::http_listen_port' expected type 'int', got "
                             "unconvertible type 'string', value: 'abc'"));
  EXPECT_THAT(msg, HasSubstr("'multitenancy_enabled' expected type 'bool'"));
  EXPECT_THAT(msg, HasSubstr("'ingester::max_block_bytes' expected type 'int64'"));
  EXPECT_THAT(msg, HasSubstr("'ingester::trace_idle_period' time: unknown unit \"x\" in "
                             "duration \"5x\""));
  EXPECT_THAT(msg, HasSubstr("'storage::trace::s3::insecure' expected type 'bool'"));
  EXPECT_THAT(msg, HasSubstr("'overrides::defaults::ingestion::rate_limit_bytes' expected type"));
}

TEST(TracesConfigTest, ABlockGivenAScalarIsAnError) {
  auto r = LoadYaml("{ingester: 5, storage: [1]}");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("'ingester' expected a map, got 'int'"));
  EXPECT_THAT(msg, HasSubstr("'storage' expected a map, got 'slice'"));
}

TEST(TracesConfigTest, InvalidValues) {
  auto r = LoadYaml(
      "{target: ingester, server: {http_listen_port: 70000},"
      " storage: {trace: {backend: gcs, wal: {path: ''}}},"
      " ingester: {max_block_duration: 0s, max_block_bytes: 0, trace_idle_period: -1s,"
      " flush_check_period: 0s},"
      " compactor: {compaction: {block_retention: 0s, compacted_block_retention: -1s,"
      "  compaction_cycle: 0s, compaction_window: 0s, max_block_bytes: 0,"
      "  max_compaction_objects: -5}},"
      " query_frontend: {metrics: {max_duration: -1s, max_intervals: -1, max_exemplars: -1}},"
      " distributor: {receivers: {otlp: {protocols: {grpc: {endpoint: ''}}}}},"
      " overrides: {defaults: {ingestion: {burst_size_bytes: -1},"
      "                        global: {max_bytes_per_trace: -1}}}}");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("'target' module \"ingester\" is not supported"));
  EXPECT_THAT(msg, HasSubstr("'server::http_listen_port' invalid port 70000"));
  EXPECT_THAT(msg, HasSubstr("'storage::trace::backend' unsupported storage backend \"gcs\""));
  EXPECT_THAT(msg, HasSubstr("'storage::trace::wal::path' must not be empty"));
  EXPECT_THAT(msg, HasSubstr("'ingester::max_block_duration' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'ingester::max_block_bytes' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'ingester::trace_idle_period' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'ingester::flush_check_period' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'compactor::compaction::block_retention' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'compactor::compaction::compacted_block_retention' must not be "
                             "negative"));
  EXPECT_THAT(msg, HasSubstr("'compactor::compaction::compaction_cycle' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'compactor::compaction::compaction_window' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'compactor::compaction::max_block_bytes' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'compactor::compaction::max_compaction_objects' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'query_frontend::metrics::max_duration' must not be negative"));
  EXPECT_THAT(msg, HasSubstr("'query_frontend::metrics::max_intervals' must not be negative"));
  EXPECT_THAT(msg, HasSubstr("'query_frontend::metrics::max_exemplars' must not be negative"));
  EXPECT_THAT(msg,
              HasSubstr("'distributor::receivers::otlp::protocols::grpc::endpoint' must not be "
                        "empty"));
  EXPECT_THAT(msg, HasSubstr("'overrides::defaults::ingestion::burst_size_bytes' must not be "
                             "negative"));
  EXPECT_THAT(msg, HasSubstr("'overrides::defaults::global::max_bytes_per_trace' must not be "
                             "negative"));
}

TEST(TracesConfigTest, SetOverridesTakeDotsOrColons) {
  auto r = LoadYaml(
      std::string("{") + kLocal + ", server: {http_listen_port: 1}}",
      {"server.http_listen_port=2", "ingester::max_block_bytes=3", "storage.trace.wal.path=/w"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.http_listen_port, 2);
  EXPECT_EQ(r->config.max_block_bytes, 3);
  EXPECT_EQ(r->config.wal_path, "/w");
}

TEST(TracesConfigTest, SetOverrideOfAnUnknownKeyIsAnError) {
  auto r = LoadYaml(std::string("{") + kLocal + "}", {"ingester.nope=1"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("'ingester' has invalid keys: nope"));
}

TEST(TracesConfigTest, EnvironmentVariablesAreExpanded) {
  config::LoadOptions options;
  options.uris = {
      "yaml:{storage: {trace: {backend: local, wal: {path: \"${env:WAL}\"}}},"
      " server: {http_listen_port: \"${env:PORT}\"}}"};
  options.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "WAL") return "/env/wal";
    if (name == "PORT") return "3201";
    return std::nullopt;
  };
  auto r = LoadTracesConfig(options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.wal_path, "/env/wal");
  EXPECT_EQ(r->config.http_listen_port, 3201);
}

TEST(TracesConfigTest, S3IsAcceptedByTheConfigAndRefusedAtStart) {
  auto r = LoadYaml("{storage: {trace: {backend: s3, s3: {bucket: b, region: r}}}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.s3.bucket, "b");
  absl::Status runnable = CheckRunnable(r->config);
  EXPECT_EQ(runnable.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(runnable.message()), HasSubstr("s3 is not available yet"));
  EXPECT_TRUE(CheckRunnable(LocalDefaults()).ok());
}

TEST(TracesConfigTest, LocalPathDefaultsBesideTheWal) {
  TracesConfig c;
  c.wal_path = "/data/tempo/wal/";
  EXPECT_EQ(c.LocalPath(), "/data/tempo/traces");
  c.wal_path = "wal";
  EXPECT_EQ(c.LocalPath(), "traces");
  c.local_path = "/explicit";
  EXPECT_EQ(c.LocalPath(), "/explicit");
}

// The seed's tempo.yaml, unchanged, with its S3 backend overridden by --set.
TEST(TracesConfigTest, SeedTempoYamlLoadsAndStartsOnTheLocalBackend) {
  config::LoadOptions options;
  options.uris = {"examples/seed/tempo.yaml"};
  options.set_overrides = {"storage.trace.backend=local"};
  auto r = LoadTracesConfig(options);
  ASSERT_TRUE(r.ok()) << r.status();
  const TracesConfig& c = r->config;
  EXPECT_TRUE(c.otlp_grpc.enabled);
  EXPECT_EQ(c.otlp_grpc.endpoint, "0.0.0.0:4317");
  EXPECT_FALSE(c.otlp_http.enabled);
  EXPECT_TRUE(c.flush_all_on_shutdown);
  EXPECT_EQ(c.http_listen_port, 8080);
  EXPECT_EQ(c.block_retention, absl::Hours(720));
  EXPECT_EQ(c.backend, "local");
  EXPECT_EQ(c.wal_path, "/var/tempo/wal");
  EXPECT_EQ(c.LocalPath(), "/var/tempo/traces");
  EXPECT_EQ(c.s3.bucket, "My_Bucket_Name");
  EXPECT_EQ(c.s3.endpoint, "s3.ap-northeast-1.amazonaws.com");
  EXPECT_EQ(c.s3.region, "ap-northeast-1");
  // Tempo's defaults for what the seed does not set.
  EXPECT_EQ(c.max_block_duration, absl::Minutes(30));
  EXPECT_EQ(c.trace_idle_period, absl::Seconds(5));
  EXPECT_FALSE(c.multitenancy_enabled);
  EXPECT_TRUE(CheckRunnable(c).ok());
  // The seed's metrics-generator: its storage and the processors of every tenant.
  EXPECT_EQ(c.metrics_generator.storage_path, "/var/tempo/generator/wal");
  ASSERT_EQ(c.metrics_generator.remote_write.size(), 1u);
  EXPECT_EQ(c.metrics_generator.remote_write[0].url,
            "http://prometheus.my-local-domain:9090/api/v1/write");
  EXPECT_TRUE(c.metrics_generator.remote_write[0].send_exemplars);
  EXPECT_THAT(c.generator_overrides.processors, ElementsAre("service-graphs", "span-metrics"));
  EXPECT_TRUE(c.generator_overrides.HasProcessor("span-metrics"));
  EXPECT_FALSE(c.generator_overrides.HasProcessor("local-blocks"));
  // Every key of the seed is implemented or accepted: no warning.
  EXPECT_THAT(r->warnings, IsEmpty());
  // Unchanged, it is valid too, and s3 is refused only at start.
  auto plain = LoadTracesConfig({.uris = {"examples/seed/tempo.yaml"}});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->config.backend, "s3");
  EXPECT_FALSE(CheckRunnable(plain->config).ok());
}

// The class of every leaf the seed uses (docs/traces.md lists them).
TEST(TracesConfigTest, EveryKeyOfTheSeedIsClassified) {
  for (const char* key :
       {"distributor.receivers.otlp.protocols.grpc.endpoint", "ingester.flush_all_on_shutdown",
        "server.http_listen_port", "compactor.compaction.block_retention",
        "compactor.compaction.compaction_cycle", "compactor.compaction.compaction_window",
        "compactor.compaction.compacted_block_retention", "compactor.compaction.max_block_bytes",
        "compactor.compaction.max_compaction_objects", "storage.trace.backend",
        "storage.trace.wal.path", "storage.trace.s3.bucket", "storage.trace.s3.endpoint",
        "storage.trace.s3.region"}) {
    EXPECT_EQ(ClassifyKey(key), KeyClass::kImplemented) << key;
  }
  for (const char* key :
       {"metrics_generator.storage.remote_write", "metrics_generator.storage.path",
        "overrides.defaults.metrics_generator.processors"}) {
    EXPECT_EQ(ClassifyKey(key), KeyClass::kImplemented) << key;
  }
}

TEST(TracesConfigTest, EffectiveYamlRoundTripsAndMasksSecrets) {
  auto r = LoadYaml(R"({
    multitenancy_enabled: true,
    server: {http_listen_port: 3300},
    distributor: {receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:4318"}}}}},
    ingester: {max_block_duration: 90m, trace_idle_period: 1500ms, max_block_bytes: 77,
               flush_check_period: 3s},
    compactor: {compaction: {block_retention: 720h, compaction_cycle: 1500ms,
                             compacted_block_retention: 0s, max_compaction_objects: 12}},
    storage: {trace: {backend: s3, wal: {path: /w}, local: {path: /l},
                      s3: {bucket: b, secret_key: hunter2}}},
    overrides: {defaults: {global: {max_bytes_per_trace: 9}}}
  })");
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string yaml = r->config.EffectiveYaml();
  EXPECT_THAT(yaml, Not(HasSubstr("hunter2")));
  EXPECT_THAT(yaml, HasSubstr("secret_key: \"********\""));
  EXPECT_THAT(yaml, HasSubstr("block_retention: 720h0m0s"));
  EXPECT_THAT(yaml, HasSubstr("max_block_duration: 1h30m0s"));
  // The effective YAML is itself a valid configuration with the same values.
  auto again = LoadYaml(yaml);
  ASSERT_TRUE(again.ok()) << again.status();
  const TracesConfig& c = again->config;
  EXPECT_TRUE(c.multitenancy_enabled);
  EXPECT_EQ(c.http_listen_port, 3300);
  EXPECT_FALSE(c.otlp_grpc.enabled);
  EXPECT_TRUE(c.otlp_http.enabled);
  EXPECT_EQ(c.otlp_http.endpoint, "127.0.0.1:4318");
  EXPECT_EQ(c.max_block_duration, absl::Minutes(90));
  EXPECT_EQ(c.trace_idle_period, absl::Milliseconds(1500));
  EXPECT_EQ(c.max_block_bytes, 77);
  EXPECT_EQ(c.flush_check_period, absl::Seconds(3));
  EXPECT_EQ(c.block_retention, absl::Hours(720));
  EXPECT_EQ(c.compaction_cycle, absl::Milliseconds(1500));
  EXPECT_EQ(c.compacted_block_retention, absl::ZeroDuration());
  EXPECT_EQ(c.max_compaction_objects, 12);
  EXPECT_EQ(c.compaction_window, absl::Hours(1));
  EXPECT_EQ(c.backend, "s3");
  EXPECT_EQ(c.wal_path, "/w");
  EXPECT_EQ(c.LocalPath(), "/l");
  EXPECT_EQ(c.s3.bucket, "b");
  EXPECT_EQ(c.max_bytes_per_trace, 9);
  EXPECT_EQ(c.ingestion_rate_limit_bytes, 15000000);
  EXPECT_THAT(again->warnings, IsEmpty());
  // LocalDefaults round-trips too.
  auto local = LoadYaml(LocalDefaults().EffectiveYaml());
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(local->config.LocalPath(), "./data/traces/blocks");
  EXPECT_EQ(local->config.otlp_grpc.endpoint, "localhost:4317");
  EXPECT_EQ(local->config.otlp_http.endpoint, "localhost:4318");
}

TEST(TracesConfigTest, ClassifyKey) {
  EXPECT_EQ(ClassifyKey("ingester.max_block_bytes"), KeyClass::kImplemented);
  EXPECT_EQ(ClassifyKey("ingester.concurrent_flushes"), KeyClass::kNotImplemented);
  EXPECT_EQ(ClassifyKey("storage.trace.s3.forcepathstyle"), KeyClass::kAccepted);
  EXPECT_EQ(ClassifyKey("metrics_generator.registry.collection_interval"), KeyClass::kImplemented);
  EXPECT_EQ(ClassifyKey("metrics_generator.processor.span_metrics.intrinsic_dimensions"),
            KeyClass::kBlock);
  // The generator's keys not read are real Tempo keys: warnings.
  EXPECT_EQ(ClassifyKey("metrics_generator.ring.heartbeat_period"), KeyClass::kNotImplemented);
  EXPECT_EQ(ClassifyKey("metrics_generator.processor.local_blocks.max_live_traces"),
            KeyClass::kNotImplemented);
  EXPECT_EQ(ClassifyKey("overrides.defaults.metrics_generator.forwarder.queue_size"),
            KeyClass::kNotImplemented);
  EXPECT_EQ(ClassifyKey("overrides.defaults.metrics_generator.processor.span_metrics.dimensions"),
            KeyClass::kImplemented);
  // Not a per-tenant key in Tempo.
  EXPECT_EQ(ClassifyKey("overrides.defaults.metrics_generator.processor.service_graphs.wait"),
            KeyClass::kUnknown);
  EXPECT_EQ(ClassifyKey("storage.trace"), KeyClass::kBlock);
  EXPECT_EQ(ClassifyKey("distributor.receivers.otlp"), KeyClass::kBlock);
  // Below distributor.receivers: the collector's receiver settings, part of a real Tempo key.
  EXPECT_EQ(ClassifyKey("distributor.receivers.zipkin"), KeyClass::kNotImplemented);
  EXPECT_EQ(ClassifyKey("distributor.receivers.otlp.protocols.grpc.max_recv_msg_size_mib"),
            KeyClass::kNotImplemented);
  EXPECT_EQ(ClassifyKey("ingester.nope"), KeyClass::kUnknown);
  EXPECT_EQ(ClassifyKey("nope"), KeyClass::kUnknown);
}

// Tempo's defaults for the metrics-generator (its configuration manifest): a file with no
// metrics_generator block at all.
TEST(TracesConfigTest, GeneratorDefaultsAreTempos) {
  auto r = LoadYaml(std::string("{") + kLocal + "}");
  ASSERT_TRUE(r.ok()) << r.status();
  const GeneratorConfig& g = r->config.metrics_generator;
  EXPECT_EQ(g.collection_interval, absl::Seconds(15));
  EXPECT_EQ(g.stale_duration, absl::Minutes(15));
  EXPECT_THAT(g.external_labels, IsEmpty());
  EXPECT_EQ(g.inject_tenant_id_as, "");
  EXPECT_EQ(g.max_label_name_length, 1024);
  EXPECT_EQ(g.max_label_value_length, 2048);
  const ServiceGraphsConfig& sg = g.service_graphs;
  EXPECT_EQ(sg.wait, absl::Seconds(10));
  EXPECT_EQ(sg.max_items, 10000);
  EXPECT_EQ(sg.workers, 10);
  EXPECT_THAT(sg.histogram_buckets, ElementsAre(0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8));
  EXPECT_THAT(sg.dimensions, IsEmpty());
  EXPECT_FALSE(sg.enable_client_server_prefix);
  EXPECT_FALSE(sg.enable_messaging_system_latency_histogram);
  EXPECT_FALSE(sg.enable_virtual_node_label);
  // The reference's (Tempo 3.x) lists: 2.9's plus db.system.name.
  EXPECT_THAT(sg.peer_attributes,
              ElementsAre("peer.service", "db.name", "db.system", "db.system.name"));
  EXPECT_THAT(sg.database_name_attributes,
              ElementsAre("db.namespace", "db.name", "db.system", "db.system.name"));
  EXPECT_EQ(sg.span_multiplier_key, "");
  const SpanMetricsConfig& sm = g.span_metrics;
  EXPECT_THAT(sm.histogram_buckets, ElementsAre(0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
                                                0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384));
  EXPECT_TRUE(sm.intrinsic_dimensions.service);
  EXPECT_TRUE(sm.intrinsic_dimensions.span_name);
  EXPECT_TRUE(sm.intrinsic_dimensions.span_kind);
  EXPECT_TRUE(sm.intrinsic_dimensions.status_code);
  EXPECT_FALSE(sm.intrinsic_dimensions.status_message);
  EXPECT_THAT(sm.dimensions, IsEmpty());
  EXPECT_THAT(sm.dimension_mappings, IsEmpty());
  EXPECT_FALSE(sm.enable_target_info);
  EXPECT_TRUE(sm.enable_instance_label);
  EXPECT_THAT(sm.filter_policies, IsEmpty());
  EXPECT_THAT(sm.target_info_excluded_dimensions, IsEmpty());
  EXPECT_EQ(g.storage_path, "");
  EXPECT_THAT(g.remote_write, IsEmpty());
  EXPECT_EQ(g.remote_write_flush_deadline, absl::Minutes(1));
  EXPECT_TRUE(g.remote_write_add_org_id_header);
  EXPECT_EQ(g.metrics_ingestion_time_range_slack, absl::Seconds(30));
  const GeneratorOverrides& o = r->config.generator_overrides;
  EXPECT_THAT(o.processors, IsEmpty());
  EXPECT_EQ(o.max_active_series, 0);
  EXPECT_EQ(o.generate_native_histograms, "classic");
  EXPECT_EQ(o.collection_interval, absl::ZeroDuration());
  EXPECT_FALSE(o.disable_collection);
  EXPECT_EQ(o.ingestion_time_range_slack, absl::ZeroDuration());
  EXPECT_DOUBLE_EQ(o.native_histogram_bucket_factor, 1.1);
  EXPECT_EQ(o.native_histogram_max_bucket_number, 100);
  EXPECT_EQ(o.native_histogram_min_reset_duration, absl::Minutes(15));
  EXPECT_THAT(o.remote_write_headers, IsEmpty());
  EXPECT_EQ(o.service_graphs.histogram_buckets, sg.histogram_buckets);
  EXPECT_EQ(o.span_metrics.histogram_buckets, sm.histogram_buckets);
  EXPECT_TRUE(o.span_metrics.intrinsic_dimensions.span_kind);
}

constexpr char kFullGenerator[] = R"({
  storage: {trace: {backend: local}},
  metrics_generator: {
    registry: {collection_interval: 30s, stale_duration: 5m,
               external_labels: {cluster: c1, env: prod}, inject_tenant_id_as: tenant,
               max_label_name_length: 100, max_label_value_length: 200},
    processor: {
      service_graphs: {wait: 2s, max_items: 50, workers: 3, histogram_buckets: [0.5, 1, 2.5],
                       dimensions: [http.method, k8s.cluster.name],
                       enable_client_server_prefix: true,
                       enable_messaging_system_latency_histogram: true,
                       enable_virtual_node_label: true, peer_attributes: [peer.service],
                       database_name_attributes: [db.name], span_multiplier_key: X-Sample},
      span_metrics: {histogram_buckets: [0.01, 0.1],
                     intrinsic_dimensions: {service: false, status_message: true},
                     dimensions: [http.route],
                     dimension_mappings: [{name: svc_ns, source_labels: [service.name,
                                           service.namespace], join: "/"}],
                     enable_target_info: true, enable_instance_label: false,
                     filter_policies: [{include: {match_type: strict, attributes: [
                                          {key: kind, value: SPAN_KIND_SERVER},
                                          {key: span.http.status_code, value: 200}]},
                                        exclude: {match_type: regex, attributes: [
                                          {key: resource.service.name, value: "test-.*"}]}},
                                       {include_any: {match_type: strict, attributes: [
                                          {key: name, value: GET}]}}],
                     span_multiplier_key: mult, target_info_excluded_dimensions: [host.id]}},
    storage: {path: /gen/wal, remote_write_flush_deadline: 2m,
              remote_write_add_org_id_header: false,
              remote_write: [{url: "https://mimir:9009/api/v1/push", name: mimir,
                              remote_timeout: 10s, headers: {X-Scope-OrgID: t1},
                              send_exemplars: true, send_native_histograms: true,
                              basic_auth: {username: u, password: pw},
                              tls_config: {ca_file: /ca.pem, cert_file: /c.pem,
                                           key_file: /k.pem, server_name: mimir,
                                           insecure_skip_verify: true},
                              proxy_url: "http://proxy:3128"},
                             {url: "http://prom:9090/api/v1/write",
                              authorization: {type: Bearer, credentials: tok}}]},
    metrics_ingestion_time_range_slack: 1m},
  overrides: {defaults: {metrics_generator: {
    processors: [service-graphs, span-metrics, local-blocks], max_active_series: 5000,
    generate_native_histograms: both, collection_interval: 1m, disable_collection: true,
    ingestion_time_range_slack: 45s, native_histogram_bucket_factor: 1.5,
    native_histogram_max_bucket_number: 20, native_histogram_min_reset_duration: 1h,
    remote_write_headers: {X-Team: a},
    processor: {
      service_graphs: {dimensions: [tenant.dim], enable_client_server_prefix: false,
                       histogram_buckets: [1, 2],
                       filter_policies: [{exclude: {match_type: strict, attributes: [
                                            {key: resource.service.name, value: noisy}]}}]},
      span_metrics: {enable_target_info: false, intrinsic_dimensions: {span_kind: false},
                     dimension_mappings: [{name: m2, source_labels: [a, b]}]}}}}}
})";

void ExpectFullGenerator(const TracesConfig& c) {
  const GeneratorConfig& g = c.metrics_generator;
  EXPECT_EQ(g.collection_interval, absl::Seconds(30));
  EXPECT_EQ(g.stale_duration, absl::Minutes(5));
  EXPECT_EQ(g.external_labels.size(), 2u);
  EXPECT_EQ(g.external_labels.at("cluster"), "c1");
  EXPECT_EQ(g.external_labels.at("env"), "prod");
  EXPECT_EQ(g.inject_tenant_id_as, "tenant");
  EXPECT_EQ(g.max_label_name_length, 100);
  EXPECT_EQ(g.max_label_value_length, 200);
  const ServiceGraphsConfig& sg = g.service_graphs;
  EXPECT_EQ(sg.wait, absl::Seconds(2));
  EXPECT_EQ(sg.max_items, 50);
  EXPECT_EQ(sg.workers, 3);
  EXPECT_THAT(sg.histogram_buckets, ElementsAre(0.5, 1.0, 2.5));
  EXPECT_THAT(sg.dimensions, ElementsAre("http.method", "k8s.cluster.name"));
  EXPECT_TRUE(sg.enable_client_server_prefix);
  EXPECT_TRUE(sg.enable_messaging_system_latency_histogram);
  EXPECT_TRUE(sg.enable_virtual_node_label);
  EXPECT_THAT(sg.peer_attributes, ElementsAre("peer.service"));
  EXPECT_THAT(sg.database_name_attributes, ElementsAre("db.name"));
  EXPECT_EQ(sg.span_multiplier_key, "X-Sample");
  const SpanMetricsConfig& sm = g.span_metrics;
  EXPECT_THAT(sm.histogram_buckets, ElementsAre(0.01, 0.1));
  EXPECT_FALSE(sm.intrinsic_dimensions.service);
  EXPECT_TRUE(sm.intrinsic_dimensions.span_name);  // not named: default kept
  EXPECT_TRUE(sm.intrinsic_dimensions.status_message);
  EXPECT_THAT(sm.dimensions, ElementsAre("http.route"));
  ASSERT_EQ(sm.dimension_mappings.size(), 1u);
  EXPECT_EQ(sm.dimension_mappings[0].name, "svc_ns");
  EXPECT_THAT(sm.dimension_mappings[0].source_labels,
              ElementsAre("service.name", "service.namespace"));
  EXPECT_EQ(sm.dimension_mappings[0].join, "/");
  EXPECT_TRUE(sm.enable_target_info);
  EXPECT_FALSE(sm.enable_instance_label);
  ASSERT_EQ(sm.filter_policies.size(), 2u);
  const FilterPolicy& p0 = sm.filter_policies[0];
  EXPECT_TRUE(p0.include.present);
  EXPECT_EQ(p0.include.match_type, "strict");
  ASSERT_EQ(p0.include.attributes.size(), 2u);
  EXPECT_EQ(p0.include.attributes[0].key, "kind");
  EXPECT_EQ(p0.include.attributes[0].value, "SPAN_KIND_SERVER");
  EXPECT_EQ(p0.include.attributes[1].key, "span.http.status_code");
  EXPECT_EQ(p0.include.attributes[1].value, "200");
  EXPECT_FALSE(p0.include_any.present);
  EXPECT_TRUE(p0.exclude.present);
  EXPECT_EQ(p0.exclude.match_type, "regex");
  ASSERT_EQ(p0.exclude.attributes.size(), 1u);
  EXPECT_EQ(p0.exclude.attributes[0].value, "test-.*");
  const FilterPolicy& p1 = sm.filter_policies[1];
  EXPECT_FALSE(p1.include.present);
  EXPECT_TRUE(p1.include_any.present);
  ASSERT_EQ(p1.include_any.attributes.size(), 1u);
  EXPECT_EQ(p1.include_any.attributes[0].key, "name");
  EXPECT_EQ(sm.span_multiplier_key, "mult");
  EXPECT_THAT(sm.target_info_excluded_dimensions, ElementsAre("host.id"));
  EXPECT_EQ(g.storage_path, "/gen/wal");
  EXPECT_EQ(g.remote_write_flush_deadline, absl::Minutes(2));
  EXPECT_FALSE(g.remote_write_add_org_id_header);
  EXPECT_EQ(g.metrics_ingestion_time_range_slack, absl::Minutes(1));
  ASSERT_EQ(g.remote_write.size(), 2u);
  const RemoteWriteConfig& rw = g.remote_write[0];
  EXPECT_EQ(rw.url, "https://mimir:9009/api/v1/push");
  EXPECT_EQ(rw.name, "mimir");
  EXPECT_EQ(rw.remote_timeout, absl::Seconds(10));
  EXPECT_EQ(rw.headers.at("X-Scope-OrgID"), "t1");
  EXPECT_TRUE(rw.send_exemplars);
  EXPECT_TRUE(rw.send_native_histograms);
  EXPECT_EQ(rw.basic_auth_username, "u");
  EXPECT_EQ(rw.tls_ca_file, "/ca.pem");
  EXPECT_EQ(rw.tls_cert_file, "/c.pem");
  EXPECT_EQ(rw.tls_key_file, "/k.pem");
  EXPECT_EQ(rw.tls_server_name, "mimir");
  EXPECT_TRUE(rw.tls_insecure_skip_verify);
  EXPECT_EQ(rw.proxy_url, "http://proxy:3128");
  const RemoteWriteConfig& rw2 = g.remote_write[1];
  EXPECT_EQ(rw2.url, "http://prom:9090/api/v1/write");
  EXPECT_EQ(rw2.remote_timeout, absl::Seconds(30));  // Prometheus's default
  EXPECT_FALSE(rw2.send_exemplars);
  EXPECT_EQ(rw2.authorization_type, "Bearer");
  const GeneratorOverrides& o = c.generator_overrides;
  EXPECT_THAT(o.processors, ElementsAre("service-graphs", "span-metrics", "local-blocks"));
  EXPECT_EQ(o.max_active_series, 5000);
  EXPECT_EQ(o.generate_native_histograms, "both");
  EXPECT_EQ(o.collection_interval, absl::Minutes(1));
  EXPECT_TRUE(o.disable_collection);
  EXPECT_EQ(o.ingestion_time_range_slack, absl::Seconds(45));
  EXPECT_DOUBLE_EQ(o.native_histogram_bucket_factor, 1.5);
  EXPECT_EQ(o.native_histogram_max_bucket_number, 20);
  EXPECT_EQ(o.native_histogram_min_reset_duration, absl::Hours(1));
  EXPECT_EQ(o.remote_write_headers.at("X-Team"), "a");
  // The tenant's processors: the generator's settings, each key the tenant sets replacing its.
  EXPECT_THAT(o.service_graphs.dimensions, ElementsAre("tenant.dim"));
  EXPECT_FALSE(o.service_graphs.enable_client_server_prefix);
  EXPECT_THAT(o.service_graphs.histogram_buckets, ElementsAre(1.0, 2.0));
  ASSERT_EQ(o.service_graphs.filter_policies.size(), 1u);
  EXPECT_TRUE(o.service_graphs.filter_policies[0].exclude.present);
  EXPECT_EQ(o.service_graphs.filter_policies[0].exclude.attributes[0].value, "noisy");
  EXPECT_EQ(o.service_graphs.wait, absl::Seconds(2));  // from the generator
  EXPECT_TRUE(o.service_graphs.enable_virtual_node_label);
  EXPECT_THAT(o.service_graphs.peer_attributes, ElementsAre("peer.service"));
  EXPECT_THAT(g.service_graphs.filter_policies, IsEmpty());
  EXPECT_FALSE(o.span_metrics.enable_target_info);
  EXPECT_TRUE(g.span_metrics.enable_target_info);  // the generator's own is untouched
  EXPECT_FALSE(o.span_metrics.intrinsic_dimensions.span_kind);
  EXPECT_FALSE(o.span_metrics.intrinsic_dimensions.service);  // from the generator
  EXPECT_TRUE(o.span_metrics.intrinsic_dimensions.status_message);
  ASSERT_EQ(o.span_metrics.dimension_mappings.size(), 1u);
  EXPECT_EQ(o.span_metrics.dimension_mappings[0].name, "m2");
  EXPECT_THAT(o.span_metrics.dimensions, ElementsAre("http.route"));
  ASSERT_EQ(o.span_metrics.filter_policies.size(), 2u);
}

TEST(TracesConfigTest, EveryGeneratorKeyIsRead) {
  auto r = LoadYaml(kFullGenerator);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectFullGenerator(r->config);
  EXPECT_EQ(r->config.metrics_generator.remote_write[0].basic_auth_password, "pw");
  EXPECT_EQ(r->config.metrics_generator.remote_write[1].authorization_credentials, "tok");
  EXPECT_THAT(r->warnings, IsEmpty());
}

TEST(TracesConfigTest, GeneratorEffectiveYamlRoundTripsAndMasksSecrets) {
  auto r = LoadYaml(kFullGenerator);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string yaml = r->config.EffectiveYaml();
  EXPECT_THAT(yaml, Not(HasSubstr("pw\n")));
  EXPECT_THAT(yaml, Not(HasSubstr("tok")));
  EXPECT_THAT(yaml, HasSubstr("collection_interval: 30s"));
  EXPECT_THAT(yaml, HasSubstr("stale_duration: 5m0s"));
  auto again = LoadYaml(yaml);
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << yaml;
  ExpectFullGenerator(again->config);
  EXPECT_EQ(again->config.metrics_generator.remote_write[0].basic_auth_password, "********");
  EXPECT_THAT(again->warnings, IsEmpty());
  // Tempo's defaults round-trip too (the default buckets included).
  auto defaults = LoadYaml(std::string("{") + kLocal + "}");
  ASSERT_TRUE(defaults.ok());
  auto defaults_again = LoadYaml(defaults->config.EffectiveYaml());
  ASSERT_TRUE(defaults_again.ok()) << defaults_again.status();
  EXPECT_EQ(defaults_again->config.metrics_generator.span_metrics.histogram_buckets,
            SpanMetricsConfig{}.histogram_buckets);
  EXPECT_EQ(defaults_again->config.metrics_generator.service_graphs.histogram_buckets,
            ServiceGraphsConfig{}.histogram_buckets);
  EXPECT_DOUBLE_EQ(defaults_again->config.generator_overrides.native_histogram_bucket_factor, 1.1);
}

TEST(TracesConfigTest, GeneratorKeysNotReadAreWarningsAndTyposErrors) {
  auto ok = LoadYaml(R"({storage: {trace: {backend: local}},
    metrics_generator: {ring: {heartbeat_period: 5s},
                        storage: {remote_write: [{url: "http://p", queue_config: {capacity: 1}}]}},
    overrides: {defaults: {metrics_generator: {forwarder: {workers: 2}}}}})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_THAT(
      ok->warnings,
      ElementsAre("'metrics_generator::ring::heartbeat_period' is a Tempo setting that sprout "
                  "traces does not implement yet; it is ignored",
                  "'overrides::defaults::metrics_generator::forwarder::workers' is a Tempo "
                  "setting that sprout traces does not implement yet; it is ignored",
                  "'metrics_generator::storage::remote_write[0]::queue_config' is a Prometheus "
                  "remote_write setting that sprout traces does not implement yet; it is "
                  "ignored"));
  auto bad = LoadYaml(R"({storage: {trace: {backend: local}},
    metrics_generator: {registry: {collection_intervall: 1s},
                        processor: {span_metrics: {intrinsic_dimensions: {servic: true},
                                    dimension_mappings: [{name: n, source_labels: [a], jion: x}],
                                    filter_policies: [{include: {match_type: strict,
                                        attributes: [{key: k, value: v, extra: 1}]}}]}},
                        storage: {remote_write: [{url: "http://p", urll: x,
                                                  basic_auth: {user: u}}]}},
    overrides: {defaults: {metrics_generator: {procesors: [span-metrics],
        processor: {service_graphs: {wait: 1s},
                    span_metrics: {intrinsic_dimensions: {kind: true}}}}}}})");
  ASSERT_FALSE(bad.ok());
  const std::string msg(bad.status().message());
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::registry' has invalid keys: "
                             "collection_intervall"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::processor::span_metrics::intrinsic_dimensions' "
                             "has invalid keys: servic"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::processor::span_metrics::dimension_mappings[0]' "
                             "has invalid keys: jion"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::processor::span_metrics::filter_policies[0]::"
                             "include::attributes[0]' has invalid keys: extra"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::storage::remote_write[0]' has invalid keys: "
                             "urll"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::storage::remote_write[0]::basic_auth' has "
                             "invalid keys: user"));
  EXPECT_THAT(msg, HasSubstr("'overrides::defaults::metrics_generator' has invalid keys: "
                             "procesors"));
  // Tempo has no per-tenant `wait`.
  EXPECT_THAT(msg, HasSubstr("'overrides::defaults::metrics_generator::processor::service_graphs' "
                             "has invalid keys: wait"));
  EXPECT_THAT(msg, HasSubstr("'overrides::defaults::metrics_generator::processor::span_metrics::"
                             "intrinsic_dimensions' has invalid keys: kind"));
}

TEST(TracesConfigTest, GeneratorWrongTypesAreErrorsNamingTheKey) {
  auto r = LoadYaml(R"({storage: {trace: {backend: local}},
    metrics_generator: {registry: {collection_interval: soon, max_label_name_length: long,
                                   external_labels: [a]},
                        processor: {service_graphs: {max_items: many, histogram_buckets: 1,
                                                     enable_virtual_node_label: maybe},
                                    span_metrics: {histogram_buckets: [0.1, x],
                                                   dimension_mappings: {name: n},
                                                   filter_policies: [{include: {
                                                       match_type: strict,
                                                       attributes: [{key: k, value: [1]}]}}]}},
                        storage: {remote_write: {url: "http://p"},
                                  remote_write_add_org_id_header: nope},
                        metrics_ingestion_time_range_slack: 5x},
    overrides: {defaults: {metrics_generator: {max_active_series: lots,
                                               native_histogram_bucket_factor: big}}}})");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::registry::collection_interval' time: invalid "
                             "duration \"soon\""));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::registry::max_label_name_length' expected type "
                             "'int64'"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::registry::external_labels' expected"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::processor::service_graphs::max_items' expected "
                             "type 'int64'"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::processor::service_graphs::histogram_buckets' "
                             "expected a list of numbers, got 'int'"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::processor::service_graphs::"
                             "enable_virtual_node_label' expected type 'bool'"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::processor::span_metrics::histogram_buckets' "
                             "item 1: expected a number, got 'x'"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::processor::span_metrics::dimension_mappings' "
                             "expected a list, got 'map'"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::processor::span_metrics::filter_policies[0]::"
                             "include::attributes[0]::value' expected a scalar, got 'slice'"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::storage::remote_write' expected a list, got "
                             "'map'"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::storage::remote_write_add_org_id_header' "
                             "expected type 'bool'"));
  EXPECT_THAT(msg, HasSubstr("'metrics_generator::metrics_ingestion_time_range_slack' time: "
                             "unknown unit \"x\" in duration \"5x\""));
  EXPECT_THAT(msg, HasSubstr("'overrides::defaults::metrics_generator::max_active_series' "
                             "expected type 'int64'"));
  EXPECT_THAT(msg, HasSubstr("'overrides::defaults::metrics_generator::"
                             "native_histogram_bucket_factor' expected type 'float64'"));
}

TEST(TracesConfigTest, GeneratorInvalidValues) {
  auto r = LoadYaml(R"({storage: {trace: {backend: local}},
    metrics_generator: {registry: {collection_interval: 0s, stale_duration: -1s,
                                   external_labels: {"1bad": x}, inject_tenant_id_as: "a-b",
                                   max_label_value_length: -1},
                        processor: {service_graphs: {wait: 0s, max_items: 0, workers: -1,
                                                     histogram_buckets: [1, 1]},
                                    span_metrics: {histogram_buckets: [2, 1],
                                                   dimension_mappings: [{join: x}],
                                                   filter_policies: [{include: {
                                                       match_type: fuzzy,
                                                       attributes: [{value: v}]}}]}},
                        storage: {remote_write: [{name: x}, {url: "ftp://p"},
                                                 {url: "http://p", remote_timeout: 0s,
                                                  basic_auth: {username: u, password: p},
                                                  authorization: {credentials: c}}],
                                  remote_write_flush_deadline: -1s},
                        metrics_ingestion_time_range_slack: -1s},
    overrides: {defaults: {metrics_generator: {
        processors: [span-metrics, spanmetrics], max_active_series: -1,
        generate_native_histograms: sometimes, collection_interval: -1s,
        ingestion_time_range_slack: -1s, native_histogram_bucket_factor: 1,
        native_histogram_max_bucket_number: -1, native_histogram_min_reset_duration: -1s}}}})");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  const std::string mg = "'metrics_generator::";
  EXPECT_THAT(msg, HasSubstr(mg + "registry::collection_interval' must be positive"));
  EXPECT_THAT(msg, HasSubstr(mg + "registry::stale_duration' must be positive"));
  EXPECT_THAT(msg, HasSubstr(mg + "registry::external_labels' invalid label name \"1bad\""));
  EXPECT_THAT(msg, HasSubstr(mg + "registry::inject_tenant_id_as' invalid label name \"a-b\""));
  EXPECT_THAT(msg, HasSubstr(mg + "registry::max_label_value_length' must not be negative"));
  EXPECT_THAT(msg, HasSubstr(mg + "processor::service_graphs::wait' must be positive"));
  EXPECT_THAT(msg, HasSubstr(mg + "processor::service_graphs::max_items' must be positive"));
  EXPECT_THAT(msg, HasSubstr(mg + "processor::service_graphs::workers' must be positive"));
  EXPECT_THAT(msg, HasSubstr(mg + "processor::service_graphs::histogram_buckets' buckets must be "
                                  "in increasing order"));
  EXPECT_THAT(msg, HasSubstr(mg + "processor::span_metrics::histogram_buckets' buckets must be "
                                  "in increasing order"));
  EXPECT_THAT(msg, HasSubstr(mg + "processor::span_metrics::dimension_mappings[0]::name' is "
                                  "required"));
  EXPECT_THAT(msg, HasSubstr(mg + "processor::span_metrics::dimension_mappings[0]::source_labels' "
                                  "must name at least one attribute"));
  EXPECT_THAT(msg, HasSubstr(mg + "processor::span_metrics::filter_policies[0]::include::"
                                  "match_type' invalid match type \"fuzzy\""));
  EXPECT_THAT(msg, HasSubstr(mg + "processor::span_metrics::filter_policies[0]::include::"
                                  "attributes[0]::key' is required"));
  EXPECT_THAT(msg, HasSubstr(mg + "storage::remote_write[0]::url' is required"));
  EXPECT_THAT(msg, HasSubstr(mg + "storage::remote_write[1]::url' unsupported scheme"));
  EXPECT_THAT(msg, HasSubstr(mg + "storage::remote_write[2]::remote_timeout' must be positive"));
  EXPECT_THAT(msg, HasSubstr(mg + "storage::remote_write[2]' at most one of basic_auth and "
                                  "authorization"));
  EXPECT_THAT(msg, HasSubstr(mg + "storage::remote_write_flush_deadline' must not be negative"));
  EXPECT_THAT(msg, HasSubstr(mg + "metrics_ingestion_time_range_slack' must not be negative"));
  const std::string o = "'overrides::defaults::metrics_generator::";
  EXPECT_THAT(msg, HasSubstr(o + "processors' \"spanmetrics\" is not a known processor, valid "
                                 "values: service-graphs, span-metrics, local-blocks"));
  EXPECT_THAT(msg, HasSubstr(o + "max_active_series' must not be negative"));
  EXPECT_THAT(msg, HasSubstr(o + "generate_native_histograms' invalid value \"sometimes\""));
  EXPECT_THAT(msg, HasSubstr(o + "collection_interval' must not be negative"));
  EXPECT_THAT(msg, HasSubstr(o + "ingestion_time_range_slack' must not be negative"));
  EXPECT_THAT(msg, HasSubstr(o + "native_histogram_bucket_factor' must be greater than 1"));
  EXPECT_THAT(msg, HasSubstr(o + "native_histogram_max_bucket_number' must not be negative"));
  EXPECT_THAT(msg, HasSubstr(o + "native_histogram_min_reset_duration' must not be negative"));
}

TEST(TracesConfigTest, GeneratorSetOverridesUseTempoPaths) {
  auto r = LoadYaml(std::string("{") + kLocal + "}",
                    {"metrics_generator.registry.collection_interval=5s",
                     "overrides.defaults.metrics_generator.processors=service-graphs,span-metrics",
                     "overrides.defaults.metrics_generator.generate_native_histograms=native"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.metrics_generator.collection_interval, absl::Seconds(5));
  EXPECT_THAT(r->config.generator_overrides.processors,
              ElementsAre("service-graphs", "span-metrics"));
  EXPECT_EQ(r->config.generator_overrides.generate_native_histograms, "native");
}

}  // namespace
}  // namespace sprout::traces
