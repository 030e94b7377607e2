// The generator's in-process output over a real MetricsStore on a temporary directory: a
// GeneratorService collecting span metrics and service graphs into MetricsStoreOutput, read back
// through the store's querier and its exemplar path, per tenant.
#include "cmd/all/metrics_store_output.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/config/metrics_config.h"
#include "metrics/store/store.h"
#include "prometheus/remote.pb.h"
#include "storage/testing.h"
#include "traces/generator/generator_testing.h"
#include "traces/generator/service.h"

namespace sprout::cmd {
namespace {

using metrics::tsdb::Matcher;
using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);
// ClientServerPair's trace: 16 bytes of the trace byte (1).
constexpr char kTraceHex[] = "01010101010101010101010101010101";

class MetricsStoreOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = storage::testing::FreshTempDir("metrics-store-output");
    metrics::MetricsStoreOptions o;
    o.config = metrics::LocalDefaults();  // exemplars kept
    o.config.tsdb_dir = dir_ + "/tsdb";
    o.config.compactor_compaction_interval = absl::ZeroDuration();
    o.now_ms = [this] { return absl::ToUnixMillis(now_); };
    store_ = std::make_unique<metrics::MetricsStore>(std::move(o));
    ASSERT_TRUE(store_->Start().ok());
  }
  void TearDown() override {
    store_->Close();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<traces::generator::GeneratorService> Generator(
      traces::generator::GeneratorOutput* output) {
    traces::generator::GeneratorServiceOptions o;
    o.overrides.processors = {"service-graphs", "span-metrics"};
    o.overrides.service_graphs.wait = absl::Seconds(2);
    o.config.collection_interval = absl::Seconds(15);
    o.output = output;
    o.clock = [this] { return now_; };
    o.on_error = [this](std::string_view tenant, const absl::Status& s) {
      errors_.push_back(std::string(tenant) + ": " + std::string(s.message()));
    };
    auto g = traces::generator::GeneratorService::Create(o);
    EXPECT_TRUE(g.ok()) << g.status();
    return g.ok() ? *std::move(g) : nullptr;
  }

  // `tenant`'s series matching `matchers`, each with its last sample's value.
  std::map<std::string, double> Last(const std::string& tenant,
                                     const std::vector<Matcher>& matchers) {
    std::map<std::string, double> out;
    absl::Status s =
        store_->SelectSamples(tenant, matchers, INT64_MIN, INT64_MAX,
                              [&](const metrics::tsdb::Labels& labels,
                                  std::span<const metrics::tsdb::QuerySample> samples) {
                                if (!samples.empty()) out[labels.ToString()] = samples.back().v;
                              });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
  static std::vector<Matcher> Name(const std::string& name) {
    return {Matcher::MustCreate(Matcher::Type::kEqual, "__name__", name)};
  }

  std::string dir_;
  absl::Time now_ = kStart;
  std::unique_ptr<metrics::MetricsStore> store_;
  std::vector<std::string> errors_;
};

TEST_F(MetricsStoreOutputTest, TheGeneratorsSeriesAndExemplarsAreInTheStoreOfTheTracesTenant) {
  MetricsStoreOutput output(store_.get());
  auto generator = Generator(&output);
  ASSERT_NE(generator, nullptr);
  generator->PushSpans("team-a", traces::generator::ClientServerPair("frontend", "api",
                                                                     kStart - absl::Seconds(1), 1));
  now_ = kStart + absl::Seconds(15);
  generator->RunOnce(now_);
  EXPECT_TRUE(errors_.empty()) << errors_.front();
  EXPECT_EQ(output.writes(), 1u);
  EXPECT_EQ(output.failures(), 0u);

  // The service graph's edge frontend → api, one request (the empty connection_type label is
  // dropped, as remote write's validation drops empty values).
  EXPECT_EQ(Last("team-a", Name("traces_service_graph_request_total")),
            (std::map<std::string, double>{
                {"{__name__=\"traces_service_graph_request_total\", client=\"frontend\", "
                 "server=\"api\"}",
                 1}}));
  // Span metrics: one call of each span.
  const auto calls = Last("team-a", Name("traces_spanmetrics_calls_total"));
  ASSERT_EQ(calls.size(), 2u);
  for (const auto& [series, value] : calls) EXPECT_EQ(value, 1) << series;
  // Nothing in another tenant.
  EXPECT_TRUE(Last("anonymous", Name("traces_spanmetrics_calls_total")).empty());

  // The latency histograms' exemplars carry the trace ID, through the store's exemplar path
  // (what /api/v1/query_exemplars answers).
  auto exemplars =
      store_->Exemplars("team-a", {Name("traces_spanmetrics_latency_bucket")},
                        absl::ToUnixMillis(kStart - absl::Minutes(1)), absl::ToUnixMillis(now_));
  ASSERT_TRUE(exemplars.ok()) << exemplars.status();
  ASSERT_FALSE(exemplars->empty());
  for (const auto& series : *exemplars) {
    ASSERT_FALSE(series.exemplars.empty()) << series.series.ToString();
    for (const auto& e : series.exemplars) {
      EXPECT_EQ(e.labels.ToString(), absl::StrCat("{traceID=\"", kTraceHex, "\"}"))
          << series.series.ToString();
    }
  }
}

// generate_native_histograms: native — the latency is one native histogram per series, stored
// as such, with its exemplars.
TEST_F(MetricsStoreOutputTest, NativeHistogramsAndTheirExemplarsAreStored) {
  MetricsStoreOutput output(store_.get());
  traces::generator::GeneratorServiceOptions o;
  o.overrides.processors = {"span-metrics"};
  o.overrides.generate_native_histograms = "native";
  o.config.collection_interval = absl::Seconds(15);
  o.output = &output;
  o.clock = [this] { return now_; };
  auto generator = traces::generator::GeneratorService::Create(o);
  ASSERT_TRUE(generator.ok()) << generator.status();
  (*generator)
      ->PushSpans("t", traces::generator::ClientServerPair("frontend", "api",
                                                           kStart - absl::Seconds(1), 1));
  now_ = kStart + absl::Seconds(15);
  (*generator)->RunOnce(now_);
  EXPECT_EQ(output.failures(), 0u);
  std::map<std::string, double> counts;
  absl::Status s = store_->SelectSamples(
      "t", Name("traces_spanmetrics_latency"), INT64_MIN, INT64_MAX,
      [&](const metrics::tsdb::Labels& labels,
          std::span<const metrics::tsdb::QuerySample> samples) {
        ASSERT_FALSE(samples.empty());
        ASSERT_EQ(samples.back().type, metrics::chunkenc::ValueType::kHistogram);
        counts[labels.ToString()] = static_cast<double>(samples.back().h.count);
      });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(counts.size(), 2u);  // the client and the server span
  for (const auto& [series, count] : counts) EXPECT_EQ(count, 1) << series;
  auto exemplars =
      store_->Exemplars("t", {Name("traces_spanmetrics_latency")}, 0, absl::ToUnixMillis(now_));
  ASSERT_TRUE(exemplars.ok()) << exemplars.status();
  ASSERT_EQ(exemplars->size(), 2u);
  for (const auto& series : *exemplars) {
    ASSERT_EQ(series.exemplars.size(), 1u);
    EXPECT_THAT(series.exemplars[0].labels.ToString(), HasSubstr(kTraceHex));
  }
}

TEST_F(MetricsStoreOutputTest, AFixedTenantTakesEveryCollection) {
  MetricsStoreOutput output(store_.get(), "anonymous");
  auto generator = Generator(&output);
  ASSERT_NE(generator, nullptr);
  generator->PushSpans("single-tenant", traces::generator::ClientServerPair(
                                            "frontend", "api", kStart - absl::Seconds(1), 1));
  now_ = kStart + absl::Seconds(15);
  generator->RunOnce(now_);
  EXPECT_EQ(Last("anonymous", Name("traces_spanmetrics_calls_total")).size(), 2u);
  EXPECT_TRUE(Last("single-tenant", Name("traces_spanmetrics_calls_total")).empty());
}

TEST_F(MetricsStoreOutputTest, RefusalsAreReportedAndWritesAfterCloseFail) {
  MetricsStoreOutput output(store_.get());
  prometheus::WriteRequest request;
  prometheus::TimeSeries* ts = request.add_timeseries();
  prometheus::Label* l = ts->add_labels();
  l->set_name("__name__");
  l->set_value("up");
  prometheus::Sample* s = ts->add_samples();
  s->set_value(1);
  s->set_timestamp(absl::ToUnixMillis(kStart));
  EXPECT_TRUE(output.Write("t", request).ok());
  // The same sample again at an older time: the head refuses it (400, out of order).
  s->set_timestamp(absl::ToUnixMillis(kStart) - 1000);
  absl::Status old = output.Write("t", request);
  EXPECT_TRUE(absl::IsInvalidArgument(old)) << old;
  EXPECT_THAT(old.message(), HasSubstr("err-mimir-sample-out-of-order"));
  // An invalid tenant ID.
  EXPECT_TRUE(absl::IsInvalidArgument(output.Write("..", request)));
  EXPECT_EQ(output.writes(), 1u);
  EXPECT_EQ(output.failures(), 2u);
  output.Close(absl::Now());
  EXPECT_TRUE(absl::IsFailedPrecondition(output.Write("t", request)));
}

// After a restart the generator's series are new again and start with an initial 0 a little
// before their first value; the store already holds newer samples of them (the previous
// process's). The zeros are refused (400, out of order) and counted; the collection's values are
// stored and the write is not a failure.
TEST_F(MetricsStoreOutputTest, InitialZerosRefusedAfterARestartAreNotAFailure) {
  const auto series = [](prometheus::WriteRequest* r, double value, absl::Time t) {
    prometheus::TimeSeries* ts = r->add_timeseries();
    prometheus::Label* l = ts->add_labels();
    l->set_name("__name__");
    l->set_value("traces_spanmetrics_calls_total");
    prometheus::Sample* s = ts->add_samples();
    s->set_value(value);
    s->set_timestamp(absl::ToUnixMillis(t));
  };
  MetricsStoreOutput output(store_.get());
  // The previous process wrote 5 at kStart.
  prometheus::WriteRequest before;
  series(&before, 5, kStart);
  ASSERT_TRUE(output.Write("t", before).ok());
  // The new process: an initial 0 one minute earlier, then the value 1 at kStart + 15 s.
  prometheus::WriteRequest after;
  series(&after, 0, kStart - absl::Minutes(1));
  series(&after, 1, kStart + absl::Seconds(15));
  absl::Status written = output.Write("t", after);
  EXPECT_TRUE(written.ok()) << written;
  EXPECT_EQ(output.initial_refused(), 1u);
  EXPECT_EQ(output.failures(), 0u);
  EXPECT_EQ(output.writes(), 2u);
  std::vector<double> values;
  ASSERT_TRUE(store_
                  ->SelectSamples("t", Name("traces_spanmetrics_calls_total"), INT64_MIN, INT64_MAX,
                                  [&](const metrics::tsdb::Labels&,
                                      std::span<const metrics::tsdb::QuerySample> samples) {
                                    for (const auto& s : samples) values.push_back(s.v);
                                  })
                  .ok());
  EXPECT_EQ(values, (std::vector<double>{5, 1}));
  // On an empty store the initial 0 is stored before the value.
  prometheus::WriteRequest fresh;
  series(&fresh, 0, kStart - absl::Minutes(1));
  series(&fresh, 2, kStart);
  fresh.mutable_timeseries(0)->mutable_labels(0)->set_value("traces_spanmetrics_latency_count");
  fresh.mutable_timeseries(1)->mutable_labels(0)->set_value("traces_spanmetrics_latency_count");
  ASSERT_TRUE(output.Write("t", fresh).ok());
  EXPECT_EQ(output.initial_refused(), 1u);
  values.clear();
  ASSERT_TRUE(store_
                  ->SelectSamples("t", Name("traces_spanmetrics_latency_count"), INT64_MIN,
                                  INT64_MAX,
                                  [&](const metrics::tsdb::Labels&,
                                      std::span<const metrics::tsdb::QuerySample> samples) {
                                    for (const auto& s : samples) values.push_back(s.v);
                                  })
                  .ok());
  EXPECT_EQ(values, (std::vector<double>{0, 2}));
}

}  // namespace
}  // namespace sprout::cmd
