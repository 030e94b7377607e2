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

TEST(TracesConfigTest, GeneratorAndS3KeysAreAcceptedSilently) {
  auto r = LoadYaml(R"({storage: {trace: {backend: local, s3: {forcepathstyle: true,
                                                               sse: {type: SSE-S3}}}},
                        metrics_generator: {storage: {path: /g, remote_write: [{url: "http://p"}]},
                                            registry: {collection_interval: 15s},
                                            processor: {service_graphs: {wait: 10s}}},
                        overrides: {defaults: {metrics_generator: {
                            processors: [service-graphs, span-metrics],
                            max_active_series: 1000}}}})");
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
    EXPECT_EQ(ClassifyKey(key), KeyClass::kAccepted) << key;
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
  EXPECT_EQ(ClassifyKey("metrics_generator.registry.collection_interval"), KeyClass::kAccepted);
  EXPECT_EQ(ClassifyKey("storage.trace"), KeyClass::kBlock);
  EXPECT_EQ(ClassifyKey("distributor.receivers.otlp"), KeyClass::kBlock);
  // Below distributor.receivers: the collector's receiver settings, part of a real Tempo key.
  EXPECT_EQ(ClassifyKey("distributor.receivers.zipkin"), KeyClass::kNotImplemented);
  EXPECT_EQ(ClassifyKey("distributor.receivers.otlp.protocols.grpc.max_recv_msg_size_mib"),
            KeyClass::kNotImplemented);
  EXPECT_EQ(ClassifyKey("ingester.nope"), KeyClass::kUnknown);
  EXPECT_EQ(ClassifyKey("nope"), KeyClass::kUnknown);
}

}  // namespace
}  // namespace sprout::traces
