// The store's routes and MetricsApi's read routes over a real HTTP server and client.
#include "metrics/store/http.h"

#include <bit>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/api/metrics_api.h"
#include "metrics/store/store_http_test_util.h"
#include "metrics/store/store_test_util.h"
#include "net/compression.h"
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

// Remote write 2.0 bodies written by hand from the spec's field numbers.
namespace rw2 {
void Varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
std::string Len(int number, const std::string& payload) {
  std::string out;
  Varint((static_cast<uint64_t>(number) << 3) | 2, &out);
  Varint(payload.size(), &out);
  return out + payload;
}
std::string VarintField(int number, uint64_t v) {
  std::string out;
  Varint(static_cast<uint64_t>(number) << 3, &out);
  Varint(v, &out);
  return out;
}
std::string Double(int number, double d) {
  std::string out;
  Varint((static_cast<uint64_t>(number) << 3) | 1, &out);
  const auto bits = std::bit_cast<uint64_t>(d);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
  return out;
}
// symbols "", __name__, up, job, a; one series {__name__="up", job="a"} with `refs`.
std::string Request(const std::vector<uint64_t>& refs, int64_t t, double v) {
  std::string packed;
  for (uint64_t r : refs) Varint(r, &packed);
  std::string wire;
  for (const char* s : {"", "__name__", "up", "job", "a"}) wire += Len(4, s);
  wire += Len(5, Len(1, packed) + Len(2, Double(1, v) + VarintField(2, static_cast<uint64_t>(t))) +
                     Len(4, Double(2, v) + VarintField(3, static_cast<uint64_t>(t))));
  return *net::Compress(net::Codec::kSnappy, wire);
}
}  // namespace rw2

TEST_F(StoreHttpTest, RemoteWrite2NegotiationStatusAndWrittenHeaders) {
  auto post = [&](const std::string& path, const std::string& body, const std::string& type,
                  const std::string& encoding = "snappy") {
    std::vector<std::pair<std::string, std::string>> headers = {{"X-Scope-OrgID", "team-1"}};
    if (!type.empty()) headers.emplace_back("Content-Type", type);
    if (!encoding.empty()) headers.emplace_back("Content-Encoding", encoding);
    return client_->Do("POST", base_ + path, headers, body, absl::Seconds(10));
  };
  auto header = [](const net::HttpClientResponse& r, std::string_view name) -> std::string {
    for (const auto& [k, v] : r.headers) {
      if (absl::EqualsIgnoreCase(k, std::string(name))) return v;
    }
    return "<none>";
  };
  const std::string v2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
  // 2.0 on both routes: 204 and the counts (one sample; its exemplar has no labels: dropped).
  for (const char* path : {"/api/v1/push", "/api/v1/write"}) {
    net::HttpClientResponse r = post(path, rw2::Request({1, 2, 3, 4}, 1000, 1), v2);
    EXPECT_EQ(r.status, 204) << path << r.body;
    EXPECT_EQ(header(r, "X-Prometheus-Remote-Write-Samples-Written"), "1") << path;
    EXPECT_EQ(header(r, "X-Prometheus-Remote-Write-Histograms-Written"), "0");
    EXPECT_EQ(header(r, "X-Prometheus-Remote-Write-Exemplars-Written"), "0");
  }
  // A bad symbol reference: 400 naming it, with the headers (nothing written).
  net::HttpClientResponse r = post("/api/v1/push", rw2::Request({1, 2, 3, 9}, 2000, 1), v2);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("labels_refs[3]: 9"));
  EXPECT_EQ(header(r, "X-Prometheus-Remote-Write-Samples-Written"), "0");
  // 1.0 with its explicit proto parameter, and without a Content-Type at all.
  WriteBuilder w;
  w.Series({"__name__", "up", "job", "b"}).Sample(1000, 1);
  r = post("/api/v1/push", w.Body(), "application/x-protobuf;proto=prometheus.WriteRequest");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header(r, "X-Prometheus-Remote-Write-Samples-Written"), "<none>");
  r = post("/api/v1/write", w.Body(), "", "");
  EXPECT_EQ(r.status, 204) << r.body;
  // 415: another media type, another proto, another encoding.
  r = post("/api/v1/push", w.Body(), "application/json");
  EXPECT_EQ(r.status, 415);
  EXPECT_THAT(r.body, HasSubstr("unsupported Content-Type \"application/json\""));
  r = post("/api/v1/write", w.Body(),
           "application/x-protobuf;proto=io.prometheus.write.v3.Request");
  EXPECT_EQ(r.status, 415);
  r = post("/api/v1/push", w.Body(), v2, "gzip");
  EXPECT_EQ(r.status, 415);
  EXPECT_THAT(r.body, HasSubstr("unsupported Content-Encoding \"gzip\""));
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
