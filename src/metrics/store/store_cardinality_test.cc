// The cardinality endpoints (metrics/api/cardinality.h) over a real store, server and client:
// a known series set, every count written down from its construction.
#include <memory>
#include <string>

#include "base/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/api/metrics_api.h"
#include "metrics/store/http.h"
#include "metrics/store/store.h"
#include "metrics/store/store_test_util.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics {
namespace {

using testutil::WriteBuilder;

constexpr int64_t kNowMs = 1'700'000'000'000;
constexpr int64_t kRecent = kNowMs - 60'000;    // 1 min ago: active
constexpr int64_t kOld = kNowMs - 30 * 60'000;  // 30 min ago: not active (idle 20 min)

class CardinalityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MetricsStoreOptions o;
    o.config = LocalDefaults();
    o.config.multitenancy_enabled = true;
    o.config.tsdb_dir = "/data/tsdb";
    o.config.past_grace_period = absl::ZeroDuration();
    o.env = &env_;
    o.registry = &registry_;
    o.now_ms = [] { return kNowMs; };
    o.monotonic_ns = [this] { return mono_ns_; };
    store_ = std::make_unique<MetricsStore>(o);
    ASSERT_TRUE(store_->Start().ok());
    ASSERT_TRUE(StartServer(true, &api_, &server_, &base_).ok());
    ASSERT_TRUE(StartServer(false, &api_off_, &server_off_, &base_off_).ok());
    auto client = net::HttpClient::Create({});
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    if (server_off_) server_off_->Shutdown(absl::Seconds(1));
    store_->Close();
  }
  absl::Status StartServer(bool enabled, std::unique_ptr<api::MetricsApi>* api,
                           std::unique_ptr<net::HttpServer>* server, std::string* base) {
    api::MetricsApiOptions a;
    a.tenants = {true, "anonymous"};
    a.registry = &registry_;
    a.queryable = store_.get();
    a.now_ms = [] { return kNowMs; };
    a.cardinality.enabled = enabled;
    *api = std::make_unique<api::MetricsApi>(a);
    net::Router router;
    RETURN_IF_ERROR((*api)->Register(&router));
    RETURN_IF_ERROR(RegisterStoreRoutes(store_.get(), &registry_, &router));
    net::HttpServerOptions so;
    so.endpoint = "127.0.0.1:0";
    so.worker_threads = 2;
    ASSIGN_OR_RETURN(*server, net::HttpServer::Start(so, std::move(router)));
    *base = "http://127.0.0.1:" + std::to_string((*server)->port());
    return absl::OkStatus();
  }
  // 8 series: http_requests_total{job=api,method=GET|POST|PUT}, {job=web,method=GET};
  // up{job=api|web|db}; temp{room=a} (its only sample 30 min old).
  void WriteSet() {
    WriteBuilder w;
    for (const char* m : {"GET", "POST", "PUT"}) {
      w.Series({"__name__", "http_requests_total", "job", "api", "method", m}).Sample(kRecent, 1);
    }
    w.Series({"__name__", "http_requests_total", "job", "web", "method", "GET"}).Sample(kRecent, 1);
    for (const char* j : {"api", "web", "db"}) {
      w.Series({"__name__", "up", "job", j}).Sample(kRecent, 1);
    }
    w.Series({"__name__", "temp", "room", "a"}).Sample(kOld, 20);
    net::HttpClientResponse r = client_->Do("POST", base_ + "/api/v1/push",
                                            {{"Content-Type", "application/x-protobuf"},
                                             {"Content-Encoding", "snappy"},
                                             {"X-Scope-OrgID", "team-1"}},
                                            w.Body(), absl::Seconds(10));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  net::HttpClientResponse Get(const std::string& path, bool enabled = true) {
    return client_->Do("GET", (enabled ? base_ : base_off_) + path, {{"X-Scope-OrgID", "team-1"}},
                       "", absl::Seconds(10));
  }

  int64_t mono_ns_ = 1'000'000'000;
  storage::FaultInjectionEnv env_;
  MetricsRegistry registry_;
  std::unique_ptr<MetricsStore> store_;
  std::unique_ptr<api::MetricsApi> api_, api_off_;
  std::unique_ptr<net::HttpServer> server_, server_off_;
  std::unique_ptr<net::HttpClient> client_;
  std::string base_, base_off_;
};

TEST_F(CardinalityTest, TsdbStatus) {
  net::HttpClientResponse r = Get("/api/v1/status/tsdb");
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":0,\"numLabelPairs\":0,"
            "\"chunkCount\":0,\"minTime\":9223372036854775807,\"maxTime\":-9223372036854775808},"
            "\"seriesCountByMetricName\":[],\"labelValueCountByLabelName\":[],"
            "\"memoryInBytesByLabelName\":[],\"seriesCountByLabelValuePair\":[]}}");
  WriteSet();
  const std::string want =
      "{\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":8,\"numLabelPairs\":10,"
      "\"chunkCount\":8,\"minTime\":" +
      std::to_string(kOld) + ",\"maxTime\":" + std::to_string(kRecent) +
      "},\"seriesCountByMetricName\":[{\"name\":\"http_requests_total\",\"value\":4},"
      "{\"name\":\"up\",\"value\":3},{\"name\":\"temp\",\"value\":1}],"
      "\"labelValueCountByLabelName\":[{\"name\":\"__name__\",\"value\":3},{\"name\":\"job\","
      "\"value\":3},{\"name\":\"method\",\"value\":3},{\"name\":\"room\",\"value\":1}],"
      // 19 + 2 + 4 bytes of metric names, GET POST PUT, api web db, a
      "\"memoryInBytesByLabelName\":[{\"name\":\"__name__\",\"value\":25},{\"name\":\"method\","
      "\"value\":10},{\"name\":\"job\",\"value\":8},{\"name\":\"room\",\"value\":1}],"
      "\"seriesCountByLabelValuePair\":[{\"name\":\"__name__=http_requests_total\",\"value\":4},"
      "{\"name\":\"job=api\",\"value\":4},{\"name\":\"__name__=up\",\"value\":3},"
      "{\"name\":\"job=web\",\"value\":2},{\"name\":\"method=GET\",\"value\":2},"
      "{\"name\":\"__name__=temp\",\"value\":1},{\"name\":\"job=db\",\"value\":1},"
      "{\"name\":\"method=POST\",\"value\":1},{\"name\":\"method=PUT\",\"value\":1},"
      "{\"name\":\"room=a\",\"value\":1}]}}";
  EXPECT_EQ(Get("/api/v1/status/tsdb").body, want);
  EXPECT_EQ(Get("/prometheus/api/v1/status/tsdb").body, want);
  EXPECT_THAT(Get("/api/v1/status/tsdb?limit=1").body,
              ::testing::HasSubstr("\"seriesCountByMetricName\":[{\"name\":\"http_requests_total\","
                                   "\"value\":4}],"));
  r = Get("/api/v1/status/tsdb?limit=0");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"limit must be a positive "
            "number\"}");
}

TEST_F(CardinalityTest, LabelNames) {
  WriteSet();
  EXPECT_EQ(Get("/api/v1/cardinality/label_names").body,
            "{\"label_values_count_total\":10,\"label_names_count\":4,\"cardinality\":["
            "{\"label_name\":\"__name__\",\"label_values_count\":3},{\"label_name\":\"job\","
            "\"label_values_count\":3},{\"label_name\":\"method\",\"label_values_count\":3},"
            "{\"label_name\":\"room\",\"label_values_count\":1}]}\n");
  // job="api": three http_requests_total and one up.
  EXPECT_EQ(Get("/prometheus/api/v1/cardinality/label_names?selector=%7Bjob%3D%22api%22%7D").body,
            "{\"label_values_count_total\":6,\"label_names_count\":3,\"cardinality\":["
            "{\"label_name\":\"method\",\"label_values_count\":3},{\"label_name\":\"__name__\","
            "\"label_values_count\":2},{\"label_name\":\"job\",\"label_values_count\":1}]}\n");
  // active: temp{room="a"} is 30 min old.
  EXPECT_EQ(Get("/api/v1/cardinality/label_names?count_method=active&limit=2").body,
            "{\"label_values_count_total\":8,\"label_names_count\":3,\"cardinality\":["
            "{\"label_name\":\"job\",\"label_values_count\":3},{\"label_name\":\"method\","
            "\"label_values_count\":3}]}\n");
  // `{}` and all-empty-matching selectors are accepted, as Prometheus's ParseMetricSelector.
  for (const char* selector : {"%7B%7D", "%7Bjob%3D~%22.*%22%7D"}) {
    EXPECT_EQ(Get(std::string("/api/v1/cardinality/label_names?limit=1&selector=") + selector).body,
              "{\"label_values_count_total\":10,\"label_names_count\":4,\"cardinality\":["
              "{\"label_name\":\"__name__\",\"label_values_count\":3}]}\n")
        << selector;
  }
  EXPECT_EQ(Get("/api/v1/cardinality/label_names?limit=0").body,
            "{\"label_values_count_total\":10,\"label_names_count\":4,\"cardinality\":[]}\n");
}

TEST_F(CardinalityTest, LabelValues) {
  WriteSet();
  const std::string want =
      "{\"series_count_total\":8,\"labels\":[{\"label_name\":\"job\",\"label_values_count\":3,"
      "\"series_count\":7,\"cardinality\":[{\"label_value\":\"api\",\"series_count\":4},"
      "{\"label_value\":\"web\",\"series_count\":2},{\"label_value\":\"db\",\"series_count\":1}]},"
      "{\"label_name\":\"method\",\"label_values_count\":3,\"series_count\":4,\"cardinality\":["
      "{\"label_value\":\"GET\",\"series_count\":2},{\"label_value\":\"POST\",\"series_count\":1},"
      "{\"label_value\":\"PUT\",\"series_count\":1}]}]}\n";
  EXPECT_EQ(Get("/api/v1/cardinality/label_values?label_names[]=method&label_names[]=job").body,
            want);
  EXPECT_EQ(
      Get("/api/v1/cardinality/label_values?label_names%5B%5D=job&selector=up&limit=1").body,
      "{\"series_count_total\":8,\"labels\":[{\"label_name\":\"job\",\"label_values_count\":3,"
      "\"series_count\":3,\"cardinality\":[{\"label_value\":\"api\",\"series_count\":1}]}]}\n");
  // A name no series carries is answered with zeros.
  EXPECT_EQ(
      Get("/api/v1/cardinality/label_values?label_names[]=room&count_method=active").body,
      "{\"series_count_total\":7,\"labels\":[{\"label_name\":\"room\",\"label_values_count\":0,"
      "\"series_count\":0,\"cardinality\":[]}]}\n");
}

TEST_F(CardinalityTest, ActiveSeriesAndUserStats) {
  WriteSet();
  EXPECT_EQ(Get("/api/v1/cardinality/active_series?selector=up").body,
            "{\"data\":[{\"__name__\":\"up\",\"job\":\"api\"},{\"__name__\":\"up\",\"job\":\"db\"},"
            "{\"__name__\":\"up\",\"job\":\"web\"}]}");
  EXPECT_EQ(Get("/api/v1/cardinality/active_series?selector=temp").body, "{\"data\":[]}");
  // 8 samples in the first 15 s tick: 8/15 per second.
  mono_ns_ += 15'000'000'000;
  EXPECT_EQ(Get("/api/v1/user_stats").body,
            "{\"ingestionRate\":0.5333333333333333,\"numSeries\":8,\"APIIngestionRate\":"
            "0.5333333333333333,\"RuleIngestionRate\":0}\n");
  // The next tick without samples: 20 % towards 0.
  mono_ns_ += 15'000'000'000;
  EXPECT_EQ(Get("/api/v1/user_stats").body,
            "{\"ingestionRate\":0.42666666666666664,\"numSeries\":8,\"APIIngestionRate\":"
            "0.42666666666666664,\"RuleIngestionRate\":0}\n");
  EXPECT_EQ(Get("/prometheus/api/v1/user_stats").status, 404);
}

TEST_F(CardinalityTest, MimirErrors) {
  struct Case {
    std::string path;
    std::string body;
  } cases[] = {
      {"/api/v1/cardinality/label_values", "'label_names[]' param is required\n"},
      {"/api/v1/cardinality/label_values?label_names[]=", "invalid 'label_names' param ''\n"},
      {"/api/v1/cardinality/label_names?limit=501", "'limit' param cannot be greater than '500'\n"},
      {"/api/v1/cardinality/label_names?limit=-1", "'limit' param cannot be less than '0'\n"},
      {"/api/v1/cardinality/label_names?limit=x", "strconv.Atoi: parsing \"x\": invalid syntax\n"},
      {"/api/v1/cardinality/label_names?limit=1&limit=2",
       "multiple 'limit' params are not allowed\n"},
      {"/api/v1/cardinality/label_names?count_method=all",
       "invalid 'count_method' param 'all'. valid options are: [active,inmemory]\n"},
      {"/api/v1/cardinality/label_names?selector=a&selector=b",
       "multiple 'selector' params are not allowed\n"},
      {"/api/v1/cardinality/active_series", "missing 'selector' parameter\n"},
  };
  for (const Case& c : cases) {
    net::HttpClientResponse r = Get(c.path);
    EXPECT_EQ(r.status, 400) << c.path;
    EXPECT_EQ(r.body, c.body) << c.path;
  }
  net::HttpClientResponse r = Get("/api/v1/cardinality/label_names?selector=some%7B");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            "failed to parse selector: 1:6: parse error: unexpected end of input inside braces\n");
  for (const char* path : {"/api/v1/cardinality/label_names", "/api/v1/cardinality/active_series",
                           "/api/v1/cardinality/label_values?label_names[]=job"}) {
    r = Get(path, false);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, "cardinality analysis is disabled for the tenant: team-1\n");
  }
  r = client_->Do("GET", base_ + "/api/v1/cardinality/label_names", {}, "", absl::Seconds(10));
  EXPECT_EQ(r.status, 401);
}

}  // namespace
}  // namespace sprout::metrics
