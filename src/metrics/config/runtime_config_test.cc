#include "metrics/config/runtime_config.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::metrics {
namespace {

using ::testing::HasSubstr;

TEST(RuntimeConfigTest, OverridesApplyOverTheDefaults) {
  TenantLimits defaults;
  defaults.ingestion_rate = 5;
  absl::StatusOr<RuntimeConfig> c = ParseRuntimeConfig(R"(
overrides:
  t1:
    ingestion_rate: 50000
    max_global_series_per_metric: 3
    creation_grace_period: 1h
    native_histograms_ingestion_enabled: false
    otel_metric_suffixes_enabled: true
    promote_otel_resource_attributes: k8s.pod.name
  t2:
)",
                                                       defaults);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->overrides.size(), 2u);
  const TenantLimits& t1 = c->overrides.at("t1");
  EXPECT_EQ(t1.ingestion_rate, 50000);
  EXPECT_EQ(t1.max_global_series_per_metric, 3);
  EXPECT_EQ(t1.creation_grace_period, absl::Hours(1));
  EXPECT_FALSE(t1.native_histograms_ingestion_enabled);
  EXPECT_TRUE(t1.otel_metric_suffixes_enabled);
  EXPECT_EQ(t1.promote_otel_resource_attributes, "k8s.pod.name");
  EXPECT_EQ(t1.max_label_names_per_series, 30);  // not overridden: the default
  EXPECT_EQ(c->overrides.at("t2"), defaults);
}

TEST(RuntimeConfigTest, EmptyFileOverridesNothing) {
  absl::StatusOr<RuntimeConfig> c = ParseRuntimeConfig("", TenantLimits{});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->overrides.empty());
}

TEST(RuntimeConfigTest, ErrorsNameTheKey) {
  absl::StatusOr<RuntimeConfig> c = ParseRuntimeConfig(R"(
overrides:
  t1:
    ingestion_rat: 1
    max_label_name_length: abc
    max_global_series_per_user: -1
bogus: 1
)",
                                                       TenantLimits{});
  ASSERT_FALSE(c.ok());
  const std::string m(c.status().message());
  EXPECT_THAT(m, HasSubstr("'overrides::t1' has invalid keys: ingestion_rat"));
  EXPECT_THAT(m, HasSubstr("'overrides::t1::max_label_name_length'"));
  EXPECT_THAT(m, HasSubstr("'overrides::t1::max_global_series_per_user' must not be negative"));
  EXPECT_THAT(m, HasSubstr("runtime configuration has invalid keys: bogus"));
  EXPECT_FALSE(ParseRuntimeConfig("overrides: [", TenantLimits{}).ok());
}

TEST(RuntimeConfigTest, OtherMimirLimitsAreIgnoredWithAWarning) {
  absl::StatusOr<RuntimeConfig> c = ParseRuntimeConfig(
      "overrides:\n  t1:\n    max_native_histogram_buckets: 160\n", TenantLimits{});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("overrides::t1::max_native_histogram_buckets"));
}

TEST(RuntimeConfigTest, YamlAllAndDiff) {
  TenantLimits defaults;
  absl::StatusOr<RuntimeConfig> c =
      ParseRuntimeConfig("overrides:\n  t1:\n    max_label_names_per_series: 5\n", defaults);
  ASSERT_TRUE(c.ok());
  const std::string all = RuntimeConfigYaml(*c, defaults, false);
  EXPECT_THAT(all, HasSubstr("max_label_names_per_series: 5"));
  EXPECT_THAT(all, HasSubstr("ingestion_rate: 10000"));
  EXPECT_THAT(all, HasSubstr("creation_grace_period: 10m"));
  EXPECT_EQ(RuntimeConfigYaml(*c, defaults, true),
            "overrides:\n  t1:\n    max_label_names_per_series: 5\n");
}

TEST(RuntimeConfigTest, ManagerReloadsAndKeepsTheLastGoodFile) {
  const std::string path = ::testing::TempDir() + "/runtime_config_test.yaml";
  auto write = [&](const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  };
  write("overrides:\n  t1:\n    max_label_name_length: 7\n");
  MetricsRegistry registry;
  int errors = 0;
  RuntimeConfigManager m({.file = path,
                          .period = absl::Hours(1),
                          .registry = &registry,
                          .on_error = [&](const absl::Status&) { ++errors; }});
  ASSERT_TRUE(m.Start().ok());
  EXPECT_EQ(m.LimitsFor("t1").max_label_name_length, 7);
  EXPECT_EQ(m.LimitsFor("t2").max_label_name_length, 1024);
  const uint64_t gen = m.generation();

  write("overrides:\n  t1:\n    max_label_name_length: [\n");
  EXPECT_FALSE(m.Reload().ok());
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(m.LimitsFor("t1").max_label_name_length, 7);  // the previous file stays
  EXPECT_EQ(m.generation(), gen);
  EXPECT_THAT(registry.RenderText(), HasSubstr("cortex_runtime_config_last_reload_successful 0"));

  write("overrides:\n  t1:\n    max_label_name_length: 9\n");
  EXPECT_TRUE(m.Reload().ok());
  EXPECT_EQ(m.LimitsFor("t1").max_label_name_length, 9);
  EXPECT_GT(m.generation(), gen);
  EXPECT_THAT(registry.RenderText(), HasSubstr("cortex_runtime_config_last_reload_successful 1"));
  EXPECT_THAT(registry.RenderText(), HasSubstr("cortex_runtime_config_hash{sha256=\""));
  m.Stop();
  std::remove(path.c_str());
}

TEST(RuntimeConfigTest, StartFailsOnABadFile) {
  RuntimeConfigManager m({.file = ::testing::TempDir() + "/does-not-exist.yaml"});
  EXPECT_FALSE(m.Start().ok());
}

}  // namespace
}  // namespace sprout::metrics
