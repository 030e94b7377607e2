#include "collector/processor/memory_limiter/memory_limiter.h"

#include <gtest/gtest.h>

#include "collector/processor/processor_testing.h"

namespace sprout::collector::memorylimiter {
namespace {

using namespace ::sprout::collector::testing;  // NOLINT

std::string Validate(const std::string& yaml) {
  auto factory = NewFactory();
  auto config = DecodeConfig(*factory, yaml);
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(MemoryLimiterConfigTest, TheCollectorsValidation) {
  EXPECT_EQ(Validate("{}"), "'check_interval' must be greater than zero");
  EXPECT_EQ(Validate("check_interval: 0s\nlimit_mib: 100"),
            "'check_interval' must be greater than zero");
  EXPECT_EQ(Validate("check_interval: 1s"),
            "'limit_mib' or 'limit_percentage' must be greater than zero");
  EXPECT_EQ(Validate("check_interval: 1s\nlimit_mib: 100\nspike_limit_mib: 100"),
            "'spike_limit_mib' must be smaller than 'limit_mib'");
  EXPECT_EQ(Validate("check_interval: 1s\nlimit_percentage: 50\nspike_limit_percentage: 60"),
            "'spike_limit_percentage' must be smaller than 'limit_percentage'");
  EXPECT_EQ(Validate("check_interval: 1s\nlimit_percentage: 120"),
            "'limit_percentage' and 'spike_limit_percentage' must be greater than zero and less "
            "than or equal to hundred");
  EXPECT_EQ(Validate("check_interval: 1s\nlimit_mib: 100\nmin_gc_interval_when_soft_limited: 1s\n"
                     "min_gc_interval_when_hard_limited: 2s"),
            "'min_gc_interval_when_soft_limited' should be larger than "
            "'min_gc_interval_when_hard_limited'");
  EXPECT_EQ(Validate("check_interval: 1s\nlimit_mib: 100"), "");
  // The seed's settings.
  EXPECT_EQ(Validate("check_interval: 5s\nlimit_percentage: 80\nspike_limit_percentage: 25"), "");
  EXPECT_NE(Validate("check_interval: 1s\nlimit_mib: -5"), "");
}

struct Limited {
  std::unique_ptr<ProcessorFactory> factory = NewFactory();
  std::unique_ptr<ComponentConfig> config;
  std::shared_ptr<Capture<Signal::kTraces>> sink = std::make_shared<Capture<Signal::kTraces>>();
  std::vector<ConsumerComponentPtr<Signal::kTraces>> pipelines;

  Limited(const std::string& yaml, int pipeline_count = 1) {
    config = std::move(*DecodeConfig(*factory, yaml));
    NoHost host;
    for (int i = 0; i < pipeline_count; ++i) {
      pipelines.push_back(*CreateProcessor<Signal::kTraces>(*factory, *config, sink));
      EXPECT_TRUE(pipelines.back()->Start(host).ok());
    }
  }
  ~Limited() {
    for (auto& p : pipelines) EXPECT_TRUE(p->Shutdown(absl::Now()).ok());
  }
};

TEST(MemoryLimiterTest, PassesDataBelowTheSoftLimit) {
  Limited l("check_interval: 10ms\nlimit_mib: 100000");
  EXPECT_TRUE(l.pipelines[0]->Consume(Context{}, Spans(3)).ok());
  EXPECT_EQ(l.sink->items(), 3);
}

TEST(MemoryLimiterTest, RefusesWithARetryableErrorAboveTheSoftLimit) {
  // Any process uses more than the 1 MiB − 204 KiB soft limit: refused from the first check
  // (made at start), in every pipeline sharing the configuration entry.
  Limited l("check_interval: 10ms\nlimit_mib: 1", 2);
  for (auto& pipeline : l.pipelines) {
    const absl::Status status = pipeline->Consume(Context{}, Spans(3));
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(status.message(), "data refused due to high memory usage");
    EXPECT_FALSE(otlp::IsPermanent(status));
  }
  EXPECT_EQ(l.sink->items(), 0);
}

TEST(MemoryLimiterTest, PercentageOfTheMachineOrCgroup) {
  // 99 % of whatever this machine or container allows is far above a test's footprint.
  Limited l("check_interval: 10ms\nlimit_percentage: 99\nspike_limit_percentage: 1");
  EXPECT_TRUE(l.pipelines[0]->Consume(Context{}, Spans(1)).ok());
}

TEST(MemoryLimiterTest, ConfigurationEntriesAreIndependent) {
  // One entry refusing and another (a different config object) passing are independent.
  Limited refusing("check_interval: 10ms\nlimit_mib: 1");
  Limited passing("check_interval: 10ms\nlimit_mib: 100000");
  EXPECT_FALSE(refusing.pipelines[0]->Consume(Context{}, Spans(1)).ok());
  EXPECT_TRUE(passing.pipelines[0]->Consume(Context{}, Spans(1)).ok());
}

}  // namespace
}  // namespace sprout::collector::memorylimiter
