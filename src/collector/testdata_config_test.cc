// Each component's testdata/config.yaml decodes with the built-in factories, and every key it
// sets reaches the typed config (values from the files; defaults from the component READMEs).
#include "collector/testdata_config.h"

#include <gtest/gtest.h>

#include "collector/exporter/debug/config.h"
#include "collector/exporter/prometheusremotewrite/config.h"
#include "collector/extension/health_check/config.h"
#include "collector/processor/batch/config.h"
#include "collector/processor/filter/config.h"
#include "collector/processor/memory_limiter/config.h"

namespace sprout::collector::testing {
namespace {

TEST(TestdataConfig, Batch) {
  auto service = LoadTestdataConfig("processor/batch");
  ASSERT_TRUE(service.ok()) << service.status();
  const auto& defaults = ConfigOf<batchprocessor::Config>(*service, Kind::kProcessor, "batch");
  EXPECT_EQ(defaults.send_batch_size, 8192u);
  EXPECT_EQ(defaults.timeout, absl::Milliseconds(200));
  EXPECT_EQ(defaults.send_batch_max_size, 0u);
  EXPECT_TRUE(defaults.metadata_keys.empty());
  EXPECT_EQ(defaults.metadata_cardinality_limit, 1000u);
  const auto& c = ConfigOf<batchprocessor::Config>(*service, Kind::kProcessor, "batch/custom");
  EXPECT_EQ(c.send_batch_size, 1000u);
  EXPECT_EQ(c.timeout, absl::Seconds(1));
  EXPECT_EQ(c.send_batch_max_size, 2000u);
  EXPECT_EQ(c.metadata_keys, std::vector<std::string>{"x-tenant"});
  EXPECT_EQ(c.metadata_cardinality_limit, 10u);
}

TEST(TestdataConfig, MemoryLimiter) {
  auto service = LoadTestdataConfig("processor/memory_limiter");
  ASSERT_TRUE(service.ok()) << service.status();
  const auto& mib = ConfigOf<memorylimiter::Config>(*service, Kind::kProcessor, "memory_limiter");
  EXPECT_EQ(mib.check_interval, absl::Seconds(1));
  EXPECT_EQ(mib.limit_mib, 4000u);
  EXPECT_EQ(mib.spike_limit_mib, 800u);
  EXPECT_EQ(mib.min_gc_interval_when_soft_limited, absl::Seconds(10));  // default
  const auto& pct =
      ConfigOf<memorylimiter::Config>(*service, Kind::kProcessor, "memory_limiter/percentage");
  EXPECT_EQ(pct.check_interval, absl::Seconds(5));
  EXPECT_EQ(pct.limit_percentage, 80u);
  EXPECT_EQ(pct.spike_limit_percentage, 25u);
  EXPECT_EQ(pct.limit_mib, 0u);
}

TEST(TestdataConfig, Filter) {
  auto service = LoadTestdataConfig("processor/filter");
  ASSERT_TRUE(service.ok()) << service.status();
  using filterprocessor::ContextKind;
  const auto& seed = ConfigOf<filterprocessor::Config>(*service, Kind::kProcessor, "filter");
  EXPECT_EQ(seed.error_mode, "ignore");
  const auto& all =
      ConfigOf<filterprocessor::Config>(*service, Kind::kProcessor, "filter/all_keys");
  EXPECT_EQ(all.error_mode, "propagate");
  auto groups = filterprocessor::BuildGroups(all, Signal::kMetrics);
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 3u);  // resource, metric, datapoint: outermost first
  EXPECT_EQ((*groups)[0].context, ContextKind::kResource);
  EXPECT_EQ((*groups)[1].context, ContextKind::kMetric);
  EXPECT_EQ((*groups)[1].conditions[0].text(), "HasAttrOnDatapoint(\"route\", \"/health\")");
  EXPECT_EQ((*groups)[2].context, ContextKind::kDataPoint);
  const auto& inferred =
      ConfigOf<filterprocessor::Config>(*service, Kind::kProcessor, "filter/inferred");
  ASSERT_EQ(inferred.trace_conditions.size(), 2u);
  EXPECT_EQ(inferred.trace_conditions[1].context, "spanevent");
  EXPECT_EQ(inferred.trace_conditions[1].error_mode, "silent");
  auto trace_groups = filterprocessor::BuildGroups(inferred, Signal::kTraces);
  ASSERT_TRUE(trace_groups.ok()) << trace_groups.status();
  EXPECT_EQ((*trace_groups)[1].mode, filterprocessor::ErrorMode::kSilent);
}

TEST(TestdataConfig, Debug) {
  auto service = LoadTestdataConfig("exporter/debug");
  ASSERT_TRUE(service.ok()) << service.status();
  const auto& defaults = ConfigOf<debugexporter::Config>(*service, Kind::kExporter, "debug");
  EXPECT_EQ(defaults.verbosity, "basic");
  EXPECT_EQ(defaults.sampling_initial, 2);
  EXPECT_EQ(defaults.sampling_thereafter, 1);
  EXPECT_TRUE(defaults.use_internal_logger);
  EXPECT_EQ(defaults.output_paths, std::vector<std::string>{"stdout"});
  const auto& c = ConfigOf<debugexporter::Config>(*service, Kind::kExporter, "debug/custom");
  EXPECT_EQ(c.verbosity, "detailed");
  EXPECT_EQ(c.sampling_initial, 10);
  EXPECT_EQ(c.sampling_thereafter, 50);
  EXPECT_FALSE(c.use_internal_logger);
  EXPECT_EQ(c.output_paths, std::vector<std::string>{"stderr"});
}

TEST(TestdataConfig, HealthCheck) {
  auto service = LoadTestdataConfig("extension/health_check");
  ASSERT_TRUE(service.ok()) << service.status();
  const auto& defaults = ConfigOf<healthcheck::Config>(*service, Kind::kExtension, "health_check");
  EXPECT_EQ(defaults.http.endpoint, "localhost:13133");
  EXPECT_EQ(defaults.path, "/");
  EXPECT_FALSE(defaults.has_response_body);
  const auto& c = ConfigOf<healthcheck::Config>(*service, Kind::kExtension, "health_check/custom");
  EXPECT_EQ(c.http.endpoint, "0.0.0.0:13134");
  EXPECT_EQ(c.path, "/health/status");
  EXPECT_TRUE(c.has_response_body);
  EXPECT_EQ(c.healthy_body, "I'm OK");
  EXPECT_EQ(c.unhealthy_body, "I'm bad");
  EXPECT_FALSE(c.check_collector_pipeline);
}

TEST(TestdataConfig, PrometheusRemoteWrite) {
  auto service = LoadTestdataConfig("exporter/prometheusremotewrite");
  ASSERT_TRUE(service.ok()) << service.status();
  const auto& defaults =
      ConfigOf<prwexporter::Config>(*service, Kind::kExporter, "prometheusremotewrite");
  EXPECT_EQ(defaults.timeout, absl::Seconds(5));
  EXPECT_EQ(defaults.num_consumers, 5);
  EXPECT_TRUE(defaults.target_info);
  EXPECT_EQ(defaults.max_batch_size_bytes, 3000000);
  const auto& c =
      ConfigOf<prwexporter::Config>(*service, Kind::kExporter, "prometheusremotewrite/custom");
  EXPECT_EQ(c.endpoint, "https://mimir.example.com/api/v1/push");
  EXPECT_EQ(c.headers.at("X-Scope-OrgID"), "tenant-a");
  EXPECT_EQ(c.timeout, absl::Seconds(10));
  EXPECT_TRUE(c.tls_insecure_skip_verify);
  EXPECT_EQ(c.tls_ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(c.max_idle_conns, 20);
  EXPECT_EQ(c.idle_conn_timeout, absl::Seconds(30));
  EXPECT_EQ(c.retry_on_failure.initial_interval, absl::Milliseconds(100));
  EXPECT_EQ(c.retry_on_failure.max_interval, absl::Seconds(10));
  EXPECT_EQ(c.retry_on_failure.max_elapsed_time, absl::Minutes(2));
  EXPECT_EQ(c.queue_size, 5000);
  EXPECT_EQ(c.num_consumers, 3);
  EXPECT_EQ(c.metric_namespace, "app");
  EXPECT_EQ(c.external_labels.at("cluster"), "eu-1");
  EXPECT_TRUE(c.resource_to_telemetry);
  EXPECT_TRUE(c.exclude_service_attributes);
  EXPECT_FALSE(c.target_info);
  EXPECT_FALSE(c.add_metric_suffixes);
  EXPECT_TRUE(c.send_metadata);
  EXPECT_TRUE(c.disable_scope_info);
  EXPECT_EQ(c.max_batch_size_bytes, 1000000);
  EXPECT_EQ(c.wal_directory, "/var/lib/sprout/prw-wal");
  EXPECT_EQ(c.wal_buffer_size, 100);
  EXPECT_EQ(c.wal_truncate_frequency, absl::Seconds(30));
}

}  // namespace
}  // namespace sprout::collector::testing
