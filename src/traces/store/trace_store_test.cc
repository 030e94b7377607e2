// traces_store_test: the tenants of the trace store and its read seam over live traces. Real
// OTLP export requests are pushed through TraceStore::Push and read back through the
// TraceQueryable seam; every expected value comes from how the requests are built: a known set
// of traces (services, span names, attributes, statuses, times), a restart that replays the WAL,
// two tenants kept apart, tenant IDs refused as dskit refuses them, the store behind Tempo's
// HTTP routes (TracesApi) with tenants from X-Scope-OrgID, and the flush pipeline (FlushOnce and
// the background thread on an injected clock with a fake BlockSink: idle cut, duration and
// bytes triggers, failure and backoff, Close with and without flush_all_on_shutdown).
#include "traces/store/trace_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/ulid.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "net/http_message.h"
#include "objstore/fault_injection.h"
#include "objstore/filesystem.h"
#include "rapidjson/document.h"
#include "storage/fault_injection_env.h"
#include "traces/api/traces_api.h"
#include "traces/block/block.h"
#include "traces/compact/compact.h"
#include "traces/traceql/engine.h"
#include "traces/traceql/parser.h"

namespace sprout::traces::store {
namespace {

namespace tpb = opentelemetry::proto::trace::v1;
namespace cpb = opentelemetry::proto::common::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

constexpr char kWal[] = "/data/traces/wal";
constexpr uint64_t kBase = 1700000000ull * 1000000000ull;  // 2023-11-14T22:13:20Z
constexpr uint64_t kMs = 1000000;

std::string TraceId(int n) {
  std::string id(16, '\0');
  id[15] = static_cast<char>(n);
  id[0] = 'x';
  return id;
}
std::string SpanId(int n) {
  std::string id(8, '\0');
  id[7] = static_cast<char>(n);
  return id;
}

struct SpanSpec {
  int trace;
  int span;
  int parent;  // 0 = root
  std::string name;
  uint64_t start_ms;  // after kBase
  uint64_t duration_ms;
  bool error = false;
  std::string http_method;  // span attribute http.method when set
  int64_t http_status = 0;  // span attribute http.status_code when set
};

cpb::KeyValue StrAttr(const std::string& k, const std::string& v) {
  cpb::KeyValue kv;
  kv.set_key(k);
  kv.mutable_value()->set_string_value(v);
  return kv;
}

// One ResourceSpans for `service` (resource attributes service.name and deployment.env=prod)
// holding the given spans in one scope.
tpb::ResourceSpans MakeResourceSpans(const std::string& service,
                                     const std::vector<SpanSpec>& spans) {
  tpb::ResourceSpans rs;
  *rs.mutable_resource()->add_attributes() = StrAttr("service.name", service);
  *rs.mutable_resource()->add_attributes() = StrAttr("deployment.env", "prod");
  tpb::ScopeSpans* ss = rs.add_scope_spans();
  ss->mutable_scope()->set_name("test-lib");
  *ss->mutable_scope()->add_attributes() = StrAttr("lib.flavour", "plain");
  for (const SpanSpec& spec : spans) {
    tpb::Span* s = ss->add_spans();
    s->set_trace_id(TraceId(spec.trace));
    s->set_span_id(SpanId(spec.trace * 10 + spec.span));
    if (spec.parent != 0) s->set_parent_span_id(SpanId(spec.trace * 10 + spec.parent));
    s->set_name(spec.name);
    s->set_kind(spec.parent == 0 ? tpb::Span::SPAN_KIND_SERVER : tpb::Span::SPAN_KIND_CLIENT);
    s->set_start_time_unix_nano(kBase + spec.start_ms * kMs);
    s->set_end_time_unix_nano(kBase + (spec.start_ms + spec.duration_ms) * kMs);
    if (!spec.http_method.empty()) *s->add_attributes() = StrAttr("http.method", spec.http_method);
    if (spec.http_status != 0) {
      cpb::KeyValue* kv = s->add_attributes();
      kv->set_key("http.status_code");
      kv->mutable_value()->set_int_value(spec.http_status);
    }
    if (spec.error) {
      s->mutable_status()->set_code(tpb::Status::STATUS_CODE_ERROR);
      s->mutable_status()->set_message("boom");
    }
    tpb::Span::Event* e = s->add_events();
    e->set_name("evt");
    *e->add_attributes() = StrAttr("event.detail", "d");
  }
  return rs;
}

// The known trace set of tenant "team-a":
//  trace 1: frontend GET /  (0..100 ms) → backend query (10..60 ms, error), 200 GET
//  trace 2: frontend POST /buy (1000..1300 ms) → backend charge (1100..1200 ms), 500 POST
//  trace 3: backend cron (2000..2005 ms), no http attributes; its root arrives in a 2nd request
//  trace 4: backend orphan (3000..3050 ms): parent never received
ExportTraceServiceRequest RequestOne() {
  ExportTraceServiceRequest req;
  *req.add_resource_spans() =
      MakeResourceSpans("frontend", {{1, 1, 0, "GET /", 0, 100, false, "GET", 200},
                                     {2, 1, 0, "POST /buy", 1000, 300, false, "POST", 500}});
  *req.add_resource_spans() =
      MakeResourceSpans("backend", {{1, 2, 1, "query", 10, 50, true},
                                    {2, 2, 1, "charge", 1100, 100, false, "", 500},
                                    {4, 2, 1, "orphan", 3000, 50}});
  return req;
}
ExportTraceServiceRequest RequestTwo() {
  ExportTraceServiceRequest req;
  *req.add_resource_spans() = MakeResourceSpans("backend", {{3, 1, 0, "cron", 2000, 5}});
  return req;
}

std::unique_ptr<TraceStore> MustStart(storage::Env* env) {
  TraceStoreOptions o;
  o.wal_dir = kWal;
  o.env = env;
  auto store = std::make_unique<TraceStore>(std::move(o));
  absl::Status s = store->Start();
  EXPECT_TRUE(s.ok()) << s;
  return store;
}

void PushKnownSet(TraceStore* store, const std::string& tenant) {
  absl::StatusOr<live::PushResult> r = store->Push(tenant, RequestOne());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted_spans, 5);
  r = store->Push(tenant, RequestTwo());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted_spans, 1);
}

std::vector<std::string> Ids(const SearchResult& r) {
  std::vector<std::string> ids;
  for (const TraceSummary& t : r.traces) ids.push_back(t.trace_id);
  return ids;
}

std::vector<std::string> Spans(const tpb::TracesData& td) {
  std::vector<std::string> names;
  for (const auto& rs : td.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& s : ss.spans()) names.push_back(s.name());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(TraceStoreTest, FindTraceByIdReturnsEveryPushedSpanOfTheTrace) {
  storage::FaultInjectionEnv env;
  auto store = MustStart(&env);
  PushKnownSet(store.get(), "team-a");

  auto got = store->FindTraceByID("team-a", TraceId(1), 0, 0);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  // Field for field: the two resources as built, each with its one span of trace 1.
  const ExportTraceServiceRequest req = RequestOne();
  tpb::TracesData want;
  for (const tpb::ResourceSpans& rs : req.resource_spans()) {
    tpb::ResourceSpans* w = want.add_resource_spans();
    *w = rs;
    auto* spans = w->mutable_scope_spans(0)->mutable_spans();
    spans->erase(std::remove_if(spans->begin(), spans->end(),
                                [](const tpb::Span& s) { return s.trace_id() != TraceId(1); }),
                 spans->end());
  }
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(**got, want))
      << (*got)->DebugString();

  // Absent trace, absent tenant: nullopt.
  got = store->FindTraceByID("team-a", TraceId(9), 0, 0);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  got = store->FindTraceByID("nobody", TraceId(1), 0, 0);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());

  // start/end: trace 1 spans [kBase, kBase + 100 ms].
  const uint32_t t0 = static_cast<uint32_t>(kBase / 1000000000ull);
  got = store->FindTraceByID("team-a", TraceId(1), t0, t0 + 10);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->has_value());
  got = store->FindTraceByID("team-a", TraceId(1), t0 + 1, t0 + 10);  // starts after it ended
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  got = store->FindTraceByID("team-a", TraceId(1), t0 - 10, t0 - 1);  // ends before it began
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST(TraceStoreTest, SearchByTagsDurationTimeAndLimit) {
  storage::FaultInjectionEnv env;
  auto store = MustStart(&env);
  PushKnownSet(store.get(), "team-a");

  auto search = [&](SearchRequest req) {
    absl::StatusOr<SearchResult> r = store->Search("team-a", req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : SearchResult{};
  };
  // Every trace, most recent first.
  SearchResult all = search({});
  EXPECT_EQ(Ids(all), (std::vector<std::string>{TraceId(4), TraceId(3), TraceId(2), TraceId(1)}));
  EXPECT_EQ(all.metrics.inspected_traces, 4u);
  EXPECT_EQ(all.metrics.inspected_spans, 6u);

  // Summary of trace 1: root frontend "GET /", 100 ms, service stats, span set of both spans.
  const TraceSummary& t1 = all.traces[3];
  EXPECT_EQ(t1.root_service_name, "frontend");
  EXPECT_EQ(t1.root_trace_name, "GET /");
  EXPECT_EQ(t1.start_time_unix_nano, kBase);
  EXPECT_EQ(t1.duration_ms, 100u);
  ASSERT_EQ(t1.service_stats.size(), 2u);
  EXPECT_EQ(t1.service_stats.at("frontend").span_count, 1u);
  EXPECT_EQ(t1.service_stats.at("frontend").error_count, 0u);
  EXPECT_EQ(t1.service_stats.at("backend").span_count, 1u);
  EXPECT_EQ(t1.service_stats.at("backend").error_count, 1u);
  ASSERT_EQ(t1.span_sets.size(), 1u);
  EXPECT_EQ(t1.span_sets[0].matched, 2u);
  // Trace 4 has no root span.
  EXPECT_EQ(all.traces[0].root_service_name, kRootSpanNotYetReceived);
  EXPECT_EQ(all.traces[0].root_trace_name, "");

  SearchRequest req;
  req.tags = {{"service.name", "frontend"}};
  EXPECT_EQ(Ids(search(req)), (std::vector<std::string>{TraceId(2), TraceId(1)}));
  req.tags = {{"name", "cron"}};
  EXPECT_EQ(Ids(search(req)), (std::vector<std::string>{TraceId(3)}));
  req.tags = {{"status", "error"}};
  EXPECT_EQ(Ids(search(req)), (std::vector<std::string>{TraceId(1)}));
  req.tags = {{"http.status_code", "500"}};
  SearchResult r500 = search(req);
  EXPECT_EQ(Ids(r500), (std::vector<std::string>{TraceId(2)}));
  ASSERT_EQ(r500.traces[0].span_sets.size(), 1u);
  EXPECT_EQ(r500.traces[0].span_sets[0].matched, 2u);  // both spans of trace 2 carry 500
  ASSERT_EQ(r500.traces[0].span_sets[0].spans[0].attributes.size(), 1u);
  EXPECT_EQ(r500.traces[0].span_sets[0].spans[0].attributes[0].key(), "http.status_code");
  // Tags matched by different spans of one trace; a pair no span carries excludes the trace.
  req.tags = {{"service.name", "backend"}, {"http.method", "GET"}};
  EXPECT_EQ(Ids(search(req)), (std::vector<std::string>{TraceId(1)}));
  req.tags = {{"service.name", "backend"}, {"http.method", "PUT"}};
  EXPECT_TRUE(search(req).traces.empty());
  req.tags = {{"deployment.env", "prod"}};  // resource attribute on every trace
  EXPECT_EQ(search(req).traces.size(), 4u);

  // spss: trace 2's span set keeps 1 span of the 2 matched.
  req.tags = {{"http.status_code", "500"}};
  req.spss = 1;
  SearchResult spss = search(req);
  ASSERT_EQ(spss.traces.size(), 1u);
  EXPECT_EQ(spss.traces[0].span_sets[0].spans.size(), 1u);
  EXPECT_EQ(spss.traces[0].span_sets[0].matched, 2u);

  // Durations: 100, 300, 5, 50 ms.
  req = {};
  req.min_duration_ns = 50 * kMs;
  EXPECT_EQ(Ids(search(req)), (std::vector<std::string>{TraceId(4), TraceId(2), TraceId(1)}));
  req.max_duration_ns = 100 * kMs;
  EXPECT_EQ(Ids(search(req)), (std::vector<std::string>{TraceId(4), TraceId(1)}));

  // Time range: [t0+2, t0+3] holds traces 3 (2.000 s) and 4 (3.000 s).
  req = {};
  const uint32_t t0 = static_cast<uint32_t>(kBase / 1000000000ull);
  req.start_s = t0 + 2;
  req.end_s = t0 + 3;
  EXPECT_EQ(Ids(search(req)), (std::vector<std::string>{TraceId(4), TraceId(3)}));

  // Limit.
  req = {};
  req.limit = 2;
  EXPECT_EQ(Ids(search(req)), (std::vector<std::string>{TraceId(4), TraceId(3)}));
}

TEST(TraceStoreTest, TagNamesAndTypedValues) {
  storage::FaultInjectionEnv env;
  auto store = MustStart(&env);
  PushKnownSet(store.get(), "team-a");

  absl::StatusOr<TagNamesResult> names = store->TagNames("team-a", "", 0, 0, "");
  ASSERT_TRUE(names.ok()) << names.status();
  std::map<std::string, std::vector<std::string>> by_scope;
  for (const TagScope& s : names->scopes) by_scope[s.name] = s.tags;
  EXPECT_EQ(by_scope["resource"], (std::vector<std::string>{"deployment.env", "service.name"}));
  EXPECT_EQ(by_scope["span"], (std::vector<std::string>{"http.method", "http.status_code"}));
  EXPECT_EQ(by_scope["event"], (std::vector<std::string>{"event.detail"}));
  EXPECT_EQ(by_scope["instrumentation"], (std::vector<std::string>{"lib.flavour"}));
  EXPECT_EQ(by_scope.count("link"), 0u);  // no span has a link
  EXPECT_GT(names->inspected_bytes, 0u);

  names = store->TagNames("team-a", "span", 0, 0, "");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->scopes.size(), 1u);
  EXPECT_EQ(names->scopes[0].name, "span");

  auto values = [&](std::string_view name, uint32_t limit = 0) {
    absl::StatusOr<TagValuesResult> r = store->TagValues("team-a", name, 0, 0, limit, "");
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const TagValue& v : r->values) out.push_back(v.type + ":" + v.value);
    }
    return out;
  };
  EXPECT_EQ(values("resource.service.name"),
            (std::vector<std::string>{"string:backend", "string:frontend"}));
  EXPECT_EQ(values(".service.name"),
            (std::vector<std::string>{"string:backend", "string:frontend"}));
  EXPECT_TRUE(values("span.service.name").empty());
  EXPECT_EQ(values("span.http.status_code"), (std::vector<std::string>{"int:200", "int:500"}));
  EXPECT_EQ(values("status"), (std::vector<std::string>{"keyword:error", "keyword:unset"}));
  EXPECT_EQ(values("kind"), (std::vector<std::string>{"keyword:client", "keyword:server"}));
  EXPECT_EQ(values("name"),
            (std::vector<std::string>{"string:GET /", "string:POST /buy", "string:charge",
                                      "string:cron", "string:orphan", "string:query"}));
  EXPECT_EQ(values("name", 2), (std::vector<std::string>{"string:GET /", "string:POST /buy"}));
  EXPECT_EQ(values("event.event.detail"), (std::vector<std::string>{"string:d"}));
}

// Tag names and values under a filter (the tag routes' `q`, narrowed by ExtractMatchers): only
// the spans the filter matches contribute, with their resources, scopes and events.
TEST(TraceStoreTest, TagNamesAndValuesFilteredByAQuery) {
  storage::FaultInjectionEnv env;
  auto store = MustStart(&env);
  PushKnownSet(store.get(), "team-a");
  auto values = [&](std::string_view name, std::string_view query) {
    absl::StatusOr<TagValuesResult> r = store->TagValues("team-a", name, 0, 0, 0, query);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const TagValue& v : r->values) out.push_back(v.type + ":" + v.value);
    }
    return out;
  };
  // Backend spans: query (error), charge (500), orphan, cron.
  EXPECT_EQ(
      values("name", R"({ resource.service.name = "backend" })"),
      (std::vector<std::string>{"string:charge", "string:cron", "string:orphan", "string:query"}));
  EXPECT_EQ(values("span.http.status_code", R"({ resource.service.name = "backend" })"),
            (std::vector<std::string>{"int:500"}));
  // Frontend spans with method GET: the root of trace 1 only.
  EXPECT_EQ(values("span.http.status_code",
                   R"({ resource.service.name = "frontend" && span.http.method = "GET" })"),
            (std::vector<std::string>{"int:200"}));
  // A resource attribute: of the resources of the matching spans.
  EXPECT_EQ(values("resource.service.name", "{ status = error }"),
            (std::vector<std::string>{"string:backend"}));
  EXPECT_EQ(values(".service.name", R"({ .http.status_code = 500 })"),
            (std::vector<std::string>{"string:backend", "string:frontend"}));
  EXPECT_EQ(values("status", R"({ resource.service.name = "backend" && name = "query" })"),
            (std::vector<std::string>{"keyword:error"}));
  EXPECT_EQ(values("kind", R"({ name = "cron" || name = "POST /buy" })"),
            (std::vector<std::string>{"keyword:server"}));
  EXPECT_EQ(values("statusMessage", "{ kind = client }"),
            (std::vector<std::string>{"string:boom"}));
  // rootName: the roots of the traces having a matching span (trace 4 has no root).
  EXPECT_EQ(values("rootName", R"({ resource.service.name = "backend" })"),
            (std::vector<std::string>{"string:GET /", "string:POST /buy", "string:cron"}));
  EXPECT_EQ(values("name", "{ duration >= 100ms && kind = client }"),
            (std::vector<std::string>{"string:charge"}));
  EXPECT_TRUE(values("name", R"({ resource.service.name = "nobody" })").empty());

  absl::StatusOr<TagNamesResult> names = store->TagNames(
      "team-a", "", 0, 0, R"({ resource.service.name = "backend" && name = "cron" })");
  ASSERT_TRUE(names.ok()) << names.status();
  std::map<std::string, std::vector<std::string>> by_scope;
  for (const TagScope& sc : names->scopes) by_scope[sc.name] = sc.tags;
  // cron has no span attributes; its resource, scope and event do.
  EXPECT_EQ(by_scope.count("span"), 0u);
  EXPECT_EQ(by_scope["resource"], (std::vector<std::string>{"deployment.env", "service.name"}));
  EXPECT_EQ(by_scope["instrumentation"], (std::vector<std::string>{"lib.flavour"}));
  EXPECT_EQ(by_scope["event"], (std::vector<std::string>{"event.detail"}));
  EXPECT_FALSE(by_scope["intrinsic"].empty());  // listed whatever the filter
  names = store->TagNames("team-a", "span", 0, 0, R"({ name = "charge" })");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->scopes.size(), 1u);
  EXPECT_EQ(names->scopes[0].tags, (std::vector<std::string>{"http.status_code"}));
  names = store->TagNames("team-a", "span", 0, 0, R"({ name = "nothing" })");
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->scopes.empty());
  // The intrinsic scope alone: the fixed list, nothing read.
  names = store->TagNames("team-a", "intrinsic", 0, 0, R"({ name = "nothing" })");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->scopes.size(), 1u);
  EXPECT_EQ(names->scopes[0].name, "intrinsic");
  EXPECT_EQ(names->inspected_bytes, 0u);
  // Not a filter: InvalidArgument (the API never passes one).
  EXPECT_EQ(store->TagNames("team-a", "", 0, 0, "{ name = ").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TraceStoreTest, RestartReplaysEveryTenantAndTenantsStayApart) {
  storage::FaultInjectionEnv env;
  {
    auto store = MustStart(&env);
    PushKnownSet(store.get(), "team-a");
    ExportTraceServiceRequest b;
    *b.add_resource_spans() = MakeResourceSpans("billing", {{7, 1, 0, "invoice", 0, 20}});
    ASSERT_TRUE(store->Push("team-b", b).ok());
    EXPECT_EQ(store->tenants(), (std::vector<std::string>{"team-a", "team-b"}));
  }
  auto store = MustStart(&env);
  EXPECT_EQ(store->tenants(), (std::vector<std::string>{"team-a", "team-b"}));

  absl::StatusOr<SearchResult> a = store->Search("team-a", {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Ids(*a), (std::vector<std::string>{TraceId(4), TraceId(3), TraceId(2), TraceId(1)}));
  absl::StatusOr<SearchResult> b = store->Search("team-b", {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Ids(*b), (std::vector<std::string>{TraceId(7)}));
  EXPECT_EQ(b->traces[0].root_service_name, "billing");

  auto t1 = store->FindTraceByID("team-a", TraceId(1), 0, 0);
  ASSERT_TRUE(t1.ok() && t1->has_value());
  EXPECT_EQ(Spans(**t1), (std::vector<std::string>{"GET /", "query"}));
  auto cross = store->FindTraceByID("team-b", TraceId(1), 0, 0);
  ASSERT_TRUE(cross.ok());
  EXPECT_FALSE(cross->has_value());
  cross = store->FindTraceByID("team-a", TraceId(7), 0, 0);
  ASSERT_TRUE(cross.ok());
  EXPECT_FALSE(cross->has_value());

  absl::StatusOr<TagValuesResult> services =
      store->TagValues("team-b", "resource.service.name", 0, 0, 0, "");
  ASSERT_TRUE(services.ok());
  ASSERT_EQ(services->values.size(), 1u);
  EXPECT_EQ(services->values[0].value, "billing");

  // A push after the restart adds to the replayed trace.
  ExportTraceServiceRequest more;
  *more.add_resource_spans() = MakeResourceSpans("backend", {{1, 3, 1, "cache", 20, 5}});
  ASSERT_TRUE(store->Push("team-a", more).ok());
  t1 = store->FindTraceByID("team-a", TraceId(1), 0, 0);
  ASSERT_TRUE(t1.ok() && t1->has_value());
  EXPECT_EQ(Spans(**t1), (std::vector<std::string>{"GET /", "cache", "query"}));
}

TEST(TraceStoreTest, TenantIdsValidatedAndCallsBeforeStartUnavailable) {
  storage::FaultInjectionEnv env;
  TraceStoreOptions o;
  o.wal_dir = kWal;
  o.env = &env;
  TraceStore store(o);
  EXPECT_TRUE(absl::IsUnavailable(store.Push("team-a", RequestTwo()).status()));
  EXPECT_TRUE(absl::IsUnavailable(store.Search("team-a", {}).status()));
  ASSERT_TRUE(store.Start().ok());

  absl::StatusOr<live::PushResult> r = store.Push("a/b", RequestTwo());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_EQ(r.status().message(), "tenant ID 'a/b' contains unsupported character '/'");
  r = store.Push("..", RequestTwo());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_TRUE(store.tenants().empty());

  // A directory that is not a tenant ID is skipped by Start.
  store.Close();
  ASSERT_TRUE(env.CreateDirs(std::string(kWal) + "/bad name").ok());
  auto again = MustStart(&env);
  EXPECT_EQ(again->skipped_dirs(), (std::vector<std::string>{"bad name"}));
  EXPECT_TRUE(again->tenants().empty());
  EXPECT_TRUE(absl::IsUnavailable(store.Search("team-a", {}).status()));  // closed
}

// Per-tenant byte rate limit on a fake clock: the bucket starts at the burst, a push takes its
// request's serialized size, a push whose bytes are not there stores nothing and answers
// ResourceExhausted with Tempo's text, time refills at the rate; tenants have their own buckets.
TEST(TraceStoreTest, OnPushedSeesEveryStoredRequestOnceAndNoRefusedOne) {
  storage::FaultInjectionEnv env;
  const ExportTraceServiceRequest req = RequestTwo();
  const int64_t size = static_cast<int64_t>(req.ByteSizeLong());
  absl::Time now = absl::FromUnixSeconds(1700000000);
  std::vector<std::pair<std::string, int>> seen;  // tenant, resource_spans of the request
  TraceStoreOptions o;
  o.wal_dir = kWal;
  o.env = &env;
  o.tenant.clock = [&now] { return now; };
  o.ingestion_rate_limit_bytes = size;
  o.ingestion_burst_size_bytes = size;  // one request, then refused until time passes
  o.on_pushed = [&seen](std::string_view tenant, const ExportTraceServiceRequest& r) {
    seen.emplace_back(std::string(tenant), r.resource_spans_size());
  };
  TraceStore store(o);
  ASSERT_TRUE(store.Start().ok());
  ASSERT_TRUE(store.Push("team-a", req).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(store.Push("team-a", req).status()));  // rate limited
  EXPECT_FALSE(store.Push("a/b", req).ok());                                   // invalid tenant
  ASSERT_TRUE(store.Push("team-b", req).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("team-a"), req.resource_spans_size()));
  EXPECT_EQ(seen[1], std::make_pair(std::string("team-b"), req.resource_spans_size()));
  // A WAL that cannot be written stores nothing and tells nothing.
  now += absl::Seconds(10);  // the rate limit is not what refuses it
  storage::FaultInjectionEnv::Fault fault;
  fault.ops = storage::FaultInjectionEnv::kWrite | storage::FaultInjectionEnv::kSync;
  fault.count = -1;
  env.InjectFault(fault);
  EXPECT_FALSE(store.Push("team-b", req).ok());
  env.ClearFaults();
  EXPECT_EQ(seen.size(), 2u);
}

// PushWire: a request as its wire bytes stores what Push of the parsed request stores (trace by
// ID field for field, search), the bytes of an unknown field are skipped as the parser skips
// them, the rate limit takes the wire's size, on_pushed gets the decoded request only for a
// stored push, and bytes that are not wire format are refused with nothing stored.
TEST(TraceStoreTest, PushWireStoresWhatPushStores) {
  storage::FaultInjectionEnv env;
  const ExportTraceServiceRequest one = RequestOne();
  const ExportTraceServiceRequest two = RequestTwo();
  // An unknown field 99 (varint) and 98 (bytes) around the resource spans.
  const std::string wire_one =
      std::string("\x98\x06\x07", 3) + one.SerializeAsString() + std::string("\x92\x06\x02zz", 5);
  const std::string wire_two = two.SerializeAsString();
  absl::Time now = absl::FromUnixSeconds(1700000000);
  int decodes = 0;
  std::vector<int> seen;  // resource_spans of each request on_pushed got
  TraceStoreOptions o;
  o.wal_dir = kWal;
  o.env = &env;
  o.tenant.clock = [&now] { return now; };
  o.ingestion_rate_limit_bytes = static_cast<int64_t>(wire_one.size());
  o.ingestion_burst_size_bytes = static_cast<int64_t>(wire_one.size() + wire_two.size());
  o.on_pushed = [&seen](std::string_view, const ExportTraceServiceRequest& r) {
    seen.push_back(r.resource_spans_size());
  };
  TraceStore store(o);
  ASSERT_TRUE(store.Start().ok());
  const auto decoded = [&decodes](const ExportTraceServiceRequest& r) {
    return [&decodes, &r]() -> const ExportTraceServiceRequest& {
      ++decodes;
      return r;
    };
  };
  absl::StatusOr<live::PushResult> r = store.PushWire("team-a", wire_one, decoded(one));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted_spans, 5);
  r = store.PushWire("team-a", wire_two, decoded(two));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted_spans, 1);
  // The burst (both wires' bytes) is spent: the next push is refused, nothing decoded.
  r = store.PushWire("team-a", wire_two, decoded(two));
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_EQ(r.status().message(),
            absl::StrCat("RATE_LIMITED: ingestion rate limit (", wire_one.size(),
                         " bytes) exceeded while adding ", wire_two.size(), " bytes"));
  // Not wire format (a truncated length): refused, nothing stored, nothing decoded.
  now += absl::Hours(1);
  r = store.PushWire("team-a", std::string("\x0a\x50\x01", 3), decoded(two));
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_EQ(decodes, 2);
  EXPECT_EQ(seen, (std::vector<int>{2, 1}));

  // Pushed the parsed way into another tenant: every read answers the same.
  PushKnownSet(&store, "team-b");
  for (int id : {1, 2, 3, 4}) {  // the known set's four traces
    auto wire = store.FindTraceByID("team-a", TraceId(id), 0, 0);
    auto parsed = store.FindTraceByID("team-b", TraceId(id), 0, 0);
    ASSERT_TRUE(wire.ok() && parsed.ok());
    ASSERT_TRUE(wire->has_value()) << id;
    ASSERT_TRUE(parsed->has_value()) << id;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(**wire, **parsed)) << id;
  }
  absl::StatusOr<SearchResult> a = store.Search("team-a", {});
  absl::StatusOr<SearchResult> b = store.Search("team-b", {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Ids(*a), Ids(*b));
  EXPECT_EQ(Ids(*a).size(), 4u);
}

TEST(TraceStoreTest, IngestionRateLimitPerTenantBytes) {
  storage::FaultInjectionEnv env;
  const ExportTraceServiceRequest req = RequestTwo();
  const int64_t size = static_cast<int64_t>(req.ByteSizeLong());
  ASSERT_GT(size, 10);
  absl::Time now = absl::FromUnixSeconds(1700000000);
  TraceStoreOptions o;
  o.wal_dir = kWal;
  o.env = &env;
  o.tenant.clock = [&now] { return now; };
  o.ingestion_rate_limit_bytes = size;                 // one request per second
  o.ingestion_burst_size_bytes = 2 * size + size / 2;  // two requests and a half
  TraceStore store(o);
  ASSERT_TRUE(store.Start().ok());

  auto spans = [&store](const std::string& tenant) -> int64_t {
    absl::StatusOr<SearchResult> r = store.Search(tenant, {});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? static_cast<int64_t>(r->traces.size()) : -1;
  };
  ASSERT_TRUE(store.Push("team-a", req).ok());
  ASSERT_TRUE(store.Push("team-a", req).ok());  // within the burst
  // Half a request's bytes are left: RequestOne (other traces, larger than that) is refused.
  const ExportTraceServiceRequest other = RequestOne();
  const int64_t other_size = static_cast<int64_t>(other.ByteSizeLong());
  ASSERT_GT(other_size, size / 2);
  absl::StatusOr<live::PushResult> r = store.Push("team-a", other);
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_EQ(r.status().message(),
            absl::StrCat("RATE_LIMITED: ingestion rate limit (", size,
                         " bytes) exceeded while adding ", other_size, " bytes"));
  EXPECT_EQ(spans("team-a"), 1);  // RequestTwo's one trace; the refused push added nothing

  // Another tenant has its own full bucket; a refused first push opens no tenant.
  ASSERT_TRUE(store.Push("team-b", req).ok());

  // Half a second adds half a request: 0.5 + 0.5 = one request's bytes.
  now += absl::Milliseconds(500);
  EXPECT_TRUE(store.Push("team-a", req).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(store.Push("team-a", req).status()));
  // A long pause refills only up to the burst: two requests pass, the third does not.
  now += absl::Hours(1);
  EXPECT_TRUE(store.Push("team-a", req).ok());
  EXPECT_TRUE(store.Push("team-a", req).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(store.Push("team-a", req).status()));

  // A request larger than the burst never passes, and its tenant is not opened.
  TraceStoreOptions small = o;
  small.wal_dir = std::string(kWal) + "2";
  small.ingestion_burst_size_bytes = size - 1;
  TraceStore tiny(small);
  ASSERT_TRUE(tiny.Start().ok());
  EXPECT_TRUE(absl::IsResourceExhausted(tiny.Push("team-c", req).status()));
  EXPECT_TRUE(tiny.tenants().empty());
}

// The store behind Tempo's HTTP routes (TracesApi), tenants from X-Scope-OrgID.
TEST(TraceStoreTest, ServesTempoRoutesPerTenant) {
  storage::FaultInjectionEnv env;
  auto store = MustStart(&env);
  PushKnownSet(store.get(), "team-a");
  TracesApiOptions options;
  options.multitenancy_enabled = true;
  options.queryable = store.get();
  TracesApi api(options);
  net::Router router;
  ASSERT_TRUE(api.Register(&router).ok());
  auto serve = [&](const std::string& target, const std::string& tenant) {
    net::HttpRequest request;
    request.method = "GET";
    request.target = target;
    const size_t q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    request.headers = {{"x-scope-orgid", tenant}};
    net::HttpResponse response;
    net::Router::Match m = router.Find("GET", request.path, &request.path_params);
    EXPECT_NE(m.route, nullptr) << target;
    if (m.route != nullptr) router.Serve(*m.route, request, response);
    return response;
  };

  // Trace 2 by ID (hex of "x" 00.. 02): both its spans.
  const std::string hex2 = "78000000000000000000000000000002";
  net::HttpResponse r = serve("/api/v2/traces/" + hex2, "team-a");
  EXPECT_EQ(r.status, 200);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  ASSERT_FALSE(d.HasParseError()) << r.body;
  ASSERT_TRUE(d.HasMember("trace") && d["trace"].HasMember("resourceSpans")) << r.body;
  EXPECT_EQ(d["trace"]["resourceSpans"].Size(), 2u);
  EXPECT_EQ(serve("/api/traces/" + hex2, "team-b").status, 404);  // the other tenant

  // Search by tags: only trace 1 has an error span.
  r = serve("/api/search?tags=status%3Derror", "team-a");
  EXPECT_EQ(r.status, 200);
  d.Parse(r.body.c_str());
  ASSERT_FALSE(d.HasParseError()) << r.body;
  ASSERT_TRUE(d.HasMember("traces")) << r.body;
  ASSERT_EQ(d["traces"].Size(), 1u);
  EXPECT_STREQ(d["traces"][0]["traceID"].GetString(), "78000000000000000000000000000001");
  EXPECT_STREQ(d["traces"][0]["rootServiceName"].GetString(), "frontend");
  EXPECT_EQ(d["traces"][0]["durationMs"].GetInt(), 100);

  r = serve("/api/search/tag/service.name/values", "team-a");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"backend\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"frontend\""), std::string::npos) << r.body;
}

}  // namespace
}  // namespace sprout::traces::store

namespace sprout::traces::store {
namespace {

// ---- the flush pipeline ----

// A BlockSink that records each block (tenant, trace IDs, OTLP bytes) and fails while `fail`.
class FakeSink : public BlockSink {
 public:
  struct Block {
    std::string tenant;
    std::vector<std::string> trace_ids;
    int64_t bytes = 0;
    int64_t spans = 0;
  };
  absl::Status WriteBlock(std::string_view tenant, const live::FlushJob& job) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    cv_.notify_all();
    if (fail_) return absl::InternalError("disk on fire");
    Block b{std::string(tenant), {}, job.bytes, job.spans};
    for (const live::CutTrace& t : job.traces) b.trace_ids.push_back(t.trace_id);
    blocks_.push_back(std::move(b));
    return absl::OkStatus();
  }
  void set_fail(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = fail;
  }
  std::vector<Block> blocks() {
    std::lock_guard<std::mutex> lock(mu_);
    return blocks_;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // Waits up to 10 s for `n` blocks.
  bool WaitBlocks(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return blocks_.size() >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool fail_ = false;
  int calls_ = 0;
  std::vector<Block> blocks_;
};

struct FakeClock {
  std::atomic<int64_t> ns{absl::ToUnixNanos(absl::FromUnixSeconds(1800000000))};
  absl::Time now() const { return absl::FromUnixNanos(ns.load()); }
  void Advance(absl::Duration d) { ns += absl::ToInt64Nanoseconds(d); }
};

TraceStoreOptions FlushOptions(storage::Env* env, FakeClock* clock, BlockSink* sink) {
  TraceStoreOptions o;
  o.wal_dir = kWal;
  o.env = env;
  o.tenant.clock = [clock] { return clock->now(); };
  o.block_sink = sink;
  o.trace_idle_period = absl::Seconds(5);
  o.max_block_duration = absl::Minutes(1);
  o.max_block_bytes = 1 << 20;
  o.flush_check_period = absl::ZeroDuration();  // no thread: the test calls FlushOnce
  return o;
}

std::unique_ptr<TraceStore> MustStartWith(TraceStoreOptions o) {
  auto store = std::make_unique<TraceStore>(std::move(o));
  absl::Status s = store->Start();
  EXPECT_TRUE(s.ok()) << s;
  return store;
}

bool Found(TraceStore& store, const std::string& tenant, int trace) {
  auto t = store.FindTraceByID(tenant, TraceId(trace), 0, 0);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() && t->has_value();
}

// The OTLP bytes of the known set's traces, merged as the store merges them, for `tenant`.
int64_t KnownSetBytes(TraceStore& store, const std::string& tenant) {
  int64_t bytes = 0;
  for (int trace = 1; trace <= 4; ++trace) {
    auto t = store.FindTraceByID(tenant, TraceId(trace), 0, 0);
    if (t.ok() && t->has_value()) bytes += static_cast<int64_t>((*t)->ByteSizeLong());
  }
  return bytes;
}

const std::vector<std::string> kKnownIds = {TraceId(1), TraceId(2), TraceId(3), TraceId(4)};

TEST(TraceStoreFlush, IdleTracesArePendingAndQueryableUntilTheBlockIsDueThenFlushed) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  FakeSink sink;
  auto store = MustStartWith(FlushOptions(&env, &clock, &sink));
  PushKnownSet(store.get(), "team-a");
  const int64_t bytes = KnownSetBytes(*store, "team-a");
  ASSERT_TRUE(store->FlushOnce(false).ok());  // nothing idle yet
  EXPECT_EQ(store->Stats()["team-a"].live_traces, 4);
  EXPECT_EQ(store->Stats()["team-a"].pending_traces, 0);

  clock.Advance(absl::Seconds(6));  // idle > 5 s: cut; the block is not due (1 min, 1 MiB)
  ASSERT_TRUE(store->FlushOnce(false).ok());
  TenantFlushStats st = store->Stats()["team-a"];
  EXPECT_EQ(st.live_traces, 0);
  EXPECT_EQ(st.pending_traces, 4);
  EXPECT_EQ(sink.calls(), 0);
  // Pending traces answer every read.
  EXPECT_TRUE(Found(*store, "team-a", 3));
  absl::StatusOr<SearchResult> found = store->Search("team-a", {});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->traces.size(), 4u);

  clock.Advance(absl::Seconds(59));  // 59 s since the cut
  ASSERT_TRUE(store->FlushOnce(false).ok());
  EXPECT_EQ(sink.calls(), 0);
  clock.Advance(absl::Seconds(1));  // max_block_duration since the cut
  ASSERT_TRUE(store->FlushOnce(false).ok());
  ASSERT_EQ(sink.blocks().size(), 1u);
  EXPECT_EQ(sink.blocks()[0].tenant, "team-a");
  EXPECT_EQ(sink.blocks()[0].trace_ids, kKnownIds);
  EXPECT_EQ(sink.blocks()[0].bytes, bytes);
  EXPECT_EQ(sink.blocks()[0].spans, 6);
  st = store->Stats()["team-a"];
  EXPECT_EQ(st.pending_traces, 0);
  EXPECT_EQ(st.flushing_traces, 0);
  EXPECT_EQ(st.blocks_flushed, 1);
  EXPECT_EQ(st.traces_flushed, 4);
  EXPECT_EQ(st.bytes_flushed, bytes);
  EXPECT_EQ(st.flush_failures, 0);
  // Out of memory now (a real sink makes the block readable), and out of the WAL: a restart
  // replays nothing.
  EXPECT_FALSE(Found(*store, "team-a", 1));
  store.reset();
  auto again = MustStartWith(FlushOptions(&env, &clock, nullptr));
  EXPECT_FALSE(Found(*again, "team-a", 1));
  EXPECT_EQ(again->Stats()["team-a"].live_traces, 0);
}

TEST(TraceStoreFlush, MaxBlockBytesTriggersWithoutWaitingForTheDuration) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  FakeSink sink;
  TraceStoreOptions o = FlushOptions(&env, &clock, &sink);
  // Exactly the known set's pending bytes: the live byte size of its ResourceSpans groups,
  // i.e. each request split by trace (RequestOne's two resources, RequestTwo's one).
  int64_t pending = 0;
  for (const ExportTraceServiceRequest& req : {RequestOne(), RequestTwo()}) {
    for (const tpb::ResourceSpans& rs : req.resource_spans()) {
      int64_t invalid = 0;
      for (const auto& [id, group] : live::SplitByTrace(rs, &invalid)) {
        pending += static_cast<int64_t>(group.ByteSizeLong());
      }
    }
  }
  o.max_block_bytes = pending;
  o.max_block_duration = absl::Hours(1);
  auto store = MustStartWith(o);
  ASSERT_TRUE(store->Push("team-a", RequestOne()).ok());
  clock.Advance(absl::Seconds(6));
  ASSERT_TRUE(store->FlushOnce(false).ok());  // RequestOne's traces alone: under the bytes
  EXPECT_EQ(sink.calls(), 0);
  ASSERT_TRUE(store->Push("team-a", RequestTwo()).ok());
  clock.Advance(absl::Seconds(6));
  ASSERT_TRUE(store->FlushOnce(false).ok());
  ASSERT_EQ(sink.blocks().size(), 1u);
  EXPECT_EQ(sink.blocks()[0].trace_ids, kKnownIds);
}

TEST(TraceStoreFlush, AFailedBlockKeepsTracesQueryableInTheWalAndRetriesAfterABackoff) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  FakeSink sink;
  sink.set_fail(true);
  TraceStoreOptions o = FlushOptions(&env, &clock, &sink);
  o.max_block_duration = absl::ZeroDuration();  // due as soon as cut
  std::vector<std::string> errors;
  o.on_flush_error = [&](std::string_view tenant, const absl::Status& s) {
    errors.push_back(std::string(tenant) + ": " + std::string(s.message()));
  };
  // The first backoff. The thread it starts waits 1 h of real time: the test's calls only.
  o.flush_check_period = absl::Hours(1);
  o.max_flush_backoff = absl::Hours(4);
  auto store = MustStartWith(o);
  PushKnownSet(store.get(), "team-a");
  clock.Advance(absl::Seconds(6));
  absl::Status s = store->FlushOnce(false);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(errors, std::vector<std::string>{"team-a: disk on fire"});
  TenantFlushStats st = store->Stats()["team-a"];
  EXPECT_EQ(st.flush_failures, 1);
  EXPECT_EQ(st.blocks_flushed, 0);
  EXPECT_EQ(st.pending_traces, 4);
  EXPECT_TRUE(Found(*store, "team-a", 2));
  // Backoff: no attempt before flush_check_period (1 h), then doubled (2 h).
  clock.Advance(absl::Minutes(59));
  ASSERT_TRUE(store->FlushOnce(false).ok());
  EXPECT_EQ(sink.calls(), 1);
  clock.Advance(absl::Minutes(1));
  EXPECT_FALSE(store->FlushOnce(false).ok());
  EXPECT_EQ(sink.calls(), 2);
  sink.set_fail(false);
  clock.Advance(absl::Minutes(119));
  ASSERT_TRUE(store->FlushOnce(false).ok());
  EXPECT_EQ(sink.calls(), 2);
  clock.Advance(absl::Minutes(1));
  ASSERT_TRUE(store->FlushOnce(false).ok());
  ASSERT_EQ(sink.blocks().size(), 1u);
  EXPECT_EQ(sink.blocks()[0].trace_ids, kKnownIds);
  st = store->Stats()["team-a"];
  EXPECT_EQ(st.flush_failures, 2);
  EXPECT_EQ(st.blocks_flushed, 1);
  EXPECT_EQ(st.pending_traces, 0);
}

TEST(TraceStoreFlush, AFailedBlockIsReplayedAfterARestart) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  {
    UnavailableBlockSink sink;
    TraceStoreOptions o = FlushOptions(&env, &clock, &sink);
    o.max_block_duration = absl::ZeroDuration();
    auto store = MustStartWith(o);
    PushKnownSet(store.get(), "team-a");
    clock.Advance(absl::Seconds(6));
    absl::Status s = store->FlushOnce(false);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(s.message(), "blocks are not implemented yet");
    EXPECT_EQ(store->Stats()["team-a"].pending_traces, 4);
  }
  env.SimulateCrash(storage::FaultInjectionEnv::CrashMode::kDropUnsynced);
  auto store = MustStartWith(FlushOptions(&env, &clock, nullptr));
  absl::StatusOr<SearchResult> found = store->Search("team-a", {});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->traces.size(), 4u);
  auto t1 = store->FindTraceByID("team-a", TraceId(1), 0, 0);
  ASSERT_TRUE(t1.ok() && t1->has_value());
  EXPECT_EQ(Spans(**t1), (std::vector<std::string>{"GET /", "query"}));
}

TEST(TraceStoreFlush, TheBackgroundThreadFlushesEveryCheckPeriod) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  FakeSink sink;
  TraceStoreOptions o = FlushOptions(&env, &clock, &sink);
  o.flush_check_period = absl::Milliseconds(5);
  o.max_block_bytes = 1;  // due as soon as something is cut
  auto store = MustStartWith(o);
  PushKnownSet(store.get(), "team-a");
  ExportTraceServiceRequest b;
  *b.add_resource_spans() = MakeResourceSpans("billing", {{7, 1, 0, "invoice", 0, 20}});
  ASSERT_TRUE(store->Push("team-b", b).ok());
  // Nothing is idle on the injected clock: the thread's passes cut nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(sink.calls(), 0);
  clock.Advance(absl::Seconds(6));
  ASSERT_TRUE(sink.WaitBlocks(2));
  std::vector<FakeSink::Block> blocks = sink.blocks();
  std::sort(blocks.begin(), blocks.end(),
            [](const auto& x, const auto& y) { return x.tenant < y.tenant; });
  EXPECT_EQ(blocks[0].tenant, "team-a");
  EXPECT_EQ(blocks[0].trace_ids, kKnownIds);
  EXPECT_EQ(blocks[1].tenant, "team-b");
  EXPECT_EQ(blocks[1].trace_ids, std::vector<std::string>{TraceId(7)});
  store->Close();
  EXPECT_EQ(store->FlushOnce(false).code(), absl::StatusCode::kUnavailable);
}

TEST(TraceStoreFlush, CloseWithFlushAllOnShutdownFlushesLiveTracesToo) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  FakeSink sink;
  {
    TraceStoreOptions o = FlushOptions(&env, &clock, &sink);
    o.flush_all_on_shutdown = true;
    o.flush_check_period = absl::Hours(1);  // the thread is running but never passes
    auto store = MustStartWith(o);
    PushKnownSet(store.get(), "team-a");
    store->Close();  // nothing idle, nothing due: forced
  }
  ASSERT_EQ(sink.blocks().size(), 1u);
  EXPECT_EQ(sink.blocks()[0].trace_ids, kKnownIds);
  env.SimulateCrash(storage::FaultInjectionEnv::CrashMode::kKeepUnsynced);
  auto store = MustStartWith(FlushOptions(&env, &clock, nullptr));
  EXPECT_FALSE(Found(*store, "team-a", 1));  // flushed: the WAL was truncated
}

TEST(TraceStoreFlush, CloseWithoutFlushAllOnShutdownLeavesTracesToTheWal) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  FakeSink sink;
  {
    TraceStoreOptions o = FlushOptions(&env, &clock, &sink);
    o.flush_check_period = absl::Hours(1);
    auto store = MustStartWith(o);
    PushKnownSet(store.get(), "team-a");
    store->Close();
  }
  EXPECT_EQ(sink.calls(), 0);
  auto store = MustStartWith(FlushOptions(&env, &clock, nullptr));
  EXPECT_TRUE(Found(*store, "team-a", 1));
  EXPECT_TRUE(Found(*store, "team-a", 4));
}

// ---- blocks: the store over a real filesystem object store ----

constexpr char kBlocks[] = "/data/traces/blocks";

// The filesystem object store on `env`, optionally wrapped by a fault injector.
struct BlockStore {
  explicit BlockStore(storage::Env* env) {
    auto opened = objstore::FilesystemObjectStore::Open(env, kBlocks);
    EXPECT_TRUE(opened.ok()) << opened.status();
    fs = *std::move(opened);
    faults = std::make_unique<objstore::FaultInjectionObjectStore>(fs.get());
  }
  std::unique_ptr<objstore::FilesystemObjectStore> fs;
  std::unique_ptr<objstore::FaultInjectionObjectStore> faults;
};

TraceStoreOptions BlockOptions(storage::Env* env, FakeClock* clock, objstore::ObjectStore* store) {
  TraceStoreOptions o = FlushOptions(env, clock, nullptr);
  o.block_store = store;
  o.max_block_duration = absl::ZeroDuration();  // a block as soon as something is cut
  o.block_writer.page_target_spans = 2;         // several pages per block
  return o;
}

std::string Render(const SearchResult& r) {
  std::string out;
  for (const TraceSummary& t : r.traces) {
    absl::StrAppend(&out, t.trace_id.substr(15), " root=", t.root_service_name, "/",
                    t.root_trace_name, " start=", t.start_time_unix_nano, " dur=", t.duration_ms);
    for (const auto& [svc, st] : t.service_stats) {
      absl::StrAppend(&out, " ", svc, ":", st.span_count, "/", st.error_count);
    }
    for (const SearchSpanSet& set : t.span_sets) {
      absl::StrAppend(&out, " matched=", set.matched);
      for (const SearchSpan& sp : set.spans) {
        absl::StrAppend(&out, " [", sp.name, " ", sp.start_time_unix_nano, " ", sp.duration_nanos);
        for (const cpb::KeyValue& kv : sp.attributes)
          absl::StrAppend(&out, " ", kv.ShortDebugString());
        absl::StrAppend(&out, "]");
      }
    }
    out += "\n";
  }
  return out;
}

std::vector<SearchRequest> SearchRequests() {
  const uint32_t base_s = static_cast<uint32_t>(kBase / 1000000000ull);
  std::vector<SearchRequest> reqs;
  reqs.push_back({});
  reqs.push_back({{{"http.method", "GET"}}});
  reqs.push_back({{{"service.name", "backend"}}});
  reqs.push_back({{{"service.name", "frontend"}, {"http.status_code", "500"}}});
  reqs.push_back({{{"name", "cron"}}});
  reqs.push_back({{{"status", "error"}}});
  reqs.push_back({{{"deployment.env", "prod"}, {"name", "charge"}}});
  reqs.push_back({{{"http.method", "PUT"}}});
  SearchRequest dur;
  dur.min_duration_ns = 60 * kMs;
  dur.max_duration_ns = 300 * kMs;
  reqs.push_back(dur);
  SearchRequest limited;
  limited.limit = 2;
  limited.spss = 1;
  reqs.push_back(limited);
  SearchRequest time;
  time.start_s = base_s + 1;
  time.end_s = base_s + 2;
  reqs.push_back(time);
  return reqs;
}

std::unique_ptr<tpb::TracesData> MustFind(TraceStore& store, const std::string& tenant, int trace) {
  auto t = store.FindTraceByID(tenant, TraceId(trace), 0, 0);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok() || !t->has_value()) return nullptr;
  return std::make_unique<tpb::TracesData>(**t);
}

bool Equal(const tpb::TracesData& a, const tpb::TracesData& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// What every read answers, rendered, for comparing a store before and after a flush.
std::string ReadEverything(TraceStore& store, const std::string& tenant) {
  std::string out;
  for (const SearchRequest& req : SearchRequests()) {
    absl::StatusOr<SearchResult> r = store.Search(tenant, req);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) absl::StrAppend(&out, "search:\n", Render(*r));
  }
  absl::StatusOr<TagNamesResult> names = store.TagNames(tenant, "", 0, 0, "");
  EXPECT_TRUE(names.ok()) << names.status();
  for (const TagScope& sc : names->scopes) {
    absl::StrAppend(&out, sc.name, ":", absl::StrJoin(sc.tags, ","), "\n");
  }
  for (const char* query : {"", R"({ resource.service.name = "backend" })",
                            R"({ span.http.method = "GET" || status = error })",
                            "{ duration > 60ms }", R"({ name = "nothing" })"}) {
    absl::StrAppend(&out, "q=", query, "\n");
    names = store.TagNames(tenant, "", 0, 0, query);
    EXPECT_TRUE(names.ok()) << names.status();
    for (const TagScope& sc : names->scopes) {
      absl::StrAppend(&out, sc.name, ":", absl::StrJoin(sc.tags, ","), "\n");
    }
    for (const char* name : {"resource.service.name", "span.http.status_code", ".http.method",
                             "event.event.detail", "instrumentation.lib.flavour", "name", "status",
                             "kind", "rootName", "rootServiceName", "statusMessage"}) {
      absl::StatusOr<TagValuesResult> values = store.TagValues(tenant, name, 0, 0, 0, query);
      EXPECT_TRUE(values.ok()) << values.status();
      absl::StrAppend(&out, name, "=");
      for (const TagValue& v : values->values) absl::StrAppend(&out, v.type, ":", v.value, ",");
      out += "\n";
    }
  }
  return out;
}

TEST(TraceStoreBlocks, AFlushedTraceIsReadFromItsBlockAndSurvivesARestart) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  BlockStore bs(&env);
  std::vector<std::unique_ptr<tpb::TracesData>> before;
  std::string reads_before;
  {
    auto store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
    PushKnownSet(store.get(), "team-a");
    for (int trace = 1; trace <= 4; ++trace) before.push_back(MustFind(*store, "team-a", trace));
    reads_before = ReadEverything(*store, "team-a");
    const int64_t bytes = KnownSetBytes(*store, "team-a");
    clock.Advance(absl::Seconds(6));
    ASSERT_TRUE(store->FlushOnce(false).ok());
    TenantFlushStats st = store->Stats()["team-a"];
    EXPECT_EQ(st.live_traces + st.pending_traces + st.flushing_traces, 0);
    EXPECT_EQ(st.blocks_flushed, 1);
    EXPECT_EQ(st.traces_flushed, 4);
    EXPECT_EQ(st.bytes_flushed, bytes);
    EXPECT_EQ(st.blocks, 1);
    EXPECT_GT(st.block_bytes, 0);
    EXPECT_EQ(st.block_bytes_written, st.block_bytes);
    absl::StatusOr<std::vector<std::string>> ids = block::ListBlocks(bs.fs.get(), "team-a");
    ASSERT_TRUE(ids.ok());
    ASSERT_EQ(ids->size(), 1u);
    auto reader = block::BlockReader::Open(bs.fs.get(), "team-a", (*ids)[0]);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ((*reader)->meta().trace_count, 4u);
    EXPECT_EQ((*reader)->meta().span_count, 6u);
    // Every read answers from the block exactly what it answered from memory.
    for (int trace = 1; trace <= 4; ++trace) {
      auto td = MustFind(*store, "team-a", trace);
      ASSERT_NE(td, nullptr) << trace;
      EXPECT_TRUE(Equal(*td, *before[trace - 1])) << trace;
    }
    EXPECT_EQ(ReadEverything(*store, "team-a"), reads_before);
    // The time bounds of FindTraceByID still apply.
    const uint32_t base_s = static_cast<uint32_t>(kBase / 1000000000ull);
    auto outside = store->FindTraceByID("team-a", TraceId(4), base_s + 10, base_s + 20);
    ASSERT_TRUE(outside.ok());
    EXPECT_FALSE(outside->has_value());
  }
  env.SimulateCrash(storage::FaultInjectionEnv::CrashMode::kDropUnsynced);
  auto store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
  // A machine crash may bring back WAL segments whose truncation was not synced: the traces
  // are then in memory AND in the block, and still read once, equal.
  EXPECT_EQ(store->Stats()["team-a"].blocks, 1);
  for (int trace = 1; trace <= 4; ++trace) {
    auto td = MustFind(*store, "team-a", trace);
    ASSERT_NE(td, nullptr) << trace;
    EXPECT_TRUE(Equal(*td, *before[trace - 1])) << trace;
  }
  EXPECT_EQ(ReadEverything(*store, "team-a"), reads_before);
}

TEST(TraceStoreBlocks, ATenantWithBlocksAndNoWalIsLoadedAndIncompleteBlocksAreCleaned) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  BlockStore bs(&env);
  {
    auto store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
    PushKnownSet(store.get(), "team-a");
    clock.Advance(absl::Seconds(6));
    ASSERT_TRUE(store->FlushOnce(false).ok());
  }
  // A crash while a block was written: objects without meta.json.
  const std::string partial = Ulid::Generate().ToString();
  ASSERT_TRUE(bs.fs->Put(block::BlockKey("team-a", partial, block::kDataObject), "xx").ok());
  TraceStoreOptions o = BlockOptions(&env, &clock, bs.fs.get());
  o.wal_dir = "/data/traces/other-wal";  // no WAL for team-a here
  auto store = MustStartWith(o);
  EXPECT_EQ(store->tenants(), std::vector<std::string>{});
  EXPECT_TRUE(Found(*store, "team-a", 2));
  absl::StatusOr<SearchResult> found = store->Search("team-a", {});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->traces.size(), 4u);
  absl::StatusOr<objstore::ListResult> left = bs.fs->List(block::BlockPrefix("team-a", partial));
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->keys.empty());
  EXPECT_EQ(store->Stats()["team-a"].blocks, 1);
}

TEST(TraceStoreBlocks, ATraceSplitOverMemoryAndTwoBlocksIsOneTrace) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  BlockStore bs(&env);
  // The same three parts of trace 9 pushed into a store that keeps them all in memory.
  ExportTraceServiceRequest part1, part2, part3;
  *part1.add_resource_spans() =
      MakeResourceSpans("frontend", {{9, 1, 0, "GET /cart", 0, 500, false, "GET", 200}});
  *part2.add_resource_spans() = MakeResourceSpans("backend", {{9, 2, 1, "load", 100, 50}});
  *part3.add_resource_spans() = MakeResourceSpans("frontend", {{9, 3, 1, "render", 400, 90, true}});
  *part3.add_resource_spans() = MakeResourceSpans("backend", {{9, 4, 2, "cache", 120, 10}});
  storage::FaultInjectionEnv memory_env;
  auto memory = MustStartWith(FlushOptions(&memory_env, &clock, nullptr));
  for (const auto* req : {&part1, &part2, &part3}) ASSERT_TRUE(memory->Push("t", *req).ok());
  std::unique_ptr<tpb::TracesData> whole = MustFind(*memory, "t", 9);
  ASSERT_NE(whole, nullptr);

  auto store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
  ASSERT_TRUE(store->Push("t", part1).ok());
  ASSERT_TRUE(store->FlushOnce(true).ok());
  ASSERT_TRUE(store->Push("t", part2).ok());
  ASSERT_TRUE(store->Push("t", part1).ok());  // a retry of an acknowledged request: duplicates
  ASSERT_TRUE(store->FlushOnce(true).ok());
  ASSERT_TRUE(store->Push("t", part3).ok());
  EXPECT_EQ(store->Stats()["t"].blocks, 2);
  EXPECT_EQ(store->Stats()["t"].live_traces, 1);
  std::unique_ptr<tpb::TracesData> found = MustFind(*store, "t", 9);
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(Equal(*found, *whole)) << found->DebugString() << "\nwant\n" << whole->DebugString();
  EXPECT_EQ(ReadEverything(*store, "t"), ReadEverything(*memory, "t"));
  // Search judges the whole trace: tags carried by different parts, the whole duration.
  SearchRequest req;
  req.tags = {{"name", "cache"}, {"http.method", "GET"}, {"status", "error"}};
  req.min_duration_ns = 500 * kMs;
  absl::StatusOr<SearchResult> r = store->Search("t", req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->traces.size(), 1u);
  EXPECT_EQ(r->traces[0].duration_ms, 500u);
  EXPECT_EQ(r->traces[0].root_trace_name, "GET /cart");
  EXPECT_EQ(r->traces[0].span_sets[0].matched, 3u);
  // After a restart (the live part replayed from the WAL) still one trace.
  store.reset();
  store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
  found = MustFind(*store, "t", 9);
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(Equal(*found, *whole));
}

// Search over blocks runs on the columns (every tag's filter, duration and time from the trace
// rows, whole traces read only for the answer and for traces with parts elsewhere). It must
// answer exactly what judging every whole trace answers: a store holding the same pushes in
// memory only is the reference. Trace 50 has parts in two blocks and in memory, trace 51 in two
// blocks; pages hold about two spans each.
// A trace set split over two blocks and memory (`store`), and the same traces all in memory
// (`memory`): searches over both must answer alike. Trace 50 has parts in block 1, block 2 and
// memory; 51 in both blocks.
void PushSplitTraceSet(TraceStore* memory, TraceStore* store) {
  ExportTraceServiceRequest a, b, c;
  *a.add_resource_spans() =
      MakeResourceSpans("frontend", {{40, 1, 0, "GET /", 0, 100, false, "GET", 200},
                                     {41, 1, 0, "POST /buy", 1000, 300, false, "POST", 500},
                                     {50, 1, 0, "GET /cart", 5000, 500, false, "GET", 200}});
  *a.add_resource_spans() = MakeResourceSpans("backend", {{40, 2, 1, "query", 10, 50, true},
                                                          {42, 1, 0, "cron", 2000, 5},
                                                          {51, 2, 1, "load", 6000, 40}});
  *b.add_resource_spans() =
      MakeResourceSpans("frontend", {{43, 1, 0, "GET /item", 3000, 200, false, "GET", 404},
                                     {51, 1, 0, "GET /late", 5990, 110, false, "GET", 200}});
  *b.add_resource_spans() = MakeResourceSpans(
      "backend",
      {{44, 1, 0, "charge", 3500, 100, true, "POST", 500}, {50, 2, 1, "cache", 5100, 20, true}});
  *c.add_resource_spans() =
      MakeResourceSpans("frontend", {{45, 1, 0, "GET /home", 7000, 50, false, "GET", 200},
                                     {50, 3, 1, "render", 5400, 90, false, "PUT"}});
  *c.add_resource_spans() = MakeResourceSpans("backend", {{46, 1, 0, "cron", 8000, 300}});
  for (const auto* req : {&a, &b, &c}) ASSERT_TRUE(memory->Push("t", *req).ok());
  ASSERT_TRUE(store->Push("t", a).ok());
  ASSERT_TRUE(store->FlushOnce(true).ok());
  ASSERT_TRUE(store->Push("t", b).ok());
  ASSERT_TRUE(store->FlushOnce(true).ok());
  ASSERT_TRUE(store->Push("t", c).ok());
  EXPECT_EQ(store->Stats()["t"].blocks, 2);
  EXPECT_EQ(store->Stats()["t"].live_traces, 3);
}

TEST(TraceStoreBlocks, ColumnSearchAnswersAsWholeTraces) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  BlockStore bs(&env);
  storage::FaultInjectionEnv memory_env;
  auto memory = MustStartWith(FlushOptions(&memory_env, &clock, nullptr));
  auto store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
  PushSplitTraceSet(memory.get(), store.get());

  const uint32_t s0 = static_cast<uint32_t>(kBase / 1000000000ull);
  std::vector<SearchRequest> reqs;
  const auto tags = [](std::vector<std::pair<std::string, std::string>> t) {
    SearchRequest r;
    r.tags = std::move(t);
    r.limit = 0;
    return r;
  };
  reqs.push_back(tags({}));
  reqs.push_back(tags({{"http.method", "GET"}}));
  reqs.push_back(tags({{"service.name", "backend"}}));
  reqs.push_back(tags({{"service.name", "frontend"}, {"http.status_code", "500"}}));
  reqs.push_back(tags({{"name", "cron"}}));
  reqs.push_back(tags({{"status", "error"}}));
  reqs.push_back(tags({{"deployment.env", "prod"}, {"name", "charge"}}));
  reqs.push_back(tags({{"http.method", "PUT"}}));  // only in trace 50's memory part
  reqs.push_back(tags({{"name", "cache"}, {"http.method", "GET"}, {"status", "error"}}));
  reqs.push_back(tags({{"name", "load"}, {"http.status_code", "200"}}));  // 51: two blocks
  reqs.push_back(tags({{"http.status_code", "200"}, {"name", "load"}}));
  reqs.push_back(tags({{"http.method", "GET"}, {"service.name", "nobody"}}));
  reqs.push_back(tags({{"http.method", "DELETE"}}));
  for (auto [lo, hi] : std::vector<std::pair<int64_t, int64_t>>{
           {60, 300}, {500, 0}, {0, 100}, {101, 109}, {110, 110}}) {
    SearchRequest r = tags({});
    r.min_duration_ns = lo * static_cast<int64_t>(kMs);
    r.max_duration_ns = hi * static_cast<int64_t>(kMs);
    reqs.push_back(r);
    r.tags = {{"service.name", "frontend"}};
    reqs.push_back(r);
  }
  for (auto [lo, hi] : std::vector<std::pair<uint32_t, uint32_t>>{
           {s0 + 1, s0 + 2}, {s0 + 5, s0 + 5}, {s0 + 6, s0 + 7}, {s0 + 8, 0}, {0, s0 + 1}}) {
    SearchRequest r = tags({});
    r.start_s = lo;
    r.end_s = hi;
    reqs.push_back(r);
    r.tags = {{"http.method", "GET"}};
    reqs.push_back(r);
  }
  for (uint32_t limit : {1u, 2u, 3u, 5u, 12u, 100u}) {
    for (auto t : std::vector<std::vector<std::pair<std::string, std::string>>>{
             {}, {{"service.name", "frontend"}}, {{"http.method", "GET"}}, {{"status", "error"}}}) {
      SearchRequest r = tags(t);
      r.limit = limit;
      r.spss = limit % 3;
      reqs.push_back(r);
    }
  }
  for (const SearchRequest& req : reqs) {
    absl::StatusOr<SearchResult> got = store->Search("t", req);
    absl::StatusOr<SearchResult> want = memory->Search("t", req);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(Render(*got), Render(*want))
        << "tags " << req.tags.size() << " limit " << req.limit << " dur " << req.min_duration_ns
        << "-" << req.max_duration_ns << " time " << req.start_s << "-" << req.end_s;
  }
  // Intrinsic tag values (from the span columns, or from the traces of pages partly in the
  // time range) likewise, for ranges that no split trace straddles (tag values judge each part
  // by its own time range).
  for (auto [lo, hi] : std::vector<std::pair<uint32_t, uint32_t>>{
           {0, 0}, {s0 + 1, s0 + 2}, {s0 + 3, s0 + 3}, {s0 + 6, s0 + 7}, {s0 + 8, 0}, {0, s0}}) {
    for (const char* name :
         {"name", "status", "kind", "statusMessage", "rootName", "rootServiceName"}) {
      absl::StatusOr<TagValuesResult> got = store->TagValues("t", name, lo, hi, 0, "");
      absl::StatusOr<TagValuesResult> want = memory->TagValues("t", name, lo, hi, 0, "");
      ASSERT_TRUE(got.ok() && want.ok());
      std::string g, w;
      for (const TagValue& v : got->values) absl::StrAppend(&g, v.type, ":", v.value, ",");
      for (const TagValue& v : want->values) absl::StrAppend(&w, v.type, ":", v.value, ",");
      EXPECT_EQ(g, w) << name << " " << lo << "-" << hi;
    }
  }
  // Tag names and values under a filter likewise: split traces judged whole (trace 50's
  // `cache` span is in a block, its `GET` root in another, its `render` in memory).
  for (const char* query :
       {R"({ resource.service.name = "backend" })", R"({ span.http.method = "PUT" })",
        "{ status = error }", R"({ name = "cache" || name = "load" })", "{ duration >= 100ms }",
        R"({ span.http.status_code = 200 && resource.service.name = "frontend" })",
        R"({ trace:rootName = "GET /cart" && status = error })",
        R"({ parent.http.method = "GET" })",
        R"({ trace:rootService = "frontend" && span.http.method = "PUT" })",
        R"({ name = "nothing" })"}) {
    for (auto [lo, hi] : std::vector<std::pair<uint32_t, uint32_t>>{{0, 0}, {s0 + 6, s0 + 7}}) {
      for (const char* name : {"name", "status", "rootName", "span.http.method",
                               "resource.service.name", ".http.status_code"}) {
        absl::StatusOr<TagValuesResult> got = store->TagValues("t", name, lo, hi, 0, query);
        absl::StatusOr<TagValuesResult> want = memory->TagValues("t", name, lo, hi, 0, query);
        ASSERT_TRUE(got.ok() && want.ok());
        std::string g, w;
        for (const TagValue& v : got->values) absl::StrAppend(&g, v.type, ":", v.value, ",");
        for (const TagValue& v : want->values) absl::StrAppend(&w, v.type, ":", v.value, ",");
        EXPECT_EQ(g, w) << query << " " << name << " " << lo << "-" << hi;
      }
      absl::StatusOr<TagNamesResult> got = store->TagNames("t", "", lo, hi, query);
      absl::StatusOr<TagNamesResult> want = memory->TagNames("t", "", lo, hi, query);
      ASSERT_TRUE(got.ok() && want.ok());
      std::string g, w;
      for (const TagScope& sc : got->scopes)
        absl::StrAppend(&g, sc.name, ":", absl::StrJoin(sc.tags, ","), ";");
      for (const TagScope& sc : want->scopes)
        absl::StrAppend(&w, sc.name, ":", absl::StrJoin(sc.tags, ","), ";");
      EXPECT_EQ(g, w) << query << " " << lo << "-" << hi;
    }
  }
  // Spelled out: the GET root of trace 50 (a block) is found through its `cache` span (another
  // block) — the trace's root name under a filter matching only the cache span.
  absl::StatusOr<TagValuesResult> roots =
      store->TagValues("t", "rootName", 0, 0, 0, R"({ name = "cache" })");
  ASSERT_TRUE(roots.ok());
  ASSERT_EQ(roots->values.size(), 1u);
  EXPECT_EQ(roots->values[0].value, "GET /cart");
  // Trace-level and parent matchers, judged on whole traces: trace 50 (root GET /cart in the
  // first block, its failed cache span in the second); the children of GET roots — query (40),
  // cache and render (50: a block and memory), load (51: its parent in the other block).
  const auto names_for = [&](std::string_view query) {
    absl::StatusOr<TagValuesResult> r = store->TagValues("t", "name", 0, 0, 0, query);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const TagValue& v : r->values) out.push_back(v.value);
    }
    return out;
  };
  EXPECT_EQ(names_for(R"({ trace:rootName = "GET /cart" && status = error })"),
            (std::vector<std::string>{"cache"}));
  EXPECT_EQ(names_for(R"({ parent.http.method = "GET" })"),
            (std::vector<std::string>{"cache", "load", "query", "render"}));
  absl::StatusOr<TagValuesResult> methods =
      store->TagValues("t", "span.http.method", 0, 0, 0,
                       R"({ resource.service.name = "frontend" && span.http.status_code = 200 })");
  ASSERT_TRUE(methods.ok());
  ASSERT_EQ(methods->values.size(), 1u);  // 40, 45, 50, 51 roots: all GET
  EXPECT_EQ(methods->values[0].value, "GET");
  // The expected answers, spelled out for two of them.
  SearchRequest req = tags({{"name", "cache"}, {"http.method", "GET"}, {"status", "error"}});
  absl::StatusOr<SearchResult> r = store->Search("t", req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->traces.size(), 1u);
  EXPECT_EQ(r->traces[0].trace_id, TraceId(50));
  EXPECT_EQ(r->traces[0].duration_ms, 500u);
  EXPECT_EQ(r->traces[0].root_trace_name, "GET /cart");
  req = tags({});
  req.limit = 3;
  r = store->Search("t", req);
  ASSERT_TRUE(r.ok());
  std::vector<std::string> ids;
  for (const TraceSummary& t : r->traces) ids.push_back(t.trace_id);
  EXPECT_EQ(ids, (std::vector<std::string>{TraceId(46), TraceId(45), TraceId(51)}));
}

// TraceQL over blocks and memory answers as over the same traces all in memory (where the engine
// judges every whole trace): the pre-filter from dictionaries and columns, the projected reads and
// the limit never change an answer. Plus the expected answers of some, from the construction.
SearchRequest TraceQl(const std::string& q, uint32_t limit = 0, uint32_t spss = 100) {
  SearchRequest r;
  traceql::ParseResult p = traceql::Parse(q);
  EXPECT_TRUE(p.ok()) << q << ": " << p.error.ToString();
  if (!p.ok()) return r;
  absl::StatusOr<std::unique_ptr<traceql::Program>> prog =
      traceql::Program::Compile(std::move(p.query));
  EXPECT_TRUE(prog.ok());
  r.query = *std::move(prog);
  r.limit = limit;
  r.spss = spss;
  return r;
}

TEST(TraceStoreBlocks, TraceQlOverBlocksAnswersAsOverMemory) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  BlockStore bs(&env);
  storage::FaultInjectionEnv memory_env;
  auto memory = MustStartWith(FlushOptions(&memory_env, &clock, nullptr));
  auto store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
  PushSplitTraceSet(memory.get(), store.get());
  const std::vector<std::string> queries = {
      "{}",
      "{ span.http.method = \"GET\" }",
      "{ resource.service.name = \"backend\" }",
      "{ .service.name = \"frontend\" && span.http.status_code = 500 }",
      "{ name = \"cron\" }",
      "{ status = error }",
      "{ resource.deployment.env = \"prod\" && name = \"charge\" }",
      "{ span.http.method = \"PUT\" }",  // only in trace 50's memory part
      "{ name = \"cache\" } && { span.http.method = \"GET\" }",
      "{ name = \"load\" } && { span.http.status_code = 200 }",  // 51: two blocks
      "{ span.http.method = \"DELETE\" }",
      "{ duration > 100ms }",
      "{ duration >= 300ms && resource.service.name = \"frontend\" }",
      "{ trace:duration > 400ms }",
      "{ name =~ \"GET .*\" }",
      "{ span.http.status_code >= 400 }",
      "{ resource.service.name = \"frontend\" } > { resource.service.name = \"backend\" }",
      "{ } >> { status = error }",
      "{ name = \"cache\" } ~ { }",
      "{ } !< { }",
      "{ resource.service.name = \"frontend\" } &> { }",
      "{ } | count() > 1",
      "{ } | by(resource.service.name) | count() = 1",
      "{ span.http.method != nil } | avg(duration) > 150ms",
      "{ instrumentation.lib.flavour = \"plain\" && kind = unspecified }",
      "{ instrumentation:name = \"test-lib\" && name = \"render\" }",
      "{ } | select(span.http.method, resource.deployment.env)",
      "{ span.http.status_code = 200 } with (most_recent=true)",
      // Column conditions of every kind the pre-filter judges.
      "{ name =~ \"GET /(cart|late)\" }",
      "{ name !~ \"GET.*\" && span.http.method != \"GET\" }",
      "{ span.http.status_code > 200 && span.http.status_code < 500 }",
      "{ 500 <= span.http.status_code }",
      "{ span.http.status_code = 200.0 }",
      "{ span.http.status_code = \"200\" }",  // a string never equals an int
      "{ status != ok && kind != server }",
      "{ statusMessage = \"\" && duration < 30ms }",
      "{ duration >= 90ms && duration <= 110ms }",
      "{ resource.deployment.env != \"prod\" }",
      "{ .service.name != \"frontend\" } >> { }",
      "{ instrumentation.lib.flavour =~ \"pl.*\" && span.http.method = \"PUT\" }",
      "{ resource.service.name = \"backend\" && name = \"load\" } && "
      "{ resource.service.name = \"frontend\" && duration > 100ms }",
  };
  for (const std::string& q : queries) {
    const std::string all_text = Render(*memory->Search("t", TraceQl(q)));
    for (uint32_t limit : {0u, 1u, 3u}) {
      // With a limit, most_recent=true gives the most recent matches: the same as memory's.
      const std::string hinted =
          limit == 0 || q.find(" with ") != std::string::npos ? q : q + " with (most_recent=true)";
      SearchRequest req = TraceQl(hinted, limit, limit == 0 ? 100 : 2);
      absl::StatusOr<SearchResult> got = store->Search("t", req);
      absl::StatusOr<SearchResult> want = memory->Search("t", req);
      ASSERT_TRUE(got.ok()) << q << ": " << got.status();
      ASSERT_TRUE(want.ok()) << q << ": " << want.status();
      EXPECT_EQ(Render(*got), Render(*want)) << hinted << " limit " << limit;
      // Without the hint: the first `limit` matches found, each one of the whole answer's.
      if (limit == 0 || hinted == q) continue;
      absl::StatusOr<SearchResult> first = store->Search("t", TraceQl(q, limit, 100));
      ASSERT_TRUE(first.ok());
      const size_t n_all = std::count(all_text.begin(), all_text.end(), '\n');
      EXPECT_EQ(first->traces.size(), std::min<size_t>(limit, n_all)) << q;
      for (const TraceSummary& t : first->traces) {
        SearchResult one;
        one.traces.push_back(t);
        EXPECT_NE(all_text.find(Render(one)), std::string::npos) << q << "\n" << Render(one);
      }
    }
  }
  // Expected answers from the construction.
  const auto ids = [&](const std::string& q) {
    absl::StatusOr<SearchResult> r = store->Search("t", TraceQl(q));
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<int> out;
    if (r.ok()) {
      for (const TraceSummary& t : r->traces) out.push_back(static_cast<uint8_t>(t.trace_id[15]));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(ids("{ span.http.status_code = 500 }"), (std::vector<int>{41, 44}));
  EXPECT_EQ(ids("{ span.http.method = \"PUT\" }"), (std::vector<int>{50}));
  EXPECT_EQ(ids("{ name = \"load\" } && { span.http.status_code = 200 }"), (std::vector<int>{51}));
  EXPECT_EQ(ids("{ name = \"cache\" } && { span.http.method = \"GET\" } && { status = error }"),
            (std::vector<int>{50}));
  EXPECT_EQ(
      ids("{ resource.service.name = \"frontend\" } > { resource.service.name = \"backend\" }"),
      (std::vector<int>{40, 50, 51}));
  EXPECT_EQ(ids("{ } | count() > 2"), (std::vector<int>{50}));
  // A client that went away stops the search.
  SearchRequest gone = TraceQl("{ }");
  gone.cancelled = [] { return true; };
  EXPECT_TRUE(absl::IsCancelled(store->Search("t", gone).status()));
}

// With a limit, blocks and pages are read most recent first and the rest is skipped once the
// limit's worth of more recent traces is found; without one every page in range is inspected
// (metrics: the pages' OTLP bytes, traces and spans).
TEST(TraceStoreBlocks, SearchWithALimitStopsEarly) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  BlockStore bs(&env);
  auto store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
  for (int blk = 0; blk < 3; ++blk) {
    ExportTraceServiceRequest req;
    std::vector<SpanSpec> spans;
    for (int i = 0; i < 6; ++i) {
      const int trace = 60 + blk * 10 + i;
      spans.push_back({trace, 1, 0, "op", static_cast<uint64_t>(blk * 60000 + i * 1000), 10, false,
                       "GET", 200});
    }
    *req.add_resource_spans() = MakeResourceSpans("svc", spans);
    ASSERT_TRUE(store->Push("t", req).ok());
    ASSERT_TRUE(store->FlushOnce(true).ok());
  }
  uint64_t otlp = 0, spans = 0, traces = 0;
  for (TenantBlocks* tb : store->AllTenantBlocks()) {
    for (const auto& reader : *tb->snapshot()) {
      otlp += reader->meta().otlp_bytes;
      spans += reader->meta().span_count;
      traces += reader->meta().trace_count;
    }
  }
  EXPECT_EQ(traces, 18u);
  SearchRequest all;
  all.tags = {{"http.method", "GET"}};
  all.limit = 0;
  absl::StatusOr<SearchResult> r = store->Search("t", all);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->traces.size(), 18u);
  EXPECT_EQ(r->metrics.inspected_bytes, otlp);
  EXPECT_EQ(r->metrics.inspected_spans, spans);
  EXPECT_EQ(r->metrics.inspected_traces, traces);
  SearchRequest two = all;
  two.limit = 2;
  r = store->Search("t", two);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->traces.size(), 2u);
  EXPECT_EQ(r->traces[0].trace_id, TraceId(85));
  EXPECT_EQ(r->traces[1].trace_id, TraceId(84));
  // Only the newest block's pages at most (a third of the bytes), not the older blocks.
  EXPECT_GT(r->metrics.inspected_bytes, 0u);
  EXPECT_LE(r->metrics.inspected_bytes * 3, otlp + 3);
  EXPECT_LT(r->metrics.inspected_traces, 7u);
}

TEST(TraceStoreBlocks, AFailedBlockWriteKeepsTracesQueryableAndIsRetried) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  BlockStore bs(&env);
  objstore::FaultInjectionObjectStore::Fault fault;
  fault.ops = objstore::FaultInjectionObjectStore::kPut;
  fault.key_contains = "meta.json";
  fault.error = absl::ResourceExhaustedError("disk full");
  bs.faults->InjectFault(fault);
  TraceStoreOptions o = BlockOptions(&env, &clock, bs.faults.get());
  o.flush_check_period = absl::Hours(1);  // the first backoff; the thread never passes
  auto store = MustStartWith(o);
  PushKnownSet(store.get(), "team-a");
  std::unique_ptr<tpb::TracesData> before = MustFind(*store, "team-a", 1);
  clock.Advance(absl::Seconds(6));
  EXPECT_EQ(store->FlushOnce(false).code(), absl::StatusCode::kResourceExhausted);
  TenantFlushStats st = store->Stats()["team-a"];
  EXPECT_EQ(st.flush_failures, 1);
  EXPECT_EQ(st.pending_traces, 4);
  EXPECT_EQ(st.blocks, 0);
  // Nothing visible and nothing left behind.
  absl::StatusOr<objstore::ListResult> all = bs.fs->List("team-a/");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->keys.empty());
  std::unique_ptr<tpb::TracesData> during = MustFind(*store, "team-a", 1);
  ASSERT_NE(during, nullptr);
  EXPECT_TRUE(Equal(*during, *before));
  clock.Advance(absl::Hours(1));  // the backoff passed; the fault fired once
  ASSERT_TRUE(store->FlushOnce(false).ok());
  st = store->Stats()["team-a"];
  EXPECT_EQ(st.blocks, 1);
  EXPECT_EQ(st.pending_traces, 0);
  std::unique_ptr<tpb::TracesData> after = MustFind(*store, "team-a", 1);
  ASSERT_NE(after, nullptr);
  EXPECT_TRUE(Equal(*after, *before));
}

TEST(TraceStoreBlocks, CompactionAndRetentionOverTheStoresBlocks) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  BlockStore bs(&env);
  const uint64_t day_ms = 24ull * 3600 * 1000;
  // Block 1: the known set (kBase). Blocks 2 and 3: two parts of trace 20, ten days later.
  ExportTraceServiceRequest part1, part2;
  *part1.add_resource_spans() =
      MakeResourceSpans("frontend", {{20, 1, 0, "GET /late", 10 * day_ms, 80, false, "GET", 200}});
  *part2.add_resource_spans() =
      MakeResourceSpans("backend", {{20, 2, 1, "db", 10 * day_ms + 5, 20}});
  storage::FaultInjectionEnv memory_env;
  auto memory = MustStartWith(FlushOptions(&memory_env, &clock, nullptr));
  ASSERT_TRUE(memory->Push("team-a", part1).ok());
  ASSERT_TRUE(memory->Push("team-a", part2).ok());
  std::unique_ptr<tpb::TracesData> whole = MustFind(*memory, "team-a", 20);
  ASSERT_NE(whole, nullptr);

  auto store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
  PushKnownSet(store.get(), "team-a");
  ASSERT_TRUE(store->FlushOnce(true).ok());
  ASSERT_TRUE(store->Push("team-a", part1).ok());
  ASSERT_TRUE(store->FlushOnce(true).ok());
  ASSERT_TRUE(store->Push("team-a", part2).ok());
  ASSERT_TRUE(store->FlushOnce(true).ok());
  ASSERT_EQ(store->Stats()["team-a"].blocks, 3);

  // Twenty days after kBase with 14 days of retention: block 1 expired, blocks 2 and 3 (same
  // window, level 0) compacted into one.
  absl::Time now = absl::FromUnixNanos(static_cast<int64_t>(kBase + 20 * day_ms * kMs));
  compact::CompactorOptions co;
  co.block_retention = absl::Hours(336);
  co.compacted_block_retention = absl::ZeroDuration();
  co.clock = [&now] { return now; };
  compact::Compactor compactor(co, [&store] { return store->AllTenantBlocks(); });
  ASSERT_TRUE(compactor.RunOnce().ok());
  compact::CompactorStats cs = compactor.stats();
  EXPECT_EQ(cs.retention_marked, 1u);
  EXPECT_EQ(cs.blocks_compacted, 2u);
  EXPECT_EQ(cs.blocks_written, 1u);
  EXPECT_EQ(cs.compaction_failures, 0u);
  EXPECT_EQ(store->Stats()["team-a"].blocks, 1);
  for (int trace = 1; trace <= 4; ++trace) EXPECT_FALSE(Found(*store, "team-a", trace)) << trace;
  std::unique_ptr<tpb::TracesData> found = MustFind(*store, "team-a", 20);
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(Equal(*found, *whole)) << found->DebugString();
  absl::StatusOr<SearchResult> all = store->Search("team-a", {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Ids(*all), std::vector<std::string>{TraceId(20)});
  // The next cycle deletes the compaction's inputs (grace 0); only the merged block is left,
  // and a restart reads the same.
  ASSERT_TRUE(compactor.RunOnce().ok());
  absl::StatusOr<std::vector<std::string>> ids = block::ListBlocks(bs.fs.get(), "team-a");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 1u);
  compactor.Stop();
  store.reset();
  store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
  found = MustFind(*store, "team-a", 20);
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(Equal(*found, *whole));
  EXPECT_FALSE(Found(*store, "team-a", 1));
}

TEST(TraceStoreBlocks, ReadsDuringFlushesNeverMissATrace) {
  storage::FaultInjectionEnv env;
  FakeClock clock;
  BlockStore bs(&env);
  auto store = MustStartWith(BlockOptions(&env, &clock, bs.fs.get()));
  constexpr int kRounds = 40;
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0}, misses{0}, reads{0};
  // Reads every acknowledged trace (30, 31, ...) by ID, and searches, again and again.
  std::thread reader([&] {
    while (!stop.load()) {
      const int n = acked.load();
      for (int i = 0; i < n; ++i) {
        auto t = store->FindTraceByID("team-a", TraceId(30 + i), 0, 0);
        if (!t.ok() || !t->has_value()) misses++;
      }
      SearchRequest op;
      op.tags = {{"name", "op"}};
      op.limit = 0;  // all
      absl::StatusOr<SearchResult> r = store->Search("team-a", op);
      if (!r.ok() || r->traces.size() < static_cast<size_t>(n)) misses++;
      reads++;
    }
  });
  // Each round a new trace, then a forced flush moving it from memory into a block while the
  // reader reads it.
  for (int round = 0; round < kRounds; ++round) {
    ExportTraceServiceRequest req;
    *req.add_resource_spans() = MakeResourceSpans("svc", {{30 + round, 1, 0, "op", 0, 5}});
    ASSERT_TRUE(store->Push("team-a", req).ok());
    acked++;
    const int seen = reads.load();
    while (reads.load() < seen + 1) std::this_thread::yield();
    ASSERT_TRUE(store->FlushOnce(true).ok());
  }
  stop = true;
  reader.join();
  EXPECT_GT(reads.load(), kRounds);
  EXPECT_EQ(misses.load(), 0) << "of " << reads.load();
  EXPECT_EQ(store->Stats()["team-a"].blocks, kRounds);
}

}  // namespace
}  // namespace sprout::traces::store
