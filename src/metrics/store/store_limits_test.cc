// Mimir's limit matrix through MetricsStore::Push (issue 15 item 3): each limit answers with
// Mimir's code and text while the good series of the request is stored, counts the refused
// samples under Mimir's reason, and takes the tenant's runtime overrides (reloaded, no restart).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/config/runtime_config.h"
#include "metrics/store/store.h"
#include "metrics/store/store_test_util.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testutil::Matchers;
using testutil::WriteBuilder;

constexpr int64_t kNow = 1700000000000;
constexpr char kAdjust[] = ", or contact your service administrator.";

class StoreLimitsTest : public ::testing::Test {
 protected:
  // One file per test and process: ctest runs this suite's tests in parallel, and a shared
  // name let one test's WriteRuntime land under another's Reload (a CI failure).
  void SetUp() override {
    file_ = absl::StrCat(::testing::TempDir(), "/store_limits_runtime_", getpid(), "_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                         ".yaml");
  }
  void TearDown() override {
    store_.reset();
    runtime_.reset();
    std::remove(file_.c_str());
  }

  void WriteRuntime(const std::string& text) {
    std::ofstream out(file_, std::ios::trunc);
    out << text;
  }

  // A store (multi-tenancy irrelevant: tenants named in Push) with `config` and, when
  // `runtime` is not empty, a runtime configuration file with that text.
  void Open(MetricsConfig config, const std::string& runtime = "") {
    config.tsdb_dir = "/data/tsdb";
    if (!runtime.empty()) {
      WriteRuntime(runtime);
      runtime_ = std::make_unique<RuntimeConfigManager>(RuntimeConfigOptions{
          .file = file_, .period = absl::Hours(1), .defaults = config.DefaultLimits()});
      ASSERT_TRUE(runtime_->Start().ok());
    }
    MetricsStoreOptions o;
    o.config = config;
    o.env = &env_;
    o.registry = &registry_;
    o.runtime_config = runtime_.get();
    o.now_ms = [] { return kNow; };
    o.monotonic_ns = [this] { return clock_ns_; };
    store_ = std::make_unique<MetricsStore>(std::move(o));
    ASSERT_TRUE(store_->Start().ok());
  }

  std::vector<std::string> Series(std::string_view tenant, const std::string& selector) {
    auto got = store_->Series(tenant, Matchers({selector}), INT64_MIN, INT64_MAX, 0);
    EXPECT_TRUE(got.ok()) << got.status();
    std::vector<std::string> out;
    if (got.ok()) {
      for (const tsdb::Labels& l : *got) out.push_back(l.ToString());
    }
    return out;
  }

  std::string Discarded(const std::string& reason, const std::string& user, int n) {
    return absl::StrCat("cortex_discarded_samples_total{reason=\"", reason, "\",user=\"", user,
                        "\"} ", n, "\n");
  }

  storage::FaultInjectionEnv env_;
  MetricsRegistry registry_;
  std::string file_;
  int64_t clock_ns_ = 5000000000;
  std::unique_ptr<RuntimeConfigManager> runtime_;
  std::unique_ptr<MetricsStore> store_;
};

TEST_F(StoreLimitsTest, LabelLimitsAnswerMimirsTextAndKeepTheGoodSeries) {
  MetricsConfig c;
  c.max_label_names_per_series = 2;
  c.max_label_name_length = 8;  // "__name__" fits
  c.max_label_value_length = 5;
  Open(c);
  struct Case {
    std::vector<std::string_view> pairs;
    std::string message;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {{"__name__", "m", "a", "1", "b", "2"},
       absl::StrCat(
           "received a series whose number of labels exceeds the limit (actual: 3, "
           "limit: 2) series: 'm{a=\"1\", b=\"2\"}' (err-mimir-max-label-names-per-series)."
           " To adjust the related per-tenant limit, configure "
           "-validation.max-label-names-per-series",
           kAdjust),
       "max_label_names_per_series"},
      {{"__name__", "m", "abcdefghi", "1"},
       absl::StrCat(
           "received a series whose label name length exceeds the limit, label: 'abcdefghi'"
           " series: 'm{abcdefghi=\"1\"}' (err-mimir-label-name-too-long). To adjust the "
           "related per-tenant limit, configure -validation.max-length-label-name",
           kAdjust),
       "label_name_too_long"},
      {{"__name__", "m", "a", "123456"},
       absl::StrCat("received a series whose label value length exceeds the limit, label: 'a', "
                    "value: '123456' (truncated) series: 'm{a=\"123456\"}' "
                    "(err-mimir-label-value-too-long). To adjust the related per-tenant limit, "
                    "configure -validation.max-length-label-value",
                    kAdjust),
       "label_value_too_long"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string tenant = absl::StrCat("t", i);
    prometheus::WriteRequest req;
    auto* ts = req.add_timeseries();
    for (size_t j = 0; j + 1 < cases[i].pairs.size(); j += 2) {
      auto* l = ts->add_labels();
      l->set_name(std::string(cases[i].pairs[j]));
      l->set_value(std::string(cases[i].pairs[j + 1]));
    }
    auto* s = ts->add_samples();
    s->set_timestamp(kNow);
    s->set_value(1);
    auto* good = req.add_timeseries();
    auto* l = good->add_labels();
    l->set_name("__name__");
    l->set_value("good");
    auto* gs = good->add_samples();
    gs->set_timestamp(kNow);
    gs->set_value(2);
    PushResult r = store_->Push(tenant, testutil::Snappy(req.SerializeAsString()));
    EXPECT_EQ(r.http_status, 400) << cases[i].reason;
    EXPECT_EQ(r.message, cases[i].message);
    EXPECT_THAT(Series(tenant, "{__name__=~\".+\"}"), ElementsAre("{__name__=\"good\"}"));
    EXPECT_THAT(registry_.RenderText(), HasSubstr(Discarded(cases[i].reason, tenant, 1)));
  }
}

TEST_F(StoreLimitsTest, GracePeriodsAndMetadataLength) {
  MetricsConfig c;
  c.past_grace_period = absl::Hours(1);
  c.max_metadata_length = 3;
  Open(c);
  const int64_t future = kNow + 10 * 60 * 1000 + 1;  // creation_grace_period 10m
  WriteBuilder w;
  w.Series({"__name__", "f"}).Sample(future, 1);
  w.Series({"__name__", "good"}).Sample(kNow, 2);
  PushResult r = store_->Push("future", w.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.message,
            absl::StrCat(
                "received a sample whose timestamp is too far in the future, timestamp: ", future,
                " series: 'f' (err-mimir-too-far-in-future). To adjust the related "
                "per-tenant limit, configure -validation.create-grace-period",
                kAdjust));
  EXPECT_THAT(Series("future", "{__name__=~\".+\"}"), ElementsAre("{__name__=\"good\"}"));
  EXPECT_THAT(registry_.RenderText(), HasSubstr(Discarded("too_far_in_future", "future", 1)));

  const int64_t past = kNow - 3600 * 1000 - 1;
  WriteBuilder p;
  p.Series({"__name__", "p"}).Sample(past, 1);
  p.Series({"__name__", "good"}).Sample(kNow, 2);
  r = store_->Push("past", p.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(
      r.message,
      absl::StrCat("received a sample whose timestamp is too far in the past, timestamp: ", past,
                   " series: 'p' (err-mimir-too-far-in-past). To adjust the related "
                   "per-tenant limit, configure -validation.past-grace-period",
                   kAdjust));
  EXPECT_THAT(Series("past", "{__name__=~\".+\"}"), ElementsAre("{__name__=\"good\"}"));

  WriteBuilder m;
  m.Series({"__name__", "good"}).Sample(kNow, 2);
  m.Metadata("long", prometheus::MetricMetadata::GAUGE, "h", "");
  r = store_->Push("meta", m.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.message, absl::StrCat("received a metric metadata whose metric name length exceeds "
                                    "the limit, metric name: 'long' "
                                    "(err-mimir-metric-name-too-long). To adjust the related "
                                    "per-tenant limit, configure -validation.max-metadata-length",
                                    kAdjust));
  EXPECT_THAT(Series("meta", "good"), ElementsAre("{__name__=\"good\"}"));
}

// Mimir's ingester takes the out-of-order window on top of past_grace_period.
TEST_F(StoreLimitsTest, PastGracePeriodExtendsByTheOutOfOrderWindow) {
  MetricsConfig c;
  c.past_grace_period = absl::Hours(1);
  c.out_of_order_time_window = absl::Minutes(30);
  Open(c);
  WriteBuilder ok;
  ok.Series({"__name__", "p"}).Sample(kNow - 80 * 60 * 1000, 1);
  EXPECT_EQ(store_->Push("t", ok.Body()).http_status, 200);
  WriteBuilder old;
  old.Series({"__name__", "q"}).Sample(kNow - 91 * 60 * 1000, 1);
  PushResult r = store_->Push("t", old.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message, HasSubstr("err-mimir-too-far-in-past"));
}

TEST_F(StoreLimitsTest, SeriesPerMetricLimitRefusesNewSeriesOfThatMetricOnly) {
  MetricsConfig c;
  c.max_global_series_per_metric = 2;
  Open(c);
  WriteBuilder w;
  w.Series({"__name__", "m", "i", "1"}).Sample(kNow, 1);
  w.Series({"__name__", "m", "i", "2"}).Sample(kNow, 1);
  w.Series({"__name__", "m", "i", "3"}).Sample(kNow, 1);
  w.Series({"__name__", "other", "i", "3"}).Sample(kNow, 1);
  PushResult r = store_->Push("t", w.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.message,
            "per-metric series limit of 2 exceeded (err-mimir-max-series-per-metric). To adjust "
            "the related per-tenant limit, configure -ingester.max-global-series-per-metric, or "
            "contact your service administrator. This is for series {__name__=\"m\", i=\"3\"}");
  EXPECT_THAT(Series("t", "m"),
              ElementsAre("{__name__=\"m\", i=\"1\"}", "{__name__=\"m\", i=\"2\"}"));
  EXPECT_THAT(Series("t", "other"), ElementsAre("{__name__=\"other\", i=\"3\"}"));
  EXPECT_THAT(registry_.RenderText(), HasSubstr(Discarded("per_metric_series_limit", "t", 1)));
}

TEST_F(StoreLimitsTest, NativeHistogramsIgnoredWhenDisabled) {
  MetricsConfig c;
  EXPECT_TRUE(c.native_histograms_ingestion_enabled);  // Mimir 3.0's default
  c.native_histograms_ingestion_enabled = false;
  Open(c);
  WriteBuilder w;
  prometheus::Histogram* h = w.Series({"__name__", "h"}).Histogram();
  h->set_count_int(1);
  h->set_sum(1);
  h->set_schema(0);
  h->set_timestamp(kNow);
  w.Series({"__name__", "f"}).Sample(kNow, 1);
  PushResult r = store_->Push("t", w.Body());
  EXPECT_EQ(r.http_status, 200) << r.message;
  EXPECT_THAT(Series("t", "{__name__=~\".+\"}"), ElementsAre("{__name__=\"f\"}"));
}

TEST_F(StoreLimitsTest, RuntimeOverridesApplyPerTenantAndOnReload) {
  MetricsConfig c;
  Open(c,
       "overrides:\n"
       "  small:\n"
       "    max_label_names_per_series: 2\n"
       "    ingestion_rate: 1\n"
       "    ingestion_burst_size: 5\n");
  WriteBuilder w;
  w.Series({"__name__", "m", "a", "1", "b", "2"}).Sample(kNow, 1);
  EXPECT_EQ(store_->Push("small", w.Body()).http_status, 400);
  EXPECT_EQ(store_->Push("other", w.Body()).http_status, 200);  // the defaults: 30 labels
  EXPECT_THAT(store_->RateLimitedMessage("small"),
              HasSubstr("set to 1 items/s with a maximum allowed burst of 5."));

  WriteBuilder many;
  for (int i = 0; i < 6; ++i)
    many.Series({"__name__", "x", "i", std::to_string(i)}).Sample(kNow, 1);
  PushResult r = store_->Push("small", many.Body());
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.message, store_->RateLimitedMessage("small"));

  // The file changes: the next push of the tenant has the new limits (no restart).
  WriteRuntime(
      "overrides:\n"
      "  small:\n"
      "    max_label_names_per_series: 3\n"
      "    ingestion_burst_size: 100\n"
      "    max_global_series_per_metric: 1\n");
  ASSERT_TRUE(runtime_->Reload().ok());
  clock_ns_ += int64_t{200} * 1000000000;  // 200 s at 1/s: the bucket fills to the new burst
  EXPECT_EQ(store_->Push("small", w.Body()).http_status, 200);
  r = store_->Push("small", many.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message, HasSubstr("per-metric series limit of 1 exceeded"));

  // A broken file: the previous overrides stay.
  WriteRuntime("overrides: [\n");
  EXPECT_FALSE(runtime_->Reload().ok());
  EXPECT_EQ(store_->LimitsFor("small").max_label_names_per_series, 3);
}

// out_of_order_time_window per tenant from the runtime config: late samples inside the window
// are stored (read back merged, counted in Mimir's OOO counter), older ones get Mimir's
// window text; a tenant without the override keeps refusing them as out of order; after a
// reload to 0, late samples are refused again and the stored ones stay readable.
TEST_F(StoreLimitsTest, OutOfOrderWindowPerTenantFromTheRuntimeConfig) {
  MetricsConfig c;
  Open(c,
       "overrides:\n"
       "  late:\n"
       "    out_of_order_time_window: 1h\n");
  constexpr int64_t kMin = 60 * 1000;
  for (const char* tenant : {"late", "strict"}) {
    WriteBuilder w;
    w.Series({"__name__", "m"}).Sample(kNow, 1);
    ASSERT_EQ(store_->Push(tenant, w.Body()).http_status, 200);
  }
  WriteBuilder late;
  late.Series({"__name__", "m"}).Sample(kNow - 30 * kMin, 2).Sample(kNow - 61 * kMin, 3);
  PushResult r = store_->Push("late", late.Body());
  EXPECT_EQ(r.http_status, 400);  // the second sample
  EXPECT_THAT(r.message, HasSubstr("beyond the out-of-order time window of 1h "
                                   "(err-mimir-sample-timestamp-too-old)"));
  r = store_->Push("strict", late.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message, HasSubstr("err-mimir-sample-out-of-order"));
  auto read = [&](const char* tenant) {
    std::vector<int64_t> ts;
    const tsdb::Matcher m = tsdb::Matcher::MustCreate(tsdb::Matcher::Type::kEqual, "__name__", "m");
    std::unique_ptr<tsdb::HeadSeriesSet> set =
        store_->FindHead(tenant)->SelectSamples({&m, 1}, INT64_MIN, INT64_MAX);
    while (set->Next()) {
      chunkenc::Iterator& it = set->samples();
      while (it.Next() != chunkenc::ValueType::kNone) ts.push_back(it.AtT());
    }
    return ts;
  };
  EXPECT_THAT(read("late"), ::testing::ElementsAre(kNow - 30 * kMin, kNow));
  EXPECT_THAT(read("strict"), ::testing::ElementsAre(kNow));
  EXPECT_THAT(
      registry_.RenderText(),
      HasSubstr("cortex_ingester_tsdb_out_of_order_samples_appended_total{user=\"late\"} 1"));

  WriteRuntime("overrides: {}\n");
  ASSERT_TRUE(runtime_->Reload().ok());
  WriteBuilder again;
  again.Series({"__name__", "m"}).Sample(kNow - 20 * kMin, 4);
  r = store_->Push("late", again.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message, HasSubstr("err-mimir-sample-out-of-order"));
  EXPECT_THAT(read("late"), ::testing::ElementsAre(kNow - 30 * kMin, kNow));
}

TEST_F(StoreLimitsTest, ExemplarLimitTakesTheTenantsOverrideAndItsChanges) {
  MetricsConfig c;  // max_global_exemplars_per_user 0: exemplars off by default
  Open(c, "overrides:\n  ex:\n    max_global_exemplars_per_user: 10\n");
  auto exemplars = [&](std::string_view tenant) {
    auto got = store_->Exemplars(tenant, Matchers({"m"}), 0, kNow + 1000);
    EXPECT_TRUE(got.ok()) << got.status();
    size_t n = 0;
    if (got.ok()) {
      for (const auto& s : *got) n += s.exemplars.size();
    }
    return n;
  };
  for (const char* tenant : {"ex", "other"}) {
    WriteBuilder w;
    w.Series({"__name__", "m"}).Sample(kNow, 1).Exemplar(kNow, 1, {"trace_id", "abc"});
    EXPECT_EQ(store_->Push(tenant, w.Body()).http_status, 200);
  }
  EXPECT_EQ(exemplars("ex"), 1u);
  EXPECT_EQ(exemplars("other"), 0u);

  WriteRuntime("overrides:\n  ex:\n    max_global_exemplars_per_user: 0\n");
  ASSERT_TRUE(runtime_->Reload().ok());
  WriteBuilder w;
  w.Series({"__name__", "m"}).Sample(kNow + 1, 1).Exemplar(kNow + 1, 1, {"trace_id", "def"});
  EXPECT_EQ(store_->Push("ex", w.Body()).http_status, 200);
  EXPECT_EQ(exemplars("ex"), 0u);
}

}  // namespace
}  // namespace sprout::metrics
