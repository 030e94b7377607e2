// The store's routes and MetricsApi's read routes over a real HTTP server and client.
#include "metrics/store/http.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/api/metrics_api.h"
#include "metrics/store/store_http_test_util.h"
#include "metrics/store/store_test_util.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics {
namespace {

using ::testing::HasSubstr;
using testutil::ReadRequestBody;
using testutil::WriteBuilder;

class StoreHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MetricsStoreOptions o;
    o.config = LocalDefaults();
    o.config.multitenancy_enabled = true;
    o.config.tsdb_dir = "/data/tsdb";
    o.config.max_recv_msg_size = 4096;
    o.env = &env_;
    o.registry = &registry_;
    store_ = std::make_unique<MetricsStore>(o);
    ASSERT_TRUE(store_->Start().ok());
    absl::Status started =
        StartStoreHttp(store_.get(), &registry_, 4096, &api_, &server_, &client_, &base_);
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    store_->Close();
  }
  net::HttpClientResponse Post(const std::string& path, const std::string& body,
                               const std::string& tenant = "team-1") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "snappy"}};
    if (!tenant.empty()) headers.emplace_back("X-Scope-OrgID", tenant);
    return client_->Do("POST", base_ + path, headers, body, absl::Seconds(10));
  }
  net::HttpClientResponse Get(const std::string& path, const std::string& tenant = "team-1") {
    return client_->Do("GET", base_ + path, {{"X-Scope-OrgID", tenant}}, "", absl::Seconds(10));
  }
  static std::string HeaderOf(const net::HttpClientResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  storage::FaultInjectionEnv env_;
  MetricsRegistry registry_;
  std::unique_ptr<MetricsStore> store_;
  std::unique_ptr<api::MetricsApi> api_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<net::HttpClient> client_;
  std::string base_;
};

TEST_F(StoreHttpTest, PushThenReadOverHttp) {
  WriteBuilder w;
  w.Series({"__name__", "up", "job", "a"}).Sample(1000, 1);
  net::HttpClientResponse r = Post("/api/v1/push", w.Body());
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(r.body, "");
  WriteBuilder w2;
  w2.Series({"__name__", "up", "job", "b"}).Sample(1000, 1);
  r = Post("/api/v1/write", w2.Body());
  EXPECT_EQ(r.status, 204) << r.body;

  r = Get("/prometheus/api/v1/series?match[]=up");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"job\":\"a\"},"
            "{\"__name__\":\"up\",\"job\":\"b\"}]}");
  r = Get("/api/v1/label/job/values");
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"a\",\"b\"]}");
  r = Get("/api/v1/labels", "other-team");
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[]}");

  for (const char* path : {"/api/v1/read", "/prometheus/api/v1/read"}) {
    r = Post(path, ReadRequestBody({{0, 5000, {"up"}}}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(HeaderOf(r, "content-type"), "application/x-protobuf");
    EXPECT_EQ(HeaderOf(r, "content-encoding"), "snappy");
    prometheus::ReadResponse rr;
    ASSERT_TRUE(testutil::ParseReadResponse(r.body, &rr));
    ASSERT_EQ(rr.results_size(), 1);
    EXPECT_EQ(rr.results(0).timeseries_size(), 2);
  }
  EXPECT_THAT(Get("/metrics").body,
              HasSubstr("sprout_metrics_http_requests_total{method=\"POST\",route=\"/api/v1/push\","
                        "status_code=\"200\"} 1"));
}

TEST_F(StoreHttpTest, ErrorsCarryTheirStatusAndText) {
  WriteBuilder w;
  w.Series({"__name__", "up"}).Sample(1000, 1);
  net::HttpClientResponse r = Post("/api/v1/push", w.Body(), "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "no org id\n");

  WriteBuilder bad;
  bad.Series({"job", "x"}).Sample(1000, 1);
  r = Post("/api/v1/push", bad.Body());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "received series has no metric name (err-mimir-missing-metric-name)\n");

  r = Post("/api/v1/push", std::string(5000, 'x'));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body,
              HasSubstr("message size of 5000 bytes (compressed) is larger than the allowed "
                        "limit of 4096 bytes (err-mimir-distributor-max-write-message-size)"));

  r = Post("/api/v1/read", "junk");
  EXPECT_EQ(r.status, 400);
}

}  // namespace
}  // namespace sprout::metrics
