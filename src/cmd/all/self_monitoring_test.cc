// Self-monitoring: the conversion of registries into the request a scrape would store, and the
// monitor writing it into a real MetricsStore on a temporary directory (read back through the
// store's querier and metadata).
#include "cmd/all/self_monitoring.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/config/metrics_config.h"
#include "metrics/store/store.h"
#include "prometheus/remote.pb.h"
#include "storage/testing.h"

namespace sprout::cmd {
namespace {

using metrics::tsdb::Matcher;
using ::testing::ElementsAre;
using ::testing::Pair;

constexpr int64_t kNowMs = 1'700'000'000'000;

// name{labels, sorted} value@timestamp for every series of the request.
std::vector<std::string> Series(const prometheus::WriteRequest& request) {
  std::vector<std::string> out;
  for (const prometheus::TimeSeries& ts : request.timeseries()) {
    std::string line = "{";
    for (int i = 0; i < ts.labels_size(); ++i) {
      line += (i > 0 ? "," : "") + ts.labels(i).name() + "=" + ts.labels(i).value();
    }
    line += "}";
    for (const prometheus::Sample& s : ts.samples()) {
      char value[64];
      std::snprintf(value, sizeof(value), " %g@%lld", s.value(),
                    static_cast<long long>(s.timestamp()));
      line += value;
    }
    out.push_back(line);
  }
  return out;
}

// A process registry (a counter with labels, a gauge, a callback counter, a histogram) and a
// collector registry (an otelcol_ counter whose own `job` label must not clash with the target's).
struct Registries {
  Registries() : process(), collector(MetricLabels{{"service_name", "sprout"}}) {
    process.GetCounter("sprout_requests_total", "Requests.", {{"route", "/a"}})->Add(3);
    process.GetGauge("sprout_open_files", "Open files.")->Set(12);
    process.AddCounterCallback("process_cpu_seconds_total", "CPU.", {}, [] { return 1.5; });
    Histogram* h = process.GetHistogram("sprout_write_seconds", "Writes.", {0.1, 1});
    h->Observe(0.05);
    h->Observe(0.5);
    collector
        .GetCounter("otelcol_receiver_accepted_spans_total", "Spans accepted.",
                    {{"receiver", "otlp"}, {"job", "theirs"}})
        ->Add(40);
  }
  MetricsRegistry process;
  MetricsRegistry collector;
};

TEST(BuildScrape, EverySeriesWithTheTargetLabelsUpAndMetadata) {
  Registries r;
  prometheus::WriteRequest request;
  BuildScrape({&r.process, &r.collector}, "localhost:3200", kNowMs, &request);
  EXPECT_THAT(
      Series(request),
      ElementsAre(
          "{__name__=up,instance=localhost:3200,job=sprout} 1@1700000000000",
          // The process registry, families sorted by name.
          "{__name__=process_cpu_seconds_total,instance=localhost:3200,job=sprout} "
          "1.5@1700000000000",
          "{__name__=sprout_open_files,instance=localhost:3200,job=sprout} 12@1700000000000",
          "{__name__=sprout_requests_total,instance=localhost:3200,job=sprout,route=/a} "
          "3@1700000000000",
          "{__name__=sprout_write_seconds_bucket,instance=localhost:3200,job=sprout,le=0.1} "
          "1@1700000000000",
          "{__name__=sprout_write_seconds_bucket,instance=localhost:3200,job=sprout,le=1} "
          "2@1700000000000",
          "{__name__=sprout_write_seconds_bucket,instance=localhost:3200,job=sprout,le=+Inf} "
          "2@1700000000000",
          "{__name__=sprout_write_seconds_sum,instance=localhost:3200,job=sprout} "
          "0.55@1700000000000",
          "{__name__=sprout_write_seconds_count,instance=localhost:3200,job=sprout} "
          "2@1700000000000",
          // The collector's: its own `job` becomes exported_job; constant labels kept.
          "{__name__=otelcol_receiver_accepted_spans_total,exported_job=theirs,"
          "instance=localhost:3200,job=sprout,receiver=otlp,service_name=sprout} "
          "40@1700000000000"));
  std::vector<std::string> metadata;
  for (const prometheus::MetricMetadata& m : request.metadata()) {
    metadata.push_back(m.metric_family_name() + " " +
                       prometheus::MetricMetadata::MetricType_Name(m.type()) + " " + m.help());
  }
  EXPECT_THAT(
      metadata,
      ElementsAre("process_cpu_seconds_total COUNTER CPU.", "sprout_open_files GAUGE Open files.",
                  "sprout_requests_total COUNTER Requests.",
                  "sprout_write_seconds HISTOGRAM Writes.",
                  "otelcol_receiver_accepted_spans_total COUNTER Spans accepted."));
}

class SelfMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = storage::testing::FreshTempDir("self-monitoring");
    metrics::MetricsStoreOptions o;
    o.config = metrics::LocalDefaults();
    o.config.tsdb_dir = dir_ + "/tsdb";
    o.config.compactor_compaction_interval = absl::ZeroDuration();
    o.now_ms = [this] { return now_ms_; };
    store_ = std::make_unique<metrics::MetricsStore>(std::move(o));
    ASSERT_TRUE(store_->Start().ok());
  }
  void TearDown() override {
    store_->Close();
    std::filesystem::remove_all(dir_);
  }
  SelfMonitorOptions Options() {
    SelfMonitorOptions o;
    o.store = store_.get();
    o.tenant = "single-tenant";
    o.instance = "localhost:3200";
    o.registries = {&registries_.process, &registries_.collector};
    o.now_ms = [this] { return now_ms_; };
    return o;
  }
  // The tenant's series named `name`: labels → every (t, v).
  std::map<std::string, std::vector<std::pair<int64_t, double>>> Read(const std::string& name) {
    std::map<std::string, std::vector<std::pair<int64_t, double>>> out;
    const std::vector<Matcher> m = {Matcher::MustCreate(Matcher::Type::kEqual, "__name__", name)};
    absl::Status s =
        store_->SelectSamples("single-tenant", m, INT64_MIN, INT64_MAX,
                              [&](const metrics::tsdb::Labels& labels,
                                  std::span<const metrics::tsdb::QuerySample> samples) {
                                for (const auto& q : samples)
                                  out[labels.ToString()].emplace_back(q.t, q.v);
                              });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::string dir_;
  int64_t now_ms_ = kNowMs;
  Registries registries_;
  std::unique_ptr<metrics::MetricsStore> store_;
};

TEST_F(SelfMonitorTest, CollectionsAreStoredAsAScrapeWouldStoreThem) {
  int refreshed = 0;
  SelfMonitorOptions o = Options();
  o.refresh = [&refreshed] { ++refreshed; };
  SelfMonitor monitor(o);
  ASSERT_TRUE(monitor.CollectOnce().ok());
  now_ms_ += 15000;
  registries_.process.GetCounter("sprout_requests_total", "Requests.", {{"route", "/a"}})->Add(2);
  ASSERT_TRUE(monitor.CollectOnce().ok());
  EXPECT_EQ(refreshed, 2);
  EXPECT_EQ(monitor.collections(), 2);
  EXPECT_EQ(monitor.failures(), 0);

  EXPECT_THAT(Read("up"),
              ElementsAre(Pair(R"({__name__="up", instance="localhost:3200", job="sprout"})",
                               ElementsAre(Pair(kNowMs, 1), Pair(kNowMs + 15000, 1)))));
  EXPECT_THAT(Read("sprout_requests_total"),
              ElementsAre(Pair(R"({__name__="sprout_requests_total", instance="localhost:3200", )"
                               R"(job="sprout", route="/a"})",
                               ElementsAre(Pair(kNowMs, 3), Pair(kNowMs + 15000, 5)))));
  EXPECT_EQ(Read("otelcol_receiver_accepted_spans_total").size(), 1u);
  EXPECT_EQ(Read("sprout_write_seconds_bucket").size(), 3u);

  auto metadata = store_->Metadata("single-tenant", "sprout_requests_total", -1, -1);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  ASSERT_EQ(metadata->count("sprout_requests_total"), 1u);
  EXPECT_EQ(metadata->at("sprout_requests_total").at(0).type, "counter");
  EXPECT_EQ(metadata->at("sprout_requests_total").at(0).help, "Requests.");
}

TEST_F(SelfMonitorTest, StartCollectsAtOnceThenEveryInterval) {
  SelfMonitorOptions o = Options();
  o.now_ms = nullptr;  // the wall clock: each collection its own timestamp
  o.interval = absl::Milliseconds(50);
  now_ms_ = absl::ToUnixMillis(absl::Now());
  SelfMonitor monitor(o);
  monitor.Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (monitor.collections() < 3 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  monitor.Stop();
  const int64_t collections = monitor.collections();
  EXPECT_GE(collections, 3);
  monitor.Stop();  // idempotent
  EXPECT_EQ(monitor.collections(), collections);
  EXPECT_EQ(monitor.failures(), 0);
  auto up = Read("up");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(static_cast<int64_t>(up.begin()->second.size()), collections);
}

TEST_F(SelfMonitorTest, RefusalsAreCountedAndLogged) {
  SelfMonitor monitor(Options());
  ASSERT_TRUE(monitor.CollectOnce().ok());
  now_ms_ -= 1000;  // every sample out of order
  EXPECT_EQ(monitor.CollectOnce().http_status, 400);
  EXPECT_EQ(monitor.failures(), 1);
}

}  // namespace
}  // namespace sprout::cmd
