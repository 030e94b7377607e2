// MetricsStore::IngestOtlp: the in-process OTLP path of `sprout all`. What goes in is read back
// through the store's querier (SelectSamples), its metadata API and the head's exemplars; limits
// and counters are compared with pushing the translation's remote-write request.
#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/store/store.h"
#include "metrics/store/store_test_util.h"
#include "otlp/consumer_error.h"
#include "otlp/json.h"
#include "otlp/prometheus.h"
#include "otlp/signal.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using Request = otlp::pb::metrics_service::ExportMetricsServiceRequest;

constexpr int64_t kNowMs = 1700000000000;
constexpr int64_t kSecondNs = 1000 * 1000 * 1000;

Request FromJson(const std::string& json) {
  Request r;
  absl::Status s = otlp::ParseJson(json, &r);
  EXPECT_TRUE(s.ok()) << s;
  return r;
}

// The five kinds of the brief, with their points at kNowMs - 15 s and kNowMs:
//  - gauge room.temperature (Cel) {room=kitchen}: 21.5, 22;
//  - cumulative monotonic sum http.requests ({request}): 10, 15; an exemplar (trace and span id,
//    value 1) on the second point;
//  - cumulative histogram request.duration (s), bounds [0.1, 1]: bucket counts [2, 3, 1]
//    (count 6, sum 2.5), then [4, 3, 1] (count 8, sum 3.5);
//  - cumulative exponential histogram payload.size (By), scale 0, zero count 1, positive offset
//    0 counts [1, 2] (count 4, sum 10), then [2, 2] (count 5, sum 12).
// Resource: service.name=shop, service.instance.id=i-1; scope io.sprout.test 1.0.
Request FiveKinds() {
  return FromJson(R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"shop"}},
      {"key":"service.instance.id","value":{"stringValue":"i-1"}}]},
    "scopeMetrics":[{"scope":{"name":"io.sprout.test","version":"1.0"},"metrics":[
      {"name":"room.temperature","unit":"Cel","description":"Room temperature.","gauge":{"dataPoints":[
        {"timeUnixNano":"1699999985000000000","asDouble":21.5,"attributes":[{"key":"room","value":{"stringValue":"kitchen"}}]},
        {"timeUnixNano":"1700000000000000000","asDouble":22,"attributes":[{"key":"room","value":{"stringValue":"kitchen"}}]}]}},
      {"name":"http.requests","unit":"{request}","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[
        {"timeUnixNano":"1699999985000000000","asInt":"10"},
        {"timeUnixNano":"1700000000000000000","asInt":"15","exemplars":[
          {"timeUnixNano":"1699999999000000000","asInt":"1",
           "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}]}]}},
      {"name":"request.duration","unit":"s","histogram":{"aggregationTemporality":2,"dataPoints":[
        {"timeUnixNano":"1699999985000000000","count":"6","sum":2.5,"explicitBounds":[0.1,1],"bucketCounts":["2","3","1"]},
        {"timeUnixNano":"1700000000000000000","count":"8","sum":3.5,"explicitBounds":[0.1,1],"bucketCounts":["4","3","1"]}]}},
      {"name":"payload.size","unit":"By","exponentialHistogram":{"aggregationTemporality":2,"dataPoints":[
        {"timeUnixNano":"1699999985000000000","count":"4","sum":10,"scale":0,"zeroCount":"1",
         "positive":{"offset":0,"bucketCounts":["1","2"]}},
        {"timeUnixNano":"1700000000000000000","count":"5","sum":12,"scale":0,"zeroCount":"1",
         "positive":{"offset":0,"bucketCounts":["2","2"]}}]}}
    ]}]}]})");
}

using Floats = std::map<std::string, std::vector<std::pair<int64_t, double>>>;
using Histograms = std::map<std::string, std::vector<std::pair<int64_t, chunkenc::Histogram>>>;

class StoreOtlpTest : public ::testing::Test {
 protected:
  MetricsStoreOptions Options() {
    MetricsStoreOptions o;
    o.config = LocalDefaults();
    o.config.tsdb_dir = "/data/tsdb";
    o.config.compactor_compaction_interval = absl::ZeroDuration();
    o.env = &env_;
    o.registry = &registry_;
    o.now_ms = [] { return kNowMs; };
    o.monotonic_ns = [this] { return clock_ns_; };
    return o;
  }
  std::unique_ptr<MetricsStore> Open(MetricsStoreOptions o) {
    auto store = std::make_unique<MetricsStore>(std::move(o));
    absl::Status s = store->Start();
    EXPECT_TRUE(s.ok()) << s;
    return store;
  }

  static otlp::PromTranslationSettings Settings() {
    otlp::PromTranslationSettings s;
    s.send_metadata = true;
    return s;
  }

  // Every sample of the tenant through the store's querier.
  static void ReadAll(MetricsStore& store, std::string_view tenant, Floats* floats,
                      Histograms* histograms) {
    const std::vector<tsdb::Matcher> all = {
        tsdb::Matcher::MustCreate(tsdb::Matcher::Type::kRegexMatch, "__name__", ".+")};
    absl::Status s = store.SelectSamples(
        tenant, all, INT64_MIN, INT64_MAX,
        [&](const tsdb::Labels& labels, std::span<const tsdb::QuerySample> samples) {
          for (const tsdb::QuerySample& q : samples) {
            if (q.type == chunkenc::ValueType::kFloat) {
              (*floats)[labels.ToString()].emplace_back(q.t, q.v);
            } else {
              ASSERT_EQ(q.type, chunkenc::ValueType::kHistogram);
              chunkenc::Histogram h = q.h;
              h.reset_hint = chunkenc::CounterResetHint::kUnknown;
              (*histograms)[labels.ToString()].emplace_back(q.t, h);
            }
          }
        });
    ASSERT_TRUE(s.ok()) << s;
  }

  // The tenant's lines of /metrics (those with user="<tenant>"), with the tenant renamed "T".
  std::vector<std::string> TenantCounters(std::string_view tenant) {
    std::vector<std::string> out;
    const std::string user = "user=\"" + std::string(tenant) + "\"";
    std::istringstream text(registry_.RenderText());
    for (std::string l; std::getline(text, l);) {
      const size_t at = l.find(user);
      if (at == std::string::npos) continue;
      l.replace(at, user.size(), "user=\"T\"");
      if (l.find("sprout_metrics_wal_replay_duration_seconds") != std::string::npos) continue;
      out.push_back(l);
    }
    return out;
  }

  // The same request pushed as the translation's remote-write request to `rw_tenant` and
  // ingested in-process to `otlp_tenant`: both answer alike, count alike, store alike.
  OtlpIngestResult ExpectSameAsRemoteWrite(MetricsStore& store, const Request& request,
                                           std::string_view rw_tenant,
                                           std::string_view otlp_tenant) {
    prometheus::WriteRequest write;
    std::vector<std::string> errors;
    int64_t dropped = 0;
    otlp::TranslateMetrics(request, Settings(), &write, &errors, &dropped);
    const PushResult pushed = store.Push(rw_tenant, testutil::Snappy(write.SerializeAsString()));
    const OtlpIngestResult ingested = store.IngestOtlp(otlp_tenant, request, Settings());
    EXPECT_EQ(ingested.http_status, pushed.http_status);
    EXPECT_EQ(ingested.message, pushed.message);
    EXPECT_EQ(ingested.translation_errors, errors);
    EXPECT_EQ(TenantCounters(otlp_tenant), TenantCounters(rw_tenant));
    Floats rw_f, otlp_f;
    Histograms rw_h, otlp_h;
    ReadAll(store, rw_tenant, &rw_f, &rw_h);
    ReadAll(store, otlp_tenant, &otlp_f, &otlp_h);
    EXPECT_EQ(otlp_f, rw_f);
    EXPECT_EQ(otlp_h, rw_h);
    return ingested;
  }

  storage::FaultInjectionEnv env_;
  MetricsRegistry registry_;
  int64_t clock_ns_ = 5 * kSecondNs;
};

TEST_F(StoreOtlpTest, FiveKindsAreReadBackAsTheTranslationNamesThem) {
  auto store = Open(Options());
  const OtlpIngestResult r = store->IngestOtlp("anonymous", FiveKinds(), Settings());
  ASSERT_TRUE(r.ok()) << r.http_status << " " << r.message;
  EXPECT_TRUE(r.ToStatus().ok());
  EXPECT_FALSE(r.retryable());
  // 2 gauge + 2 counter + 2 × (3 buckets + sum + count) + 2 native histograms.
  EXPECT_EQ(r.samples_stored, 16);
  EXPECT_EQ(r.samples_refused, 0);

  const std::string common =
      "instance=\"i-1\", job=\"shop\", otel_scope_name=\"io.sprout.test\", "
      "otel_scope_version=\"1.0\"";
  auto series = [&](const std::string& name, const std::string& extra = "") {
    std::string s = absl::StrCat("{__name__=\"", name, "\", ", common);
    if (!extra.empty()) absl::StrAppend(&s, ", ", extra);
    return s + "}";
  };
  auto bucket = [&](const std::string& le) {
    return absl::StrCat(
        "{__name__=\"request_duration_seconds_bucket\", instance=\"i-1\", "
        "job=\"shop\", le=\"",
        le, "\", otel_scope_name=\"io.sprout.test\", otel_scope_version=\"1.0\"}");
  };
  constexpr int64_t t1 = kNowMs - 15000, t2 = kNowMs;
  Floats floats;
  Histograms histograms;
  ReadAll(*store, "anonymous", &floats, &histograms);
  const Floats want_floats = {
      {series("room_temperature_celsius", "room=\"kitchen\""), {{t1, 21.5}, {t2, 22}}},
      {series("http_requests_total"), {{t1, 10}, {t2, 15}}},
      // Cumulative buckets: le=0.1 is the first count, le=1 the first two, +Inf the count.
      {bucket("0.1"), {{t1, 2}, {t2, 4}}},
      {bucket("1"), {{t1, 5}, {t2, 7}}},
      {bucket("+Inf"), {{t1, 6}, {t2, 8}}},
      {series("request_duration_seconds_sum"), {{t1, 2.5}, {t2, 3.5}}},
      {series("request_duration_seconds_count"), {{t1, 6}, {t2, 8}}},
  };
  EXPECT_EQ(floats, want_floats);

  // Exponential buckets: OTel index i is Prometheus index i + 1 (one span at offset 1).
  auto native = [](uint64_t b0, uint64_t b1, uint64_t count, double sum) {
    chunkenc::Histogram h;
    h.schema = 0;
    h.zero_threshold = 1e-128;  // the translation's default when the point has none
    h.zero_count = 1;
    h.count = count;
    h.sum = sum;
    h.positive_spans = {{1, 2}};
    h.positive_buckets = {b0, b1};
    return h;
  };
  const Histograms want_histograms = {
      {series("payload_size_bytes"), {{t1, native(1, 2, 4, 10)}, {t2, native(2, 2, 5, 12)}}}};
  EXPECT_EQ(histograms, want_histograms);

  // Label names and series through the metadata API's Queryable methods.
  auto names = store->LabelNames("anonymous", {}, INT64_MIN, INT64_MAX, 0);
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("__name__", "instance", "job", "le", "otel_scope_name",
                                  "otel_scope_version", "room"));

  // Metadata: one entry per family, the OTLP unit and description.
  auto md = store->Metadata("anonymous", "", -1, -1);
  ASSERT_TRUE(md.ok());
  ASSERT_EQ(md->size(), 4u);
  EXPECT_EQ(md->at("room_temperature_celsius")[0].type, "gauge");
  EXPECT_EQ(md->at("room_temperature_celsius")[0].unit, "Cel");
  EXPECT_EQ(md->at("room_temperature_celsius")[0].help, "Room temperature.");
  EXPECT_EQ(md->at("http_requests_total")[0].type, "counter");
  EXPECT_EQ(md->at("http_requests_total")[0].unit, "{request}");
  EXPECT_EQ(md->at("request_duration_seconds")[0].type, "histogram");
  EXPECT_EQ(md->at("payload_size_bytes")[0].type, "histogram");

  // The exemplar, on the counter: trace and span id as labels, the value as a float.
  const std::vector<tsdb::Matcher> counter = {
      tsdb::Matcher::MustCreate(tsdb::Matcher::Type::kEqual, "__name__", "http_requests_total")};
  std::vector<tsdb::SeriesExemplars> ex =
      store->FindHead("anonymous")->Exemplars(counter, INT64_MIN, INT64_MAX);
  ASSERT_EQ(ex.size(), 1u);
  ASSERT_EQ(ex[0].exemplars.size(), 1u);
  EXPECT_EQ(ex[0].exemplars[0].labels.ToString(),
            "{span_id=\"0102030405060708\", trace_id=\"0102030405060708090a0b0c0d0e0f10\"}");
  EXPECT_EQ(ex[0].exemplars[0].value, 1);
  EXPECT_EQ(ex[0].exemplars[0].t, kNowMs - 1000);

  // The counters Push keeps: 16 samples in and received, 1 exemplar, 4 metadata, 10 series.
  const std::string text = registry_.RenderText();
  EXPECT_THAT(text, HasSubstr("cortex_distributor_samples_in_total{user=\"anonymous\"} 16"));
  EXPECT_THAT(text, HasSubstr("cortex_distributor_received_samples_total{user=\"anonymous\"} 16"));
  EXPECT_THAT(text, HasSubstr("cortex_distributor_received_exemplars_total{user=\"anonymous\"} 1"));
  EXPECT_THAT(text, HasSubstr("cortex_distributor_received_metadata_total{user=\"anonymous\"} 4"));
  EXPECT_THAT(text, HasSubstr("cortex_ingester_memory_series_created_total{user=\"anonymous\"} 8"));
  EXPECT_THAT(text, HasSubstr("cortex_ingester_ingested_samples_total 16"));
}

TEST_F(StoreOtlpTest, TheSameRequestByRemoteWriteGivesTheSameData) {
  auto store = Open(Options());
  const OtlpIngestResult r = ExpectSameAsRemoteWrite(*store, FiveKinds(), "rw", "otlp");
  EXPECT_TRUE(r.ok());
}

TEST_F(StoreOtlpTest, SeriesLimitRefusesAsRemoteWriteDoes) {
  MetricsStoreOptions o = Options();
  o.config.max_global_series_per_user = 3;
  auto store = Open(std::move(o));
  // 8 series; the first 3 in the translation's order (the gauge, the counter, the histogram's
  // _sum) are created, the other 5 refused with Mimir's per-user series limit.
  const OtlpIngestResult r = ExpectSameAsRemoteWrite(*store, FiveKinds(), "rw", "otlp");
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message, HasSubstr("(err-mimir-max-series-per-user)"));
  EXPECT_THAT(r.message, HasSubstr("limit of 3"));
  EXPECT_TRUE(r.permanent());
  EXPECT_TRUE(otlp::IsPermanent(r.ToStatus()));
  EXPECT_EQ(r.samples_stored, 6);
  EXPECT_EQ(r.samples_refused, 10);
  Floats floats;
  Histograms histograms;
  ReadAll(*store, "otlp", &floats, &histograms);
  EXPECT_EQ(floats.size(), 3u);
  EXPECT_TRUE(histograms.empty());
  EXPECT_THAT(registry_.RenderText(),
              HasSubstr("cortex_discarded_samples_total{reason=\"per_user_series_limit\","
                        "user=\"otlp\"} 10"));
}

TEST_F(StoreOtlpTest, RateLimitRefusesTheWholeRequestAndIsRetryable) {
  MetricsStoreOptions o = Options();
  o.config.ingestion_rate = 1;
  o.config.ingestion_burst_size = 20;  // fewer than 16 samples + 1 exemplar + 4 metadata
  auto store = Open(std::move(o));
  const OtlpIngestResult r = ExpectSameAsRemoteWrite(*store, FiveKinds(), "rw", "otlp");
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.message, store->RateLimitedMessage());
  EXPECT_TRUE(r.retryable());
  EXPECT_FALSE(r.permanent());
  EXPECT_EQ(r.ToStatus().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(otlp::IsPermanent(r.ToStatus()));
  EXPECT_EQ(r.samples_stored, 0);
  EXPECT_EQ(r.samples_refused, 16);
  Floats floats;
  Histograms histograms;
  ReadAll(*store, "otlp", &floats, &histograms);
  EXPECT_TRUE(floats.empty());
  EXPECT_TRUE(histograms.empty());
  EXPECT_THAT(
      registry_.RenderText(),
      HasSubstr("cortex_discarded_samples_total{reason=\"rate_limited\",user=\"otlp\"} 16"));
}

TEST_F(StoreOtlpTest, ExemplarsLimitZeroDropsExemplarsAsRemoteWriteDoes) {
  MetricsStoreOptions o = Options();
  o.config.max_global_exemplars_per_user = 0;  // Mimir's default: exemplars off
  auto store = Open(std::move(o));
  const OtlpIngestResult r = ExpectSameAsRemoteWrite(*store, FiveKinds(), "rw", "otlp");
  EXPECT_TRUE(r.ok());
  const std::vector<tsdb::Matcher> all = {
      tsdb::Matcher::MustCreate(tsdb::Matcher::Type::kRegexMatch, "__name__", ".+")};
  EXPECT_TRUE(store->FindHead("otlp")->Exemplars(all, INT64_MIN, INT64_MAX).empty());
}

TEST_F(StoreOtlpTest, OutOfOrderAndDuplicateSamplesAreRefusedAsRemoteWriteRefusesThem) {
  auto store = Open(Options());
  ASSERT_TRUE(store->IngestOtlp("otlp", FiveKinds(), Settings()).ok());
  ASSERT_TRUE(store
                  ->Push("rw",
                         [&] {
                           prometheus::WriteRequest w;
                           std::vector<std::string> errors;
                           int64_t dropped = 0;
                           otlp::TranslateMetrics(FiveKinds(), Settings(), &w, &errors, &dropped);
                           return testutil::Snappy(w.SerializeAsString());
                         }())
                  .ok());
  // The gauge again at its first timestamp with another value: a duplicate timestamp; and at
  // an older time: out of order.
  const Request again = FromJson(R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"shop"}},
      {"key":"service.instance.id","value":{"stringValue":"i-1"}}]},
    "scopeMetrics":[{"scope":{"name":"io.sprout.test","version":"1.0"},"metrics":[
      {"name":"room.temperature","unit":"Cel","gauge":{"dataPoints":[
        {"timeUnixNano":"1700000000000000000","asDouble":99,"attributes":[{"key":"room","value":{"stringValue":"kitchen"}}]},
        {"timeUnixNano":"1699999990000000000","asDouble":98,"attributes":[{"key":"room","value":{"stringValue":"kitchen"}}]}]}}
    ]}]}]})");
  const OtlpIngestResult r = ExpectSameAsRemoteWrite(*store, again, "rw", "otlp");
  EXPECT_EQ(r.http_status, 400);
  // The translation sorts the series' samples by time: the older one comes first and is the
  // first refusal.
  EXPECT_THAT(r.message, HasSubstr("(err-mimir-sample-out-of-order)"));
  EXPECT_EQ(r.samples_refused, 2);
  EXPECT_THAT(registry_.RenderText(),
              HasSubstr("cortex_discarded_samples_total{reason=\"new-value-for-timestamp\","
                        "user=\"otlp\"} 1"));
}

TEST_F(StoreOtlpTest, MixedRequestStoresTheGoodPartAndReportsAPermanentError) {
  auto store = Open(Options());
  const Request mixed = FromJson(R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"shop"}}]},
    "scopeMetrics":[{"metrics":[
      {"name":"good","gauge":{"dataPoints":[{"timeUnixNano":"1700000000000000000","asDouble":1}]}},
      {"name":"long","gauge":{"dataPoints":[{"timeUnixNano":"1700000000000000000","asDouble":2,
        "attributes":[{"key":"k","value":{"stringValue":")" +
                                 std::string(3000, 'v') + R"("}}]}]}},
      {"name":"delta","sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[
        {"timeUnixNano":"1700000000000000000","asInt":"1"}]}},
      {"name":"also.good","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[
        {"timeUnixNano":"1700000000000000000","asInt":"7"}]}}
    ]}]}]})");
  const OtlpIngestResult r = ExpectSameAsRemoteWrite(*store, mixed, "rw", "otlp");
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message, StartsWith("received a series whose label value length exceeds the "
                                    "limit, label: 'k'"));
  ASSERT_EQ(r.translation_errors.size(), 1u);
  EXPECT_EQ(r.translation_errors[0],
            "invalid temporality and type combination for metric \"delta\"");
  EXPECT_EQ(r.dropped_points, 1);
  EXPECT_EQ(r.samples_stored, 2);
  EXPECT_EQ(r.samples_refused, 1);
  EXPECT_TRUE(r.permanent());
  const absl::Status status = r.ToStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(otlp::IsPermanent(status));
  EXPECT_THAT(status.message(), HasSubstr("err-mimir-label-value-too-long"));
  EXPECT_THAT(status.message(), HasSubstr("; invalid temporality and type combination"));

  Floats floats;
  Histograms histograms;
  ReadAll(*store, "otlp", &floats, &histograms);
  const Floats want = {{"{__name__=\"also_good_total\", job=\"shop\"}", {{kNowMs, 7}}},
                       {"{__name__=\"good\", job=\"shop\"}", {{kNowMs, 1}}}};
  EXPECT_EQ(floats, want);
  EXPECT_THAT(registry_.RenderText(),
              HasSubstr("cortex_discarded_samples_total{reason=\"label_value_too_long\","
                        "user=\"otlp\"} 1"));
}

TEST_F(StoreOtlpTest, TranslationErrorsAloneArePermanent) {
  auto store = Open(Options());
  const Request delta = FromJson(R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
      {"name":"delta","sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[
        {"timeUnixNano":"1700000000000000000","asInt":"1"}]}}]}]}]})");
  const OtlpIngestResult r = store->IngestOtlp("anonymous", delta, Settings());
  EXPECT_EQ(r.http_status, 200);  // nothing reached the store to refuse
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.permanent());
  EXPECT_EQ(r.ToStatus().message(),
            "invalid temporality and type combination for metric \"delta\"");
}

TEST_F(StoreOtlpTest, BeforeStartAndBadTenantsAreRefused) {
  MetricsStore store(Options());
  const OtlpIngestResult early = store.IngestOtlp("anonymous", FiveKinds(), Settings());
  EXPECT_EQ(early.http_status, 503);
  EXPECT_TRUE(early.retryable());
  EXPECT_EQ(early.ToStatus().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(store.Start().ok());
  const OtlpIngestResult bad = store.IngestOtlp("a/b", FiveKinds(), Settings());
  EXPECT_EQ(bad.http_status, 400);
  EXPECT_EQ(bad.message, "tenant ID 'a/b' contains unsupported character '/'");
  EXPECT_TRUE(bad.permanent());
  EXPECT_EQ(store.FindHead("a/b"), nullptr);
}

}  // namespace
}  // namespace sprout::metrics
