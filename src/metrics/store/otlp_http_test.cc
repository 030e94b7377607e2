// POST /otlp/v1/metrics (RegisterOtlpRoute) over a real HTTP server and client: protobuf and
// OTLP/JSON bodies, gzip and zstd, what the store holds afterwards (read through its querier),
// partial success, the retryable and the refused cases, and the size limit.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "metrics/store/http.h"
#include "metrics/store/store.h"
#include "net/compression.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "otlp/json.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics {
namespace {

using ::testing::HasSubstr;
using Request = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using Response = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse;

constexpr int64_t kNowMs = 1700000000000;

// One resource (service.name=shop, service.instance.id=i-1) and scope, three metrics at kNowMs:
//  - a cumulative monotonic sum `http.requests` {request} = 15 → http_requests_total;
//  - a gauge `room.temperature` Cel {room=kitchen} = 22 → room_temperature_celsius;
//  - a cumulative histogram `request.duration` s, bounds [0.1, 1], counts [2, 3, 1], sum 2.5 →
//    request_duration_seconds_bucket{le=0.1,1,+Inf} = 2, 5, 6, _sum 2.5, _count 6.
// With `delta`, a fourth metric: a delta sum `orders` of one point (refused by the translation).
std::string RequestJson(bool delta = false, const std::string& time_ns = "1700000000000000000") {
  std::string json = R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"shop"}},
      {"key":"service.instance.id","value":{"stringValue":"i-1"}}]},
    "scopeMetrics":[{"scope":{"name":"io.sprout.test","version":"1.0"},"metrics":[
      {"name":"http.requests","unit":"{request}","sum":{"aggregationTemporality":2,"isMonotonic":true,
        "dataPoints":[{"timeUnixNano":"T","asInt":"15"}]}},
      {"name":"room.temperature","unit":"Cel","gauge":{"dataPoints":[
        {"timeUnixNano":"T","asDouble":22,"attributes":[{"key":"room","value":{"stringValue":"kitchen"}}]}]}},
      {"name":"request.duration","unit":"s","histogram":{"aggregationTemporality":2,"dataPoints":[
        {"timeUnixNano":"T","count":"6","sum":2.5,"explicitBounds":[0.1,1],"bucketCounts":["2","3","1"]}]}})";
  if (delta) {
    json += R"(,
      {"name":"orders","sum":{"aggregationTemporality":1,"isMonotonic":true,
        "dataPoints":[{"timeUnixNano":"T","asInt":"3"}]}})";
  }
  json += "]}]}]}";
  for (size_t at = json.find("\"T\""); at != std::string::npos; at = json.find("\"T\"")) {
    json.replace(at, 3, "\"" + time_ns + "\"");
  }
  return json;
}

std::string RequestProto(bool delta = false) {
  Request r;
  absl::Status s = otlp::ParseJson(RequestJson(delta), &r);
  EXPECT_TRUE(s.ok()) << s;
  return r.SerializeAsString();
}

// The series as the remote-write exporter's translation names them (suffixes on, target_info
// off here: the resource has only service.name and service.instance.id), scope labels on.
const std::map<std::string, double>& Expected() {
  static const auto* expected = new std::map<std::string, double>{
      {"http_requests_total", 15},
      {"room_temperature_celsius", 22},
      {"request_duration_seconds_bucket{le=\"0.1\"}", 2},
      {"request_duration_seconds_bucket{le=\"1\"}", 5},
      {"request_duration_seconds_bucket{le=\"+Inf\"}", 6},
      {"request_duration_seconds_sum", 2.5},
      {"request_duration_seconds_count", 6},
  };
  return *expected;
}

class OtlpHttpTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(LocalDefaults()); }
  void Start(MetricsConfig config) {
    MetricsStoreOptions o;
    o.config = std::move(config);
    o.config.multitenancy_enabled = true;
    o.config.tsdb_dir = "/data/tsdb";
    o.config.max_recv_msg_size = 4096;
    o.config.compactor_compaction_interval = absl::ZeroDuration();
    o.env = &env_;
    o.registry = &registry_;
    o.now_ms = [] { return kNowMs; };
    store_ = std::make_unique<MetricsStore>(o);
    ASSERT_TRUE(store_->Start().ok());
    net::Router router;
    router.SetTenants({true, "anonymous"});
    ASSERT_TRUE(RegisterOtlpRoute(store_.get(), &registry_, &router, route_).ok());
    net::HttpServerOptions server_options;
    server_options.endpoint = "127.0.0.1:0";
    server_options.max_request_body_size = 4096;
    server_options.worker_threads = 2;
    auto server = net::HttpServer::Start(server_options, std::move(router));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto client = net::HttpClient::Create({});
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    store_->Close();
  }
  net::HttpClientResponse Post(const std::string& body, const std::string& content_type,
                               const std::string& encoding = "",
                               const std::string& tenant = "team-1") {
    std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", content_type}};
    if (!encoding.empty()) headers.emplace_back("Content-Encoding", encoding);
    if (!tenant.empty()) headers.emplace_back("X-Scope-OrgID", tenant);
    return client_->Do("POST", base_ + "/otlp/v1/metrics", headers, body, absl::Seconds(10));
  }
  static std::string HeaderOf(const net::HttpClientResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  // name{labels other than job, instance and the scope's} → the latest value.
  std::map<std::string, double> Stored(const std::string& tenant) {
    std::map<std::string, double> out;
    const std::vector<tsdb::Matcher> all = {
        tsdb::Matcher::MustCreate(tsdb::Matcher::Type::kRegexMatch, "__name__", ".+")};
    absl::Status s = store_->SelectSamples(
        tenant, all, INT64_MIN, INT64_MAX,
        [&](const tsdb::Labels& labels, std::span<const tsdb::QuerySample> samples) {
          std::string name;
          std::string rest;
          bool scope = false, job = false;
          for (const tsdb::Label label : labels) {
            const std::string_view k = label.name, v = label.value;
            if (k == "__name__") {
              name = std::string(v);
            } else if (k == "job") {
              job = v == "shop";
            } else if (k == "otel_scope_name") {
              scope = v == "io.sprout.test";
            } else if (k != "instance" && k != "otel_scope_version") {
              rest += (rest.empty() ? "" : ",") + std::string(k) + "=\"" + std::string(v) + "\"";
            }
          }
          EXPECT_TRUE(job && scope) << labels.ToString();
          if (name == "room_temperature_celsius" || name == "room_temperature") {
            EXPECT_EQ(rest, "room=\"kitchen\"");
            rest.clear();
          }
          out[rest.empty() ? name : name + "{" + rest + "}"] = samples.back().v;
          EXPECT_EQ(samples.back().t, kNowMs);
        });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  OtlpRouteOptions route_;
  storage::FaultInjectionEnv env_;
  MetricsRegistry registry_;
  std::unique_ptr<MetricsStore> store_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<net::HttpClient> client_;
  std::string base_;
};

TEST_F(OtlpHttpTest, ProtobufIsStoredAndAnsweredInProtobuf) {
  net::HttpClientResponse r = Post(RequestProto(), "application/x-protobuf");
  ASSERT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/x-protobuf");
  Response response;
  ASSERT_TRUE(response.ParseFromString(r.body));
  EXPECT_FALSE(response.has_partial_success());
  EXPECT_EQ(Stored("team-1"), Expected());
  EXPECT_TRUE(Stored("team-2").empty());
}

TEST_F(OtlpHttpTest, JsonIsStoredAndAnsweredInJson) {
  net::HttpClientResponse r = Post(RequestJson(), "application/json; charset=utf-8");
  ASSERT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/json");
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(Stored("team-1"), Expected());
}

TEST_F(OtlpHttpTest, GzipAndZstdBodies) {
  for (net::Codec codec : {net::Codec::kGzip, net::Codec::kZstd}) {
    const std::string tenant = "t-" + std::string(net::CodecName(codec));
    auto body = net::Compress(codec, RequestProto());
    ASSERT_TRUE(body.ok());
    net::HttpClientResponse r =
        Post(*body, "application/x-protobuf", std::string(net::CodecName(codec)), tenant);
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    EXPECT_EQ(Stored(tenant), Expected()) << tenant;
    auto json = net::Compress(codec, RequestJson());
    ASSERT_TRUE(json.ok());
    r = Post(*json, "application/json", std::string(net::CodecName(codec)), tenant + "-json");
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    EXPECT_EQ(Stored(tenant + "-json"), Expected()) << tenant;
  }
}

TEST_F(OtlpHttpTest, EmptyRequestSucceedsWithoutStoring) {
  net::HttpClientResponse r = Post("", "application/x-protobuf");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(store_->FindHead("team-1"), nullptr);
}

TEST_F(OtlpHttpTest, UndecodableBodiesAre400InTheRequestsEncoding) {
  net::HttpClientResponse r = Post("\xff\xff\xff", "application/x-protobuf");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/x-protobuf");
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(r.body));
  EXPECT_EQ(status.code(), 3);  // INVALID_ARGUMENT
  EXPECT_FALSE(status.message().empty());

  r = Post("{\"resourceMetrics\":", "application/json");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/json");
  ASSERT_TRUE(otlp::ParseJson(r.body, &status).ok()) << r.body;
  EXPECT_EQ(status.code(), 3);

  r = Post("not gzip", "application/x-protobuf", "gzip");
  EXPECT_EQ(r.status, 400);
  r = Post(RequestProto(), "application/x-protobuf", "br");
  ASSERT_EQ(r.status, 400);
  ASSERT_TRUE(status.ParseFromString(r.body));
  EXPECT_EQ(status.message(), "unsupported Content-Encoding: br");

  r = Post(RequestProto(), "text/plain");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.body,
            "415 unsupported media type, supported: [application/json, application/x-protobuf]");
  EXPECT_EQ(store_->FindHead("team-1"), nullptr);

  r = Post(RequestProto(), "application/x-protobuf", "", "");
  EXPECT_EQ(r.status, 401);  // multi-tenancy on, no X-Scope-OrgID
}

TEST_F(OtlpHttpTest, BodiesOverTheLimitAre400WithMimirsText) {
  net::HttpClientResponse r = Post(std::string(5000, 'x'), "application/x-protobuf");
  ASSERT_EQ(r.status, 400);
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(r.body));
  EXPECT_THAT(status.message(),
              HasSubstr("message size of 5000 bytes (compressed) is larger than the allowed "
                        "limit of 4096 bytes (err-mimir-distributor-max-write-message-size)"));
  // Small as sent, over the limit once decompressed.
  auto bomb = net::Compress(net::Codec::kGzip, std::string(100000, '\0'));
  ASSERT_TRUE(bomb.ok());
  ASSERT_LT(bomb->size(), 4096u);
  r = Post(*bomb, "application/x-protobuf", "gzip");
  ASSERT_EQ(r.status, 400);
  ASSERT_TRUE(status.ParseFromString(r.body));
  EXPECT_THAT(status.message(), HasSubstr("(uncompressed) is larger than the allowed limit of "
                                          "4096 bytes"));
}

TEST_F(OtlpHttpTest, RefusedPointsArePartialSuccess) {
  // A delta sum: the translation refuses it (one point), the rest is stored.
  net::HttpClientResponse r = Post(RequestProto(/*delta=*/true), "application/x-protobuf");
  ASSERT_EQ(r.status, 200) << r.body;
  Response response;
  ASSERT_TRUE(response.ParseFromString(r.body));
  ASSERT_TRUE(response.has_partial_success());
  EXPECT_EQ(response.partial_success().rejected_data_points(), 1);
  EXPECT_THAT(response.partial_success().error_message(),
              HasSubstr("invalid temporality and type combination for metric \"orders\""));
  EXPECT_EQ(Stored("team-1"), Expected());

  // The same points again, one second older: every sample out of order, nothing stored, so all
  // 3 points of the request are rejected (JSON this time).
  r = Post(RequestJson(false, "1699999999000000000"), "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(otlp::ParseJson(r.body, &response).ok()) << r.body;
  EXPECT_EQ(response.partial_success().rejected_data_points(), 3);
  EXPECT_THAT(response.partial_success().error_message(), HasSubstr("out-of-order"));
  EXPECT_EQ(Stored("team-1"), Expected());
}

// translation_for_tenant names each request by its tenant (how `sprout metrics` applies the
// tenant's otel_metric_suffixes_enabled): without suffixes the names are only escaped.
TEST_F(OtlpHttpTest, TranslationForTenantNamesEachRequestByItsTenant) {
  TearDown();
  std::vector<std::string> asked;
  route_.translation_for_tenant = [&asked](std::string_view tenant) {
    asked.emplace_back(tenant);
    otlp::PromTranslationSettings t;
    t.add_metric_suffixes = tenant != "plain";
    return t;
  };
  Start(LocalDefaults());
  ASSERT_EQ(Post(RequestProto(), "application/x-protobuf", "", "plain").status, 200);
  ASSERT_EQ(Post(RequestProto(), "application/x-protobuf", "", "team-1").status, 200);
  EXPECT_EQ(asked, (std::vector<std::string>{"plain", "team-1"}));
  const std::map<std::string, double> plain = {
      {"http_requests", 15},
      {"room_temperature", 22},
      {"request_duration_bucket{le=\"0.1\"}", 2},
      {"request_duration_bucket{le=\"1\"}", 5},
      {"request_duration_bucket{le=\"+Inf\"}", 6},
      {"request_duration_sum", 2.5},
      {"request_duration_count", 6},
  };
  EXPECT_EQ(Stored("plain"), plain);
  EXPECT_EQ(Stored("team-1"), Expected());
}

TEST_F(OtlpHttpTest, RateLimitIs429AndRetryable) {
  TearDown();
  MetricsConfig config = LocalDefaults();
  config.ingestion_rate = 1;
  config.ingestion_burst_size = 2;
  Start(config);
  net::HttpClientResponse r = Post(RequestProto(), "application/x-protobuf");
  ASSERT_EQ(r.status, 429) << r.body;
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(r.body));
  EXPECT_EQ(status.code(), 8);  // RESOURCE_EXHAUSTED
  EXPECT_THAT(status.message(), HasSubstr("err-mimir-tenant-max-ingestion-rate"));
  EXPECT_EQ(store_->FindHead("team-1") == nullptr ? 0 : Stored("team-1").size(), 0u);
}

TEST_F(OtlpHttpTest, RequestsAreCounted) {
  Post(RequestProto(), "application/x-protobuf");
  EXPECT_THAT(registry_.RenderText(),
              HasSubstr("sprout_metrics_http_requests_total{method=\"POST\",route=\"/otlp/v1/"
                        "metrics\",status_code=\"200\"} 1"));
}

}  // namespace
}  // namespace sprout::metrics
