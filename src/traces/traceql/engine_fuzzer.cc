// libFuzzer target traceql_engine_fuzzer (tests/fuzz/README.md): arbitrary bytes as a TraceQL
// query, executed on a fixed trace built to reach every evaluation path (two resources, nested
// spans, a parent cycle, a span whose parent is missing, events, links, arrays, every attribute
// type). A query that parses compiles and evaluates without crashing, hanging or unbounded
// recursion; the span sets hold valid, ascending, distinct span indexes; evaluation is
// deterministic and the same on a view without structure when the plan says none is needed; and
// the plan is sound: when the trace matches, every pre-filter condition holds
// on some span (or the span's value is one the pre-filter cannot judge and keeps), so the store's
// column pre-filter never drops a matching trace. A TraceQL metrics query (issue 16) runs through
// MetricsProgram instead (CheckMetrics) and the search's Program refuses it.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "traces/traceql/engine.h"
#include "traces/traceql/metrics.h"
#include "traces/traceql/parser.h"

namespace traceql = sprout::traces::traceql;
namespace tpb = opentelemetry::proto::trace::v1;
namespace cpb = opentelemetry::proto::common::v1;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kBase = 1'700'000'000'000'000'000ull;

std::string Id(int n, size_t len) { return std::string(len - 1, '\0') + static_cast<char>(n); }

cpb::KeyValue* Add(google::protobuf::RepeatedPtrField<cpb::KeyValue>* a, const std::string& k) {
  cpb::KeyValue* kv = a->Add();
  kv->set_key(k);
  return kv;
}

tpb::Span* AddSpan(tpb::ScopeSpans* ss, const std::string& name, int id, int parent,
                   tpb::Span::SpanKind kind, uint64_t s_ms, uint64_t e_ms) {
  tpb::Span* s = ss->add_spans();
  s->set_trace_id(Id(9, 16));
  s->set_span_id(Id(id, 8));
  if (parent != 0) s->set_parent_span_id(Id(parent, 8));
  s->set_name(name);
  s->set_kind(kind);
  s->set_start_time_unix_nano(kBase + s_ms * kMs);
  s->set_end_time_unix_nano(kBase + e_ms * kMs);
  return s;
}

tpb::TracesData MakeTrace() {
  tpb::TracesData td;
  tpb::ResourceSpans* fe = td.add_resource_spans();
  Add(fe->mutable_resource()->mutable_attributes(), "service.name")
      ->mutable_value()
      ->set_string_value("frontend");
  Add(fe->mutable_resource()->mutable_attributes(), "code")->mutable_value()->set_int_value(7);
  tpb::ScopeSpans* fs = fe->add_scope_spans();
  fs->mutable_scope()->set_name("lib");
  fs->mutable_scope()->set_version("1.0");
  Add(fs->mutable_scope()->mutable_attributes(), "flavour")->mutable_value()->set_string_value("x");
  tpb::Span* root = AddSpan(fs, "GET /", 1, 0, tpb::Span::SPAN_KIND_SERVER, 0, 500);
  Add(root->mutable_attributes(), "code")->mutable_value()->set_int_value(200);
  cpb::AnyValue* tags = Add(root->mutable_attributes(), "tags")->mutable_value();
  tags->mutable_array_value()->add_values()->set_string_value("a");
  tags->mutable_array_value()->add_values()->set_int_value(3);
  Add(root->mutable_attributes(), "ok")->mutable_value()->set_bool_value(true);
  Add(root->mutable_attributes(), "blob")->mutable_value()->set_bytes_value("\x01\x02");
  tpb::Span* call = AddSpan(fs, "call api", 2, 1, tpb::Span::SPAN_KIND_CLIENT, 10, 400);
  tpb::Span::Link* link = call->add_links();
  link->set_trace_id(Id(8, 16));
  link->set_span_id(Id(1, 8));
  Add(link->mutable_attributes(), "l")->mutable_value()->set_int_value(1);
  AddSpan(fs, "render", 6, 1, tpb::Span::SPAN_KIND_INTERNAL, 400, 480);
  // A span whose end is before its start.
  AddSpan(fs, "backwards", 10, 1, tpb::Span::SPAN_KIND_PRODUCER, 300, 200);
  tpb::ResourceSpans* api = td.add_resource_spans();
  Add(api->mutable_resource()->mutable_attributes(), "service.name")
      ->mutable_value()
      ->set_string_value("api");
  tpb::ScopeSpans* as = api->add_scope_spans();
  tpb::Span* handle = AddSpan(as, "handle", 3, 2, tpb::Span::SPAN_KIND_SERVER, 20, 390);
  Add(handle->mutable_attributes(), "code")->mutable_value()->set_double_value(500.5);
  handle->mutable_status()->set_code(tpb::Status::STATUS_CODE_ERROR);
  handle->mutable_status()->set_message("boom");
  tpb::Span* db = AddSpan(as, "db", 4, 3, tpb::Span::SPAN_KIND_CLIENT, 30, 130);
  Add(db->mutable_attributes(), "db.system")->mutable_value()->set_string_value("postgres");
  tpb::Span::Event* ev = db->add_events();
  ev->set_name("exception");
  ev->set_time_unix_nano(kBase + 50 * kMs);
  Add(ev->mutable_attributes(), "exception.type")->mutable_value()->set_string_value("IOError");
  tpb::Span* cache = AddSpan(as, "cache", 5, 3, tpb::Span::SPAN_KIND_CONSUMER, 140, 145);
  cache->mutable_status()->set_code(tpb::Status::STATUS_CODE_OK);
  Add(cache->mutable_attributes(), "retries")->mutable_value()->set_double_value(2.5);
  // A parent cycle (11 <-> 12) and a span whose parent is not in the trace.
  AddSpan(as, "loop a", 11, 12, tpb::Span::SPAN_KIND_UNSPECIFIED, 1, 2);
  AddSpan(as, "loop b", 12, 11, tpb::Span::SPAN_KIND_UNSPECIFIED, 2, 3);
  AddSpan(as, "orphan", 13, 99, tpb::Span::SPAN_KIND_INTERNAL, 5, 6);
  return td;
}

traceql::Static FromAny(const cpb::AnyValue& v, bool* other) {
  traceql::Static s;
  *other = false;
  switch (v.value_case()) {
    case cpb::AnyValue::kStringValue:
      s.type = traceql::Type::kString;
      s.s = v.string_value();
      break;
    case cpb::AnyValue::kIntValue:
      s.type = traceql::Type::kInt;
      s.i = v.int_value();
      break;
    case cpb::AnyValue::kDoubleValue:
      s.type = traceql::Type::kFloat;
      s.f = v.double_value();
      break;
    case cpb::AnyValue::kBoolValue:
      s.type = traceql::Type::kBool;
      s.b = v.bool_value();
      break;
    default:
      *other = true;  // arrays, bytes, lists: the pre-filter keeps them
  }
  return s;
}

// Whether condition `c` holds (or cannot be judged, as the pre-filter sees it) on span `r`.
bool Holds(const traceql::TraceCondition& c, const traceql::SpanRef& r) {
  using Target = traceql::TraceCondition::Target;
  const tpb::Span& s = *r.span;
  traceql::Static v;
  switch (c.target) {
    case Target::kName:
      v.type = traceql::Type::kString;
      v.s = s.name();
      return c.Matches(v);
    case Target::kStatusMessage:
      v.type = traceql::Type::kString;
      v.s = s.status().message();
      return c.Matches(v);
    case Target::kStatus:
      v.type = traceql::Type::kStatus;
      v.i = static_cast<int64_t>(
          s.status().code() == tpb::Status::STATUS_CODE_OK      ? traceql::Status::kOk
          : s.status().code() == tpb::Status::STATUS_CODE_ERROR ? traceql::Status::kError
                                                                : traceql::Status::kUnset);
      return c.Matches(v);
    case Target::kKind:
      v.type = traceql::Type::kKind;
      v.i = static_cast<int64_t>(s.kind());
      return c.Matches(v);
    case Target::kDuration:
      v.type = traceql::Type::kDuration;
      v.i = s.end_time_unix_nano() > s.start_time_unix_nano()
                ? static_cast<int64_t>(s.end_time_unix_nano() - s.start_time_unix_nano())
                : 0;
      return c.Matches(v);
    case Target::kAttribute:
      break;
  }
  std::vector<const google::protobuf::RepeatedPtrField<cpb::KeyValue>*> lists;
  switch (c.scope) {
    case traceql::Scope::kSpan:
      lists.push_back(&s.attributes());
      break;
    case traceql::Scope::kResource:
      lists.push_back(&r.resource->resource().attributes());
      break;
    case traceql::Scope::kNone:
      lists.push_back(&s.attributes());
      lists.push_back(&r.resource->resource().attributes());
      break;
    case traceql::Scope::kEvent:
      for (const auto& e : s.events()) lists.push_back(&e.attributes());
      break;
    case traceql::Scope::kLink:
      for (const auto& l : s.links()) lists.push_back(&l.attributes());
      break;
    case traceql::Scope::kInstrumentation:
      lists.push_back(&r.scope->scope().attributes());
      break;
    default:
      return true;
  }
  for (const auto* list : lists) {
    for (const cpb::KeyValue& kv : *list) {
      if (kv.key() != c.key) continue;
      bool other = false;
      const traceql::Static x = FromAny(kv.value(), &other);
      if (other || c.Matches(x)) return true;
    }
  }
  return false;
}

// A metrics query compiles for a grid over the trace, two accumulators observe the trace (one
// twice: a trace split over two sources) and Finish gives distinct series whose samples are on
// the grid, ascending, and whose exemplars are at most the maximum; the same run again gives the
// same answer.
void CheckMetrics(std::string_view query, const tpb::TracesData& trace) {
  traceql::MetricsRange range;
  range.start_ns = kBase;
  range.end_ns = kBase + 1000 * kMs;
  range.step_ns = 100 * kMs;
  range.max_exemplars = 3;
  const auto run = [&]() {
    auto program = traceql::MetricsProgram::Compile(query, range);
    Check(program.ok());
    const traceql::TraceView view(trace, (*program)->plan().refs.needs_structure);
    std::vector<std::unique_ptr<traceql::MetricsAccumulator>> parts;
    parts.push_back((*program)->NewAccumulator());
    parts.push_back((*program)->NewAccumulator());
    parts[0]->Observe(view);
    parts[1]->Observe(view);
    return (*program)->Finish(std::move(parts), traceql::MetricsStats{});
  };
  const traceql::MetricsResult res = run();
  std::vector<std::string> keys;
  for (const traceql::MetricsSeries& s : res.series) {
    std::string key;
    for (const auto& l : s.labels)
      key += l.key + "=" + std::to_string(static_cast<int>(l.value.type)) + l.value.s +
             std::to_string(l.value.i) + std::to_string(l.value.f) + ";";
    keys.push_back(key);
    int64_t last = -1;
    for (const traceql::MetricsSample& m : s.samples) {
      Check(m.timestamp_ms > last);
      last = m.timestamp_ms;
      Check(m.timestamp_ms >= static_cast<int64_t>(range.start_ns / kMs) &&
            m.timestamp_ms < static_cast<int64_t>(range.end_ns / kMs));
      Check((m.timestamp_ms - static_cast<int64_t>(range.start_ns / kMs)) % 100 == 0);
    }
    Check(s.exemplars.size() <= range.max_exemplars);
  }
  std::sort(keys.begin(), keys.end());
  Check(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
  const traceql::MetricsResult again = run();
  Check(again.series.size() == res.series.size());
  for (size_t i = 0; i < res.series.size(); ++i) {
    Check(again.series[i].samples.size() == res.series[i].samples.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tpb::TracesData trace = MakeTrace();
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  traceql::ParseResult r = traceql::Parse(query);
  if (!r.ok()) return 0;
  if (r.query.metrics != nullptr) {
    CheckMetrics(query, trace);
    Check(!traceql::Program::Compile(std::move(r.query)).ok());  // search refuses it
    return 0;
  }
  auto program = traceql::Program::Compile(std::move(r.query));
  Check(program.ok());
  const traceql::TraceView view(trace);
  const std::vector<traceql::SpanSet> sets = (*program)->Evaluate(view);
  const size_t n = view.spans().size();
  for (const traceql::SpanSet& set : sets) {
    Check(!set.spans.empty());
    for (size_t i = 0; i < set.spans.size(); ++i) {
      Check(set.spans[i] < n);
      if (i > 0) Check(set.spans[i - 1] < set.spans[i]);
      (void)(*program)->SpanAttributes(view, set.spans[i]);
    }
  }
  const std::vector<traceql::SpanSet> again = (*program)->Evaluate(view);
  Check(again.size() == sets.size());
  for (size_t i = 0; i < sets.size(); ++i) Check(again[i].spans == sets[i].spans);
  // A view built with only what the plan says the query needs answers the same.
  const traceql::TraceView lean(trace, (*program)->plan().refs.needs_structure);
  const std::vector<traceql::SpanSet> lean_sets = (*program)->Evaluate(lean);
  Check(lean_sets.size() == sets.size());
  for (size_t i = 0; i < sets.size(); ++i) Check(lean_sets[i].spans == sets[i].spans);
  if (!sets.empty()) {
    for (const traceql::TraceCondition& c : (*program)->plan().conditions) {
      bool some = false;
      for (const traceql::SpanRef& span : view.spans()) some = some || Holds(c, span);
      Check(some);
    }
  }
  return 0;
}
