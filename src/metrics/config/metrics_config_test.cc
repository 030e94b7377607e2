#include "metrics/config/metrics_config.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace sprout::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Loads `yaml` as the only config source, with `sets` as --set overrides.
absl::StatusOr<MetricsConfigResult> LoadYaml(const std::string& yaml,
                                             std::vector<std::string> sets = {}) {
  config::LoadOptions options;
  options.uris = {"yaml:" + yaml};
  options.set_overrides = std::move(sets);
  options.env = [](std::string_view) { return std::nullopt; };
  return LoadMetricsConfig(options);
}

TEST(MetricsConfigTest, MimirDefaultsWhenTheFileIsEmpty) {
  auto r = LoadYaml("{}");
  ASSERT_TRUE(r.ok()) << r.status();
  const MetricsConfig& c = r->config;
  EXPECT_EQ(c.target, "all");
  EXPECT_TRUE(c.multitenancy_enabled);
  EXPECT_EQ(c.DefaultTenant(), "anonymous");
  EXPECT_EQ(c.http_listen_address, "");
  EXPECT_EQ(c.http_listen_port, 8080);
  EXPECT_EQ(c.grpc_listen_port, 9095);
  EXPECT_EQ(c.BlocksBackend(), "filesystem");
  EXPECT_EQ(c.BlocksFilesystemDir(), "blocks");
  EXPECT_EQ(c.storage_prefix, "");
  EXPECT_EQ(c.tsdb_dir, "./tsdb/");
  EXPECT_EQ(c.sync_dir, "./tsdb-sync/");
  EXPECT_EQ(c.compactor_data_dir, "./data-compactor/");
  EXPECT_EQ(c.compactor_compaction_interval, absl::Hours(1));  // Mimir's default
  EXPECT_THAT(c.compactor_block_ranges,  // Mimir's default [2h0m0s,12h0m0s,24h0m0s]
              ::testing::ElementsAre(absl::Hours(2), absl::Hours(12), absl::Hours(24)));
  EXPECT_EQ(c.head_compaction_interval, absl::Minutes(1));  // Mimir's default
  EXPECT_EQ(c.activity_tracker_filepath, "./metrics-activity.log");
  EXPECT_EQ(c.max_recv_msg_size, 104857600);
  EXPECT_EQ(c.ingestion_rate, 10000);
  EXPECT_EQ(c.ingestion_burst_size, 200000);
  EXPECT_EQ(c.max_global_series_per_user, 150000);
  EXPECT_EQ(c.max_global_exemplars_per_user, 0);
  EXPECT_EQ(c.out_of_order_time_window, absl::ZeroDuration());
  EXPECT_EQ(c.past_grace_period, absl::ZeroDuration());
  EXPECT_EQ(c.compactor_blocks_retention_period, absl::ZeroDuration());
  // Mimir's querier defaults (and Prometheus's lookback delta and max_samples).
  EXPECT_EQ(c.querier_timeout, absl::Minutes(2));
  EXPECT_EQ(c.querier_max_concurrent, 20);
  EXPECT_EQ(c.querier_max_samples, 50000000);
  EXPECT_EQ(c.querier_lookback_delta, absl::Minutes(5));
  EXPECT_EQ(c.max_fetched_series_per_query, 0);
  EXPECT_EQ(c.max_fetched_chunks_per_query, 2000000);
  EXPECT_EQ(c.max_query_lookback, absl::ZeroDuration());
  EXPECT_EQ(c.HttpEndpoint(), ":8080");
  EXPECT_THAT(r->warnings, IsEmpty());
}

TEST(MetricsConfigTest, NoConfigAtAllGivesLocalDefaults) {
  config::LoadOptions options;
  options.env = [](std::string_view) { return std::nullopt; };
  auto r = LoadMetricsConfig(options);
  ASSERT_TRUE(r.ok()) << r.status();
  const MetricsConfig& c = r->config;
  EXPECT_FALSE(c.multitenancy_enabled);
  EXPECT_EQ(c.DefaultTenant(), "anonymous");
  EXPECT_EQ(c.max_global_exemplars_per_user, 100000);
  EXPECT_EQ(c.BlocksFilesystemDir(), "./data/metrics/blocks");
  EXPECT_EQ(c.tsdb_dir, "./data/metrics/tsdb/");
  EXPECT_EQ(c.sync_dir, "./data/metrics/tsdb-sync/");
  EXPECT_EQ(c.compactor_data_dir, "./data/metrics/compactor/");
  EXPECT_TRUE(absl::StartsWith(c.activity_tracker_filepath, "./data/metrics/"));
  EXPECT_EQ(c.http_listen_port, 8080);
}

TEST(MetricsConfigTest, NoConfigWithSetOverridesKeepsLocalDefaultsForTheRest) {
  config::LoadOptions options;
  options.set_overrides = {"server.http_listen_port=0"};
  auto r = LoadMetricsConfig(options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.http_listen_port, 0);
  EXPECT_FALSE(r->config.multitenancy_enabled);
}

// The bucket index keys: Mimir's defaults (enabled, 1h max stale period, 15m cleanup interval).
TEST(MetricsConfigTest, BucketIndexKeys) {
  auto d = LoadYaml("{}");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->config.bucket_index_enabled);
  EXPECT_EQ(d->config.bucket_index_max_stale_period, absl::Hours(1));
  EXPECT_EQ(d->config.compactor_cleanup_interval, absl::Minutes(15));
  auto r = LoadYaml(
      "{blocks_storage: {bucket_store: {bucket_index: {enabled: false, max_stale_period: 2h}}},"
      " compactor: {cleanup_interval: 5m}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->config.bucket_index_enabled);
  EXPECT_EQ(r->config.bucket_index_max_stale_period, absl::Hours(2));
  EXPECT_EQ(r->config.compactor_cleanup_interval, absl::Minutes(5));
  EXPECT_THAT(r->warnings, IsEmpty());
  auto bad = LoadYaml("{compactor: {cleanup_interval: 0s}}");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("cleanup_interval"));
}

// Mimir refuses a head compaction interval outside (0, 15m] (errInvalidCompactionInterval).
TEST(MetricsConfigTest, HeadCompactionIntervalOutsideMimirsBoundsIsRefused) {
  for (const char* bad : {"0s", "16m"}) {
    auto r =
        LoadYaml(std::string("{blocks_storage: {tsdb: {head_compaction_interval: ") + bad + "}}}");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("head_compaction_interval"));
    EXPECT_THAT(r.status().message(), HasSubstr("invalid TSDB compaction interval"));
  }
  auto r = LoadYaml("{blocks_storage: {tsdb: {head_compaction_interval: 15m}}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.head_compaction_interval, absl::Minutes(15));
}

TEST(MetricsConfigTest, BlockRangesAsListOrFlagStringAndValidated) {
  auto r = LoadYaml("{compactor: {block_ranges: '2h,12h'}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->config.compactor_block_ranges,
              ::testing::ElementsAre(absl::Hours(2), absl::Hours(12)));
  // Mimir's Validate text for a range that is not a multiple of the previous one.
  r = LoadYaml("{compactor: {block_ranges: [2h, 12h, 24h, 30h]}}");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("compactor block range periods should be divisible by the previous one, "
                        "but 30h0m0s is not divisible by 24h0m0s"));
  for (const char* bad : {"[2h, 0s]", "[]", "[2h, x]"}) {
    r = LoadYaml(std::string("{compactor: {block_ranges: ") + bad + "}}");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_THAT(r.status().message(), HasSubstr("block_ranges")) << bad;
  }
}

TEST(MetricsConfigTest, EveryImplementedKeyIsRead) {
  auto r = LoadYaml(R"({
    target: all, multitenancy_enabled: false, no_auth_tenant: t1,
    server: {http_listen_address: 127.0.0.1, http_listen_port: 9009, grpc_listen_port: 9096},
    common: {storage: {backend: filesystem, filesystem: {dir: /c}}},
    blocks_storage: {storage_prefix: blocks, tsdb: {dir: /t, wal_fsync_before_ack: true, head_compaction_interval: 5s}, bucket_store: {sync_dir: /s},
                     filesystem: {dir: /b}},
    compactor: {data_dir: /cd, compaction_interval: 30m, block_ranges: [1h, 4h, 48h]},
    activity_tracker: {filepath: /a.log},
    distributor: {max_recv_msg_size: 1234},
    limits: {ingestion_rate: 5.5, ingestion_burst_size: 7, max_global_series_per_user: 8,
             max_global_exemplars_per_user: 9, out_of_order_time_window: 10m,
             past_grace_period: 1h, compactor_blocks_retention_period: 30d,
             max_fetched_series_per_query: 11, max_fetched_chunks_per_query: 12,
             max_query_lookback: 7d},
    querier: {timeout: 30s, max_concurrent: 4, max_samples: 1000, lookback_delta: 1m}
  })");
  ASSERT_TRUE(r.ok()) << r.status();
  const MetricsConfig& c = r->config;
  EXPECT_FALSE(c.multitenancy_enabled);
  EXPECT_EQ(c.DefaultTenant(), "t1");
  EXPECT_EQ(c.HttpEndpoint(), "127.0.0.1:9009");
  EXPECT_EQ(c.grpc_listen_port, 9096);
  EXPECT_EQ(c.common_storage.filesystem_dir, "/c");
  EXPECT_EQ(c.BlocksFilesystemDir(), "/b");  // blocks_storage wins over common
  EXPECT_EQ(c.storage_prefix, "blocks");
  EXPECT_EQ(c.tsdb_dir, "/t");
  EXPECT_TRUE(c.wal_fsync_before_ack);
  EXPECT_EQ(c.sync_dir, "/s");
  EXPECT_EQ(c.compactor_data_dir, "/cd");
  EXPECT_EQ(c.compactor_compaction_interval, absl::Minutes(30));
  EXPECT_THAT(c.compactor_block_ranges,
              ::testing::ElementsAre(absl::Hours(1), absl::Hours(4), absl::Hours(48)));
  EXPECT_EQ(c.head_compaction_interval, absl::Seconds(5));
  EXPECT_EQ(c.activity_tracker_filepath, "/a.log");
  EXPECT_EQ(c.max_recv_msg_size, 1234);
  EXPECT_EQ(c.ingestion_rate, 5.5);
  EXPECT_EQ(c.ingestion_burst_size, 7);
  EXPECT_EQ(c.max_global_series_per_user, 8);
  EXPECT_EQ(c.max_global_exemplars_per_user, 9);
  EXPECT_EQ(c.out_of_order_time_window, absl::Minutes(10));
  EXPECT_EQ(c.past_grace_period, absl::Hours(1));
  EXPECT_EQ(c.compactor_blocks_retention_period, absl::Hours(30 * 24));
  EXPECT_EQ(c.max_fetched_series_per_query, 11);
  EXPECT_EQ(c.max_fetched_chunks_per_query, 12);
  EXPECT_EQ(c.max_query_lookback, absl::Hours(7 * 24));
  EXPECT_EQ(c.querier_timeout, absl::Seconds(30));
  EXPECT_EQ(c.querier_max_concurrent, 4);
  EXPECT_EQ(c.querier_max_samples, 1000);
  EXPECT_EQ(c.querier_lookback_delta, absl::Minutes(1));
  EXPECT_THAT(r->warnings, IsEmpty());
}

// Mimir's OTLP naming limits: suffixes off and nothing promoted by default; the promoted list is
// a comma-separated string (flagext.StringSliceCSV), split on ',' without trimming.
TEST(MetricsConfigTest, OtelNamingLimits) {
  auto d = LoadYaml("{}");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->config.otel_metric_suffixes_enabled);
  EXPECT_EQ(d->config.promote_otel_resource_attributes, "");
  EXPECT_THAT(d->config.DefaultLimits().PromotedOtelResourceAttributes(), IsEmpty());

  auto r = LoadYaml(R"({limits: {otel_metric_suffixes_enabled: true,
                                  promote_otel_resource_attributes: "service.name,k8s.pod.name,,a b"}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->warnings, IsEmpty());
  const TenantLimits l = r->config.DefaultLimits();
  EXPECT_TRUE(l.otel_metric_suffixes_enabled);
  EXPECT_THAT(l.PromotedOtelResourceAttributes(),
              ElementsAre("service.name", "k8s.pod.name", "a b"));
  const YAML::Node y = TenantLimitsYaml(l);
  EXPECT_EQ(y["otel_metric_suffixes_enabled"].as<std::string>(), "true");
  EXPECT_EQ(y["promote_otel_resource_attributes"].as<std::string>(),
            "service.name,k8s.pod.name,,a b");
}

TEST(MetricsConfigTest, CommonFilesystemDirIsUsedWhenBlocksStorageHasNone) {
  auto r = LoadYaml("{common: {storage: {filesystem: {dir: /data/common}}}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.BlocksFilesystemDir(), "/data/common");
}

TEST(MetricsConfigTest, RealMimirKeyNotImplementedIsAWarningNamingThePath) {
  auto r = LoadYaml("{ingester: {ring: {replication_factor: 1}}, memberlist: {bind_port: 1}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->warnings,
              ElementsAre("'ingester::ring::replication_factor' is a Mimir setting that sprout "
                          "metrics does not implement yet; it is ignored",
                          "'memberlist::bind_port' is a Mimir setting that sprout metrics does "
                          "not implement yet; it is ignored"));
}

TEST(MetricsConfigTest, RulerAndAlertmanagerKeysAreAcceptedSilently) {
  auto r = LoadYaml(R"({ruler: {rule_path: /r}, ruler_storage: {storage_prefix: ruler},
                        alertmanager: {sharding_ring: {replication_factor: 1}},
                        alertmanager_storage: {storage_prefix: am},
                        limits: {ruler_max_rules_per_rule_group: 5},
                        common: {storage: {s3: {sse: {type: SSE-S3}}}}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->warnings, IsEmpty());
}

TEST(MetricsConfigTest, UnknownKeysAreErrorsNamingTheirPath) {
  auto r = LoadYaml("{limits: {ingestion_rat: 1, zz: 2}, tagret: all, ruler: {nope: 1}}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("'limits' has invalid keys: ingestion_rat, zz"));
  EXPECT_THAT(msg, HasSubstr("configuration has invalid keys: tagret"));
  // An accepted block still refuses what is not a Mimir key.
  EXPECT_THAT(msg, HasSubstr("'ruler' has invalid keys: nope"));
}

TEST(MetricsConfigTest, WrongTypesAreErrorsNamingTheKey) {
  auto r = LoadYaml("{server: {http_listen_port: abc}, multitenancy_enabled: yes}");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("'server::http_listen_port' expected type 'int', got "
                             "unconvertible type 'string', value: 'abc'"));
  EXPECT_THAT(msg, HasSubstr("'multitenancy_enabled' expected type 'bool'"));
}

TEST(MetricsConfigTest, ABlockGivenAScalarIsAnError) {
  auto r = LoadYaml("{limits: 5, ingester: [1]}");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("'limits' expected a map, got 'int'"));
  EXPECT_THAT(msg, HasSubstr("'ingester' expected a map, got 'slice'"));
}

TEST(MetricsConfigTest, BadDurationNamesTheKey) {
  auto r = LoadYaml("{limits: {compactor_blocks_retention_period: 30x}}");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("'limits::compactor_blocks_retention_period' not a valid duration "
                        "string: \"30x\""));
}

TEST(MetricsConfigTest, InvalidValues) {
  auto r = LoadYaml(
      "{target: ingester, server: {http_listen_port: 70000}, common: {storage: {backend: gcs}},"
      " limits: {ingestion_rate: -1, max_fetched_chunks_per_query: -1},"
      " querier: {timeout: 0s, max_concurrent: 0, max_samples: 0, lookback_delta: 0s}}");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("'target' module \"ingester\" is not supported"));
  EXPECT_THAT(msg, HasSubstr("'server::http_listen_port' invalid port 70000"));
  EXPECT_THAT(msg, HasSubstr("'common::storage::backend' unsupported storage backend \"gcs\""));
  EXPECT_THAT(msg, HasSubstr("'limits::ingestion_rate' must not be negative"));
  EXPECT_THAT(msg, HasSubstr("'limits::max_fetched_chunks_per_query' must not be negative"));
  EXPECT_THAT(msg, HasSubstr("'querier::timeout' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'querier::max_concurrent' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'querier::max_samples' must be positive"));
  EXPECT_THAT(msg, HasSubstr("'querier::lookback_delta' must be positive"));
}

TEST(MetricsConfigTest, SetOverridesTakeDotsOrColons) {
  auto r = LoadYaml("{server: {http_listen_port: 1}}",
                    {"server.http_listen_port=2", "limits::ingestion_rate=3",
                     "common.storage.backend=filesystem"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.http_listen_port, 2);
  EXPECT_EQ(r->config.ingestion_rate, 3);
}

TEST(MetricsConfigTest, SetOverrideOfAnUnknownKeyIsAnError) {
  auto r = LoadYaml("{}", {"limits.nope=1"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("'limits' has invalid keys: nope"));
}

TEST(MetricsConfigTest, S3IsAcceptedByTheConfigAndRefusedAtStart) {
  auto r = LoadYaml("{common: {storage: {backend: s3, s3: {bucket_name: b, region: r}}}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.common_storage.s3.bucket_name, "b");
  absl::Status runnable = CheckRunnable(r->config);
  EXPECT_EQ(runnable.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(runnable.message()), HasSubstr("s3 is not available yet"));
  EXPECT_TRUE(CheckRunnable(LocalDefaults()).ok());
}

TEST(MetricsConfigTest, SeedMimirYamlLoadsWithWarningsAndStartsOnFilesystem) {
  config::LoadOptions options;
  options.uris = {"examples/seed/mimir.yaml"};
  options.set_overrides = {"common.storage.backend=filesystem"};
  auto r = LoadMetricsConfig(options);
  ASSERT_TRUE(r.ok()) << r.status();
  const MetricsConfig& c = r->config;
  EXPECT_EQ(c.activity_tracker_filepath, "/data/metrics-activity.log");
  EXPECT_EQ(c.storage_prefix, "blocks");
  EXPECT_EQ(c.tsdb_dir, "/data/tsdb/");
  EXPECT_EQ(c.sync_dir, "/data/tsdb-sync/");
  EXPECT_EQ(c.compactor_data_dir, "/data/data-compactor/");
  EXPECT_EQ(c.compactor_blocks_retention_period, absl::Hours(720));
  EXPECT_EQ(c.common_storage.s3.bucket_name, "My_Bucket_Name");
  EXPECT_TRUE(CheckRunnable(c).ok());
  // store_gateway and ingester rings are real Mimir keys sprout does not implement.
  EXPECT_THAT(r->warnings,
              ElementsAre(HasSubstr("'store_gateway::sharding_ring::replication_factor'"),
                          HasSubstr("'ingester::ring::replication_factor'")));
  // Unchanged, it is valid too, and s3 is refused only at start.
  auto plain = LoadMetricsConfig({.uris = {"examples/seed/mimir.yaml"}});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(CheckRunnable(plain->config).ok());
}

TEST(MetricsConfigTest, EffectiveYamlRoundTripsAndMasksSecrets) {
  auto r = LoadYaml(
      "{limits: {compactor_blocks_retention_period: 30d, out_of_order_time_window: 90m,"
      " max_fetched_series_per_query: 3, max_query_lookback: 2w},"
      " querier: {timeout: 90s, max_samples: 77},"
      " common: {storage: {backend: s3, s3: {secret_access_key: hunter2}}}}");
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string yaml = r->config.EffectiveYaml();
  EXPECT_THAT(yaml, Not(HasSubstr("hunter2")));
  EXPECT_THAT(yaml, HasSubstr("secret_access_key: \"********\""));
  EXPECT_THAT(yaml, HasSubstr("compactor_blocks_retention_period: 30d"));
  EXPECT_THAT(yaml, HasSubstr("out_of_order_time_window: 1h30m"));
  // The effective YAML is itself a valid configuration with the same values.
  auto again = LoadYaml(yaml);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->config.compactor_blocks_retention_period, absl::Hours(720));
  EXPECT_EQ(again->config.http_listen_port, 8080);
  EXPECT_EQ(again->config.querier_timeout, absl::Seconds(90));
  EXPECT_EQ(again->config.querier_max_samples, 77);
  EXPECT_EQ(again->config.max_fetched_series_per_query, 3);
  EXPECT_EQ(again->config.max_query_lookback, absl::Hours(14 * 24));
  EXPECT_THAT(again->warnings, IsEmpty());
}

TEST(MetricsConfigTest, ClassifyKey) {
  EXPECT_EQ(ClassifyKey("limits.ingestion_rate"), KeyClass::kImplemented);
  EXPECT_EQ(ClassifyKey("ruler.rule_path"), KeyClass::kAccepted);
  EXPECT_EQ(ClassifyKey("querier.timeout"), KeyClass::kImplemented);
  EXPECT_EQ(ClassifyKey("querier.query_store_after"), KeyClass::kNotImplemented);
  EXPECT_EQ(ClassifyKey("blocks_storage.bucket_store"), KeyClass::kBlock);
  EXPECT_EQ(ClassifyKey("limits.nope"), KeyClass::kUnknown);
}

TEST(PrometheusDurationTest, Parse) {
  EXPECT_EQ(*ParsePrometheusDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParsePrometheusDuration("30d"), absl::Hours(720));
  EXPECT_EQ(*ParsePrometheusDuration("1y2w"), absl::Hours(24 * (365 + 14)));
  EXPECT_EQ(*ParsePrometheusDuration("1h30m15s250ms"),
            absl::Hours(1) + absl::Minutes(30) + absl::Seconds(15) + absl::Milliseconds(250));
  EXPECT_EQ(ParsePrometheusDuration("").status().message(), "empty duration string");
  EXPECT_EQ(ParsePrometheusDuration("1m1h").status().message(),
            "not a valid duration string: \"1m1h\"");
  EXPECT_EQ(ParsePrometheusDuration("1.5h").status().message(),
            "not a valid duration string: \"1.5h\"");
  EXPECT_EQ(ParsePrometheusDuration("-1h").status().message(),
            "not a valid duration string: \"-1h\"");
  EXPECT_EQ(ParsePrometheusDuration("99999999999999999999y").status().message(),
            "duration out of range");
}

TEST(PrometheusDurationTest, Format) {
  EXPECT_EQ(FormatPrometheusDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatPrometheusDuration(absl::Hours(720)), "30d");
  EXPECT_EQ(FormatPrometheusDuration(absl::Hours(24 * 14)), "2w");
  EXPECT_EQ(FormatPrometheusDuration(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(FormatPrometheusDuration(absl::Milliseconds(1500)), "1s500ms");
}

TEST(MetricsConfigTest, CardinalityAnalysisIsOffByDefaultAndRead) {
  auto off = LoadYaml("{}");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->config.cardinality_analysis_enabled);  // Mimir's default
  auto on = LoadYaml("{limits: {cardinality_analysis_enabled: true}}");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->config.cardinality_analysis_enabled);
  EXPECT_THAT(on->warnings, IsEmpty());
  auto again = LoadYaml(on->config.EffectiveYaml());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->config.cardinality_analysis_enabled);
}
}  // namespace
}  // namespace sprout::metrics
