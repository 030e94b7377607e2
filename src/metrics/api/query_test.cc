// The query endpoints: parameters and their errors (texts taken from Prometheus 2.42's answers),
// the JSON encoders, the wiring to the engine through Queryable::PromQueryable (tenant, limiter),
// and cancellation / timeout / limit errors coming back from the storage.
#include "metrics/api/query.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/api/metrics_api.h"
#include "metrics/api/params.h"
#include "net/http_message.h"
#include "net/http_router.h"
#include "net/http_server.h"
#include "net/http_test_util.h"

namespace sprout::metrics::api {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// An in-memory tenant: series of float samples, read through promql::Querier.

class VectorIterator : public chunkenc::Iterator {
 public:
  explicit VectorIterator(std::vector<std::pair<int64_t, double>> s) : s_(std::move(s)) {}
  chunkenc::ValueType Next() override {
    if (i_ + 1 >= static_cast<int64_t>(s_.size())) {
      i_ = static_cast<int64_t>(s_.size());
      return chunkenc::ValueType::kNone;
    }
    ++i_;
    return chunkenc::ValueType::kFloat;
  }
  chunkenc::ValueType Seek(int64_t t) override {
    if (i_ < 0) i_ = 0;
    while (i_ < static_cast<int64_t>(s_.size()) && s_[i_].first < t) ++i_;
    return i_ < static_cast<int64_t>(s_.size()) ? chunkenc::ValueType::kFloat
                                                : chunkenc::ValueType::kNone;
  }
  std::pair<int64_t, double> At() const override { return s_[i_]; }
  int64_t AtT() const override { return s_[i_].first; }
  const absl::Status& Err() const override { return err_; }

 private:
  std::vector<std::pair<int64_t, double>> s_;
  int64_t i_ = -1;
  absl::Status err_;
};

struct MemSeries {
  tsdb::Labels labels;
  std::vector<std::pair<int64_t, double>> samples;
};

struct MemTenant {
  std::vector<MemSeries> series;
  // Behaviour of Select's cursor: block until the limiter stops it (cancellation, deadline).
  bool block_until_limited = false;
  absl::Status fail_with;  // returned by the cursor's Err() when set
  std::atomic<int> selects{0};
  std::atomic<int> blocked{0};
  std::atomic<int> ended_code{-1};  // the limiter's status code that unblocked a blocked cursor
  tsdb::QueryLimiter* last_limiter = nullptr;
  int64_t last_mint = 0, last_maxt = 0;
};

class MemCursor : public promql::SeriesCursor {
 public:
  MemCursor(MemTenant* t, std::vector<const MemSeries*> s, tsdb::QueryLimiter* limiter)
      : t_(t), s_(std::move(s)), limiter_(limiter) {}
  bool Next() override {
    if (t_->block_until_limited) {
      ++t_->blocked;
      while (limiter_->Check().ok()) absl::SleepFor(absl::Milliseconds(5));
      err_ = limiter_->Check();
      t_->ended_code = static_cast<int>(err_.code());
      return false;
    }
    if (!t_->fail_with.ok()) {
      err_ = t_->fail_with;
      return false;
    }
    if (++i_ >= s_.size()) return false;
    if (limiter_ != nullptr) {
      // As the store's SeriesSet: every series reached counts against the limiter.
      if (absl::Status st = limiter_->AddSeries(s_[i_]->labels); !st.ok()) {
        err_ = st;
        return false;
      }
    }
    return true;
  }
  const tsdb::Labels& labels() const override { return s_[i_]->labels; }
  std::unique_ptr<chunkenc::Iterator> TakeIterator() override {
    return std::make_unique<VectorIterator>(s_[i_]->samples);
  }
  absl::Status Err() const override { return err_; }

 private:
  MemTenant* t_;
  std::vector<const MemSeries*> s_;
  tsdb::QueryLimiter* limiter_;
  size_t i_ = static_cast<size_t>(-1);
  absl::Status err_;
};

class MemQuerier : public promql::Querier {
 public:
  explicit MemQuerier(MemTenant* t) : t_(t) {}
  std::unique_ptr<promql::SeriesCursor> Select(std::span<const tsdb::Matcher> matchers,
                                               const tsdb::SelectHints&,
                                               tsdb::QueryLimiter* limiter) override {
    ++t_->selects;
    t_->last_limiter = limiter;
    std::vector<const MemSeries*> out;
    for (const MemSeries& s : t_->series) {
      bool ok = true;
      for (const tsdb::Matcher& m : matchers) ok = ok && m.Matches(s.labels.Get(m.name()));
      if (ok) out.push_back(&s);
    }
    return std::make_unique<MemCursor>(t_, std::move(out), limiter);
  }

 private:
  MemTenant* t_;
};

class MemPromQueryable : public promql::Queryable {
 public:
  explicit MemPromQueryable(MemTenant* t) : t_(t) {}
  absl::StatusOr<std::unique_ptr<promql::Querier>> Open(int64_t mint, int64_t maxt) override {
    t_->last_mint = mint;
    t_->last_maxt = maxt;
    return std::make_unique<MemQuerier>(t_);
  }

 private:
  MemTenant* t_;
};

class MemQueryable : public Queryable {
 public:
  std::map<std::string, MemTenant, std::less<>> tenants;

  int64_t labels_mint = 0;
  absl::StatusOr<std::vector<std::string>> LabelNames(std::string_view,
                                                      const std::vector<MatcherSet>&,
                                                      int64_t mint, int64_t, int64_t) override {
    labels_mint = mint;
    return std::vector<std::string>{};
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view, std::string_view,
                                                       const std::vector<MatcherSet>&, int64_t,
                                                       int64_t, int64_t) override {
    return std::vector<std::string>{};
  }
  absl::StatusOr<std::vector<tsdb::Labels>> Series(std::string_view,
                                                   const std::vector<MatcherSet>&, int64_t,
                                                   int64_t, int64_t) override {
    return std::vector<tsdb::Labels>{};
  }
  absl::StatusOr<std::map<std::string, std::vector<MetricMetadata>>> Metadata(
      std::string_view, std::string_view, int64_t, int64_t) override {
    return std::map<std::string, std::vector<MetricMetadata>>{};
  }
  absl::StatusOr<std::vector<SeriesExemplars>> Exemplars(std::string_view,
                                                         const std::vector<MatcherSet>&, int64_t,
                                                         int64_t) override {
    return std::vector<SeriesExemplars>{};
  }
  std::unique_ptr<promql::Queryable> PromQueryable(std::string_view tenant) override {
    return std::make_unique<MemPromQueryable>(&tenants[std::string(tenant)]);
  }
};

constexpr int64_t kNow = 1700000000000;

class QueryApiTest : public ::testing::Test {
 protected:
  void Build(bool multitenancy = false, QueryApiOptions query = {}) {
    MetricsApiOptions options;
    options.tenants = {multitenancy, "anonymous"};
    options.registry = &registry_;
    options.queryable = &queryable_;
    options.query = query;
    options.now_ms = [] { return kNow; };
    api_ = std::make_unique<MetricsApi>(options);
    router_ = net::Router();
    ASSERT_TRUE(api_->Register(&router_).ok());
  }

  net::HttpResponse Serve(std::string method, std::string target,
                          std::vector<std::pair<std::string, std::string>> headers = {},
                          std::string body = "",
                          std::shared_ptr<net::RequestControl> control = nullptr) {
    net::HttpRequest request;
    request.method = method;
    request.target = target;
    const size_t q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    request.headers = std::move(headers);
    request.body = std::move(body);
    request.control = std::move(control);
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
  MemQueryable queryable_;
  std::unique_ptr<MetricsApi> api_;
  net::Router router_;
};

std::string Err(std::string type, std::string message) {
  std::string out = "{\"status\":\"error\",\"errorType\":\"" + type + "\",\"error\":";
  AppendGoJsonString(message, &out);
  return out + "}";
}

// ---------------------------------------------------------------------------------------------
// Parameters: every text below is what Prometheus 2.42 answered for the same request.

// A large answer is written in pieces; the bytes are those of the one-piece envelope.
TEST(QueryJsonTest, StreamedAnswerHasTheSameBytes) {
  promql::QueryResult r;
  r.type = promql::ValueType::kMatrix;
  for (int i = 0; i < 300; ++i) {
    promql::ResultSeries s;
    s.labels = tsdb::Labels::FromStrings({"__name__", "m", "i", std::to_string(i)});
    for (int j = 0; j < 400; ++j) s.floats.push_back({int64_t{1700000000000} + j * 15000, i * 0.1 + j});
    r.series.push_back(std::move(s));
  }
  const std::vector<std::string> warnings = {"w <1>"};
  net::HttpResponse whole;
  WriteSuccess(whole, QueryDataJson(r, true), warnings);
  ASSERT_GT(whole.body.size(), kQueryStreamThreshold);
  net::HttpResponse streamed;  // no stream attached: every Write appends to body
  WriteQuerySuccess(streamed, r, true, warnings);
  EXPECT_EQ(streamed.status, 200);
  EXPECT_EQ(streamed.Header("Content-Type"), "application/json");
  EXPECT_EQ(streamed.body, whole.body);
  // Pieces: flushed after a series once the buffer holds kQueryStreamPiece bytes.
  std::vector<size_t> pieces;
  std::string out;
  AppendQueryDataJson(r, false, &out, [&](std::string* piece) {
    pieces.push_back(piece->size());
    piece->clear();
    return true;
  });
  EXPECT_GT(pieces.size(), 3u);
  for (size_t n : pieces) EXPECT_GE(n, kQueryStreamPiece);
  // A flush that fails stops the writing.
  int calls = 0;
  out.clear();
  AppendQueryDataJson(r, false, &out, [&](std::string* piece) {
    ++calls;
    piece->clear();
    return false;
  });
  EXPECT_EQ(calls, 1);
}

TEST(QueryParamsTest, DurationsAsPrometheusParsesThem) {
  EXPECT_EQ(*ParsePromApiDuration("1"), 1000000000);
  EXPECT_EQ(*ParsePromApiDuration("0.5"), 500000000);
  EXPECT_EQ(*ParsePromApiDuration("1e0"), 1000000000);
  EXPECT_EQ(*ParsePromApiDuration("-1"), -1000000000);
  EXPECT_EQ(*ParsePromApiDuration("1m"), 60000000000);
  EXPECT_EQ(*ParsePromApiDuration("1h30m"), 5400000000000);
  EXPECT_EQ(*ParsePromApiDuration("1ms"), 1000000);
  EXPECT_EQ(ParsePromApiDuration("x").status().message(),
            "cannot parse \"x\" to a valid duration");
  EXPECT_EQ(ParsePromApiDuration("").status().message(), "cannot parse \"\" to a valid duration");
  EXPECT_EQ(ParsePromApiDuration("1.5s").status().message(),
            "cannot parse \"1.5s\" to a valid duration");
  EXPECT_EQ(ParsePromApiDuration("-1s").status().message(),
            "cannot parse \"-1s\" to a valid duration");
  EXPECT_EQ(ParsePromApiDuration("1e30").status().message(),
            "cannot parse \"1e30\" to a valid duration. It overflows int64");
  EXPECT_EQ(ParsePromApiDuration("Inf").status().message(),
            "cannot parse \"Inf\" to a valid duration. It overflows int64");
  EXPECT_EQ(ParsePromApiDuration(" 1").status().message(),
            "cannot parse \" 1\" to a valid duration");
  EXPECT_LT(*ParsePromApiDuration("NaN"), 0);  // then "zero or negative ..."
}

TEST(QueryParamsTest, RangeChecks) {
  EXPECT_EQ(*CheckRangeParams(0, 11000000, 1000000000), 1000);  // 11,001 points: allowed
  EXPECT_EQ(CheckRangeParams(0, 11001000, 1000000000).status().message(),
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
            "query resolution (?step=XX)");
  EXPECT_TRUE(CheckRangeParams(0, 22001000, 2000000000).ok());  // integer division: 11000
  EXPECT_EQ(CheckRangeParams(10, 5, 1).status().message(),
            "invalid parameter \"end\": end timestamp must not be before start time");
  EXPECT_EQ(CheckRangeParams(0, 5, 0).status().message(),
            "invalid parameter \"step\": zero or negative query resolution step widths are not "
            "accepted. Try a positive integer");
  EXPECT_EQ(*CheckRangeParams(0, 0, 100000), 0);  // below 1 ms: the caller answers 422
  // The widest range does not overflow: Go's Sub saturates.
  EXPECT_FALSE(CheckRangeParams(kMinTimeMs, kMaxTimeMs, 1000000000).ok());
}

TEST_F(QueryApiTest, ParameterErrorsAreBadDataWithPrometheusTexts) {
  Build();
  struct Case {
    std::string target;
    std::string message;
  } cases[] = {
      {"/api/v1/query?query=1%2B&time=1",
       "invalid parameter \"query\": 1:3: parse error: unexpected end of input"},
      {"/api/v1/query?time=1",
       "invalid parameter \"query\": 1:1: parse error: no expression found in input"},
      {"/api/v1/query?query=foo%7B&time=2",
       "invalid parameter \"query\": 1:5: parse error: unexpected end of input inside braces"},
      {"/api/v1/query?query=rate(x)&time=2",
       "invalid parameter \"query\": 1:6: parse error: expected type range vector in call to "
       "function \"rate\", got instant vector"},
      {"/api/v1/query?query=1&time=abc",
       "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"abc\" to a "
       "valid timestamp"},
      {"/api/v1/query?query=1&timeout=abc",
       "invalid parameter \"timeout\": cannot parse \"abc\" to a valid duration"},
      {"/api/v1/query?query=1&timeout=1ns",
       "invalid parameter \"timeout\": cannot parse \"1ns\" to a valid duration"},
      {"/api/v1/query_range?query=1&start=10&end=5&step=1",
       "invalid parameter \"end\": end timestamp must not be before start time"},
      {"/api/v1/query_range?query=1&start=x&end=5&step=1",
       "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp"},
      {"/api/v1/query_range?query=1&end=5&step=1",
       "invalid parameter \"start\": cannot parse \"\" to a valid timestamp"},
      {"/api/v1/query_range?query=1&start=1&step=1",
       "invalid parameter \"end\": cannot parse \"\" to a valid timestamp"},
      {"/api/v1/query_range?query=1&start=1&end=5",
       "invalid parameter \"step\": cannot parse \"\" to a valid duration"},
      {"/api/v1/query_range?query=1&start=1&end=5&step=0",
       "invalid parameter \"step\": zero or negative query resolution step widths are not "
       "accepted. Try a positive integer"},
      {"/api/v1/query_range?query=1&start=0&end=2&step=NaN",
       "invalid parameter \"step\": zero or negative query resolution step widths are not "
       "accepted. Try a positive integer"},
      {"/api/v1/query_range?query=1&start=0&end=2&step=1.5s",
       "invalid parameter \"step\": cannot parse \"1.5s\" to a valid duration"},
      {"/api/v1/query_range?query=1&start=0&end=11001&step=1",
       "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
       "resolution (?step=XX)"},
      {"/api/v1/query_range?query=up%5B5m%5D&start=0&end=2&step=1",
       "invalid expression type \"range vector\" for range query, must be Scalar or instant "
       "Vector"},
      {"/api/v1/query_range?query=%22a%22&start=0&end=2&step=1",
       "invalid expression type \"string\" for range query, must be Scalar or instant Vector"},
      // Order: the start error wins over a bad query; the step check over a bad query.
      {"/api/v1/query_range?query=1%2B&start=x&end=5&step=1",
       "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp"},
      {"/api/v1/query_range?query=1%2B&start=1&end=5&step=0",
       "invalid parameter \"step\": zero or negative query resolution step widths are not "
       "accepted. Try a positive integer"},
      // A range query's parse error does not name the parameter (2.42).
      {"/api/v1/query_range?query=foo%7B&start=0&end=2&step=1",
       "1:5: parse error: unexpected end of input inside braces"},
  };
  for (const Case& c : cases) {
    for (const char* prefix : {"", "/prometheus"}) {
      net::HttpResponse r = Serve("GET", prefix + c.target);
      EXPECT_EQ(r.status, 400) << c.target;
      EXPECT_EQ(r.body, Err("bad_data", c.message)) << c.target;
    }
  }
  // A step below a millisecond: 2.42 answers its integer division by zero.
  net::HttpResponse r = Serve("GET", "/api/v1/query_range?query=1&start=0&end=0&step=0.0001");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body,
            Err("execution", "unexpected error: runtime error: integer divide by zero"));
  // timeout 0 or negative: the query's context is done before it starts.
  for (const char* to : {"0", "-1"}) {
    r = Serve("GET", std::string("/api/v1/query?query=1&time=2&timeout=") + to);
    EXPECT_EQ(r.status, 503) << to;
    EXPECT_EQ(r.body, Err("timeout", "query timed out in query execution")) << to;
  }
  // PUT is not a route: Go's 405.
  EXPECT_EQ(Serve("PUT", "/api/v1/query?query=1").status, 405);
  // parse_query does not exist in 2.42.
  EXPECT_EQ(Serve("GET", "/api/v1/parse_query?query=1").status, 404);
}

TEST_F(QueryApiTest, FormPostBodyWinsOverTheUrlAndAMalformedBodyIsIgnored) {
  Build();
  queryable_.tenants["anonymous"].series.push_back(
      {tsdb::Labels::FromStrings({"__name__", "up", "job", "a"}), {{kNow - 1000, 7}}});
  net::HttpResponse r = Serve("POST", "/api/v1/query?query=nothing&time=3",
                              {{"content-type", "application/x-www-form-urlencoded"}},
                              "query=up&time=1700000000");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
            "{\"__name__\":\"up\",\"job\":\"a\"},\"value\":[1700000000,\"7\"]}]}}");
  // Prometheus's FormValue drops a body it cannot parse: the query is then missing.
  r = Serve("POST", "/api/v1/query", {{"content-type", "application/x-www-form-urlencoded"}},
            "query=1%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Err("bad_data",
                        "invalid parameter \"query\": 1:1: parse error: no expression found in "
                        "input"));
}

// ---------------------------------------------------------------------------------------------
// Wiring: tenant, default time, the limiter handed to the storage, results from the data.

TEST_F(QueryApiTest, SelectorQueriesReadTheTenantsDataThroughPromQueryable) {
  Build(/*multitenancy=*/true);
  MemTenant& a = queryable_.tenants["team-a"];
  a.series.push_back({tsdb::Labels::FromStrings({"__name__", "up", "job", "x<y>"}),
                      {{kNow - 60000, 1}, {kNow - 30000, 0.1 + 0.2}}});
  queryable_.tenants["team-b"].series.push_back(
      {tsdb::Labels::FromStrings({"__name__", "up", "job", "b"}), {{kNow - 1000, 5}}});

  // Default time: now; labels escaped as Go's encoding/json; Go's 'f' float.
  net::HttpResponse r = Serve("GET", "/prometheus/api/v1/query?query=up", {{"x-scope-orgid", "team-a"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
            "{\"__name__\":\"up\",\"job\":\"x\\u003cy\\u003e\"},\"value\":[1700000000,"
            "\"0.30000000000000004\"]}]}}");
  EXPECT_NE(a.last_limiter, nullptr);  // the query's limiter reaches the storage
  // No org id: Mimir's 401 before anything runs.
  EXPECT_EQ(Serve("GET", "/api/v1/query?query=up").status, 401);
  // A tenant that never wrote answers empty.
  r = Serve("GET", "/api/v1/query?query=up&time=1700000000", {{"x-scope-orgid", "nobody"}});
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}");

  // A range query with step as a duration; points every 30 s within the 5 m lookback.
  r = Serve("POST", "/api/v1/query_range", {{"x-scope-orgid", "team-a"},
                                            {"content-type", "application/x-www-form-urlencoded"}},
            "query=up&start=1699999940&end=1700000000.5&step=30s");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
            "{\"__name__\":\"up\",\"job\":\"x\\u003cy\\u003e\"},\"values\":[[1699999940,\"1\"],"
            "[1699999970,\"0.30000000000000004\"],[1700000000,\"0.30000000000000004\"]]}]}}");
}

TEST_F(QueryApiTest, StatsObjectAsPrometheus242) {
  Build();
  net::HttpResponse r = Serve("GET", "/api/v1/query?query=1&time=17&stats=all");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"result\":[17,\"1\"],\"stats\":{\"timings\":{\"evalTotalTime\":"));
  for (const char* key : {"\"resultSortTime\":0,", "\"queryPreparationTime\":", "\"innerEvalTime\":",
                          "\"execQueueTime\":", "\"execTotalTime\":",
                          "},\"samples\":{\"totalQueryableSamples\":", ",\"peakSamples\":"}) {
    EXPECT_THAT(r.body, HasSubstr(key));
  }
  EXPECT_THAT(r.body, ::testing::EndsWith("}}}}"));
  // Any non-empty value; none without it.
  EXPECT_THAT(Serve("GET", "/api/v1/query?query=1&time=17&stats=foo").body, HasSubstr("\"stats\""));
  EXPECT_EQ(Serve("GET", "/api/v1/query?query=1&time=17").body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[17,\"1\"]}}");
}

// ---------------------------------------------------------------------------------------------
// Errors from the storage / limiter: cancellation, timeout, limits.

TEST_F(QueryApiTest, ClientGoneCancelsTheRunningQuery) {
  Build();
  MemTenant& t = queryable_.tenants["anonymous"];
  t.series.push_back({tsdb::Labels::FromStrings({"__name__", "up"}), {{kNow, 1}}});
  t.block_until_limited = true;
  auto control = std::make_shared<net::RequestControl>();
  std::thread client([&] {
    while (t.blocked.load() == 0) absl::SleepFor(absl::Milliseconds(2));
    EXPECT_EQ(api_->watched_queries(), 1u);
    control->Cancel(net::CancelReason::kClientGone);
  });
  const absl::Time start = absl::Now();
  net::HttpResponse r = Serve("GET", "/api/v1/query?query=up", {}, "", control);
  client.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, Err("canceled", "query was canceled in expression evaluation"));
  EXPECT_EQ(api_->watched_queries(), 0u);
}

TEST_F(QueryApiTest, TimeoutParameterAndItsCap) {
  QueryApiOptions q;
  q.engine.timeout = absl::Milliseconds(300);  // querier.timeout
  Build(false, q);
  MemTenant& t = queryable_.tenants["anonymous"];
  t.series.push_back({tsdb::Labels::FromStrings({"__name__", "up"}), {{kNow, 1}}});
  t.block_until_limited = true;
  // The parameter shortens it...
  absl::Time start = absl::Now();
  net::HttpResponse r = Serve("GET", "/api/v1/query?query=up&timeout=0.05");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, Err("timeout", "query timed out in expression evaluation"));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(290));
  // ... but cannot lengthen querier.timeout.
  start = absl::Now();
  r = Serve("GET", "/api/v1/query?query=up&timeout=1h");
  EXPECT_EQ(r.status, 503);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(290));
}

TEST_F(QueryApiTest, LimitErrorsAreExecutionAndStorageFailuresInternal) {
  Build();
  MemTenant& t = queryable_.tenants["anonymous"];
  t.series.push_back({tsdb::Labels::FromStrings({"__name__", "up"}), {{kNow, 1}}});
  t.fail_with = absl::ResourceExhaustedError(tsdb::QueryLimiter::MaxSeriesMessage(3));
  net::HttpResponse r = Serve("GET", "/api/v1/query?query=up");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, Err("execution", tsdb::QueryLimiter::MaxSeriesMessage(3)));
  t.fail_with = absl::InternalError("disk on fire");
  r = Serve("GET", "/api/v1/query?query=up");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, Err("internal", "disk on fire"));
  t.fail_with = absl::UnavailableError("the store is starting");
  EXPECT_EQ(Serve("GET", "/api/v1/query?query=up").status, 503);
}

TEST_F(QueryApiTest, QueryLimiterCarriesTheConfiguredLimits) {
  QueryApiOptions q;
  q.max_fetched_series_per_query = 1;
  Build(false, q);
  MemTenant& t = queryable_.tenants["anonymous"];
  t.series.push_back({tsdb::Labels::FromStrings({"__name__", "up", "i", "1"}), {{kNow, 1}}});
  ASSERT_EQ(Serve("GET", "/api/v1/query?query=up").status, 200);
  t.series.push_back({tsdb::Labels::FromStrings({"__name__", "up", "i", "2"}), {{kNow, 1}}});
  net::HttpResponse r = Serve("GET", "/api/v1/query?query=up");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, Err("execution", tsdb::QueryLimiter::MaxSeriesMessage(1)));
}

TEST_F(QueryApiTest, MaxQueryLookbackClampsWhatIsRead) {
  QueryApiOptions q;
  q.max_query_lookback = absl::Hours(1);
  Build(false, q);
  MemTenant& t = queryable_.tenants["anonymous"];
  t.series.push_back({tsdb::Labels::FromStrings({"__name__", "up"}),
                      {{kNow - 7200000, 1}, {kNow - 60000, 2}}});
  // Two hours ago is out of reach: nothing is opened, the answer is empty (not an error).
  t.last_mint = t.last_maxt = 0;
  net::HttpResponse r = Serve("GET", "/api/v1/query?query=up&time=" + std::to_string((kNow - 7200000) / 1000));
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}");
  EXPECT_EQ(t.last_maxt, 0);
  // A range reaching into the window reads from now - 1h on.
  r = Serve("GET", "/api/v1/query_range?query=up&step=60&start=" +
                       std::to_string((kNow - 10800000) / 1000) + "&end=" + std::to_string(kNow / 1000));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(t.last_mint, kNow - 3600000);
  EXPECT_EQ(t.last_maxt, kNow);
  // The label and series endpoints get their start clamped the same way.
  ASSERT_EQ(Serve("GET", "/api/v1/labels").status, 200);
  EXPECT_EQ(queryable_.labels_mint, kNow - 3600000);
  ASSERT_EQ(Serve("GET", "/api/v1/labels?start=0").status, 200);
  EXPECT_EQ(queryable_.labels_mint, kNow - 3600000);
  ASSERT_EQ(Serve("GET", "/api/v1/labels?start=" + std::to_string(kNow / 1000 - 60)).status, 200);
  EXPECT_EQ(queryable_.labels_mint, kNow - 60000);
}

// Through the real HTTP server: a client that closes its connection while its query runs
// cancels the query (server → RequestControl → CancelWatcher → QueryLimiter → storage), and
// meanwhile /ready and another query are answered.
TEST(QueryApiServerTest, ClientClosingItsConnectionCancelsTheQueryAndOthersAreServed) {
  MetricsRegistry registry;
  MemQueryable queryable;
  MemTenant& t = queryable.tenants["anonymous"];
  t.series.push_back({tsdb::Labels::FromStrings({"__name__", "up"}), {{kNow, 1}}});
  MetricsApiOptions o;
  o.tenants = {false, "anonymous"};
  o.registry = &registry;
  o.queryable = &queryable;
  MetricsApi api(o);
  api.SetReady(true);
  net::Router router;
  ASSERT_TRUE(api.Register(&router).ok());
  net::HttpServerOptions so;
  so.endpoint = "127.0.0.1:0";
  so.worker_threads = 4;
  auto server = net::HttpServer::Start(so, std::move(router));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  t.block_until_limited = true;
  auto slow = std::make_unique<net::test_util::Client>(port);
  ASSERT_TRUE(slow->Send("GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 500 && t.blocked.load() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(t.blocked.load(), 1);

  // While it runs: /ready (inline) and a query that reads nothing (a literal) are answered.
  {
    net::test_util::Client c(port);
    ASSERT_TRUE(c.Send("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.ReadHead();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  {
    net::test_util::Client c(port);
    ASSERT_TRUE(c.Send("GET /api/v1/query?query=2&time=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.ReadHead();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(t.ended_code.load(), -1);  // still running

  // The client goes away: the query is cancelled well before querier.timeout (2 min).
  const absl::Time closed = absl::Now();
  slow.reset();
  for (int i = 0; i < 500 && t.ended_code.load() == -1; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(t.ended_code.load(), static_cast<int>(absl::StatusCode::kCancelled));
  EXPECT_LT(absl::Now() - closed, absl::Seconds(3));
  for (int i = 0; i < 300 && api.watched_queries() != 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(api.watched_queries(), 0u);
  (*server)->Shutdown(absl::Seconds(1));
}

TEST(QueryErrorTypeTest, EngineCodesMapAsEngineHSays) {
  EXPECT_EQ(QueryErrorTypeOf(absl::InvalidArgumentError("")), ErrorType::kBadData);
  EXPECT_EQ(QueryErrorTypeOf(absl::FailedPreconditionError("")), ErrorType::kExecution);
  EXPECT_EQ(QueryErrorTypeOf(absl::ResourceExhaustedError("")), ErrorType::kExecution);
  EXPECT_EQ(QueryErrorTypeOf(absl::CancelledError("")), ErrorType::kCanceled);
  EXPECT_EQ(QueryErrorTypeOf(absl::DeadlineExceededError("")), ErrorType::kTimeout);
  EXPECT_EQ(QueryErrorTypeOf(absl::UnavailableError("")), ErrorType::kUnavailable);
  EXPECT_EQ(QueryErrorTypeOf(absl::DataLossError("")), ErrorType::kInternal);
}

// ---------------------------------------------------------------------------------------------
// JSON: each expected text is Prometheus 2.42's answer for the same value.

TEST(QueryJsonTest, TimestampsAndValues) {
  auto point = [](int64_t t) {
    std::string s;
    AppendPointTimestamp(t, &s);
    return s;
  };
  auto scalar = [](int64_t t) {
    std::string s;
    AppendScalarTimestamp(t, &s);
    return s;
  };
  auto value = [](double v) {
    std::string s;
    AppendSampleValue(v, &s);
    return s;
  };
  EXPECT_EQ(point(1500), "1.500");
  EXPECT_EQ(point(-1500), "-1.500");
  EXPECT_EQ(point(-50), "-0.050");
  EXPECT_EQ(point(1700000000000), "1700000000");
  EXPECT_EQ(point(1000), "1");
  EXPECT_EQ(scalar(1500), "1.5");
  EXPECT_EQ(scalar(-50), "-0.05");
  EXPECT_EQ(scalar(1700000000123), "1700000000.123");
  EXPECT_EQ(scalar(0), "0");
  EXPECT_EQ(scalar(-9223372036854), "-9223372036.854");
  auto scalar_value = [](double v) {
    std::string s;
    AppendScalarValue(v, &s);
    return s;
  };
  // A point's value: 'e' below 1e-6 and from 1e21 (jsoniter); a scalar's: always 'f'.
  EXPECT_EQ(value(0.1 + 0.2), "\"0.30000000000000004\"");
  EXPECT_EQ(value(1e-7), "\"1e-07\"");
  EXPECT_EQ(value(1e21), "\"1e+21\"");
  EXPECT_EQ(value(5e-324), "\"5e-324\"");
  EXPECT_EQ(value(-0.0), "\"-0\"");
  EXPECT_EQ(value(0.000001), "\"0.000001\"");
  EXPECT_EQ(scalar_value(1e-7), "\"0.0000001\"");
  EXPECT_EQ(scalar_value(1e21), "\"1000000000000000000000\"");
  EXPECT_EQ(scalar_value(std::nan("")), "\"NaN\"");
  EXPECT_EQ(value(123456789012345678.0), "\"123456789012345680\"");
  EXPECT_EQ(value(std::nan("")), "\"NaN\"");
  EXPECT_EQ(value(-std::numeric_limits<double>::infinity()), "\"-Inf\"");
  EXPECT_EQ(value(std::numeric_limits<double>::infinity()), "\"+Inf\"");
}

TEST(QueryJsonTest, ResultTypes) {
  promql::QueryResult r;
  r.type = promql::ValueType::kString;
  r.scalar.t = 1500;
  r.str = "x<";
  EXPECT_EQ(QueryDataJson(r, false), "{\"resultType\":\"string\",\"result\":[1.5,\"x\\u003c\"]}");

  r = {};
  r.type = promql::ValueType::kVector;
  EXPECT_EQ(QueryDataJson(r, false), "{\"resultType\":\"vector\",\"result\":[]}");
  r.series.push_back({tsdb::Labels(), {{1500, 1}}, {}});
  EXPECT_EQ(QueryDataJson(r, false),
            "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1.500,\"1\"]}]}");

  r = {};
  r.type = promql::ValueType::kMatrix;
  r.series.push_back({tsdb::Labels::FromStrings({"a", "b"}), {{-1000, -1}, {-500, -0.5}}, {}});
  EXPECT_EQ(QueryDataJson(r, false),
            "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"a\":\"b\"},\"values\":"
            "[[-1,\"-1\"],[-0.500,\"-0.5\"]]}]}");
}

TEST(QueryJsonTest, NativeHistograms) {
  // schema 0: bucket i is (2^(i-1), 2^i]; negative buckets mirror; the zero bucket is closed.
  chunkenc::FloatHistogram h;
  h.schema = 0;
  h.count = 12;
  h.sum = 20.5;
  h.zero_threshold = 0.001;
  h.zero_count = 2;
  h.positive_spans = {{0, 2}, {1, 1}};  // indexes 0, 1, 3
  h.positive_buckets = {1, 0, 4};       // index 1 is empty: left out
  h.negative_spans = {{1, 2}};          // indexes 1, 2
  h.negative_buckets = {3, 2};
  std::string s;
  AppendHistogramJson(h, &s);
  EXPECT_EQ(s,
            "{\"count\":\"12\",\"sum\":\"20.5\",\"buckets\":["
            "[1,\"-4\",\"-2\",\"2\"],[1,\"-2\",\"-1\",\"3\"],"
            "[3,\"-0.001\",\"0.001\",\"2\"],"
            "[0,\"0.5\",\"1\",\"1\"],[0,\"4\",\"8\",\"4\"]]}");
  // schema 1: base sqrt(2); bucket 1 is (1, 1.4142135623730951].
  chunkenc::FloatHistogram g;
  g.schema = 1;
  g.count = 1;
  g.positive_spans = {{1, 1}};
  g.positive_buckets = {1};
  s.clear();
  AppendHistogramJson(g, &s);
  EXPECT_EQ(s, "{\"count\":\"1\",\"sum\":\"0\",\"buckets\":[[0,\"1\",\"1.4142135623730951\",\"1\"]]}");
  // No bucket at all: no `buckets` key.
  s.clear();
  AppendHistogramJson(chunkenc::FloatHistogram{}, &s);
  EXPECT_EQ(s, "{\"count\":\"0\",\"sum\":\"0\"}");

  promql::QueryResult r;
  r.type = promql::ValueType::kMatrix;
  r.series.push_back({tsdb::Labels(), {{1000, 1}}, {{2000, g}}});
  EXPECT_EQ(QueryDataJson(r, false),
            "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1,\"1\"]],"
            "\"histograms\":[[2,{\"count\":\"1\",\"sum\":\"0\",\"buckets\":[[0,\"1\","
            "\"1.4142135623730951\",\"1\"]]}]]}]}");
  r.type = promql::ValueType::kVector;
  r.series[0].floats.clear();
  EXPECT_EQ(QueryDataJson(r, false),
            "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"histogram\":[2,{\"count\":"
            "\"1\",\"sum\":\"0\",\"buckets\":[[0,\"1\",\"1.4142135623730951\",\"1\"]]}]}]}");
}

TEST(CancelWatcherTest, CancelsOnlyWatchedLimitersOfCancelledRequests) {
  CancelWatcher w(absl::Milliseconds(5));
  auto c1 = std::make_shared<net::RequestControl>();
  auto c2 = std::make_shared<net::RequestControl>();
  tsdb::QueryLimiter l1, l2, l3;
  auto g1 = w.Watch(c1, &l1);
  auto g2 = w.Watch(c2, &l2);
  {
    auto g3 = w.Watch(c1, &l3);
  }  // unwatched before the cancel
  EXPECT_EQ(w.watched(), 2u);
  c1->Cancel(net::CancelReason::kClientGone);
  for (int i = 0; i < 400 && !l1.cancelled(); ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(l1.cancelled());
  EXPECT_FALSE(l2.cancelled());
  EXPECT_FALSE(l3.cancelled());
  EXPECT_EQ(w.Watch(nullptr, &l2) != nullptr, true);  // null control: a no-op guard
  EXPECT_EQ(w.watched(), 2u);
}

}  // namespace
}  // namespace sprout::metrics::api
