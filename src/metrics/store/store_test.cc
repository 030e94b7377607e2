#include "metrics/store/store.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/store/store_test_util.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testutil::Matchers;
using testutil::ReadRequestBody;
using testutil::Snappy;
using testutil::WriteBuilder;

constexpr int64_t kSecondNs = 1000 * 1000 * 1000;

class StoreTest : public ::testing::Test {
 protected:
  MetricsStoreOptions Options() {
    MetricsStoreOptions o;
    o.config = LocalDefaults();
    o.config.tsdb_dir = "/data/tsdb";
    o.env = &env_;
    o.registry = &registry_;
    o.now_ms = [] { return int64_t{1700000000000}; };
    o.monotonic_ns = [this] { return clock_ns_; };
    return o;
  }
  std::unique_ptr<MetricsStore> Open(MetricsStoreOptions o) {
    auto store = std::make_unique<MetricsStore>(std::move(o));
    absl::Status s = store->Start();
    EXPECT_TRUE(s.ok()) << s;
    return store;
  }
  std::unique_ptr<MetricsStore> Open() { return Open(Options()); }

  std::vector<std::string> SeriesStrings(MetricsStore& store, std::string_view tenant,
                                         std::vector<std::string> selectors) {
    auto got = store.Series(tenant, Matchers(selectors), INT64_MIN, INT64_MAX, 0);
    EXPECT_TRUE(got.ok()) << got.status();
    std::vector<std::string> out;
    if (got.ok()) {
      for (const tsdb::Labels& l : *got) out.push_back(l.ToString());
    }
    return out;
  }

  storage::FaultInjectionEnv env_;
  MetricsRegistry registry_;
  int64_t clock_ns_ = 5 * kSecondNs;
};

TEST_F(StoreTest, PushedDataIsReadBackThroughEveryReadPath) {
  auto store = Open();
  WriteBuilder w;
  w.Series({"__name__", "up", "instance", "a", "job", "node"}).Sample(1000, 1).Sample(2000, 0);
  w.Series({"__name__", "up", "instance", "b", "job", "node"}).Sample(1000, 1).StaleSample(2000);
  w.Series({"__name__", "load1", "instance", "a", "job", "node"}).Sample(1500, 0.25);
  w.Metadata("up", prometheus::MetricMetadata::GAUGE, "1 if the target is up", "");
  PushResult r = store->Push("anonymous", w.Body());
  ASSERT_TRUE(r.ok()) << r.http_status << " " << r.message;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_THAT(r.message, IsEmpty());

  EXPECT_THAT(SeriesStrings(*store, "anonymous", {"{__name__=\"up\"}"}),
              ElementsAre("{__name__=\"up\", instance=\"a\", job=\"node\"}",
                          "{__name__=\"up\", instance=\"b\", job=\"node\"}"));
  // Two selectors: the union, sorted, each series once.
  EXPECT_THAT(SeriesStrings(*store, "anonymous", {"{instance=\"a\"}", "{__name__=\"load1\"}"}),
              ElementsAre("{__name__=\"load1\", instance=\"a\", job=\"node\"}",
                          "{__name__=\"up\", instance=\"a\", job=\"node\"}"));

  auto names = store->LabelNames("anonymous", {}, INT64_MIN, INT64_MAX, 0);
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("__name__", "instance", "job"));
  auto values =
      store->LabelValues("anonymous", "instance", Matchers({"load1"}), INT64_MIN, INT64_MAX, 0);
  ASSERT_TRUE(values.ok());
  EXPECT_THAT(*values, ElementsAre("a"));
  auto all_values = store->LabelValues("anonymous", "__name__", {}, INT64_MIN, INT64_MAX, 1);
  ASSERT_TRUE(all_values.ok());
  EXPECT_THAT(*all_values, ElementsAre("load1"));  // the limit cuts the sorted list

  auto md = store->Metadata("anonymous", "", -1, -1);
  ASSERT_TRUE(md.ok());
  ASSERT_EQ(md->size(), 1u);
  ASSERT_EQ(md->at("up").size(), 1u);
  EXPECT_EQ(md->at("up")[0].type, "gauge");
  EXPECT_EQ(md->at("up")[0].help, "1 if the target is up");

  // Remote read: the samples as sent, the stale marker bit for bit.
  prometheus::ReadResponse rr;
  ReadResult read = store->RemoteRead("anonymous", ReadRequestBody({{0, 5000, {"up"}}}));
  ASSERT_EQ(read.http_status, 200) << read.body;
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  ASSERT_EQ(rr.results_size(), 1);
  ASSERT_EQ(rr.results(0).timeseries_size(), 2);
  const prometheus::TimeSeries& b = rr.results(0).timeseries(1);
  ASSERT_EQ(b.labels_size(), 3);
  EXPECT_EQ(b.labels(1).name(), "instance");
  EXPECT_EQ(b.labels(1).value(), "b");
  ASSERT_EQ(b.samples_size(), 2);
  EXPECT_EQ(b.samples(0).timestamp(), 1000);
  EXPECT_EQ(b.samples(0).value(), 1);
  uint64_t bits;
  const double stale = b.samples(1).value();
  std::memcpy(&bits, &stale, 8);
  EXPECT_EQ(bits, testutil::kStaleNaNBits);
  // The time range clips.
  read = store->RemoteRead("anonymous", ReadRequestBody({{1500, 5000, {"up"}}}));
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  EXPECT_EQ(rr.results(0).timeseries(0).samples_size(), 1);

  const std::string text = registry_.RenderText();
  EXPECT_THAT(text, HasSubstr("cortex_distributor_received_samples_total{user=\"anonymous\"} 5"));
  EXPECT_THAT(text, HasSubstr("cortex_distributor_received_metadata_total{user=\"anonymous\"} 1"));
  EXPECT_THAT(text, HasSubstr("cortex_ingester_memory_series 3"));
  EXPECT_THAT(text, HasSubstr("cortex_ingester_ingested_samples_total 5"));
}

TEST_F(StoreTest, KnownSeriesAreFoundByTheirBytesAndStillStored) {
  auto store = Open();
  for (int i = 0; i < 3; ++i) {
    WriteBuilder w;
    w.Series({"__name__", "up", "job", "a"}).Sample(1000 + i * 1000, i);
    ASSERT_TRUE(store->Push("anonymous", w.Body()).ok());
  }
  ReadResult read = store->RemoteRead("anonymous", ReadRequestBody({{0, 9000, {"up"}}}));
  prometheus::ReadResponse rr;
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  ASSERT_EQ(rr.results(0).timeseries_size(), 1);
  EXPECT_EQ(rr.results(0).timeseries(0).samples_size(), 3);
}

TEST_F(StoreTest, TenantsAreIsolatedOnDiskAndInMemory) {
  auto store = Open();
  WriteBuilder a;
  a.Series({"__name__", "only_a", "job", "x"}).Sample(1000, 1);
  ASSERT_TRUE(store->Push("tenant-a", a.Body()).ok());
  WriteBuilder b;
  b.Series({"__name__", "only_b", "job", "x"}).Sample(1000, 1);
  ASSERT_TRUE(store->Push("tenant-b", b.Body()).ok());

  EXPECT_THAT(SeriesStrings(*store, "tenant-a", {"{job=\"x\"}"}),
              ElementsAre("{__name__=\"only_a\", job=\"x\"}"));
  EXPECT_THAT(SeriesStrings(*store, "tenant-b", {"{job=\"x\"}"}),
              ElementsAre("{__name__=\"only_b\", job=\"x\"}"));
  EXPECT_TRUE(*env_.IsDirectory("/data/tsdb/tenant-a/wal"));
  EXPECT_TRUE(*env_.IsDirectory("/data/tsdb/tenant-b/wal"));
}

TEST_F(StoreTest, ATenantThatNeverWroteGetsEmptyAnswersAndNoDirectory) {
  auto store = Open();
  auto names = store->LabelNames("nobody", {}, INT64_MIN, INT64_MAX, 0);
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, IsEmpty());
  EXPECT_THAT(SeriesStrings(*store, "nobody", {"up"}), IsEmpty());
  auto md = store->Metadata("nobody", "", -1, -1);
  ASSERT_TRUE(md.ok());
  EXPECT_TRUE(md->empty());
  ReadResult read = store->RemoteRead("nobody", ReadRequestBody({{0, 5000, {"up"}}}));
  ASSERT_EQ(read.http_status, 200);
  prometheus::ReadResponse rr;
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  ASSERT_EQ(rr.results_size(), 1);
  EXPECT_EQ(rr.results(0).timeseries_size(), 0);
  EXPECT_FALSE(env_.IsDirectory("/data/tsdb/nobody").value_or(false));
}

TEST_F(StoreTest, RateLimitRefusesTheWholeRequestWithMimirsText) {
  MetricsStoreOptions o = Options();
  o.config.ingestion_rate = 10;
  o.config.ingestion_burst_size = 20;
  auto store = Open(std::move(o));
  auto push = [&](int samples, int64_t t0) {
    WriteBuilder w;
    auto s = w.Series({"__name__", "x", "job", "a"});
    for (int i = 0; i < samples; ++i) s.Sample(t0 + i, i);
    return store->Push("anonymous", w.Body());
  };
  ASSERT_TRUE(push(15, 1000).ok());  // 20 → 5 tokens left
  PushResult refused = push(10, 2000);
  EXPECT_EQ(refused.http_status, 429);
  EXPECT_EQ(refused.message,
            "the request has been rejected because the tenant exceeded the ingestion rate limit, "
            "set to 10 items/s with a maximum allowed burst of 20. This limit is applied on the "
            "total number of samples, exemplars and metadata received across all distributors "
            "(err-mimir-tenant-max-ingestion-rate). To adjust the related per-tenant limits, "
            "configure -distributor.ingestion-rate-limit and -distributor.ingestion-burst-size, "
            "or contact your service administrator.");
  EXPECT_EQ(refused.message, store->RateLimitedMessage());
  // Nothing of the refused request was stored.
  ReadResult read = store->RemoteRead("anonymous", ReadRequestBody({{0, 9000, {"x"}}}));
  prometheus::ReadResponse rr;
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  EXPECT_EQ(rr.results(0).timeseries(0).samples_size(), 15);
  // One second later 10 more tokens: 15 in the bucket.
  clock_ns_ += kSecondNs;
  EXPECT_TRUE(push(10, 2000).ok());
  // More than the burst never passes.
  clock_ns_ += 100 * kSecondNs;
  EXPECT_EQ(push(21, 3000).http_status, 429);
  EXPECT_THAT(
      registry_.RenderText(),
      HasSubstr("cortex_discarded_samples_total{reason=\"rate_limited\",user=\"anonymous\"} "
                "31"));
}

TEST_F(StoreTest, SeriesLimitRefusesNewSeriesWithMimirsTextAndKeepsTheRest) {
  MetricsStoreOptions o = Options();
  o.config.max_global_series_per_user = 2;
  auto store = Open(std::move(o));
  WriteBuilder w;
  w.Series({"__name__", "s", "i", "1"}).Sample(1000, 1);
  w.Series({"__name__", "s", "i", "2"}).Sample(1000, 1);
  w.Series({"__name__", "s", "i", "3"}).Sample(1000, 1);
  PushResult r = store->Push("anonymous", w.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message, HasSubstr("per-user series limit of 2 exceeded"));
  EXPECT_THAT(r.message, HasSubstr("err-mimir-max-series-per-user"));
  EXPECT_THAT(SeriesStrings(*store, "anonymous", {"s"}),
              ElementsAre("{__name__=\"s\", i=\"1\"}", "{__name__=\"s\", i=\"2\"}"));
  EXPECT_THAT(
      registry_.RenderText(),
      HasSubstr(
          "cortex_discarded_samples_total{reason=\"per_user_series_limit\",user=\"anonymous\"}"
          " 1"));
}

TEST_F(StoreTest, ABadSeriesIsRefusedWithMimirsTextAndItsNeighboursAreStored) {
  auto store = Open();
  WriteBuilder w;
  w.Series({"job", "no-name"}).Sample(1000, 1);
  w.Series({"__name__", "good", "job", "x"}).Sample(1000, 1);
  PushResult r = store->Push("anonymous", w.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.message, "received series has no metric name (err-mimir-missing-metric-name)");
  EXPECT_THAT(SeriesStrings(*store, "anonymous", {"good"}),
              ElementsAre("{__name__=\"good\", job=\"x\"}"));

  // A head refusal (out of order) names the series; the in-order sample is stored.
  WriteBuilder w2;
  w2.Series({"__name__", "good", "job", "x"}).Sample(500, 2).Sample(2000, 3);
  r = store->Push("anonymous", w2.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message, HasSubstr("err-mimir-sample-out-of-order"));
  EXPECT_THAT(r.message, HasSubstr("{__name__=\"good\", job=\"x\"}"));
  ReadResult read = store->RemoteRead("anonymous", ReadRequestBody({{0, 9000, {"good"}}}));
  prometheus::ReadResponse rr;
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  EXPECT_EQ(rr.results(0).timeseries(0).samples_size(), 2);

  // A corrupt body is refused as a whole.
  r = store->Push("anonymous", "not snappy at all");
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message, HasSubstr("snappy"));
}

TEST_F(StoreTest, ARestartReplaysEveryTenant) {
  {
    auto store = Open();
    WriteBuilder a;
    a.Series({"__name__", "m", "t", "a"}).Sample(1000, 1).Sample(2000, 2);
    ASSERT_TRUE(store->Push("a", a.Body()).ok());
    WriteBuilder b;
    b.Series({"__name__", "m", "t", "b"}).Sample(1000, 7);
    b.Metadata("m", prometheus::MetricMetadata::COUNTER, "help", "seconds");
    ASSERT_TRUE(store->Push("b", b.Body()).ok());
    store->Close();
  }
  auto store = std::make_unique<MetricsStore>(Options());
  // Before Start: not ready, reads and pushes answer 503.
  EXPECT_FALSE(store->started());
  EXPECT_EQ(store->Push("a", WriteBuilder().Body()).http_status, 503);
  EXPECT_TRUE(absl::IsUnavailable(store->LabelNames("a", {}, 0, 1, 0).status()));
  ASSERT_TRUE(store->Start().ok());
  EXPECT_TRUE(store->started());
  EXPECT_THAT(SeriesStrings(*store, "a", {"m"}), ElementsAre("{__name__=\"m\", t=\"a\"}"));
  EXPECT_THAT(SeriesStrings(*store, "b", {"m"}), ElementsAre("{__name__=\"m\", t=\"b\"}"));
  auto md = store->Metadata("b", "m", -1, -1);
  ASSERT_TRUE(md.ok());
  ASSERT_EQ(md->count("m"), 1u);
  EXPECT_EQ(md->at("m")[0].type, "counter");
  EXPECT_EQ(md->at("m")[0].unit, "seconds");
  ReadResult read = store->RemoteRead("a", ReadRequestBody({{0, 9000, {"m"}}}));
  prometheus::ReadResponse rr;
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  EXPECT_EQ(rr.results(0).timeseries(0).samples_size(), 2);
  // Appends go on after the replayed samples; an older one is refused as out of order.
  WriteBuilder more;
  more.Series({"__name__", "m", "t", "a"}).Sample(1500, 9);
  EXPECT_EQ(store->Push("a", more.Body()).http_status, 400);
}

TEST_F(StoreTest, ReplayStatisticsAreReportedPerTenantAndExported) {
  {
    auto store = Open();
    // One request: 2 new series, 3 samples, 1 metadata entry = one group of 3 WAL records
    // (series, samples, metadata; docs/format/metrics-wal.md).
    WriteBuilder w;
    w.Series({"__name__", "m", "t", "a"}).Sample(1000, 1).Sample(2000, 2);
    w.Series({"__name__", "m", "t", "b"}).Sample(1000, 3);
    w.Metadata("m", prometheus::MetricMetadata::GAUGE, "help", "");
    ASSERT_TRUE(store->Push("replayed", w.Body()).ok());
  }
  MetricsStoreOptions o = Options();
  std::vector<std::pair<std::string, tsdb::ReplayStats>> replays;
  o.on_replay = [&](std::string_view tenant, const tsdb::ReplayStats& st) {
    replays.emplace_back(std::string(tenant), st);
  };
  auto store = Open(std::move(o));
  ASSERT_EQ(replays.size(), 1u);
  EXPECT_EQ(replays[0].first, "replayed");
  EXPECT_EQ(replays[0].second.records, 3u);
  EXPECT_EQ(replays[0].second.series, 2u);
  EXPECT_EQ(replays[0].second.samples, 3u);
  EXPECT_EQ(replays[0].second.metadata, 1u);
  const std::string text = registry_.RenderText();
  // Two replays in this registry: the empty one when the first push opened the head, this one.
  EXPECT_THAT(text, HasSubstr("sprout_metrics_wal_replays_total{user=\"replayed\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("sprout_metrics_wal_replay_records{user=\"replayed\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("sprout_metrics_wal_replay_series{user=\"replayed\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("sprout_metrics_wal_replay_samples{user=\"replayed\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("sprout_metrics_wal_replay_damage_reports{user=\"replayed\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("sprout_metrics_wal_replay_corrupt_records{user=\"replayed\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("sprout_metrics_wal_replay_skipped_entries{reason=\"unknown_series\","
                              "user=\"replayed\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("sprout_metrics_wal_replay_duration_seconds{user=\"replayed\"} "));

  // A torn tail (a partial record appended to the last segment) is cut and reported.
  store.reset();
  std::vector<std::string> segments = *env_.ListDir("/data/tsdb/replayed/wal");
  std::sort(segments.begin(), segments.end());
  const std::string last = "/data/tsdb/replayed/wal/" + segments.back();
  {
    // A chunk header announcing 64 bytes, followed by 7: the tail a crash mid-write leaves.
    auto f = env_.OpenFile(last, storage::OpenMode::kReadWrite);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE((*f)->Append(std::string("\x12\x34\x56\x78\x40\x00\x01\x02partial", 15)).ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  replays.clear();
  MetricsStoreOptions again = Options();
  again.on_replay = [&](std::string_view tenant, const tsdb::ReplayStats& st) {
    replays.emplace_back(std::string(tenant), st);
  };
  store = Open(std::move(again));
  ASSERT_EQ(replays.size(), 1u);
  EXPECT_GE(replays[0].second.damage_reports, 1u);
  EXPECT_EQ(replays[0].second.samples, 3u);
  EXPECT_THAT(registry_.RenderText(),
              HasSubstr("sprout_metrics_wal_replays_total{user=\"replayed\"} 3\n"));
  EXPECT_THAT(
      registry_.RenderText(),
      ::testing::Not(HasSubstr("sprout_metrics_wal_replay_damage_reports{user=\"replayed\"} 0\n")));
}

TEST_F(StoreTest, InvalidTenantIdsAreRefusedAndNeverNameADirectory) {
  auto store = Open();
  WriteBuilder w;
  w.Series({"__name__", "m"}).Sample(1000, 1);
  PushResult r = store->Push("../etc", w.Body());
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.message, "tenant ID '../etc' contains unsupported character '/'");
  EXPECT_EQ(store->Push(std::string(151, 'a'), w.Body()).message,
            "tenant ID is too long: max 150 characters");
}

TEST_F(StoreTest, RemoteReadAnswersSamplesOnlyAsPrometheusNegotiates) {
  auto store = Open();
  ReadResult r = store->RemoteRead(
      "anonymous",
      ReadRequestBody({{0, 1, {"up"}}}, {prometheus::ReadRequest::STREAMED_XOR_CHUNKS}));
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.body,
            "server does not support any of the requested response types: [STREAMED_XOR_CHUNKS]; "
            "supported: map[SAMPLES:{}]");
  r = store->RemoteRead(
      "anonymous", ReadRequestBody({{0, 1, {"up"}}}, {prometheus::ReadRequest::STREAMED_XOR_CHUNKS,
                                                      prometheus::ReadRequest::SAMPLES}));
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(store->RemoteRead("anonymous", "garbage").http_status, 400);
}

// Remote read answers native histograms in TimeSeries.histograms (prompb.Histogram): integer
// ones with count_int/zero_count_int and buckets as deltas, float ones with count_float/
// zero_count_float and absolute counts; spans, schema, zero threshold, sum, reset hint and
// timestamp as written. The expected messages are the ones pushed.
TEST_F(StoreTest, RemoteReadAnswersNativeHistograms) {
  auto store = Open();
  WriteBuilder w;
  WriteBuilder::SeriesRef ints = w.Series({"__name__", "latency", "job", "a"});
  prometheus::Histogram* h1 = ints.Histogram();
  h1->set_timestamp(1000);
  h1->set_count_int(14);
  h1->set_sum(42.5);
  h1->set_schema(1);
  h1->set_zero_threshold(0.001);
  h1->set_zero_count_int(2);
  // Negative: index -2 (1), -1 (3). Positive: index 0 (2), 1 (0), then a gap of 2, index 4 (6).
  auto* ns = h1->add_negative_spans();
  ns->set_offset(-2);
  ns->set_length(2);
  h1->add_negative_deltas(1);
  h1->add_negative_deltas(2);
  auto* ps = h1->add_positive_spans();
  ps->set_offset(0);
  ps->set_length(2);
  ps = h1->add_positive_spans();
  ps->set_offset(2);
  ps->set_length(1);
  h1->add_positive_deltas(2);
  h1->add_positive_deltas(-2);
  h1->add_positive_deltas(6);
  h1->set_reset_hint(prometheus::Histogram::UNKNOWN);
  prometheus::Histogram* h2 = ints.Histogram();
  *h2 = *h1;
  h2->set_timestamp(2000);
  h2->set_count_int(15);
  h2->set_sum(50);
  h2->clear_positive_deltas();
  h2->add_positive_deltas(3);  // 3, 0, 6
  h2->add_positive_deltas(-3);
  h2->add_positive_deltas(6);
  h2->set_reset_hint(prometheus::Histogram::NO);

  WriteBuilder::SeriesRef floats = w.Series({"__name__", "ratio", "job", "a"});
  prometheus::Histogram* f = floats.Histogram();
  f->set_timestamp(1500);
  f->set_count_float(3.5);
  f->set_sum(-1.25);
  f->set_schema(-2);
  f->set_zero_threshold(0);
  f->set_zero_count_float(0.5);
  auto* fs = f->add_positive_spans();
  fs->set_offset(3);
  fs->set_length(2);
  f->add_positive_counts(1.5);
  f->add_positive_counts(1.5);
  f->set_reset_hint(prometheus::Histogram::GAUGE);
  w.Series({"__name__", "up", "job", "a"}).Sample(1000, 1);
  ASSERT_TRUE(store->Push("anonymous", w.Body()).ok());

  prometheus::ReadRequest req;
  prometheus::Query* q = req.add_queries();
  q->set_start_timestamp_ms(0);
  q->set_end_timestamp_ms(9000);
  prometheus::LabelMatcher* m = q->add_matchers();
  m->set_type(prometheus::LabelMatcher::EQ);
  m->set_name("job");
  m->set_value("a");
  ReadResult read = store->RemoteRead("anonymous", Snappy(req.SerializeAsString()));
  ASSERT_EQ(read.http_status, 200) << read.body;
  prometheus::ReadResponse rr;
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  ASSERT_EQ(rr.results(0).timeseries_size(), 3);
  // Label order: latency, ratio, up.
  const prometheus::TimeSeries& lat = rr.results(0).timeseries(0);
  EXPECT_EQ(lat.labels(0).value(), "latency");
  EXPECT_EQ(lat.samples_size(), 0);
  ASSERT_EQ(lat.histograms_size(), 2);
  // Field by field: the stored form is absolute counts, so a re-encoding could differ in layout;
  // the same spans and deltas must come back.
  EXPECT_EQ(lat.histograms(0).SerializeAsString(), h1->SerializeAsString())
      << lat.histograms(0).DebugString();
  EXPECT_EQ(lat.histograms(1).SerializeAsString(), h2->SerializeAsString())
      << lat.histograms(1).DebugString();
  EXPECT_EQ(lat.histograms(0).count_case(), prometheus::Histogram::kCountInt);
  EXPECT_EQ(lat.histograms(1).reset_hint(), prometheus::Histogram::NO);

  const prometheus::TimeSeries& ratio = rr.results(0).timeseries(1);
  EXPECT_EQ(ratio.labels(0).value(), "ratio");
  ASSERT_EQ(ratio.histograms_size(), 1);
  const prometheus::Histogram& got = ratio.histograms(0);
  EXPECT_EQ(got.count_case(), prometheus::Histogram::kCountFloat);
  EXPECT_EQ(got.count_float(), 3.5);
  EXPECT_EQ(got.zero_count_case(), prometheus::Histogram::kZeroCountFloat);
  EXPECT_EQ(got.zero_count_float(), 0.5);
  EXPECT_EQ(got.schema(), -2);
  EXPECT_EQ(got.sum(), -1.25);
  EXPECT_EQ(got.reset_hint(), prometheus::Histogram::GAUGE);
  EXPECT_EQ(got.timestamp(), 1500);
  ASSERT_EQ(got.positive_spans_size(), 1);
  EXPECT_EQ(got.positive_spans(0).offset(), 3);
  EXPECT_EQ(got.positive_spans(0).length(), 2u);
  EXPECT_THAT(got.positive_counts(), ElementsAre(1.5, 1.5));
  EXPECT_EQ(got.positive_deltas_size(), 0);
  EXPECT_EQ(got.negative_spans_size(), 0);

  const prometheus::TimeSeries& up = rr.results(0).timeseries(2);
  EXPECT_EQ(up.histograms_size(), 0);
  ASSERT_EQ(up.samples_size(), 1);

  // The time range clips histograms as it clips samples.
  q->set_start_timestamp_ms(1500);
  read = store->RemoteRead("anonymous", Snappy(req.SerializeAsString()));
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  ASSERT_EQ(rr.results(0).timeseries_size(), 2);  // `up` has nothing left
  ASSERT_EQ(rr.results(0).timeseries(0).histograms_size(), 1);
  EXPECT_EQ(rr.results(0).timeseries(0).histograms(0).timestamp(), 2000);
}

// Exemplars of the head through the Queryable: the series matching any set, once each, sorted;
// exemplars in [start, end], oldest first.
TEST_F(StoreTest, ExemplarsAreServedPerSeriesInTheRange) {
  auto store = Open();
  WriteBuilder w;
  w.Series({"__name__", "req_total", "job", "b"})
      .Sample(1000, 1)
      .Exemplar(900, 1, {"trace_id", "t1"})
      .Exemplar(1900, 2, {"trace_id", "t2"})
      .Sample(2000, 3);
  w.Series({"__name__", "req_total", "job", "a"})
      .Sample(1000, 5)
      .Exemplar(1000, 0.25, {"span_id", "s"});
  w.Series({"__name__", "other", "job", "a"}).Sample(1000, 5);
  ASSERT_TRUE(store->Push("anonymous", w.Body()).ok());

  auto got = store->Exemplars("anonymous", Matchers({"req_total", "{job=\"a\"}"}), 0, 5000);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].series.ToString(), "{__name__=\"req_total\", job=\"a\"}");
  ASSERT_EQ((*got)[0].exemplars.size(), 1u);
  EXPECT_EQ((*got)[0].exemplars[0].labels.ToString(), "{span_id=\"s\"}");
  EXPECT_EQ((*got)[0].exemplars[0].value, 0.25);
  EXPECT_EQ((*got)[0].exemplars[0].t_ms, 1000);
  EXPECT_EQ((*got)[1].series.ToString(), "{__name__=\"req_total\", job=\"b\"}");
  ASSERT_EQ((*got)[1].exemplars.size(), 2u);
  EXPECT_EQ((*got)[1].exemplars[0].labels.ToString(), "{trace_id=\"t1\"}");
  EXPECT_EQ((*got)[1].exemplars[1].t_ms, 1900);

  // The range is inclusive at both ends.
  got = store->Exemplars("anonymous", Matchers({"req_total"}), 1000, 1900);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].exemplars.size(), 1u);
  EXPECT_EQ((*got)[1].exemplars[0].value, 2);
  // Another tenant, or no match: nothing.
  got = store->Exemplars("nobody", Matchers({"req_total"}), 0, 5000);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
  got = store->Exemplars("anonymous", Matchers({"other"}), 0, 5000);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

// PushWriteRequest (the generator's in-process output) answers a decoded request exactly as
// Push answers its snappy body: the same refusals and texts, the same series, samples and
// exemplars stored.
TEST_F(StoreTest, ADecodedWriteRequestIsPushedAsItsSnappyBodyWouldBe) {
  auto store = Open();
  WriteBuilder w;
  w.Series({"__name__", "calls_total", "service", "api"})
      .Sample(1000, 4)
      .Exemplar(1000, 4, {"trace_id", "0123456789abcdef0123456789abcdef"});
  w.Series({"service", "no-name"}).Sample(1000, 1);  // refused: no metric name
  w.Series({"__name__", "latency_bucket", "le", "+Inf", "service", "api"}).Sample(1000, 4);
  const PushResult via_body = store->Push("body", w.Body());
  const PushResult via_request = store->PushWriteRequest("decoded", w.request());
  EXPECT_EQ(via_request.http_status, 400);
  EXPECT_EQ(via_request.message,
            "received series has no metric name (err-mimir-missing-metric-name)");
  EXPECT_EQ(via_request.http_status, via_body.http_status);
  EXPECT_EQ(via_request.message, via_body.message);
  const std::vector<std::string> expected = {
      "{__name__=\"calls_total\", service=\"api\"}",
      "{__name__=\"latency_bucket\", le=\"+Inf\", service=\"api\"}"};
  EXPECT_EQ(SeriesStrings(*store, "decoded", {"{service=\"api\"}"}), expected);
  EXPECT_EQ(SeriesStrings(*store, "body", {"{service=\"api\"}"}), expected);
  auto exemplars = store->Exemplars("decoded", Matchers({"calls_total"}), 0, 5000);
  ASSERT_TRUE(exemplars.ok()) << exemplars.status();
  ASSERT_EQ(exemplars->size(), 1u);
  ASSERT_EQ((*exemplars)[0].exemplars.size(), 1u);
  EXPECT_EQ((*exemplars)[0].exemplars[0].labels.ToString(),
            "{trace_id=\"0123456789abcdef0123456789abcdef\"}");
  EXPECT_EQ((*exemplars)[0].exemplars[0].value, 4);
  EXPECT_EQ((*exemplars)[0].exemplars[0].t_ms, 1000);
  // Mimir counts the refused sample the same way whichever path it came by.
  const std::string text = registry_.RenderText();
  EXPECT_THAT(text, HasSubstr("cortex_discarded_samples_total{reason=\"missing_metric_name\","
                              "user=\"decoded\"} 1"));
  EXPECT_THAT(text, HasSubstr("cortex_discarded_samples_total{reason=\"missing_metric_name\","
                              "user=\"body\"} 1"));

  // The next collection of the same series (its label bytes known to the head) is stored too.
  WriteBuilder next;
  next.Series({"__name__", "calls_total", "service", "api"}).Sample(2000, 6);
  EXPECT_TRUE(store->PushWriteRequest("decoded", next.request()).ok());
  ReadResult read = store->RemoteRead("decoded", ReadRequestBody({{0, 9000, {"calls_total"}}}));
  prometheus::ReadResponse rr;
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  ASSERT_EQ(rr.results(0).timeseries_size(), 1);
  EXPECT_EQ(rr.results(0).timeseries(0).samples_size(), 2);
}

TEST_F(StoreTest, ADecodedWriteRequestMeetsTheSameLimitsAndTenantChecks) {
  {
    MetricsStore not_started(Options());
    WriteBuilder w;
    w.Series({"__name__", "x"}).Sample(1000, 1);
    EXPECT_EQ(not_started.PushWriteRequest("anonymous", w.request()).http_status, 503);
  }
  MetricsStoreOptions o = Options();
  o.config.ingestion_rate = 10;
  o.config.ingestion_burst_size = 20;
  auto store = Open(std::move(o));
  auto push = [&](int samples, int64_t t0) {
    WriteBuilder w;
    auto s = w.Series({"__name__", "x", "job", "a"});
    for (int i = 0; i < samples; ++i) s.Sample(t0 + i, i);
    return store->PushWriteRequest("anonymous", w.request());
  };
  ASSERT_TRUE(push(15, 1000).ok());  // 20 → 5 tokens left
  const PushResult refused = push(10, 2000);
  EXPECT_EQ(refused.http_status, 429);
  EXPECT_EQ(refused.message, store->RateLimitedMessage());
  WriteBuilder w;
  w.Series({"__name__", "x"}).Sample(1000, 1);
  const PushResult bad_tenant = store->PushWriteRequest("../etc", w.request());
  EXPECT_EQ(bad_tenant.http_status, 400);
  EXPECT_EQ(bad_tenant.message, store->Push("../etc", w.Body()).message);
}

TEST_F(StoreTest, FsyncBeforeAckKeepsEveryAcknowledgedSampleThroughAMachineCrash) {
  MetricsStoreOptions o = Options();
  o.config.wal_fsync_before_ack = true;
  {
    auto store = Open(o);
    for (int i = 0; i < 5; ++i) {
      WriteBuilder w;
      w.Series({"__name__", "d", "job", "x"}).Sample(1000 + i, i);
      ASSERT_TRUE(store->Push("anonymous", w.Body()).ok());
    }
    env_.SimulateCrash(storage::FaultInjectionEnv::CrashMode::kDropUnsynced);
    store.reset();
  }
  auto store = Open(o);
  ReadResult read = store->RemoteRead("anonymous", ReadRequestBody({{0, 9000, {"d"}}}));
  prometheus::ReadResponse rr;
  ASSERT_TRUE(testutil::ParseReadResponse(read.body, &rr));
  ASSERT_EQ(rr.results(0).timeseries_size(), 1);
  EXPECT_EQ(rr.results(0).timeseries(0).samples_size(), 5);
}

// Remote write 2.0 by its field numbers (Request: symbols 4, timeseries 5; TimeSeries:
// labels_refs 1, samples 2, histograms 3, created_timestamp 6; Sample: value 1, timestamp 2,
// start_timestamp 3; Histogram: count_int 1, schema 4, zero_threshold 5, timestamp 15,
// start_timestamp 17), for the start-timestamp zeros.
namespace v2wire {
void Varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
std::string VarintField(int number, int64_t v) {
  std::string out;
  Varint(static_cast<uint64_t>(number) << 3, &out);
  Varint(static_cast<uint64_t>(v), &out);
  return out;
}
std::string DoubleField(int number, double d) {
  std::string out;
  Varint((static_cast<uint64_t>(number) << 3) | 1, &out);
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
  return out;
}
std::string Len(int number, const std::string& payload) {
  std::string out;
  Varint((static_cast<uint64_t>(number) << 3) | 2, &out);
  Varint(payload.size(), &out);
  return out + payload;
}
// symbols: 0 "", 1 __name__, 2 c_total, 3 job, 4 old, 5 new, 6 same, 7 hist, 8 later
const std::vector<std::string> kSymbols = {"",    "__name__", "c_total", "job",  "old",
                                           "new", "same",     "hist",    "later"};
std::string Series(uint64_t job_ref, const std::string& body) {
  std::string refs;
  for (uint64_t r : {uint64_t{1}, uint64_t{2}, uint64_t{3}, job_ref}) Varint(r, &refs);
  return Len(5, Len(1, refs) + body);
}
std::string Sample(double v, int64_t t, int64_t start = 0) {
  std::string out = DoubleField(1, v) + VarintField(2, t);
  if (start != 0) out += VarintField(3, start);
  return Len(2, out);
}
std::string Body(const std::string& series) {
  std::string wire;
  for (const std::string& s : kSymbols) wire += Len(4, s);
  return Snappy(wire + series);
}
}  // namespace v2wire

// Start (created) timestamps of remote write 2.0 in both layouts become a zero before the first
// sample that carries them (Mimir's ingester); none when the start is not before the sample;
// dropped silently when it lands at or before the series' stored data. The written counts are
// the sender's samples only.
TEST_F(StoreTest, StartTimestampsOfRemoteWrite2InjectAZeroWhereTheyFit) {
  using namespace v2wire;
  auto store = Open();
  const int64_t now = 1700000000000;
  const std::string req =
      // Prometheus 3.0–3.7: created_timestamp (6) for every sample of the series.
      Series(4, Sample(3, now - 2000) + Sample(5, now - 1000) + VarintField(6, now - 60000)) +
      // Prometheus 3.8+: per sample; a new start mid-request (a reset) gets its own zero.
      Series(5, Sample(1, now - 2000, now - 30000) + Sample(2, now - 1000, now - 30000) +
                    Sample(1, now, now - 500)) +
      // The start at the sample's own time, or after it: no zero.
      Series(6, Sample(4, now - 1000, now - 1000) + Sample(6, now, now + 10)) +
      // A native histogram (integer, schema 2, zero threshold 0.5): an empty one of the same
      // schema and threshold.
      Series(7, Len(3, VarintField(1, 0) + VarintField(4, 4) + DoubleField(5, 0.5) +
                           VarintField(15, now) + VarintField(17, now - 5000)));
  PushResult r = store->Push("anonymous", Body(req), ingest::Protocol::kV2);
  ASSERT_EQ(r.http_status, 200) << r.message;
  EXPECT_EQ(r.samples_written, 7);
  EXPECT_EQ(r.histograms_written, 1);

  auto read = [&] {
    std::map<std::string, std::vector<std::pair<int64_t, double>>> out;
    std::map<std::string, std::vector<tsdb::QuerySample>> hists;
    absl::Status st = store->SelectSamples(
        "anonymous", Matchers({"{__name__=\"c_total\"}"})[0], INT64_MIN, INT64_MAX,
        [&](const tsdb::Labels& l, std::span<const tsdb::QuerySample> samples) {
          for (const tsdb::QuerySample& q : samples) {
            if (q.type == chunkenc::ValueType::kFloat) {
              out[std::string(l.Get("job"))].emplace_back(q.t, q.v);
            } else {
              hists[std::string(l.Get("job"))].push_back(q);
            }
          }
        });
    EXPECT_TRUE(st.ok()) << st;
    return std::make_pair(out, hists);
  };
  using P = std::pair<int64_t, double>;
  auto [floats, hists] = read();
  EXPECT_THAT(floats["old"], ElementsAre(P{now - 60000, 0}, P{now - 2000, 3}, P{now - 1000, 5}));
  EXPECT_THAT(floats["new"], ElementsAre(P{now - 30000, 0}, P{now - 2000, 1}, P{now - 1000, 2},
                                         P{now - 500, 0}, P{now, 1}));
  EXPECT_THAT(floats["same"], ElementsAre(P{now - 1000, 4}, P{now, 6}));
  ASSERT_EQ(hists["hist"].size(), 2u);
  EXPECT_EQ(hists["hist"][0].t, now - 5000);
  EXPECT_EQ(hists["hist"][0].h.schema, 2);
  EXPECT_EQ(hists["hist"][0].h.zero_threshold, 0.5);
  EXPECT_EQ(hists["hist"][0].h.count, 0u);
  EXPECT_EQ(hists["hist"][1].t, now);

  // The same created timestamp again (before the stored data) and one between stored samples:
  // both dropped without a refusal; the samples after them are stored.
  const std::string again = Series(4, Sample(7, now + 1000) + VarintField(6, now - 60000)) +
                            Series(5, Sample(9, now + 1000, now - 1500));
  r = store->Push("anonymous", Body(again), ingest::Protocol::kV2);
  EXPECT_EQ(r.http_status, 200) << r.message;
  EXPECT_THAT(r.message, IsEmpty());
  EXPECT_EQ(r.samples_written, 2);
  floats = read().first;
  EXPECT_THAT(floats["old"],
              ElementsAre(P{now - 60000, 0}, P{now - 2000, 3}, P{now - 1000, 5}, P{now + 1000, 7}));
  EXPECT_THAT(floats["new"], ElementsAre(P{now - 30000, 0}, P{now - 2000, 1}, P{now - 1000, 2},
                                         P{now - 500, 0}, P{now, 1}, P{now + 1000, 9}));
  // Nothing counted as discarded.
  EXPECT_THAT(registry_.RenderText(), ::testing::Not(HasSubstr("cortex_discarded_samples_total")));
}

}  // namespace
}  // namespace sprout::metrics
