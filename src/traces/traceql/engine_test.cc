// Tests of TraceQL execution on one trace (engine.h): a hand-built trace whose spans are named
// after their place, and for each query the span names the construction says it returns.
#include "traces/traceql/engine.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "traces/traceql/parser.h"

namespace sprout::traces::traceql {
namespace {

namespace tpb = opentelemetry::proto::trace::v1;
namespace cpb = opentelemetry::proto::common::v1;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kBase = 1'700'000'000'000'000'000ull;

void Str(google::protobuf::RepeatedPtrField<cpb::KeyValue>* a, const std::string& k,
         const std::string& v) {
  cpb::KeyValue* kv = a->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}
void Int(google::protobuf::RepeatedPtrField<cpb::KeyValue>* a, const std::string& k, int64_t v) {
  cpb::KeyValue* kv = a->Add();
  kv->set_key(k);
  kv->mutable_value()->set_int_value(v);
}

std::string Id(int n, size_t len) { return std::string(len - 1, '\0') + static_cast<char>(n); }

// frontend: root "GET /" (server, 0..500ms, http.status_code=200, tags=["a","b"])
//   ├─ "call api" (client, 10..400ms)
//   │    └─ api: "handle" (server, 20..390ms, http.status_code=500, status error "boom")
//   │         ├─ "db" (client, 30..130ms, db.system=postgres, event "exception"
//   exception.type=IOError) │         └─ "cache" (client, 140..145ms, retries=2.5) └─ "render"
//   (internal, 400..480ms)
tpb::TracesData Trace() {
  tpb::TracesData td;
  const auto add = [&](tpb::ResourceSpans* rs, const std::string& name, int id, int parent,
                       tpb::Span::SpanKind kind, uint64_t s_ms, uint64_t e_ms) {
    tpb::Span* s = rs->mutable_scope_spans(0)->add_spans();
    s->set_trace_id(Id(7, 16));
    s->set_span_id(Id(id, 8));
    if (parent != 0) s->set_parent_span_id(Id(parent, 8));
    s->set_name(name);
    s->set_kind(kind);
    s->set_start_time_unix_nano(kBase + s_ms * kMs);
    s->set_end_time_unix_nano(kBase + e_ms * kMs);
    return s;
  };
  tpb::ResourceSpans* fe = td.add_resource_spans();
  Str(fe->mutable_resource()->mutable_attributes(), "service.name", "frontend");
  fe->add_scope_spans()->mutable_scope()->set_name("fe-lib");
  tpb::Span* root = add(fe, "GET /", 1, 0, tpb::Span::SPAN_KIND_SERVER, 0, 500);
  Int(root->mutable_attributes(), "http.status_code", 200);
  cpb::KeyValue* tags = root->add_attributes();
  tags->set_key("tags");
  tags->mutable_value()->mutable_array_value()->add_values()->set_string_value("a");
  tags->mutable_value()->mutable_array_value()->add_values()->set_string_value("b");
  add(fe, "call api", 2, 1, tpb::Span::SPAN_KIND_CLIENT, 10, 400);
  add(fe, "render", 6, 1, tpb::Span::SPAN_KIND_INTERNAL, 400, 480);
  tpb::ResourceSpans* api = td.add_resource_spans();
  Str(api->mutable_resource()->mutable_attributes(), "service.name", "api");
  api->add_scope_spans()->mutable_scope()->set_name("api-lib");
  tpb::Span* handle = add(api, "handle", 3, 2, tpb::Span::SPAN_KIND_SERVER, 20, 390);
  Int(handle->mutable_attributes(), "http.status_code", 500);
  handle->mutable_status()->set_code(tpb::Status::STATUS_CODE_ERROR);
  handle->mutable_status()->set_message("boom");
  tpb::Span* db = add(api, "db", 4, 3, tpb::Span::SPAN_KIND_CLIENT, 30, 130);
  Str(db->mutable_attributes(), "db.system", "postgres");
  tpb::Span::Event* ev = db->add_events();
  ev->set_name("exception");
  ev->set_time_unix_nano(kBase + 50 * kMs);
  Str(ev->mutable_attributes(), "exception.type", "IOError");
  tpb::Span* cache = add(api, "cache", 5, 3, tpb::Span::SPAN_KIND_CLIENT, 140, 145);
  cpb::KeyValue* retries = cache->add_attributes();
  retries->set_key("retries");
  retries->mutable_value()->set_double_value(2.5);
  return td;
}

// The names of the spans returned (over every span set), or "ERROR ..." / "NONE".
std::set<std::string> Eval(const std::string& q, size_t* sets = nullptr) {
  ParseResult r = Parse(q);
  if (!r.ok()) return {"ERROR " + r.error.ToString()};
  auto p = Program::Compile(std::move(r.query));
  if (!p.ok()) return {"ERROR " + std::string(p.status().message())};
  static const tpb::TracesData td = Trace();
  TraceView view(td);
  std::vector<SpanSet> out = (*p)->Evaluate(view);
  if (sets != nullptr) *sets = out.size();
  std::set<std::string> names;
  for (const SpanSet& s : out) {
    for (uint32_t i : s.spans) names.insert(view.spans()[i].span->name());
  }
  return names;
}

using Names = std::set<std::string>;

TEST(TraceqlEngine, NestedSetNumbers) {
  const tpb::TracesData td = Trace();
  TraceView v(td);
  ASSERT_EQ(v.spans().size(), 6u);
  // Span order: GET /, call api, render, handle, db, cache. Depth-first from the root, children
  // in span order: GET /(1) call api(2) handle(3) db(4,5) cache(6,7) (8) (9) render(10,11) (12).
  const auto lr = [&](int i) { return std::pair(v.spans()[i].left, v.spans()[i].right); };
  EXPECT_EQ(lr(0), std::pair(1, 12));
  EXPECT_EQ(lr(1), std::pair(2, 9));
  EXPECT_EQ(lr(3), std::pair(3, 8));
  EXPECT_EQ(lr(4), std::pair(4, 5));
  EXPECT_EQ(lr(5), std::pair(6, 7));
  EXPECT_EQ(lr(2), std::pair(10, 11));
  EXPECT_EQ(v.spans()[4].nested_parent, 3);
  EXPECT_EQ(v.spans()[0].nested_parent, -1);
  EXPECT_EQ(v.spans()[3].child_count, 2);
  EXPECT_EQ(v.root(), 0);
}

TEST(TraceqlEngine, Filters) {
  const Names all = {"GET /", "call api", "render", "handle", "db", "cache"};
  EXPECT_EQ(Eval("{ }"), all);
  EXPECT_EQ(Eval("{ resource.service.name = \"api\" }"), (Names{"handle", "db", "cache"}));
  EXPECT_EQ(Eval("{ .service.name = \"frontend\" && kind = client }"), (Names{"call api"}));
  EXPECT_EQ(Eval("{ span.http.status_code >= 500 }"), (Names{"handle"}));
  EXPECT_EQ(Eval("{ span.http.status_code != 200 }"), (Names{"handle"}));  // missing: false
  EXPECT_EQ(Eval("{ span.http.status_code = nil }"), (Names{"call api", "render", "db", "cache"}));
  EXPECT_EQ(Eval("{ span.http.status_code != nil }"), (Names{"GET /", "handle"}));
  EXPECT_EQ(Eval("{ status = error }"), (Names{"handle"}));
  EXPECT_EQ(Eval("{ status != error }"), (Names{"GET /", "call api", "render", "db", "cache"}));
  EXPECT_EQ(Eval("{ statusMessage = \"boom\" }"), (Names{"handle"}));
  EXPECT_EQ(Eval("{ duration > 300ms }"), (Names{"GET /", "call api", "handle"}));
  EXPECT_EQ(Eval("{ duration <= 5ms }"), (Names{"cache"}));
  EXPECT_EQ(Eval("{ name =~ \"ca.*\" }"), (Names{"call api", "cache"}));
  EXPECT_EQ(Eval("{ name =~ \"ca\" }"), Names{});  // fully anchored
  EXPECT_EQ(Eval("{ name !~ \".*a.*\" }"), (Names{"GET /", "render", "db"}));
  EXPECT_EQ(Eval("{ span.tags = \"b\" }"), (Names{"GET /"}));   // any element
  EXPECT_EQ(Eval("{ span.tags != \"c\" }"), (Names{"GET /"}));  // no element
  EXPECT_EQ(Eval("{ span.tags != \"a\" }"), Names{});
  EXPECT_EQ(Eval("{ span.retries > 2 }"), (Names{"cache"}));  // float vs int
  EXPECT_EQ(Eval("{ span.retries * 2 = 5 }"), (Names{"cache"}));
  EXPECT_EQ(Eval("{ span.http.status_code / 100 = 5 }"), (Names{"handle"}));
  EXPECT_EQ(Eval("{ span.http.status_code / 300 = 1 }"), (Names{"handle"}));  // int division
  EXPECT_EQ(Eval("{ span.http.status_code % 300 = 200 }"), (Names{"GET /", "handle"}));
  EXPECT_EQ(Eval("{ span.http.status_code / 0 = 1 }"), Names{});
  EXPECT_EQ(Eval("{ span.http.status_code ^ 2 = 40000 }"), (Names{"GET /"}));
  EXPECT_EQ(Eval("{ span.http.status_code * 4611686018427387904 + 1 = 1 }"),
            (Names{"GET /", "handle"}));  // exact int64, wrapping as Go's
  EXPECT_EQ(Eval("{ !(kind = client) && resource.service.name = \"api\" }"), (Names{"handle"}));
  EXPECT_EQ(Eval("{ event.exception.type = \"IOError\" }"), (Names{"db"}));
  EXPECT_EQ(Eval("{ event:name = \"exception\" }"), (Names{"db"}));
  EXPECT_EQ(Eval("{ event:timeSinceStart = 20ms }"), (Names{"db"}));
  EXPECT_EQ(Eval("{ instrumentation:name = \"api-lib\" && childCount = 0 }"),
            (Names{"db", "cache"}));
  EXPECT_EQ(Eval("{ trace:rootService = \"frontend\" && trace:rootName = \"GET /\" && "
                 "trace:duration = 500ms && span:id = \"0000000000000004\" }"),
            (Names{"db"}));
  EXPECT_EQ(
      Eval("{ parent.resource.service.name = \"frontend\" && resource.service.name = \"api\" }"),
      (Names{"handle"}));
  EXPECT_EQ(Eval("{ span.http.status_code = \"500\" }"), Names{});  // string vs int: false
}

TEST(TraceqlEngine, SpansetOperators) {
  EXPECT_EQ(Eval("{ name = \"db\" } && { name = \"render\" }"), (Names{"db", "render"}));
  EXPECT_EQ(Eval("{ name = \"db\" } && { name = \"nope\" }"), Names{});
  EXPECT_EQ(Eval("{ name = \"db\" } || { name = \"nope\" }"), (Names{"db"}));
  EXPECT_EQ(Eval("{ name = \"handle\" } > { kind = client }"), (Names{"db", "cache"}));
  EXPECT_EQ(Eval("{ name = \"db\" } < { }"), (Names{"handle"}));
  EXPECT_EQ(Eval("{ resource.service.name = \"frontend\" } >> { resource.service.name = \"api\" }"),
            (Names{"handle", "db", "cache"}));
  EXPECT_EQ(Eval("{ name = \"db\" } << { }"), (Names{"handle", "call api", "GET /"}));
  EXPECT_EQ(Eval("{ name = \"db\" } ~ { }"), (Names{"cache"}));
  EXPECT_EQ(Eval("{ name = \"handle\" } !> { kind = client }"), (Names{"call api"}));
  EXPECT_EQ(Eval("{ name = \"GET /\" } !>> { }"), (Names{"GET /"}));
  EXPECT_EQ(Eval("{ name = \"handle\" } &> { name = \"db\" }"), (Names{"handle", "db"}));
  EXPECT_EQ(Eval("{ name = \"db\" } &~ { }"), (Names{"db", "cache"}));
  EXPECT_EQ(Eval("{ name = \"db\" } &<< { kind = server }"), (Names{"db", "handle", "GET /"}));
}

TEST(TraceqlEngine, Pipelines) {
  size_t sets = 0;
  EXPECT_EQ(Eval("{ } | count() > 5"),
            (Names{"GET /", "call api", "render", "handle", "db", "cache"}));
  EXPECT_EQ(Eval("{ } | count() > 6"), Names{});
  EXPECT_EQ(Eval("{ kind = client } | avg(duration) > 100ms"), (Names{"call api", "db", "cache"}));
  EXPECT_EQ(Eval("{ kind = client } | max(duration) < 100ms"), Names{});
  EXPECT_EQ(Eval("{ kind = client } | by(resource.service.name) | count() = 2", &sets),
            (Names{"db", "cache"}));
  EXPECT_EQ(sets, 1u);
  EXPECT_EQ(Eval("{ } | by(resource.service.name)", &sets),
            (Names{"GET /", "call api", "render", "handle", "db", "cache"}));
  EXPECT_EQ(sets, 2u);
  EXPECT_EQ(Eval("{ } | by(resource.service.name) | coalesce()", &sets).size(), 6u);
  EXPECT_EQ(sets, 1u);
  EXPECT_EQ(Eval("{ kind = client } | { resource.service.name = \"api\" }"),
            (Names{"db", "cache"}));
  EXPECT_EQ(Eval("{ kind = client } | select(span.db.system)"), (Names{"call api", "db", "cache"}));
  EXPECT_EQ(Eval("({ kind = client } | count()) > 2"), (Names{"call api", "db", "cache"}));
  EXPECT_EQ(Eval("{ } | sum(span.http.status_code) = 700"),
            (Names{"GET /", "call api", "render", "handle", "db", "cache"}));
}

TEST(TraceqlEngine, PlanConditionsAndRefs) {
  ParseResult r = Parse(
      "{ resource.service.name = \"api\" && name = \"db\" && duration > 10ms } >> "
      "{ status = error || .x = \"y\" } | select(span.z) with (most_recent=true)");
  ASSERT_TRUE(r.ok()) << r.error.ToString();
  auto p = Program::Compile(std::move(r.query));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE((*p)->most_recent());
  const Plan& plan = (*p)->plan();
  // The || filter gives no condition; the three comparisons of the && one do.
  ASSERT_EQ(plan.conditions.size(), 3u);
  EXPECT_EQ(plan.conditions[0].target, TraceCondition::Target::kAttribute);
  EXPECT_EQ(plan.conditions[0].scope, Scope::kResource);
  EXPECT_EQ(plan.conditions[0].key, "service.name");
  EXPECT_EQ(plan.conditions[0].value.s, "api");
  EXPECT_EQ(plan.conditions[1].target, TraceCondition::Target::kName);
  EXPECT_EQ(plan.conditions[2].target, TraceCondition::Target::kDuration);
  EXPECT_EQ(plan.conditions[2].op, Op::kGt);
  Static d;
  d.type = Type::kDuration;
  d.i = 10'000'001;
  EXPECT_TRUE(plan.conditions[2].Matches(d));
  d.i = 10'000'000;
  EXPECT_FALSE(plan.conditions[2].Matches(d));
  Static api;
  api.type = Type::kString;
  api.s = "api";
  EXPECT_TRUE(plan.conditions[0].Matches(api));
  // Mirrored and regex conditions.
  ParseResult r2 = Parse("{ 500 <= span.code && name =~ \"GET.*\" && span.x != nil }");
  ASSERT_TRUE(r2.ok());
  auto p2 = Program::Compile(std::move(r2.query));
  ASSERT_TRUE(p2.ok());
  const Plan& plan2 = (*p2)->plan();
  ASSERT_EQ(plan2.conditions.size(), 2u);
  EXPECT_EQ(plan2.conditions[0].op, Op::kGte);
  Static code;
  code.type = Type::kInt;
  code.i = 503;
  EXPECT_TRUE(plan2.conditions[0].Matches(code));
  code.i = 404;
  EXPECT_FALSE(plan2.conditions[0].Matches(code));
  Static name;
  name.type = Type::kString;
  name.s = "GET /x";
  EXPECT_TRUE(plan2.conditions[1].Matches(name));
  name.s = "xGET /x";
  EXPECT_FALSE(plan2.conditions[1].Matches(name));
  EXPECT_EQ(plan.refs.resource_keys, (std::vector<std::string>{"service.name", "x"}));
  EXPECT_EQ(plan.refs.span_keys, (std::vector<std::string>{"x", "z"}));
  EXPECT_FALSE(plan.refs.needs_events_links_scope);
}

TEST(TraceqlEngine, SpanAttributesShowWhatTheQueryRead) {
  ParseResult r =
      Parse("{ span.http.status_code >= 500 && status = error } | select(resource.service.name)");
  ASSERT_TRUE(r.ok());
  auto p = Program::Compile(std::move(r.query));
  ASSERT_TRUE(p.ok());
  const tpb::TracesData td = Trace();
  TraceView v(td);
  std::vector<cpb::KeyValue> attrs = (*p)->SpanAttributes(v, 3);  // handle
  ASSERT_EQ(attrs.size(), 3u);
  EXPECT_EQ(attrs[0].key(), "http.status_code");
  EXPECT_EQ(attrs[0].value().int_value(), 500);
  EXPECT_EQ(attrs[1].key(), "status");
  EXPECT_EQ(attrs[1].value().string_value(), "error");
  EXPECT_EQ(attrs[2].key(), "service.name");
  EXPECT_EQ(attrs[2].value().string_value(), "api");
}

}  // namespace
}  // namespace sprout::traces::traceql
