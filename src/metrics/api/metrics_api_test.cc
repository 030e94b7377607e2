#include "metrics/api/metrics_api.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/api/params.h"
#include "metrics/api/response.h"
#include "net/http_message.h"

namespace sprout::metrics::api {
namespace {

using ::testing::HasSubstr;

// A Queryable over a fixed list of series, recording what it was asked.
class FakeQueryable : public Queryable {
 public:
  std::vector<tsdb::Labels> series = {
      tsdb::Labels::FromStrings({"__name__", "up", "job", "a"}),
      tsdb::Labels::FromStrings({"__name__", "up", "job", "b"}),
      tsdb::Labels::FromStrings({"__name__", "x", "http.status", "200"}),
  };
  std::string last_tenant;
  std::vector<MatcherSet> last_sets;
  int64_t last_mint = 0, last_maxt = 0, last_limit = -7;

  absl::StatusOr<std::vector<std::string>> LabelNames(std::string_view tenant,
                                                      const std::vector<MatcherSet>& sets,
                                                      int64_t mint, int64_t maxt,
                                                      int64_t limit) override {
    Record(tenant, sets, mint, maxt, limit);
    std::vector<std::string> out = {"__name__", "http.status", "job"};
    if (limit > 0 && static_cast<int64_t>(out.size()) > limit) out.resize(limit);
    return out;
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view tenant,
                                                       std::string_view name,
                                                       const std::vector<MatcherSet>& sets,
                                                       int64_t mint, int64_t maxt,
                                                       int64_t limit) override {
    Record(tenant, sets, mint, maxt, limit);
    std::vector<std::string> out;
    for (const auto& s : series) {
      for (const tsdb::Label l : s) {
        if (l.name == name && std::find(out.begin(), out.end(), l.value) == out.end()) {
          out.emplace_back(l.value);
        }
      }
    }
    return out;
  }
  absl::StatusOr<std::vector<tsdb::Labels>> Series(std::string_view tenant,
                                                   const std::vector<MatcherSet>& sets,
                                                   int64_t mint, int64_t maxt,
                                                   int64_t limit) override {
    Record(tenant, sets, mint, maxt, limit);
    if (sets.size() == 1 && sets[0][0].value() == "boom") {
      return absl::InternalError("storage on fire");
    }
    return series;
  }
  absl::StatusOr<std::map<std::string, std::vector<MetricMetadata>>> Metadata(
      std::string_view tenant, std::string_view, int64_t limit, int64_t) override {
    last_tenant = std::string(tenant);
    last_limit = limit;
    return std::map<std::string, std::vector<MetricMetadata>>{{"up", {{"gauge", "1 if up", ""}}}};
  }
  absl::StatusOr<std::vector<SeriesExemplars>> Exemplars(std::string_view tenant,
                                                         const std::vector<MatcherSet>& sets,
                                                         int64_t start, int64_t end) override {
    Record(tenant, sets, start, end, 0);
    return exemplars;
  }
  std::vector<SeriesExemplars> exemplars;
  std::unique_ptr<promql::Queryable> PromQueryable(std::string_view tenant) override {
    last_tenant = std::string(tenant);
    return nullptr;  // query routes are tested in query_test.cc
  }

 private:
  void Record(std::string_view tenant, const std::vector<MatcherSet>& sets, int64_t mint,
              int64_t maxt, int64_t limit) {
    last_tenant = std::string(tenant);
    last_sets = sets;
    last_mint = mint;
    last_maxt = maxt;
    last_limit = limit;
  }
};

class MetricsApiTest : public ::testing::Test {
 protected:
  void Build(bool multitenancy) {
    MetricsApiOptions options;
    options.tenants = {multitenancy, "anonymous"};
    options.effective_config = "target: all\n";
    options.build = {"1.2.3", "abc", "main", "me", "today", "gcc"};
    options.registry = &registry_;
    options.queryable = &queryable_;
    api_ = std::make_unique<MetricsApi>(options);
    router_ = net::Router();
    ASSERT_TRUE(api_->Register(&router_).ok());
  }

  // Serves one request through the router (tenant check included), without a socket.
  net::HttpResponse Serve(std::string method, std::string target,
                          std::vector<std::pair<std::string, std::string>> headers = {},
                          std::string body = "") {
    net::HttpRequest request;
    request.method = method;
    request.target = target;
    const size_t q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    request.headers = std::move(headers);
    request.body = std::move(body);
    net::HttpResponse response;
    net::Router::Match m = router_.Find(method, request.path, &request.path_params);
    if (m.route == nullptr) {
      net::Router::WriteNoRoute(m, response);
      return response;
    }
    router_.Serve(*m.route, request, response);
    return response;
  }

  MetricsRegistry registry_;
  FakeQueryable queryable_;
  std::unique_ptr<MetricsApi> api_;
  net::Router router_;
};

TEST_F(MetricsApiTest, ReadyIs503UntilStarted) {
  Build(false);
  net::HttpResponse r = Serve("GET", "/ready");
  EXPECT_EQ(r.status, 503);
  api_->SetReady(true);
  r = Serve("GET", "/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready");
}

TEST_F(MetricsApiTest, ProcessEndpointsLeftToTheCommand) {
  // `sprout all` serves several APIs on one router: /ready, /metrics and /config are its own.
  MetricsApiOptions options;
  options.tenants = {false, "anonymous"};
  options.registry = &registry_;
  options.queryable = &queryable_;
  options.serve_process_endpoints = false;
  api_ = std::make_unique<MetricsApi>(options);
  router_ = net::Router();
  ASSERT_TRUE(api_->Register(&router_).ok());
  for (const char* path : {"/ready", "/metrics", "/config"}) {
    EXPECT_EQ(Serve("GET", path).status, 404) << path;
    EXPECT_TRUE(
        router_
            .Handle("GET", path, [](net::HttpRequest&, net::HttpResponse& r) { r.body = "mine"; })
            .ok())
        << path;
  }
  EXPECT_EQ(Serve("GET", "/ready").body, "mine");
  EXPECT_EQ(Serve("GET", "/api/v1/status/buildinfo").status, 200);
  EXPECT_EQ(Serve("GET", "/api/v1/labels").status, 200);
}

TEST_F(MetricsApiTest, BuildInfoAtBothPrefixesAnnouncesMimirWithoutRulerApi) {
  Build(true);  // no tenant needed
  for (const char* path : {"/api/v1/status/buildinfo", "/prometheus/api/v1/status/buildinfo"}) {
    net::HttpResponse r = Serve("GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.Header("Content-Type"), "application/json");
    EXPECT_EQ(r.body,
              "{\"status\":\"success\",\"data\":{\"application\":\"Grafana Mimir\","
              "\"version\":\"1.2.3\",\"revision\":\"abc\",\"branch\":\"main\","
              "\"buildUser\":\"me\",\"buildDate\":\"today\",\"goVersion\":\"gcc\","
              "\"features\":{\"ruler_config_api\":\"false\",\"alertmanager_config_api\":"
              "\"false\",\"query_sharding\":\"false\",\"federated_rules\":\"false\"}}}");
  }
}

TEST_F(MetricsApiTest, RulesAndAlertsAreEmptyListsInTheEnvelope) {
  Build(false);
  EXPECT_EQ(Serve("GET", "/api/v1/rules").body,
            "{\"status\":\"success\",\"data\":{\"groups\":[]}}");
  EXPECT_EQ(Serve("GET", "/prometheus/api/v1/rules").body,
            "{\"status\":\"success\",\"data\":{\"groups\":[]}}");
  EXPECT_EQ(Serve("GET", "/prometheus/api/v1/alerts").body,
            "{\"status\":\"success\",\"data\":{\"alerts\":[]}}");
}

TEST_F(MetricsApiTest, MissingOrgIdIs401WhenMultitenancyIsOn) {
  Build(true);
  net::HttpResponse r = Serve("GET", "/prometheus/api/v1/rules");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "no org id\n");
  r = Serve("GET", "/api/v1/labels");
  EXPECT_EQ(r.status, 401);
  r = Serve("GET", "/api/v1/labels", {{"x-scope-orgid", "team-a"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(queryable_.last_tenant, "team-a");
}

TEST_F(MetricsApiTest, AnonymousTenantWhenMultitenancyIsOff) {
  Build(false);
  EXPECT_EQ(Serve("GET", "/api/v1/labels").status, 200);
  EXPECT_EQ(queryable_.last_tenant, "anonymous");
}

TEST_F(MetricsApiTest, LabelsDefaultsAndParameters) {
  Build(false);
  net::HttpResponse r = Serve("GET", "/api/v1/labels");
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"__name__\",\"http.status\",\"job\"]}");
  EXPECT_EQ(queryable_.last_mint, kMinTimeMs);
  EXPECT_EQ(queryable_.last_maxt, kMaxTimeMs);
  EXPECT_EQ(queryable_.last_limit, 0);
  EXPECT_TRUE(queryable_.last_sets.empty());

  r = Serve("GET", "/api/v1/labels?start=10&end=20.5&match[]=up&limit=2");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[\"__name__\",\"http.status\"],"
            "\"warnings\":[\"results truncated due to limit\"]}");
  EXPECT_EQ(queryable_.last_mint, 10000);
  EXPECT_EQ(queryable_.last_maxt, 20500);
  EXPECT_EQ(queryable_.last_limit, 3);  // one more than asked, to detect truncation
  ASSERT_EQ(queryable_.last_sets.size(), 1u);
  EXPECT_EQ(queryable_.last_sets[0][0].value(), "up");
}

TEST_F(MetricsApiTest, FormPostIsReadLikeAQuery) {
  Build(false);
  net::HttpResponse r = Serve("POST", "/prometheus/api/v1/series",
                              {{"content-type", "application/x-www-form-urlencoded"}},
                              "match%5B%5D=%7Bjob%3D%22a%22%7D&start=1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(queryable_.last_mint, 1000);
  ASSERT_EQ(queryable_.last_sets.size(), 1u);
  EXPECT_EQ(queryable_.last_sets[0][0].name(), "job");
  EXPECT_THAT(r.body, HasSubstr("{\"__name__\":\"up\",\"job\":\"a\"}"));
}

TEST_F(MetricsApiTest, BadParametersAreBadData) {
  Build(false);
  auto expect_bad = [&](const std::string& target, const std::string& message) {
    net::HttpResponse r = Serve("GET", target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.body,
              "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"" + message + "\"}")
        << target;
  };
  expect_bad("/api/v1/labels?start=x",
             "invalid parameter \\\"start\\\": cannot parse \\\"x\\\" to a valid timestamp");
  expect_bad("/api/v1/labels?end=y",
             "invalid parameter \\\"end\\\": cannot parse \\\"y\\\" to a valid timestamp");
  expect_bad("/api/v1/labels?limit=-1",
             "invalid parameter \\\"limit\\\": limit must be non-negative");
  expect_bad("/api/v1/series", "no match[] parameter provided");
  // Prometheus 2.42's texts (checked against the binary): the series endpoint names the
  // parameter, the label endpoints do not; `{}` fails the API's check, not PromQL's.
  expect_bad("/api/v1/series?match[]=%7B%7D",
             "invalid parameter \\\"match[]\\\": match[] must contain at least one non-empty "
             "matcher");
  expect_bad("/api/v1/series?match[]=%7Ba%3D~%22.*%22%7D",
             "invalid parameter \\\"match[]\\\": match[] must contain at least one non-empty "
             "matcher");
  expect_bad("/api/v1/series?match[]=up%7B",
             "invalid parameter \\\"match[]\\\": 1:4: parse error: unexpected end of input "
             "inside braces");
  expect_bad("/api/v1/labels?match[]=%7B%7D",
             "match[] must contain at least one non-empty matcher");
  expect_bad("/api/v1/label/a/values?match[]=%7B%7D",
             "match[] must contain at least one non-empty matcher");
  expect_bad("/api/v1/labels?match[]=up%7B",
             "1:4: parse error: unexpected end of input inside braces");
  expect_bad("/api/v1/label/U__a_zz_/values", "invalid label name: \\\"U__a_zz_\\\"");
  expect_bad("/api/v1/metadata?limit=x", "limit must be a number");
  expect_bad("/api/v1/labels?a=%zz", "error parsing form values: invalid URL escape \\\"%zz\\\"");
}

TEST_F(MetricsApiTest, StorageErrorsAreInternal) {
  Build(false);
  net::HttpResponse r = Serve("GET", "/api/v1/series?match[]=boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body,
            "{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"storage on fire\"}");
}

TEST_F(MetricsApiTest, LabelValuesWithEscapedName) {
  Build(false);
  net::HttpResponse r = Serve("GET", "/api/v1/label/U__http_2e_status/values");
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"200\"]}");
  r = Serve("GET", "/prometheus/api/v1/label/job/values");
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"a\",\"b\"]}");
}

TEST_F(MetricsApiTest, Metadata) {
  Build(false);
  net::HttpResponse r = Serve("GET", "/api/v1/metadata?limit=5");
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"up\":[{\"type\":\"gauge\",\"help\":\"1 if up\","
            "\"unit\":\"\"}]}}");
  EXPECT_EQ(queryable_.last_limit, 5);
}

TEST_F(MetricsApiTest, QueryExemplarsAnswersPrometheusJson) {
  Build(false);
  queryable_.exemplars = {
      {tsdb::Labels::FromStrings({"__name__", "req_total", "job", "a"}),
       {{tsdb::Labels::FromStrings({"trace_id", "abc"}), 1, 1700000000123},
        {tsdb::Labels(), 0.5, 1700000001000},
        {tsdb::Labels::FromStrings({"span_id", "x"}), 1e-7, 1700000002005},
        {tsdb::Labels::FromStrings({"span_id", "y"}), 2.5e21, -1500}}},
      {tsdb::Labels::FromStrings({"__name__", "req_total", "job", "b"}),
       {{tsdb::Labels::FromStrings({"trace_id", "d\"e"}), 123456789, 1700000000050}}},
  };
  net::HttpResponse r = Serve(
      "GET", "/api/v1/query_exemplars?query=req_total%7Bjob%3D~%22a%7Cb%22%7D&start=10&end=20");
  EXPECT_EQ(r.status, 200) << r.body;
  // Prometheus's shape: values as strings (Go's 'f', 'e' below 1e-6 and from 1e21), timestamps
  // as seconds with three decimals when there are milliseconds.
  EXPECT_EQ(r.body,
            R"({"status":"success","data":[)"
            R"({"seriesLabels":{"__name__":"req_total","job":"a"},"exemplars":[)"
            R"({"labels":{"trace_id":"abc"},"value":"1","timestamp":1700000000.123},)"
            R"({"labels":{},"value":"0.5","timestamp":1700000001},)"
            R"({"labels":{"span_id":"x"},"value":"1e-07","timestamp":1700000002.005},)"
            R"({"labels":{"span_id":"y"},"value":"2.5e+21","timestamp":-1.500}]},)"
            R"({"seriesLabels":{"__name__":"req_total","job":"b"},"exemplars":[)"
            R"({"labels":{"trace_id":"d\"e"},"value":"123456789","timestamp":1700000000.050}]}]})");
  EXPECT_EQ(queryable_.last_mint, 10000);
  EXPECT_EQ(queryable_.last_maxt, 20000);
  ASSERT_EQ(queryable_.last_sets.size(), 1u);
  ASSERT_EQ(queryable_.last_sets[0].size(), 2u);
  // The parser keeps the metric name's matcher last.
  EXPECT_EQ(queryable_.last_sets[0][1].name(), "__name__");
  EXPECT_EQ(queryable_.last_sets[0][1].value(), "req_total");
  EXPECT_EQ(queryable_.last_sets[0][0].name(), "job");
  EXPECT_EQ(queryable_.last_sets[0][0].type(), tsdb::Matcher::Type::kRegexMatch);

  // No range: Prometheus's MinTime/MaxTime; form POST at the Mimir prefix; nothing found is [].
  queryable_.exemplars.clear();
  r = Serve("POST", "/prometheus/api/v1/query_exemplars",
            {{"content-type", "application/x-www-form-urlencoded"}}, "query=%7Bjob%3D%22a%22%7D");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"status":"success","data":[]})");
  EXPECT_EQ(queryable_.last_mint, kMinTimeMs);
  EXPECT_EQ(queryable_.last_maxt, kMaxTimeMs);
}

TEST_F(MetricsApiTest, QueryExemplarsTakesTheSelectorsOfAnyExpression) {
  Build(false);
  auto expect_bad = [&](const std::string& target, const std::string& message) {
    net::HttpResponse r = Serve("GET", target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.body,
              "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"" + message + "\"}")
        << target;
  };
  // Every selector of the expression, in order, is one matcher set.
  net::HttpResponse r =
      Serve("GET", "/api/v1/query_exemplars?query=" +
                       std::string("histogram_quantile(0.9%2C%20sum%20by%20(le)%20(rate(lat_bucket%"
                                   "7Bjob%3D%22a%22%7D%5B5m%5D)))"
                                   "%20%2B%20on()%20max_over_time(up%5B1h%3A1m%5D)"));
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(queryable_.last_sets.size(), 2u);
  ASSERT_EQ(queryable_.last_sets[0].size(), 2u);
  EXPECT_EQ(queryable_.last_sets[0][0].name(), "job");
  EXPECT_EQ(queryable_.last_sets[0][1].name(), "__name__");
  EXPECT_EQ(queryable_.last_sets[0][1].value(), "lat_bucket");
  EXPECT_EQ(queryable_.last_sets[1][0].value(), "up");
  // No selector: 204 without a body (2.42).
  r = Serve("GET", "/api/v1/query_exemplars?query=1");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  // Parse errors are PromQL's, without the parameter name (2.42).
  expect_bad("/api/v1/query_exemplars?query=up%7Bjob%3D%7D",
             "1:8: parse error: unexpected \\\"}\\\" in label matching, expected string");
  expect_bad("/api/v1/query_exemplars?query=%7Ba%3D%22%22%7D",
             "1:1: parse error: vector selector must contain at least one non-empty matcher");
  expect_bad("/api/v1/query_exemplars", "1:1: parse error: no expression found in input");
  expect_bad("/api/v1/query_exemplars?query=up&start=20&end=10",
             "end timestamp must not be before start timestamp");
  expect_bad("/api/v1/query_exemplars?query=up&start=x",
             "invalid parameter \\\"start\\\": cannot parse \\\"x\\\" to a valid timestamp");
}

TEST_F(MetricsApiTest, MetricsAndConfig) {
  Build(true);
  Serve("GET", "/ready");
  net::HttpResponse r = Serve("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body,
              HasSubstr("sprout_metrics_http_requests_total{method=\"GET\",route=\"/ready\","
                        "status_code=\"503\"} 1"));
  r = Serve("GET", "/config");
  EXPECT_EQ(r.body, "target: all\n");
}

// Expected bodies as Prometheus 2.42 answered the same requests (curl against Debian's
// prometheus 2.42.0+ds; Go's JSON escapes <, > and & as \u003e...).
TEST_F(MetricsApiTest, FormatQueryAnswersAsPrometheus242) {
  Build(true);
  const std::vector<std::pair<std::string, std::string>> org = {{"x-scope-orgid", "t"}};
  net::HttpResponse r = Serve("GET", "/api/v1/format_query?query=foo/bar", org);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"success","data":"foo / bar"})");
  r = Serve("GET", "/prometheus/api/v1/format_query?query=a>b", org);
  EXPECT_EQ(r.body, R"({"status":"success","data":"a \u003e b"})");
  r = Serve("POST", "/api/v1/format_query",
            {{"x-scope-orgid", "t"}, {"content-type", "application/x-www-form-urlencoded"}},
            "query=a%2Bb");
  EXPECT_EQ(r.body, R"({"status":"success","data":"a + b"})");
  r = Serve("GET", "/api/v1/format_query?query=foo%7B", org);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(
      r.body,
      R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input inside braces"})");
  r = Serve("GET", "/api/v1/format_query", org);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(
      r.body,
      R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error: no expression found in input"})");
  r = Serve("GET", "/api/v1/format_query?query=a>b%26%26", org);
  EXPECT_EQ(
      r.body,
      R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error: unexpected character: '\u0026'"})");
  r = Serve("GET", "/api/v1/format_query?query=%22%E2%80%A8%3C%22", org);
  EXPECT_EQ(r.body, R"({"status":"success","data":"\"\\u2028\u003c\""})");
  // Tenant-scoped like the other read endpoints.
  EXPECT_EQ(Serve("GET", "/api/v1/format_query?query=up").status, 401);
}

TEST_F(MetricsApiTest, ReadRoutesAbsentWithoutAQueryable) {
  MetricsApiOptions options;
  options.registry = &registry_;
  MetricsApi api(options);
  net::Router router;
  ASSERT_TRUE(api.Register(&router).ok());
  std::vector<std::pair<std::string, std::string>> params;
  EXPECT_EQ(router.Find("GET", "/api/v1/labels", &params).status, 404);
  EXPECT_NE(router.Find("GET", "/api/v1/rules", &params).route, nullptr);
}

TEST(ResponseTest, ErrorTypesAndStatuses) {
  net::HttpResponse r;
  WriteError(r, ErrorType::kExecution, "x \"y\"");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"x \\\"y\\\"\"}");
  EXPECT_EQ(ErrorTypeHttpStatus(ErrorType::kTimeout), 503);
  EXPECT_EQ(ErrorTypeHttpStatus(ErrorType::kNotFound), 404);
  EXPECT_EQ(ErrorTypeOf(absl::InvalidArgumentError("")), ErrorType::kBadData);
  EXPECT_EQ(ErrorTypeOf(absl::DeadlineExceededError("")), ErrorType::kTimeout);
  WriteSuccess(r, "[]", {"w1"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[],\"warnings\":[\"w1\"]}");
}

}  // namespace
}  // namespace sprout::metrics::api
