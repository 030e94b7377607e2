#include "traces/api/traces_api.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "net/http_message.h"
#include "rapidjson/document.h"

namespace sprout::traces {
namespace {

using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;
using opentelemetry::proto::trace::v1::TracesData;
using ::testing::ElementsAre;
using ::testing::Pair;

// Trace A: ID 00 01 02 ... 0f, two resources. Trace B: ID 00 .. 00 0a bc (short hex `abc`).
const std::string kIdA("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", 16);
const std::string kIdB(std::string(14, '\0') + "\x0a\xbc");
const std::string kSpan1("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
const std::string kSpan2("\x00\x00\x00\x00\x00\x00\x00\x2a", 8);
// Base64 of the IDs above (RFC 4648), worked out by hand.
constexpr char kIdABase64[] = "AAECAwQFBgcICQoLDA0ODw==";
constexpr char kSpan1Base64[] = "AQIDBAUGBwg=";

TracesData MakeTraceA() {
  TracesData t;
  auto* rs = t.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("frontend");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("lib");
  Span* s = ss->add_spans();
  s->set_trace_id(kIdA);
  s->set_span_id(kSpan1);
  s->set_name("GET /");
  s->set_kind(Span::SPAN_KIND_SERVER);
  s->set_start_time_unix_nano(1'700'000'000'000'000'000ull);
  s->set_end_time_unix_nano(1'700'000'000'250'000'000ull);
  auto* a = s->add_attributes();
  a->set_key("http.status_code");
  a->mutable_value()->set_int_value(500);
  s->mutable_status()->set_code(Status::STATUS_CODE_ERROR);
  auto* rs2 = t.add_resource_spans();
  rs2->mutable_resource()->add_attributes()->set_key("service.name");
  rs2->mutable_resource()->mutable_attributes(0)->mutable_value()->set_string_value("db");
  Span* c = rs2->add_scope_spans()->add_spans();
  c->set_trace_id(kIdA);
  c->set_span_id(kSpan2);
  c->set_parent_span_id(kSpan1);
  c->set_name("SELECT");
  c->set_kind(Span::SPAN_KIND_CLIENT);
  c->set_start_time_unix_nano(1'700'000'000'010'000'000ull);
  c->set_end_time_unix_nano(1'700'000'000'020'000'000ull);
  return t;
}

TracesData MakeTraceB() {
  TracesData t;
  Span* s = t.add_resource_spans()->add_scope_spans()->add_spans();
  s->set_trace_id(kIdB);
  s->set_span_id(kSpan1);
  s->set_name("b");
  return t;
}

class FakeQueryable : public TraceQueryable {
 public:
  std::map<std::string, TracesData> traces = {{kIdA, MakeTraceA()}, {kIdB, MakeTraceB()}};
  std::string last_tenant, last_id, last_scope, last_name, last_query = "unset";
  uint32_t last_start = 7, last_end = 7, last_limit = 7;
  SearchRequest last_search;
  SearchResult search_result;
  absl::Status error;  // returned by every method when not OK

  absl::StatusOr<std::optional<TracesData>> FindTraceByID(std::string_view tenant,
                                                          std::string_view id, uint32_t start,
                                                          uint32_t end) override {
    last_tenant = std::string(tenant);
    last_id = std::string(id);
    last_start = start;
    last_end = end;
    if (!error.ok()) return error;
    auto it = traces.find(std::string(id));
    if (it == traces.end()) return std::optional<TracesData>();
    return std::optional<TracesData>(it->second);
  }
  absl::StatusOr<SearchResult> Search(std::string_view tenant, const SearchRequest& r) override {
    last_tenant = std::string(tenant);
    last_search = r;
    if (!error.ok()) return error;
    return search_result;
  }
  absl::StatusOr<TagNamesResult> TagNames(std::string_view tenant, std::string_view scope,
                                          uint32_t start, uint32_t end,
                                          std::string_view query) override {
    last_tenant = std::string(tenant);
    last_query = std::string(query);
    last_scope = std::string(scope);
    last_start = start;
    last_end = end;
    TagNamesResult r;
    if (scope.empty() || scope == "resource") r.scopes.push_back({"resource", {"service.name"}});
    if (scope.empty() || scope == "span") {
      r.scopes.push_back({"span", {"http.status_code", "service.name"}});
    }
    if (scope.empty() || scope == "intrinsic") r.scopes.push_back({"intrinsic", {"duration"}});
    r.inspected_bytes = 1234;
    return r;
  }
  absl::StatusOr<TagValuesResult> TagValues(std::string_view tenant, std::string_view name,
                                            uint32_t start, uint32_t end, uint32_t limit,
                                            std::string_view query) override {
    last_tenant = std::string(tenant);
    last_query = std::string(query);
    last_name = std::string(name);
    last_start = start;
    last_end = end;
    last_limit = limit;
    TagValuesResult r;
    r.values = {{"string", "db"}, {"string", "frontend"}, {"int", "500"}};
    return r;
  }
};

class TracesApiTest : public ::testing::Test {
 protected:
  void Build(bool multitenancy, uint64_t max_bytes_per_trace = 0) {
    TracesApiOptions options;
    options.max_bytes_per_trace = max_bytes_per_trace;
    options.multitenancy_enabled = multitenancy;
    options.build.revision = "abc";
    options.queryable = &fake_;
    api_ = std::make_unique<TracesApi>(options);
    router_ = net::Router();
    ASSERT_TRUE(api_->Register(&router_).ok());
  }

  net::HttpResponse Serve(std::string target,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpRequest request;
    request.method = "GET";
    request.target = target;
    const size_t q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    request.headers = std::move(headers);
    net::HttpResponse response;
    net::Router::Match m = router_.Find("GET", request.path, &request.path_params);
    if (m.route == nullptr) {
      net::Router::WriteNoRoute(m, response);
      return response;
    }
    router_.Serve(*m.route, request, response);
    return response;
  }

  static rapidjson::Document Parse(const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str());
    EXPECT_FALSE(d.HasParseError()) << body;
    return d;
  }

  FakeQueryable fake_;
  std::unique_ptr<TracesApi> api_;
  net::Router router_;
};

const std::vector<std::pair<std::string, std::string>> kProto = {
    {"accept", "application/protobuf"}};

TEST_F(TracesApiTest, EchoReadyAndBuildInfo) {
  Build(true);  // none of them needs a tenant
  net::HttpResponse r = Serve("/api/echo");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "echo");
  EXPECT_EQ(Serve("/ready").status, 503);
  api_->SetReady(true);
  r = Serve("/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready");
  r = Serve("/api/status/buildinfo");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  rapidjson::Document d = Parse(r.body);
  ASSERT_TRUE(d["version"].IsString());
  // Grafana turns on its streaming and metrics features from 2.7.0 on.
  int major = 0, minor = 0;
  ASSERT_EQ(std::sscanf(d["version"].GetString(), "%d.%d", &major, &minor), 2);
  EXPECT_TRUE(major > 2 || (major == 2 && minor >= 7)) << d["version"].GetString();
  EXPECT_STREQ(d["revision"].GetString(), "abc");
  for (const char* k : {"branch", "buildUser", "buildDate", "goVersion"}) {
    EXPECT_TRUE(d.HasMember(k)) << k;
  }
}

TEST_F(TracesApiTest, ReadyLeftToTheCommandAndOneDefaultTenant) {
  // `sprout all` serves several APIs on one router: its own /ready, one tenant for every role.
  TracesApiOptions options;
  options.serve_ready = false;
  options.default_tenant = "anonymous";
  options.queryable = &fake_;
  api_ = std::make_unique<TracesApi>(options);
  router_ = net::Router();
  ASSERT_TRUE(api_->Register(&router_).ok());
  EXPECT_EQ(Serve("/ready").status, 404);
  EXPECT_TRUE(
      router_
          .Handle("GET", "/ready", [](net::HttpRequest&, net::HttpResponse& r) { r.body = "mine"; })
          .ok());
  EXPECT_EQ(Serve("/ready").body, "mine");
  EXPECT_EQ(Serve("/api/echo").status, 200);
  EXPECT_EQ(Serve("/api/search").status, 200);
  EXPECT_EQ(fake_.last_tenant, "anonymous");
}

TEST_F(TracesApiTest, TraceByIdV1JsonUsesBatchesBase64IdsAndEnumNames) {
  Build(false);
  net::HttpResponse r = Serve("/api/traces/000102030405060708090a0b0c0d0e0f?start=10&end=20");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(fake_.last_tenant, "single-tenant");
  EXPECT_EQ(fake_.last_id, kIdA);
  EXPECT_EQ(fake_.last_start, 10u);
  EXPECT_EQ(fake_.last_end, 20u);
  rapidjson::Document d = Parse(r.body);
  EXPECT_FALSE(d.HasMember("resourceSpans"));
  ASSERT_TRUE(d["batches"].IsArray());
  ASSERT_EQ(d["batches"].Size(), 2u);
  const auto& b0 = d["batches"][0];
  EXPECT_STREQ(b0["resource"]["attributes"][0]["key"].GetString(), "service.name");
  EXPECT_STREQ(b0["resource"]["attributes"][0]["value"]["stringValue"].GetString(), "frontend");
  EXPECT_STREQ(b0["scopeSpans"][0]["scope"]["name"].GetString(), "lib");
  const auto& s = b0["scopeSpans"][0]["spans"][0];
  EXPECT_STREQ(s["traceId"].GetString(), kIdABase64);
  EXPECT_STREQ(s["spanId"].GetString(), kSpan1Base64);
  EXPECT_STREQ(s["name"].GetString(), "GET /");
  EXPECT_STREQ(s["kind"].GetString(), "SPAN_KIND_SERVER");
  EXPECT_STREQ(s["startTimeUnixNano"].GetString(), "1700000000000000000");
  EXPECT_STREQ(s["endTimeUnixNano"].GetString(), "1700000000250000000");
  EXPECT_STREQ(s["attributes"][0]["value"]["intValue"].GetString(), "500");
  EXPECT_STREQ(s["status"]["code"].GetString(), "STATUS_CODE_ERROR");
  EXPECT_FALSE(s.HasMember("parentSpanId"));  // zero values omitted
  const auto& c = d["batches"][1]["scopeSpans"][0]["spans"][0];
  EXPECT_STREQ(c["parentSpanId"].GetString(), kSpan1Base64);
  EXPECT_STREQ(c["spanId"].GetString(), "AAAAAAAAACo=");
  EXPECT_STREQ(c["kind"].GetString(), "SPAN_KIND_CLIENT");
}

TEST_F(TracesApiTest, TraceByIdV1ProtobufDecodesToTheStoredTrace) {
  Build(false);
  net::HttpResponse r = Serve("/api/traces/000102030405060708090a0b0c0d0e0f", kProto);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/protobuf");
  TracesData got;
  ASSERT_TRUE(got.ParseFromString(r.body));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, MakeTraceA()));
  EXPECT_EQ(fake_.last_start, 0u);  // no start/end: unbounded
  EXPECT_EQ(fake_.last_end, 0u);
}

TEST_F(TracesApiTest, MissingTraceIs404OnV1And200EmptyOnV2) {
  Build(false);
  net::HttpResponse r = Serve("/api/traces/ffff");
  EXPECT_EQ(r.status, 404);
  r = Serve("/api/traces/ffff", kProto);
  EXPECT_EQ(r.status, 404);
  r = Serve("/api/v2/traces/ffff");
  EXPECT_EQ(r.status, 200);
  rapidjson::Document d = Parse(r.body);
  ASSERT_TRUE(d["trace"].IsObject());
  EXPECT_EQ(d["trace"].MemberCount(), 0u);
  EXPECT_FALSE(d.HasMember("status"));
  EXPECT_FALSE(d.HasMember("message"));
  r = Serve("/api/v2/traces/ffff", kProto);
  EXPECT_EQ(r.status, 200);
  google::protobuf::UnknownFieldSet fields;
  ASSERT_TRUE(fields.ParseFromString(r.body));
  ASSERT_GE(fields.field_count(), 1);
  EXPECT_EQ(fields.field(0).number(), 1);
  EXPECT_EQ(fields.field(0).length_delimited(), "");  // an empty Trace
}

TEST_F(TracesApiTest, TraceByIdV2JsonAndProtobuf) {
  Build(false);
  net::HttpResponse r = Serve("/api/v2/traces/000102030405060708090a0b0c0d0e0f");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  rapidjson::Document d = Parse(r.body);
  ASSERT_TRUE(d["trace"]["resourceSpans"].IsArray());
  EXPECT_FALSE(d["trace"].HasMember("batches"));
  EXPECT_EQ(d["trace"]["resourceSpans"].Size(), 2u);
  EXPECT_STREQ(d["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"].GetString(),
               kIdABase64);
  EXPECT_TRUE(d["metrics"].IsObject());
  EXPECT_FALSE(d.HasMember("status"));  // only when partial
  EXPECT_FALSE(d.HasMember("message"));

  r = Serve("/api/v2/traces/000102030405060708090a0b0c0d0e0f", kProto);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/protobuf");
  google::protobuf::UnknownFieldSet fields;
  ASSERT_TRUE(fields.ParseFromString(r.body));
  std::map<int, int> seen;
  for (int i = 0; i < fields.field_count(); ++i) {
    const auto& f = fields.field(i);
    ++seen[f.number()];
    if (f.number() == 1) {
      TracesData got;
      ASSERT_TRUE(got.ParseFromString(f.length_delimited()));
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, MakeTraceA()));
    }
  }
  EXPECT_EQ(seen[1], 1);
  EXPECT_EQ(seen.count(3), 0u);  // status COMPLETE (0) is not written
  EXPECT_EQ(seen.count(4), 0u);
}

TEST_F(TracesApiTest, TraceOverMaxBytesIsCutAndPartialOnV2) {
  const TracesData full = MakeTraceA();
  const uint64_t first_span = full.resource_spans(0).scope_spans(0).spans(0).ByteSizeLong();
  Build(false, first_span);  // room for the first span only
  const std::string message = "Trace exceeds maximum size of " + std::to_string(first_span) +
                              " bytes, a partial trace is returned";
  net::HttpResponse r = Serve("/api/v2/traces/000102030405060708090a0b0c0d0e0f");
  ASSERT_EQ(r.status, 200);
  rapidjson::Document d = Parse(r.body);
  EXPECT_STREQ(d["status"].GetString(), "PARTIAL");
  EXPECT_EQ(std::string(d["message"].GetString()), message);
  ASSERT_EQ(d["trace"]["resourceSpans"].Size(), 1u);
  ASSERT_EQ(d["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"].Size(), 1u);
  EXPECT_STREQ(d["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"].GetString(),
               "GET /");

  r = Serve("/api/v2/traces/000102030405060708090a0b0c0d0e0f", kProto);
  google::protobuf::UnknownFieldSet fields;
  ASSERT_TRUE(fields.ParseFromString(r.body));
  std::map<int, const google::protobuf::UnknownField*> by_number;
  for (int i = 0; i < fields.field_count(); ++i)
    by_number[fields.field(i).number()] = &fields.field(i);
  ASSERT_TRUE(by_number.count(3) && by_number.count(4) && by_number.count(1));
  EXPECT_EQ(by_number[3]->varint(), 1u);  // PARTIAL
  EXPECT_EQ(by_number[4]->length_delimited(), message);
  TracesData got;
  ASSERT_TRUE(got.ParseFromString(by_number[1]->length_delimited()));
  TracesData expected = full;
  expected.mutable_resource_spans()->RemoveLast();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, expected));

  // v1 has no status: the cut trace is answered as it is.
  r = Serve("/api/traces/000102030405060708090a0b0c0d0e0f", kProto);
  ASSERT_TRUE(got.ParseFromString(r.body));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, expected));
  // A trace that fits is untouched.
  EXPECT_FALSE(TruncateTrace(&expected, expected.ByteSizeLong()));
}

TEST_F(TracesApiTest, ShortIdsAreLeftPaddedAndBadIdsAre400) {
  Build(false);
  net::HttpResponse r = Serve("/api/traces/abc");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_id, kIdB);
  r = Serve("/api/v2/traces/ABC");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_id, kIdB);
  EXPECT_EQ(ParseTraceId("0").value(), std::string(16, '\0'));

  r = Serve("/api/traces/12xz");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            "trace IDs can only contain hex characters: invalid character 'x' at position 3\n");
  r = Serve("/api/v2/traces/" + std::string(33, 'a'));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "trace IDs can't be larger than 128 bits\n");
  r = Serve("/api/traces/abc?start=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "invalid start: strconv.ParseInt: parsing \"x\": invalid syntax\n");
}

TEST_F(TracesApiTest, StoreErrorsAreAnsweredWithTheirCode) {
  Build(false);
  fake_.error = absl::InternalError("disk on fire");
  net::HttpResponse r = Serve("/api/v2/traces/abc");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "disk on fire\n");
  fake_.error = absl::ResourceExhaustedError("too big");
  EXPECT_EQ(Serve("/api/search").status, 429);
}

TEST_F(TracesApiTest, TenancyFromOrgIdWhenMultitenancyIsOn) {
  Build(true);
  net::HttpResponse r = Serve("/api/traces/abc");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "no org id\n");
  EXPECT_EQ(Serve("/api/search").status, 401);
  EXPECT_EQ(Serve("/api/v2/search/tags").status, 401);
  r = Serve("/api/traces/abc", {{"x-scope-orgid", "team-a"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_tenant, "team-a");
  r = Serve("/api/search/tags", {{"x-scope-orgid", "team-b"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_tenant, "team-b");
}

TEST_F(TracesApiTest, SearchDefaultsAndParameters) {
  Build(false);
  net::HttpResponse r = Serve("/api/search");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(fake_.last_search.limit, 20u);
  EXPECT_EQ(fake_.last_search.spss, 3u);
  EXPECT_TRUE(fake_.last_search.tags.empty());
  EXPECT_EQ(fake_.last_search.start_s, 0u);
  EXPECT_EQ(fake_.last_search.end_s, 0u);
  EXPECT_EQ(r.body, "{\"metrics\":{}}");

  r = Serve(
      "/api/search?tags=service.name%3Dfrontend%20http.url%3D%22%2Fa%20b%22%20error&"
      "minDuration=1.5ms&maxDuration=2s&limit=5&spss=7&start=100&end=200");
  ASSERT_EQ(r.status, 200) << r.body;
  const SearchRequest& s = fake_.last_search;
  EXPECT_THAT(s.tags, ElementsAre(Pair("service.name", "frontend"), Pair("http.url", "/a b"),
                                  Pair("error", "")));
  EXPECT_EQ(s.min_duration_ns, 1'000'000);  // Tempo keeps whole milliseconds
  EXPECT_EQ(s.max_duration_ns, 2'000'000'000);
  EXPECT_EQ(s.limit, 5u);
  EXPECT_EQ(s.spss, 7u);
  EXPECT_EQ(s.start_s, 100u);
  EXPECT_EQ(s.end_s, 200u);

  // TraceQL's match-all is the same as no filter.
  r = Serve("/api/search?q=%7B%20%7D");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(fake_.last_search.tags.empty());
  // The oldest Grafana's one-parameter-per-tag form.
  r = Serve("/api/search?service.name=db&limit=2");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(fake_.last_search.tags, ElementsAre(Pair("service.name", "db")));
}

TEST_F(TracesApiTest, SearchParameterErrorsHaveTempoText) {
  Build(false);
  const std::pair<const char*, const char*> cases[] = {
      {"start=abc", "invalid start: strconv.ParseInt: parsing \"abc\": invalid syntax"},
      {"end=99999999999",
       "invalid end: strconv.ParseInt: parsing \"99999999999\": value out of range"},
      // Tempo's texts for these two queries (its search-request parsing tests).
      {"q=%7B%20.foo%3D%22bar%22%20",
       "invalid TraceQL query: parse error at line 1, col 14: syntax error: unexpected $end"},
      {"q=%7B%20.foo%20%3D%20%22bar%20%7D",
       "invalid TraceQL query: parse error at line 1, col 10: literal not terminated"},
      {"q=%7B%7D&tags=a%3Db", "invalid request: can't specify tags and q in the same query"},
      {"tags=a%3Db%20a%3Dc", "invalid tags: tag a has been set twice"},
      {"tags=a%3D%22b", "invalid tags: unterminated quoted value at pos 5"},
      {"tags=%3Db", "invalid tags: unexpected '=' at pos 1"},
      {"minDuration=abc", "invalid minDuration: time: invalid duration \"abc\""},
      {"maxDuration=1", "invalid maxDuration: time: missing unit in duration \"1\""},
      {"minDuration=2s&maxDuration=1s", "invalid maxDuration: must be greater than minDuration"},
      {"limit=x", "invalid limit: strconv.Atoi: parsing \"x\": invalid syntax"},
      {"limit=0", "invalid limit: must be a positive number"},
      {"spss=-1", "invalid spss: must be a positive number"},
      {"start=20&end=10", "http parameter start must be before end. received start=20 end=10"},
      {"start=0&end=700000",
       "range specified by start and end exceeds 168h0m0s. received start=0 end=700000"},
      {"spss=101", "spans per span set exceeds 100. received 101"},
  };
  for (const auto& [query, message] : cases) {
    net::HttpResponse r = Serve(std::string("/api/search?") + query);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_EQ(r.body, std::string(message) + "\n") << query;
    EXPECT_EQ(r.Header("Content-Type"), "text/plain; charset=utf-8");
  }
  EXPECT_EQ(Serve("/api/search?spss=100").status, 200);
}

TEST_F(TracesApiTest, SearchResponseShape) {
  Build(false);
  TraceSummary t;
  t.trace_id = kIdB;
  t.root_service_name = "frontend";
  t.root_trace_name = "GET /";
  t.start_time_unix_nano = 1'700'000'000'000'000'000ull;
  t.duration_ms = 250;
  SearchSpanSet set;
  SearchSpan span;
  span.span_id = std::string("\x00\x00\x00\x00\x00\x00\x00\x2a", 8);
  span.name = "GET /";
  span.start_time_unix_nano = 1'700'000'000'000'000'000ull;
  span.duration_nanos = 250'000'000;
  span.attributes.emplace_back();
  span.attributes.back().set_key("http.status_code");
  span.attributes.back().mutable_value()->set_int_value(500);
  set.spans.push_back(span);
  set.matched = 4;
  t.span_sets.push_back(set);
  t.service_stats["frontend"] = {3, 1};
  t.service_stats["db"] = {2, 0};
  fake_.search_result.traces = {t, t, t};
  fake_.search_result.metrics.inspected_traces = 9;
  fake_.search_result.metrics.inspected_bytes = 4096;
  fake_.search_result.metrics.inspected_spans = 30;
  fake_.search_result.metrics.total_blocks = 2;
  fake_.search_result.metrics.completed_jobs = 2;
  fake_.search_result.metrics.total_jobs = 2;
  fake_.search_result.metrics.total_block_bytes = 1 << 20;

  net::HttpResponse r = Serve("/api/search?limit=2");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  rapidjson::Document d = Parse(r.body);
  ASSERT_EQ(d["traces"].Size(), 2u);  // the store's extra trace is cut at `limit`
  const auto& tr = d["traces"][0];
  EXPECT_STREQ(tr["traceID"].GetString(), "abc");  // leading zeros trimmed
  EXPECT_STREQ(tr["rootServiceName"].GetString(), "frontend");
  EXPECT_STREQ(tr["rootTraceName"].GetString(), "GET /");
  EXPECT_STREQ(tr["startTimeUnixNano"].GetString(), "1700000000000000000");
  EXPECT_EQ(tr["durationMs"].GetUint(), 250u);
  ASSERT_EQ(tr["spanSets"].Size(), 1u);
  const auto& ss = tr["spanSets"][0];
  EXPECT_EQ(ss["matched"].GetUint(), 4u);
  EXPECT_STREQ(ss["spans"][0]["spanID"].GetString(), "000000000000002a");  // zero-padded
  EXPECT_STREQ(ss["spans"][0]["name"].GetString(), "GET /");
  EXPECT_STREQ(ss["spans"][0]["startTimeUnixNano"].GetString(), "1700000000000000000");
  EXPECT_STREQ(ss["spans"][0]["durationNanos"].GetString(), "250000000");
  EXPECT_STREQ(ss["spans"][0]["attributes"][0]["key"].GetString(), "http.status_code");
  EXPECT_STREQ(ss["spans"][0]["attributes"][0]["value"]["intValue"].GetString(), "500");
  EXPECT_FALSE(ss.HasMember("attributes"));
  EXPECT_STREQ(tr["spanSet"]["spans"][0]["spanID"].GetString(), "000000000000002a");
  EXPECT_EQ(tr["serviceStats"]["frontend"]["spanCount"].GetUint(), 3u);
  EXPECT_EQ(tr["serviceStats"]["frontend"]["errorCount"].GetUint(), 1u);
  EXPECT_EQ(tr["serviceStats"]["db"]["spanCount"].GetUint(), 2u);
  EXPECT_FALSE(tr["serviceStats"]["db"].HasMember("errorCount"));  // zero omitted
  const auto& m = d["metrics"];
  EXPECT_EQ(m["inspectedTraces"].GetUint(), 9u);
  EXPECT_STREQ(m["inspectedBytes"].GetString(), "4096");
  EXPECT_STREQ(m["inspectedSpans"].GetString(), "30");
  EXPECT_EQ(m["totalBlocks"].GetUint(), 2u);
  EXPECT_EQ(m["completedJobs"].GetUint(), 2u);
  EXPECT_EQ(m["totalJobs"].GetUint(), 2u);
  EXPECT_STREQ(m["totalBlockBytes"].GetString(), "1048576");
}

TEST_F(TracesApiTest, TagNamesV1AndV2) {
  Build(false);
  net::HttpResponse r = Serve("/api/search/tags?start=5&end=9");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_scope, "");
  EXPECT_EQ(fake_.last_start, 5u);
  EXPECT_EQ(fake_.last_end, 9u);
  rapidjson::Document d = Parse(r.body);
  // Span and resource names, sorted, each once; no intrinsics.
  ASSERT_EQ(d["tagNames"].Size(), 2u);
  EXPECT_STREQ(d["tagNames"][0].GetString(), "http.status_code");
  EXPECT_STREQ(d["tagNames"][1].GetString(), "service.name");
  EXPECT_STREQ(d["metrics"]["inspectedBytes"].GetString(), "1234");

  r = Serve("/api/v2/search/tags");
  ASSERT_EQ(r.status, 200);
  d = Parse(r.body);
  ASSERT_EQ(d["scopes"].Size(), 3u);
  EXPECT_STREQ(d["scopes"][0]["name"].GetString(), "resource");
  EXPECT_STREQ(d["scopes"][0]["tags"][0].GetString(), "service.name");
  EXPECT_STREQ(d["scopes"][1]["name"].GetString(), "span");
  EXPECT_EQ(d["scopes"][1]["tags"].Size(), 2u);
  EXPECT_STREQ(d["scopes"][2]["name"].GetString(), "intrinsic");
  EXPECT_STREQ(d["scopes"][2]["tags"][0].GetString(), "duration");

  r = Serve("/api/v2/search/tags?scope=span");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_scope, "span");
  EXPECT_EQ(Parse(r.body)["scopes"].Size(), 1u);
  r = Serve("/api/v2/search/tags?scope=bogus");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "invalid scope: bogus\n");
}

TEST_F(TracesApiTest, TagValuesV1AndV2) {
  Build(false);
  net::HttpResponse r = Serve("/api/search/tag/service.name/values?limit=2");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_name, ".service.name");  // v1: the unscoped attribute
  EXPECT_EQ(fake_.last_limit, 2u);
  rapidjson::Document d = Parse(r.body);
  ASSERT_EQ(d["tagValues"].Size(), 2u);  // cut at limit
  EXPECT_STREQ(d["tagValues"][0].GetString(), "db");
  EXPECT_STREQ(d["tagValues"][1].GetString(), "frontend");

  r = Serve("/api/v2/search/tag/resource.service.name/values?start=1&end=2");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_name, "resource.service.name");
  EXPECT_EQ(fake_.last_limit, 0u);
  EXPECT_EQ(fake_.last_start, 1u);
  d = Parse(r.body);
  ASSERT_EQ(d["tagValues"].Size(), 3u);
  EXPECT_STREQ(d["tagValues"][0]["type"].GetString(), "string");
  EXPECT_STREQ(d["tagValues"][0]["value"].GetString(), "db");
  EXPECT_STREQ(d["tagValues"][2]["type"].GetString(), "int");
  EXPECT_STREQ(d["tagValues"][2]["value"].GetString(), "500");
  EXPECT_TRUE(d["metrics"].IsObject());

  r = Serve("/api/v2/search/tag/name/values?limit=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "invalid limit: strconv.Atoi: parsing \"x\": invalid syntax\n");
}

// `q` on the v2 tag routes: narrowed to its matchers (traceql::ExtractMatchers) and passed
// down; an unusable `q` is no filter (""). The v1 routes ignore `q`, as Tempo's.
TEST_F(TracesApiTest, TagRoutesPassTheNarrowedQuery) {
  Build(false);
  // `{ resource.service.name="a" && span.foo=` (unfinished), URL-encoded.
  const std::string unfinished = "q=%7B%20resource.service.name%3D%22a%22%20%26%26%20span.foo%3D";
  const std::string want = R"({ resource.service.name = "a" })";
  for (const std::string path : {"/api/v2/search/tags?", "/api/v2/search/tag/span.foo/values?"}) {
    net::HttpResponse r = Serve(path + unfinished);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(fake_.last_query, want) << path;
    r = Serve(path + "q=%7B%20.a%20%3D%201%20%7D%20%3E%3E%20%7B%20%7D");  // { .a = 1 } >> { }
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(fake_.last_query, "") << path;
    r = Serve(path + "q=garbage%20%7B");
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(fake_.last_query, "") << path;
    r = Serve(path.substr(0, path.size() - 1));
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(fake_.last_query, "") << path;
  }
  for (const std::string path : {"/api/search/tags?", "/api/search/tag/service.name/values?"}) {
    net::HttpResponse r = Serve(path + unfinished);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(fake_.last_query, "") << path;
  }
}

// Grafana encodes the tag name twice (encodeURIComponent(encodeURIComponent(tag))); the router
// decodes once and the route once more, as Tempo (url.QueryUnescape, `+` is a space).
TEST_F(TracesApiTest, TagValuesNameDecodedTwice) {
  Build(false);
  // span."a b/c" encoded twice: `"` → %22 → %2522, space → %20 → %2520, / → %2F → %252F.
  net::HttpResponse r = Serve("/api/v2/search/tag/span.%2522a%2520b%252Fc%2522/values");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_name, R"(span."a b/c")");
  r = Serve("/api/v2/search/tag/resource.service.name/values");  // no escapes: unchanged
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_name, "resource.service.name");
  r = Serve("/api/search/tag/a%252Bb+c/values");  // v1 too: %2B → +, and + → space
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(fake_.last_name, ".a+b c");
  r = Serve("/api/v2/search/tag/span.%25zz/values");  // decodes once to `%zz`
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "error in unescaping tagName\n");
}

TEST(LogfmtTagsTest, QuotedValuesEscapesAndBareKeys) {
  auto tags = ParseLogfmtTags(R"(  a=1 b="x \"y\" \\ z"   c d= )");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags,
              ElementsAre(Pair("a", "1"), Pair("b", "x \"y\" \\ z"), Pair("c", ""), Pair("d", "")));
  EXPECT_TRUE(ParseLogfmtTags("").value().empty());
  EXPECT_FALSE(ParseLogfmtTags("a=b=c").ok());
}

TEST(TraceIdTest, HexTrimmedForSearch) {
  EXPECT_EQ(TraceIdToHexTrimmed(kIdA), "102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(TraceIdToHexTrimmed(kIdB), "abc");
}

}  // namespace
}  // namespace sprout::traces
