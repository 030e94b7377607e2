// Tests of the OTTL condition library against the team reference (collector.md §7, and the OTTL
// line of the §13 checklist).
#include "ottl/ottl.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ottl/functions.h"

// Counts heap allocations, to check that plain comparisons do not allocate. (GCC cannot see that
// the replaced operator new is malloc-based and warns wherever a delete is inlined.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace
void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's buffer uses it), so that every allocation the
// deletes below free came from malloc (AddressSanitizer checks new/free pairs).
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace sprout::ottl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace pb = otlp::pb;

void Put(pb::common::KeyValue* kv, std::string_view key) { kv->set_key(std::string(key)); }
void AddStr(google::protobuf::RepeatedPtrField<pb::common::KeyValue>* a, std::string_view k,
            std::string_view v) {
  auto* kv = a->Add();
  Put(kv, k);
  kv->mutable_value()->set_string_value(std::string(v));
}
void AddInt(google::protobuf::RepeatedPtrField<pb::common::KeyValue>* a, std::string_view k,
            int64_t v) {
  auto* kv = a->Add();
  Put(kv, k);
  kv->mutable_value()->set_int_value(v);
}

constexpr uint64_t kStart = 1700000000000000000ULL;

// One item of every context, with the ancestors they need.
struct Data {
  pb::resource::Resource resource;
  pb::common::InstrumentationScope scope;
  pb::trace::Span span;
  pb::metrics::Metric gauge, sum, histogram, exponential, summary;
  pb::logs::LogRecord log;

  Data() {
    AddStr(resource.mutable_attributes(), "service.name", "checkout");
    resource.set_dropped_attributes_count(3);
    scope.set_name("io.opentelemetry.http");
    scope.set_version("1.2.3");
    AddStr(scope.mutable_attributes(), "scope.attr", "s");

    span.set_trace_id(
        std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
    span.set_span_id(std::string("\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8", 8));
    span.set_trace_state("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
    span.set_name("GET /health");
    span.set_kind(pb::trace::Span::SPAN_KIND_SERVER);
    span.set_start_time_unix_nano(kStart);
    span.set_end_time_unix_nano(kStart + 1500000000ULL);
    auto* a = span.mutable_attributes();
    AddStr(a, "http.target", "/health");
    AddInt(a, "http.status_code", 200);
    auto* kv = a->Add();
    Put(kv, "ratio");
    kv->mutable_value()->set_double_value(0.5);
    kv = a->Add();
    Put(kv, "ok");
    kv->mutable_value()->set_bool_value(true);
    kv = a->Add();
    Put(kv, "empty");  // an AnyValue with nothing set
    kv->mutable_value();
    kv = a->Add();
    Put(kv, "bytes");
    kv->mutable_value()->set_bytes_value(std::string("\xde\xad\xbe\xef", 4));
    kv = a->Add();
    Put(kv, "emptybytes");
    kv->mutable_value()->set_bytes_value("");
    kv = a->Add();
    Put(kv, "list");
    kv->mutable_value()->mutable_array_value()->add_values()->set_string_value("a");
    kv->mutable_value()->mutable_array_value()->add_values()->set_string_value("b");
    kv = a->Add();
    Put(kv, "map");
    AddStr(kv->mutable_value()->mutable_kvlist_value()->mutable_values(), "inner", "v");
    AddInt(kv->mutable_value()->mutable_kvlist_value()->mutable_values(), "n", 1);
    AddStr(a, "ten", "10");
    span.set_dropped_attributes_count(1);
    span.mutable_status()->set_code(pb::trace::Status::STATUS_CODE_ERROR);
    span.mutable_status()->set_message("boom");
    auto* event = span.add_events();
    event->set_name("exception");
    event->set_time_unix_nano(kStart + 1000);
    AddStr(event->mutable_attributes(), "exception.type", "IOError");
    span.add_events()->set_name("second");
    span.add_links()->set_trace_state("x=1");
    span.set_dropped_links_count(2);

    gauge.set_name("cpu.usage");
    gauge.set_unit("1");
    auto* gp = gauge.mutable_gauge()->add_data_points();
    gp->set_as_double(1.5);
    gp->set_time_unix_nano(kStart);
    AddStr(gp->mutable_attributes(), "host", "a");
    sum.set_name("requests");
    sum.mutable_sum()->set_is_monotonic(true);
    sum.mutable_sum()->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
    auto* sp = sum.mutable_sum()->add_data_points();
    sp->set_as_int(7);
    sp->set_flags(1);
    histogram.set_name("latency");
    histogram.mutable_histogram()->set_aggregation_temporality(
        pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
    auto* hp = histogram.mutable_histogram()->add_data_points();
    hp->set_count(5);
    hp->set_sum(12.5);
    hp->add_bucket_counts(2);
    hp->add_bucket_counts(3);
    hp->add_explicit_bounds(10);
    exponential.set_name("exp");
    auto* ep = exponential.mutable_exponential_histogram()->add_data_points();
    ep->set_scale(3);
    ep->set_zero_count(4);
    ep->mutable_positive()->set_offset(-2);
    ep->mutable_positive()->add_bucket_counts(9);
    summary.set_name("summary");
    auto* qp = summary.mutable_summary()->add_data_points();
    qp->set_count(2);
    qp->set_sum(3);
    qp->add_quantile_values()->set_quantile(0.5);

    log.set_time_unix_nano(kStart);
    log.set_severity_number(pb::logs::SEVERITY_NUMBER_INFO);
    log.set_severity_text("INFO");
    log.mutable_body()->set_string_value("hello world");
    AddStr(log.mutable_attributes(), "k", "v");
    log.set_trace_id(span.trace_id());
    log.set_event_name("evt");
  }

  EvalContext Base() const {
    EvalContext c;
    c.resource = &resource;
    c.resource_schema_url = "https://opentelemetry.io/schemas/1.21.0";
    c.scope = &scope;
    return c;
  }
  EvalContext For(ContextKind kind) const {
    EvalContext c = Base();
    switch (kind) {
      case ContextKind::kSpan:
        c.span = &span;
        break;
      case ContextKind::kSpanEvent:
        c.span = &span;
        c.span_event = &span.events(0);
        c.event_index = 0;
        break;
      case ContextKind::kMetric:
        c.metric = &gauge;
        break;
      case ContextKind::kDataPoint:
        c.metric = &gauge;
        c.number_point = &gauge.gauge().data_points(0);
        break;
      case ContextKind::kLog:
        c.log = &log;
        break;
      default:
        break;
    }
    return c;
  }
};

const Data& TestData() {
  static const Data* data = new Data();
  return *data;
}

absl::StatusOr<bool> RunCondition(std::string_view text, ContextKind kind = ContextKind::kSpan,
                                  bool prefixed = false, const EvalContext* ctx = nullptr) {
  ParserOptions options;
  options.context = kind;
  options.context_prefixed_paths = prefixed;
  auto condition = Condition::Parse(text, options);
  if (!condition.ok()) return condition.status();
  EXPECT_EQ(condition->text(), text);
  const EvalContext c = ctx != nullptr ? *ctx : TestData().For(kind);
  return condition->Eval(c);
}

// The condition parses and holds (or not).
void ExpectTrue(std::string_view text, ContextKind kind = ContextKind::kSpan,
                bool prefixed = false) {
  auto r = RunCondition(text, kind, prefixed);
  ASSERT_TRUE(r.ok()) << text << ": " << r.status();
  EXPECT_TRUE(*r) << text;
}
void ExpectFalse(std::string_view text, ContextKind kind = ContextKind::kSpan,
                 bool prefixed = false) {
  auto r = RunCondition(text, kind, prefixed);
  ASSERT_TRUE(r.ok()) << text << ": " << r.status();
  EXPECT_FALSE(*r) << text;
}
std::string ParseError(std::string_view text, ContextKind kind = ContextKind::kSpan,
                       bool prefixed = false) {
  ParserOptions options;
  options.context = kind;
  options.context_prefixed_paths = prefixed;
  auto condition = Condition::Parse(text, options);
  EXPECT_FALSE(condition.ok()) << text;
  if (condition.ok()) return "";
  EXPECT_EQ(condition.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(condition.status().message());
}
std::string EvalError(std::string_view text, ContextKind kind = ContextKind::kSpan,
                      bool prefixed = false) {
  auto r = RunCondition(text, kind, prefixed);
  EXPECT_FALSE(r.ok()) << text << " evaluated to " << (r.ok() && *r);
  return r.ok() ? "" : std::string(r.status().message());
}

// --- syntax -------------------------------------------------------------------------------------

TEST(OttlSyntax, ErrorsCarryLineAndColumn) {
  EXPECT_EQ(ParseError("name == \"a\" and"),
            "condition has invalid syntax: 1:16: unexpected token \"<EOF>\" (expected a value)");
  EXPECT_EQ(ParseError("name == \"a\"\n  and == 3"),
            "condition has invalid syntax: 2:7: unexpected token \"==\" (expected a value)");
  EXPECT_EQ(ParseError("name = \"a\""),
            "condition has invalid syntax: 1:6: unexpected token \"=\" (expected a comparison "
            "operator)");
  EXPECT_THAT(ParseError("name == \"a\" )"), StartsWith("condition has invalid syntax: 1:13: "));
  EXPECT_THAT(ParseError("name == \"unterminated"),
              StartsWith("condition has invalid syntax: 1:9: "));
  EXPECT_THAT(ParseError("name == 'a'"), StartsWith("condition has invalid syntax: 1:9: "));
}

TEST(OttlSyntax, InvalidGoEscapeIsRejected) {
  EXPECT_EQ(
      ParseError(R"(IsMatch(name, "^http\.server"))"),
      R"(condition has invalid syntax: 1:15: invalid quoted string "^http\.server": invalid syntax)");
  ExpectFalse(R"(IsMatch(name, "^http\\.server"))");
  ExpectTrue(R"(Len("a\tb\n\"\\\u00e9\x41\101") == 10)");
  ExpectTrue(R"("\u00e9" == "é" and "\x41\101" == "AA" and "\U0001F600" == "😀")");
  ExpectTrue("\"\\t\" == \"\t\"");  // an escaped tab equals a raw one
  // A raw line break inside a string literal is invalid, as for Go's strconv.Unquote.
  EXPECT_THAT(ParseError("name == \"a\nb\""), HasSubstr("invalid quoted string"));
  EXPECT_THAT(ParseError(R"(name == "\'")"), HasSubstr("invalid quoted string"));
  EXPECT_THAT(ParseError(R"(name == "\ud800")"), HasSubstr("invalid quoted string"));
}

TEST(OttlSyntax, KeywordsAreLowercaseOnly) {
  EXPECT_EQ(ParseError("name == \"a\" AND name == \"b\""),
            "condition has invalid syntax: 1:13: unexpected token \"AND\"");
  EXPECT_EQ(ParseError("name == \"a\" OR name == \"b\""),
            "condition has invalid syntax: 1:13: unexpected token \"OR\"");
  EXPECT_EQ(ParseError("attributes[\"ok\"] == TRUE"), "enum symbol, TRUE, not found");
  ExpectTrue("attributes[\"ok\"] == true");
}

TEST(OttlSyntax, BarePathIsNotACondition) {
  EXPECT_THAT(ParseError("attributes[\"ok\"]"),
              StartsWith("condition has invalid syntax: 1:17: unexpected token \"<EOF>\""));
  EXPECT_THAT(ParseError("not name"), StartsWith("condition has invalid syntax: 1:9: "));
}

TEST(OttlSyntax, BareConverterMustReturnBool) {
  ExpectTrue("IsString(name)");
  ExpectTrue("not IsInt(name)");
  EXPECT_EQ(EvalError("Len(name)"),
            "value returned from Converter in constant expression must be bool but got int64");
  EXPECT_EQ(EvalError("String(attributes[\"missing\"])"),
            "value returned from Converter in constant expression must be bool but got <nil>");
}

TEST(OttlSyntax, NamingErrors) {
  EXPECT_EQ(ParseError("isMatch(name, \"a\")"),
            "converter names must start with an uppercase letter but got 'isMatch'");
  EXPECT_EQ(ParseError("set(name, \"a\") == 1"),
            "converter names must start with an uppercase letter but got 'set'");
  EXPECT_EQ(ParseError("Nope(name)"), "undefined function \"Nope\"");
}

TEST(OttlSyntax, SyntaxErrorsWinOverSemanticOnes) {
  EXPECT_THAT(ParseError("foo =="), StartsWith("condition has invalid syntax: 1:7: "));
}

TEST(OttlSyntax, NestingIsLimited) {
  std::string deep(101, '(');
  deep += "true";
  deep += std::string(101, ')');
  EXPECT_THAT(ParseError(deep), HasSubstr("nesting deeper than 100 levels"));
  std::string ok(50, '(');
  ok += "true";
  ok += std::string(50, ')');
  ExpectTrue(ok);
  std::string lists = "name == ";
  for (int i = 0; i < 200; ++i) lists += "[";
  EXPECT_THAT(ParseError(lists), HasSubstr("nesting deeper than 100 levels"));
}

TEST(OttlSyntax, Literals) {
  ExpectTrue("nil == nil");
  ExpectTrue("1 == 1.0");
  ExpectTrue("-1 < +1");
  ExpectTrue(".5 == 0.5");
  ExpectTrue("1.5e3 == 1500");
  ExpectTrue("0xdeadbeef == attributes[\"bytes\"]");
  ExpectTrue("0xDEADBEEF == attributes[\"bytes\"]");
  EXPECT_THAT(ParseError("0xabc == attributes[\"bytes\"]"), HasSubstr("odd length"));
  EXPECT_THAT(ParseError("99999999999999999999 == 1"), HasSubstr("value out of range"));
  ExpectTrue("{\"inner\": \"v\", \"n\": 1} == attributes[\"map\"]");
  ExpectTrue("[\"a\", \"b\"] == attributes[\"list\"]");
  ExpectTrue("[] != attributes[\"list\"]");
  ExpectTrue("{} == {}");
  ExpectTrue("[name, 1] == [\"GET /health\", 1]");
  ExpectTrue("{\"n\": name} == {\"n\": \"GET /health\"}");
}

// --- boolean logic ------------------------------------------------------------------------------

TEST(OttlLogic, Precedence) {
  ExpectTrue("true or false and false");
  ExpectFalse("(true or false) and false");
  ExpectTrue("not false and true");
  ExpectFalse("not (true and true)");
  ExpectTrue("not true or true");
  ExpectTrue("false or false or true");
  ExpectFalse("true and true and false");
}

TEST(OttlLogic, ShortCircuit) {
  // HasPrefix on an int errors.
  const std::string err = "HasPrefix(attributes[\"http.status_code\"], \"2\")";
  EXPECT_EQ(EvalError(err), "expected string but got int64");
  ExpectFalse("false and " + err);
  ExpectTrue("true or " + err);
  ExpectTrue("name == \"GET /health\" or " + err);
  EXPECT_EQ(EvalError(err + " or true"), "expected string but got int64");
  EXPECT_EQ(EvalError("true and " + err), "expected string but got int64");
  EXPECT_EQ(EvalError("not " + err), "expected string but got int64");
  EXPECT_EQ(EvalError("attributes[\"ten\"][\"x\"] == nil or true"),
            "type Str does not support string indexing");
}

// --- comparisons (collector.md §7.3) -------------------------------------------------------------

TEST(OttlCompare, Nil) {
  ExpectTrue("nil == nil");
  ExpectTrue("nil <= nil");
  ExpectTrue("nil >= nil");
  ExpectFalse("nil < nil");
  ExpectFalse("nil > nil");
  ExpectFalse("nil != nil");
  ExpectTrue("attributes[\"missing\"] == nil");
  ExpectFalse("attributes[\"missing\"] != nil");
  ExpectTrue("attributes[\"http.target\"] != nil");
  ExpectFalse("attributes[\"http.target\"] == nil");
  ExpectFalse("attributes[\"http.status_code\"] > nil");
  ExpectFalse("nil < 1");
  ExpectFalse("nil == \"\"");
  ExpectFalse("nil == 0");
  // An empty pcommon Value and empty bytes count as nil.
  ExpectTrue("attributes[\"empty\"] == nil");
  ExpectTrue("attributes[\"emptybytes\"] == nil");
  ExpectTrue("attributes[\"emptybytes\"] <= nil");
  ExpectFalse("attributes[\"empty\"] == \"\"");
}

TEST(OttlCompare, Numbers) {
  ExpectTrue("attributes[\"http.status_code\"] == 200");
  ExpectTrue("attributes[\"http.status_code\"] == 200.0");
  ExpectTrue("attributes[\"http.status_code\"] >= 200");
  ExpectTrue("attributes[\"http.status_code\"] < 200.5");
  ExpectTrue("attributes[\"ratio\"] > 0");
  ExpectTrue("attributes[\"ratio\"] == 0.5");
  ExpectTrue("1 != 2");
  ExpectTrue("2 > 1");
  ExpectTrue("1 <= 1");
  ExpectFalse("1 > 1");
}

TEST(OttlCompare, Strings) {
  ExpectTrue("\"10\" < \"9\"");
  ExpectTrue("\"a\" < \"b\"");
  ExpectTrue("\"B\" < \"a\"");
  ExpectTrue("\"\xc3\xa9\" > \"z\"");  // bytewise, not signed char
  ExpectTrue("name == \"GET /health\"");
  ExpectTrue("name >= \"GET\"");
  // No coercion between strings and numbers: only != holds.
  ExpectFalse("attributes[\"ten\"] == 10");
  ExpectTrue("attributes[\"ten\"] != 10");
  ExpectFalse("attributes[\"ten\"] < 11");
  ExpectFalse("attributes[\"ten\"] > 1");
  ExpectFalse("attributes[\"http.status_code\"] == \"200\"");
}

TEST(OttlCompare, Bools) {
  ExpectTrue("false < true");
  ExpectTrue("true > false");
  ExpectTrue("true >= true");
  ExpectFalse("true < false");
  ExpectTrue("attributes[\"ok\"] == true");
  ExpectFalse("attributes[\"ok\"] == 1");
  ExpectTrue("attributes[\"ok\"] != 1");
  ExpectFalse("true == \"true\"");
}

TEST(OttlCompare, Bytes) {
  ExpectTrue("0x01 < 0x02");
  ExpectTrue("0x0102 > 0x01");
  ExpectTrue("0xff > 0x7f");
  ExpectTrue("attributes[\"bytes\"] == 0xdeadbeef");
  ExpectFalse("attributes[\"bytes\"] == \"deadbeef\"");
}

TEST(OttlCompare, MapsAndLists) {
  ExpectTrue("attributes[\"map\"] == {\"n\": 1, \"inner\": \"v\"}");
  ExpectFalse("attributes[\"map\"] == {\"n\": 1.0, \"inner\": \"v\"}");  // deep, exact types
  ExpectTrue("attributes[\"map\"] != {\"n\": 2, \"inner\": \"v\"}");
  ExpectFalse("attributes[\"map\"] < {\"n\": 2}");
  ExpectFalse("attributes[\"map\"] >= attributes[\"map\"]");
  ExpectTrue("attributes[\"list\"] == [\"a\", \"b\"]");
  ExpectFalse("attributes[\"list\"] == [\"b\", \"a\"]");
  ExpectFalse("attributes[\"list\"] <= [\"a\", \"b\"]");
  ExpectFalse("attributes[\"list\"] == attributes[\"map\"]");
  ExpectTrue("attributes[\"list\"] != attributes[\"map\"]");
}

TEST(OttlCompare, TimesAndDurations) {
  ExpectTrue("start_time < end_time");
  ExpectTrue("end_time >= start_time");
  ExpectFalse("start_time == end_time");
  ExpectTrue("end_time - start_time == Duration(\"1.5s\")");
  ExpectTrue("Duration(\"1s\") < Duration(\"1m\")");
  ExpectFalse("start_time == 1700000000000000000");
  ExpectTrue("start_time != 1700000000000000000");
  ExpectFalse("start_time < Duration(\"1s\")");
}

TEST(OttlCompare, MismatchedTypesNeverFail) {
  const char* ops[] = {"==", "<", "<=", ">", ">="};
  const char* pairs[][2] = {
      {"\"a\"", "1"},  {"true", "1"},           {"0x01", "1"},     {"[1]", "1"},
      {"{}", "\"x\""}, {"start_time", "\"x\""}, {"trace_id", "1"}, {"Duration(\"1s\")", "1"}};
  for (const auto& pair : pairs) {
    for (const char* op : ops) {
      ExpectFalse(std::string(pair[0]) + " " + op + " " + pair[1]);
      ExpectFalse(std::string(pair[1]) + " " + op + " " + pair[0]);
    }
    ExpectTrue(std::string(pair[0]) + " != " + pair[1]);
  }
}

// --- math ---------------------------------------------------------------------------------------

TEST(OttlMath, PrecedenceAndAssociativity) {
  ExpectTrue("1 + 2 * 3 == 7");
  ExpectTrue("(1 + 2) * 3 == 9");
  ExpectTrue("10 - 4 - 3 == 3");
  ExpectTrue("100 / 10 / 5 == 2");
  ExpectTrue("7 / 2 == 3");
  ExpectTrue("7.0 / 2.0 == 3.5");
  ExpectTrue("attributes[\"http.status_code\"] * 2 == 400");
  ExpectTrue("Len(name) + 1 == 12");
  ExpectTrue("2 * 3 > 5");
}

TEST(OttlMath, Errors) {
  EXPECT_THAT(EvalError("1 + 1.0 == 2"), HasSubstr("must be int64"));
  EXPECT_THAT(EvalError("1.0 + 1 == 2"), HasSubstr("must be float64"));
  EXPECT_EQ(EvalError("1 / 0 == 1"), "attempted to divide by 0");
  EXPECT_EQ(EvalError("1.0 / 0.0 == 1"), "attempted to divide by 0");
  EXPECT_THAT(EvalError("name + 1 == 1"), HasSubstr("must be int64, float64, time.Time"));
  EXPECT_THAT(EvalError("attributes[\"missing\"] + 1 == 1"), HasSubstr("must be int64"));
  EXPECT_THAT(ParseError("\"a\" + \"b\" == \"ab\""), StartsWith("condition has invalid syntax"));
  // The lexer reads "-1" as an int: "2 -1" is two values, as in the Collector.
  EXPECT_THAT(ParseError("2 -1 == 1"), StartsWith("condition has invalid syntax: 1:3:"));
  ExpectTrue("2 - 1 == 1");
}

TEST(OttlMath, TimeArithmetic) {
  ExpectTrue("start_time + Duration(\"1500ms\") == end_time");
  ExpectTrue("end_time - Duration(\"1.5s\") == start_time");
  ExpectTrue("Duration(\"1s\") + Duration(\"500ms\") == end_time - start_time");
  ExpectTrue("Duration(\"1s\") - Duration(\"500ms\") == Duration(\"0.5s\")");
  EXPECT_THAT(EvalError("start_time + start_time == start_time"), HasSubstr("time.Time"));
  EXPECT_THAT(EvalError("Duration(\"1s\") * 2 == Duration(\"2s\")"), HasSubstr("time.Duration"));
}

// --- paths --------------------------------------------------------------------------------------

TEST(OttlPaths, Span) {
  ExpectTrue("trace_id.string == \"0102030405060708090a0b0c0d0e0f10\"");
  ExpectTrue("span_id.string == \"a1a2a3a4a5a6a7a8\"");
  ExpectTrue("parent_span_id.string == \"\"");
  ExpectTrue("trace_id == TraceID(0x0102030405060708090a0b0c0d0e0f10)");
  ExpectTrue("span_id == SpanID(0xa1a2a3a4a5a6a7a8)");
  ExpectTrue("parent_span_id == SpanID(0x0000000000000000)");
  // IDs are their own type, as pcommon.TraceID is: not equal to a bytes literal.
  ExpectFalse("trace_id == 0x0102030405060708090a0b0c0d0e0f10");
  ExpectTrue("trace_state == \"rojo=00f067aa0ba902b7, congo=t61rcWkgMzE\"");
  ExpectTrue("trace_state[\"congo\"] == \"t61rcWkgMzE\"");
  ExpectTrue("trace_state[\"rojo\"] == \"00f067aa0ba902b7\"");
  ExpectTrue("trace_state[\"missing\"] == \"\"");
  ExpectTrue("name == \"GET /health\"");
  ExpectTrue("kind == 2");
  ExpectTrue("kind == SPAN_KIND_SERVER");
  ExpectTrue("kind.string == \"Server\"");
  ExpectTrue("kind.deprecated_string == \"SPAN_KIND_SERVER\"");
  ExpectTrue("start_time_unix_nano == 1700000000000000000");
  ExpectTrue("end_time_unix_nano == 1700000001500000000");
  ExpectTrue("UnixNano(start_time) == 1700000000000000000");
  ExpectTrue("dropped_attributes_count == 1");
  ExpectTrue("Len(events) == 2");
  ExpectTrue("events[0][\"name\"] == \"exception\"");
  ExpectTrue("events[0][\"attributes\"][\"exception.type\"] == \"IOError\"");
  ExpectTrue("dropped_events_count == 0");
  ExpectTrue("Len(links) == 1");
  ExpectTrue("links[0][\"trace_state\"] == \"x=1\"");
  ExpectTrue("dropped_links_count == 2");
  ExpectTrue("status.code == STATUS_CODE_ERROR");
  ExpectTrue("status.code == 2");
  ExpectTrue("status.message == \"boom\"");
  ExpectTrue("status[\"message\"] == \"boom\"");
  ExpectTrue("flags == 0");
  ExpectTrue("cache == {}");
  ExpectTrue("cache[\"k\"] == nil");
}

TEST(OttlPaths, Attributes) {
  ExpectTrue("attributes[\"http.target\"] == \"/health\"");
  ExpectTrue("attributes[\"missing\"] == nil");
  ExpectTrue("attributes[\"map\"][\"inner\"] == \"v\"");
  ExpectTrue("attributes[\"map\"][\"nope\"] == nil");
  ExpectTrue("attributes[\"missing\"][\"deeper\"] == nil");
  ExpectTrue("attributes[\"list\"][1] == \"b\"");
  ExpectTrue("Len(attributes) == 10");
  ExpectTrue("attributes[attributes[\"list\"][0]] == nil");
  ExpectTrue("attributes[\"list\"][Len(\"a\")] == \"b\"");
  EXPECT_EQ(EvalError("attributes[\"http.target\"][\"x\"] == nil"),
            "type Str does not support string indexing");
  EXPECT_EQ(EvalError("attributes[\"http.target\"][0] == nil"),
            "type Str does not support int indexing");
  EXPECT_EQ(EvalError("attributes[\"list\"][2] == nil"), "index 2 out of bounds");
  EXPECT_EQ(EvalError("attributes[\"list\"][-1] == nil"), "index -1 out of bounds");
  EXPECT_EQ(EvalError("attributes[\"map\"][0] == nil"), "type Map does not support int indexing");
  EXPECT_EQ(EvalError("attributes[\"list\"][\"x\"] == nil"),
            "type Slice does not support string indexing");
  EXPECT_EQ(EvalError("attributes[\"empty\"][\"x\"] == nil"),
            "type Empty does not support string indexing");
  EXPECT_EQ(EvalError("attributes[attributes[\"ok\"]] == nil"),
            "invalid key type: a key must be a string or an int64, got bool");
}

TEST(OttlPaths, UnknownPath) {
  EXPECT_EQ(ParseError("foo == 1"),
            "segment \"foo\" from path \"foo\" is not a valid path nor a valid OTTL keyword for "
            "the Span context - review https://github.com/open-telemetry/"
            "opentelemetry-collector-contrib/tree/main/pkg/ottl/contexts/ottlspan to see all "
            "valid paths");
  EXPECT_THAT(ParseError("status.foo == 1"),
              StartsWith("segment \"foo\" from path \"status.foo\""));
  EXPECT_THAT(ParseError("name.foo == 1"), StartsWith("segment \"foo\" from path \"name.foo\""));
  EXPECT_THAT(ParseError("resource.foo == 1"),
              AllOf(StartsWith("segment \"foo\" from path \"resource.foo\""),
                    HasSubstr("for the Resource context"), HasSubstr("ottlresource")));
  EXPECT_THAT(ParseError("name == 1", ContextKind::kLog),
              AllOf(HasSubstr("for the Log context"), HasSubstr("contexts/ottllog to")));
  EXPECT_THAT(ParseError("severity_number == 1", ContextKind::kSpan),
              HasSubstr("\"severity_number\""));
}

TEST(OttlPaths, ResourceAndScope) {
  for (ContextKind kind : {ContextKind::kSpan, ContextKind::kSpanEvent, ContextKind::kMetric,
                           ContextKind::kDataPoint, ContextKind::kLog, ContextKind::kScope}) {
    ExpectTrue("resource.attributes[\"service.name\"] == \"checkout\"", kind);
    ExpectTrue("resource.dropped_attributes_count == 3", kind);
    ExpectTrue("resource.schema_url == \"https://opentelemetry.io/schemas/1.21.0\"", kind);
  }
  for (ContextKind kind : {ContextKind::kSpan, ContextKind::kSpanEvent, ContextKind::kMetric,
                           ContextKind::kDataPoint, ContextKind::kLog}) {
    ExpectTrue("instrumentation_scope.name == \"io.opentelemetry.http\"", kind);
    ExpectTrue("instrumentation_scope.version == \"1.2.3\"", kind);
    ExpectTrue("instrumentation_scope.attributes[\"scope.attr\"] == \"s\"", kind);
  }
  ExpectTrue("attributes[\"service.name\"] == \"checkout\"", ContextKind::kResource);
  ExpectTrue("dropped_attributes_count == 3", ContextKind::kResource);
  ExpectTrue("name == \"io.opentelemetry.http\"", ContextKind::kScope);
  ExpectTrue("version == \"1.2.3\"", ContextKind::kScope);
  ExpectTrue("resource.attributes[\"service.name\"] == \"checkout\"", ContextKind::kScope);
}

TEST(OttlPaths, SpanEventReadsSpanAndResource) {
  const ContextKind ev = ContextKind::kSpanEvent;
  ExpectTrue("name == \"exception\"", ev);
  ExpectTrue("attributes[\"exception.type\"] == \"IOError\"", ev);
  ExpectTrue("time_unix_nano == 1700000000000001000", ev);
  ExpectTrue("time > span.start_time", ev);
  ExpectTrue("event_index == 0", ev);
  ExpectTrue("span.name == \"GET /health\"", ev);
  ExpectTrue("span.attributes[\"http.target\"] == \"/health\"", ev);
  ExpectTrue("span.kind == SPAN_KIND_SERVER", ev);
  ExpectTrue("span.trace_id.string == \"0102030405060708090a0b0c0d0e0f10\"", ev);
  ExpectTrue("resource.attributes[\"service.name\"] == \"checkout\"", ev);
  ExpectTrue("dropped_attributes_count == 0", ev);
}

TEST(OttlPaths, Metric) {
  const ContextKind m = ContextKind::kMetric;
  ExpectTrue("name == \"cpu.usage\"", m);
  ExpectTrue("unit == \"1\"", m);
  ExpectTrue("description == \"\"", m);
  ExpectTrue("type == METRIC_DATA_TYPE_GAUGE", m);
  ExpectTrue("aggregation_temporality == nil", m);  // not applicable to a gauge
  ExpectTrue("is_monotonic == nil", m);
  ExpectTrue("Len(data_points) == 1", m);
  ExpectTrue("data_points[0][\"as_double\"] == 1.5", m);
  ExpectTrue("metadata == {}", m);

  const Data& d = TestData();
  EvalContext c = d.Base();
  c.metric = &d.sum;
  auto run = [&](std::string_view text) {
    auto r = RunCondition(text, m, false, &c);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && *r;
  };
  EXPECT_TRUE(run("type == METRIC_DATA_TYPE_SUM"));
  EXPECT_TRUE(run("is_monotonic == true"));
  EXPECT_TRUE(run("aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE"));
  c.metric = &d.histogram;
  EXPECT_TRUE(run("type == METRIC_DATA_TYPE_HISTOGRAM"));
  EXPECT_TRUE(run("aggregation_temporality == AGGREGATION_TEMPORALITY_DELTA"));
  EXPECT_TRUE(run("is_monotonic == nil"));
  c.metric = &d.exponential;
  EXPECT_TRUE(run("type == METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM"));
  c.metric = &d.summary;
  EXPECT_TRUE(run("type == METRIC_DATA_TYPE_SUMMARY and aggregation_temporality == nil"));
}

TEST(OttlPaths, DataPoint) {
  const ContextKind dp = ContextKind::kDataPoint;
  ExpectTrue("value_double == 1.5", dp);
  ExpectTrue("value_int == 0", dp);
  ExpectTrue("attributes[\"host\"] == \"a\"", dp);
  ExpectTrue("time_unix_nano == 1700000000000000000", dp);
  ExpectTrue("time == start_time + Duration(\"1700000000s\")", dp);
  ExpectTrue("metric.name == \"cpu.usage\"", dp);
  ExpectTrue("metric.type == METRIC_DATA_TYPE_GAUGE", dp);
  ExpectTrue("metric.unit == \"1\"", dp);
  ExpectTrue("metric.aggregation_temporality == nil", dp);
  ExpectTrue("count == nil and sum == nil and bucket_counts == nil", dp);
  ExpectTrue("flags == FLAG_NONE", dp);
  ExpectTrue("Len(exemplars) == 0", dp);

  const Data& d = TestData();
  EvalContext c = d.Base();
  auto run = [&](std::string_view text) {
    auto r = RunCondition(text, dp, false, &c);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status();
    return r.ok() && *r;
  };
  c.metric = &d.sum;
  c.number_point = &d.sum.sum().data_points(0);
  EXPECT_TRUE(run("value_int == 7 and value_double == 0.0"));
  EXPECT_TRUE(run("flags == FLAG_NO_RECORDED_VALUE"));
  EXPECT_TRUE(run("metric.is_monotonic == true"));
  c.metric = &d.histogram;
  c.number_point = nullptr;
  c.histogram_point = &d.histogram.histogram().data_points(0);
  EXPECT_TRUE(run("value_double == nil and value_int == nil"));
  EXPECT_TRUE(run("count == 5 and sum == 12.5"));
  EXPECT_TRUE(run("bucket_counts == [2, 3] and explicit_bounds == [10.0]"));
  EXPECT_TRUE(run("bucket_counts[1] == 3"));
  EXPECT_TRUE(run("scale == nil and quantile_values == nil"));
  c.metric = &d.exponential;
  c.histogram_point = nullptr;
  c.exponential_point = &d.exponential.exponential_histogram().data_points(0);
  EXPECT_TRUE(run("scale == 3 and zero_count == 4"));
  EXPECT_TRUE(run("positive.offset == -2 and positive.bucket_counts == [9]"));
  EXPECT_TRUE(run("positive[\"offset\"] == -2"));
  EXPECT_TRUE(run("negative.offset == 0 and bucket_counts == nil"));
  c.metric = &d.summary;
  c.exponential_point = nullptr;
  c.summary_point = &d.summary.summary().data_points(0);
  EXPECT_TRUE(run("count == 2 and sum == 3.0"));
  EXPECT_TRUE(run("quantile_values[0][\"quantile\"] == 0.5"));
  EXPECT_TRUE(run("exemplars == nil"));
}

TEST(OttlPaths, Log) {
  const ContextKind l = ContextKind::kLog;
  ExpectTrue("body == \"hello world\"", l);
  ExpectTrue("body.string == \"hello world\"", l);
  ExpectTrue("severity_number == SEVERITY_NUMBER_INFO", l);
  ExpectTrue("severity_number >= SEVERITY_NUMBER_INFO and severity_number < SEVERITY_NUMBER_WARN",
             l);
  ExpectTrue("severity_text == \"INFO\"", l);
  ExpectTrue("time_unix_nano == 1700000000000000000", l);
  ExpectTrue("observed_time_unix_nano == 0", l);
  ExpectTrue("time > observed_time", l);
  ExpectTrue("attributes[\"k\"] == \"v\"", l);
  ExpectTrue("trace_id.string == \"0102030405060708090a0b0c0d0e0f10\"", l);
  ExpectTrue("span_id.string == \"\"", l);
  ExpectTrue("event_name == \"evt\"", l);
  ExpectTrue("flags == 0 and dropped_attributes_count == 0", l);
  EXPECT_EQ(EvalError("body[\"k\"] == nil", l), "log bodies of type Str cannot be indexed");
  EXPECT_EQ(EvalError("body[0] == nil", l), "log bodies of type Str cannot be indexed");

  pb::logs::LogRecord map_log;
  AddStr(map_log.mutable_body()->mutable_kvlist_value()->mutable_values(), "k", "v");
  pb::logs::LogRecord list_log;
  list_log.mutable_body()->mutable_array_value()->add_values()->set_int_value(5);
  pb::logs::LogRecord int_log;
  int_log.mutable_body()->set_int_value(42);
  pb::logs::LogRecord empty_log;
  EvalContext c = TestData().Base();
  auto run = [&](const pb::logs::LogRecord& rec, std::string_view text) {
    c.log = &rec;
    auto r = RunCondition(text, l, false, &c);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status();
    return r.ok() && *r;
  };
  EXPECT_TRUE(run(map_log, "body[\"k\"] == \"v\" and body[\"x\"] == nil"));
  EXPECT_TRUE(run(map_log, "body.string == \"{\\\"k\\\":\\\"v\\\"}\""));
  EXPECT_TRUE(run(list_log, "body[0] == 5 and body.string == \"[5]\""));
  EXPECT_TRUE(run(int_log, "body == 42 and body.string == \"42\""));
  EXPECT_TRUE(run(empty_log, "body == nil and body.string == \"\""));
  c.log = &int_log;
  auto r = RunCondition("body[\"k\"] == nil", l, false, &c);
  EXPECT_EQ(r.status().message(), "log bodies of type Int cannot be indexed");
}

TEST(OttlPaths, ContextPrefixedStyle) {
  ExpectTrue("span.name == \"GET /health\"", ContextKind::kSpan, true);
  ExpectTrue("name == \"GET /health\"", ContextKind::kSpan, true);
  ExpectTrue("resource.attributes[\"service.name\"] == \"checkout\"", ContextKind::kSpan, true);
  ExpectTrue("scope.name == \"io.opentelemetry.http\"", ContextKind::kSpan, true);
  ExpectTrue("scope.version == \"1.2.3\"", ContextKind::kScope, true);
  ExpectTrue("instrumentation_scope.name == \"io.opentelemetry.http\"", ContextKind::kSpan, true);
  ExpectTrue("spanevent.name == \"exception\" and span.name == \"GET /health\"",
             ContextKind::kSpanEvent, true);
  ExpectTrue("datapoint.value_double == 1.5 and metric.name == \"cpu.usage\"",
             ContextKind::kDataPoint, true);
  ExpectTrue("log.body == \"hello world\" and resource.attributes[\"service.name\"] != nil",
             ContextKind::kLog, true);
  ExpectTrue("resource.attributes[\"service.name\"] == \"checkout\"", ContextKind::kResource, true);
  // A context that is not this one nor an ancestor.
  EXPECT_THAT(ParseError("spanevent.name == \"x\"", ContextKind::kSpan, true),
              HasSubstr("cannot be used in the span context"));
  EXPECT_THAT(ParseError("log.body == \"x\"", ContextKind::kSpan, true),
              HasSubstr("cannot be used in the span context"));
  // Legacy style knows no `span.` prefix in the span context, nor `scope.`.
  EXPECT_THAT(ParseError("span.name == \"x\""), StartsWith("segment \"span\" from path"));
  EXPECT_THAT(ParseError("scope.name == \"x\""), StartsWith("segment \"scope\" from path"));
  EXPECT_THAT(ParseError("span == \"x\"", ContextKind::kSpan, true),
              StartsWith("segment \"span\" from path \"span\""));
}

// --- enums --------------------------------------------------------------------------------------

TEST(OttlEnums, AllGroups) {
  ExpectTrue(
      "SPAN_KIND_UNSPECIFIED == 0 and SPAN_KIND_INTERNAL == 1 and SPAN_KIND_SERVER == 2 "
      "and SPAN_KIND_CLIENT == 3 and SPAN_KIND_PRODUCER == 4 and SPAN_KIND_CONSUMER == 5");
  ExpectTrue("STATUS_CODE_UNSET == 0 and STATUS_CODE_OK == 1 and STATUS_CODE_ERROR == 2");
  ExpectTrue("STATUS_CODE_OK == 1", ContextKind::kSpanEvent);
  ExpectTrue(
      "METRIC_DATA_TYPE_NONE == 0 and METRIC_DATA_TYPE_GAUGE == 1 and "
      "METRIC_DATA_TYPE_SUM == 2 and METRIC_DATA_TYPE_HISTOGRAM == 3 and "
      "METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM == 4 and METRIC_DATA_TYPE_SUMMARY == 5",
      ContextKind::kMetric);
  ExpectTrue(
      "AGGREGATION_TEMPORALITY_UNSPECIFIED == 0 and AGGREGATION_TEMPORALITY_DELTA == 1 "
      "and AGGREGATION_TEMPORALITY_CUMULATIVE == 2",
      ContextKind::kDataPoint);
  ExpectTrue("FLAG_NONE == 0 and FLAG_NO_RECORDED_VALUE == 1", ContextKind::kDataPoint);
  ExpectTrue(
      "SEVERITY_NUMBER_UNSPECIFIED == 0 and SEVERITY_NUMBER_TRACE == 1 and "
      "SEVERITY_NUMBER_TRACE4 == 4 and SEVERITY_NUMBER_DEBUG == 5 and "
      "SEVERITY_NUMBER_INFO == 9 and SEVERITY_NUMBER_INFO2 == 10 and "
      "SEVERITY_NUMBER_WARN == 13 and SEVERITY_NUMBER_ERROR == 17 and "
      "SEVERITY_NUMBER_ERROR3 == 19 and SEVERITY_NUMBER_FATAL == 21 and "
      "SEVERITY_NUMBER_FATAL4 == 24",
      ContextKind::kLog);
  EXPECT_EQ(ParseError("kind == SPAN_KIND_NOPE"), "enum symbol, SPAN_KIND_NOPE, not found");
  EXPECT_EQ(ParseError("severity_number == SEVERITY_NUMBER_INFO5", ContextKind::kLog),
            "enum symbol, SEVERITY_NUMBER_INFO5, not found");
  EXPECT_EQ(ParseError("severity_number == SPAN_KIND_SERVER", ContextKind::kLog),
            "enum symbol, SPAN_KIND_SERVER, not found");
  EXPECT_EQ(ParseError("attributes[\"a\"] == SPAN_KIND_SERVER", ContextKind::kResource),
            "enums aren't supported for the current context");
}

// --- converters ---------------------------------------------------------------------------------

TEST(OttlConverters, IsMatch) {
  ExpectTrue("IsMatch(name, \"^GET\")");
  ExpectTrue("IsMatch(name, \"health\")");  // unanchored
  ExpectFalse("IsMatch(name, \"^health\")");
  ExpectTrue("IsMatch(attributes[\"http.status_code\"], \"^2\\\\d\\\\d$\")");  // stringified
  ExpectTrue("IsMatch(attributes[\"ratio\"], \"^0\\\\.5$\")");
  ExpectTrue("IsMatch(attributes[\"ok\"], \"true\")");
  ExpectTrue("IsMatch(attributes[\"bytes\"], \"^3q2\\\\+7w==$\")");  // base64 like pcommon
  ExpectTrue("IsMatch(attributes[\"map\"], \"\\\"inner\\\":\\\"v\\\"\")");
  ExpectFalse("IsMatch(attributes[\"missing\"], \".*\")");
  ExpectTrue("IsMatch(\"name\", \"^name$\")");  // a quoted target is the literal text
  EXPECT_THAT(ParseError("IsMatch(name, \"(\")"),
              StartsWith("the pattern supplied to IsMatch is not a valid regexp pattern"));
  EXPECT_EQ(ParseError("IsMatch(name, name)"), "invalid argument at position 1: must be a string");
  EXPECT_EQ(ParseError("IsMatch(name)"), "incorrect number of arguments. Expected: 2 Received: 1");
  EXPECT_EQ(ParseError("IsMatch(name, \"a\", \"b\")"),
            "incorrect number of arguments. Expected: 2 Received: 3");
  ExpectTrue("IsMatch(target = name, pattern = \"GET\")");
  ExpectTrue("IsMatch(name, pattern = \"GET\")");
  EXPECT_THAT(ParseError("IsMatch(target = name, \"GET\")"),
              HasSubstr("positional arguments must come before named arguments"));
  EXPECT_THAT(ParseError("IsMatch(name, regex = \"GET\")"), HasSubstr("no such parameter"));
}

TEST(OttlConverters, TypeTests) {
  ExpectTrue("IsString(name) and IsString(attributes[\"http.target\"])");
  ExpectFalse("IsString(attributes[\"http.status_code\"])");
  ExpectTrue("IsInt(attributes[\"http.status_code\"]) and IsInt(kind)");
  ExpectFalse("IsInt(attributes[\"ratio\"])");
  ExpectTrue("IsDouble(attributes[\"ratio\"]) and not IsDouble(1)");
  ExpectTrue("IsBool(attributes[\"ok\"]) and not IsBool(\"true\")");
  ExpectTrue("IsMap(attributes[\"map\"]) and IsMap(attributes) and not IsMap(name)");
  ExpectTrue("IsList(attributes[\"list\"]) and IsList([1]) and not IsList(name)");
  ExpectFalse("IsString(attributes[\"missing\"]) or IsInt(nil) or IsMap(nil)");
}

TEST(OttlConverters, IsEmptyAndIsRootSpan) {
  ExpectTrue(
      "IsEmpty(attributes[\"missing\"]) and IsEmpty(\"\") and IsEmpty(0) and "
      "IsEmpty(0.0) and IsEmpty(false) and IsEmpty([]) and IsEmpty({})");
  ExpectTrue("IsEmpty(parent_span_id) and not IsEmpty(span_id)");
  ExpectFalse("IsEmpty(name) or IsEmpty(attributes[\"list\"]) or IsEmpty(1)");
  ExpectTrue("IsRootSpan()");
  EXPECT_EQ(ParseError("IsRootSpan()", ContextKind::kLog), "undefined function \"IsRootSpan\"");
  pb::trace::Span child = TestData().span;
  child.set_parent_span_id(std::string("\0\0\0\0\0\0\0\1", 8));
  EvalContext c = TestData().For(ContextKind::kSpan);
  c.span = &child;
  auto r = RunCondition("IsRootSpan()", ContextKind::kSpan, false, &c);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(OttlConverters, PrefixSuffixLen) {
  ExpectTrue("HasPrefix(name, \"GET\") and HasSuffix(name, \"health\")");
  ExpectFalse("HasPrefix(name, \"POST\")");
  ExpectTrue("HasPrefix(name, prefix = \"GET \")");
  EXPECT_EQ(EvalError("HasPrefix(attributes[\"missing\"], \"x\")"), "expected string but got nil");
  EXPECT_EQ(EvalError("HasSuffix(attributes[\"ratio\"], \"x\")"),
            "expected string but got float64");
  ExpectTrue(
      "Len(name) == 11 and Len(attributes[\"list\"]) == 2 and Len(attributes[\"map\"]) == 2");
  ExpectTrue("Len(\"\xc3\xa9\") == 2");  // bytes, like Go's len()
  EXPECT_THAT(EvalError("Len(attributes[\"missing\"]) == 0"), HasSubstr("got nil"));
  EXPECT_THAT(EvalError("Len(1) == 0"), HasSubstr("got int64"));
}

TEST(OttlConverters, Conversions) {
  ExpectTrue("Int(\"12\") == 12 and Int(1.9) == 1 and Int(-1.9) == -1 and Int(true) == 1");
  ExpectTrue("Int(\"x\") == nil and Int(nil) == nil and Int(attributes[\"ten\"]) == 10");
  ExpectTrue("Double(\"1.5\") == 1.5 and Double(2) == 2.0 and Double(false) == 0.0");
  ExpectTrue("Double(\"x\") == nil and IsDouble(Double(2))");
  ExpectTrue("String(0xdeadbeef) == \"deadbeef\" and String(1.5) == \"1.5\"");
  ExpectTrue("String(true) == \"true\" and String(12) == \"12\" and String(nil) == nil");
  ExpectTrue("String(attributes[\"map\"]) == \"{\\\"inner\\\":\\\"v\\\",\\\"n\\\":1}\"");
  ExpectTrue("String(attributes[\"list\"]) == \"[\\\"a\\\",\\\"b\\\"]\"");
  ExpectTrue("String(Duration(\"90s\")) == \"1m30s\"");
  ExpectTrue("Bool(\"true\") == true and Bool(\"F\") == false and Bool(0) == false");
  ExpectTrue("Bool(2.5) == true and Bool(\"yes\") == nil and Bool(attributes[\"ok\"])");
}

// Floats become text as Go's strconv.FormatFloat(f, 'f', -1, 64): the shortest digits that
// read back as the value, never an exponent, and never the binary value's exact expansion
// (1e23 is 99999999999999991611392 in binary).
TEST(OttlConverters, StringOfLargeAndSmallFloats) {
  ExpectTrue("String(1.0e23) == \"100000000000000000000000\"");
  ExpectTrue("String(-1.5e22) == \"-15000000000000000000000\"");
  ExpectTrue("String(1.0e-7) == \"0.0000001\"");
  ExpectTrue("IsMatch(1.0e23, \"^10{23}$\")");
}

TEST(OttlConverters, Case) {
  ExpectTrue("ToLowerCase(\"AbC\") == \"abc\" and ToUpperCase(\"AbC\") == \"ABC\"");
  ExpectTrue("ToSnakeCase(\"HTTPServerName\") == \"http_server_name\"");
  ExpectTrue("ToSnakeCase(\"helloWorld\") == \"hello_world\"");
  ExpectTrue("ToSnakeCase(\"Any Kind-of.string\") == \"any_kind_of_string\"");
  ExpectTrue("ToCamelCase(\"hello_world\") == \"HelloWorld\"");
  ExpectTrue("ToCamelCase(\"any kind-of.string\") == \"AnyKindOfString\"");
  ExpectTrue("ConvertCase(\"Hello World\", \"snake\") == \"hello_world\"");
  ExpectTrue("ConvertCase(name, \"upper\") == \"GET /HEALTH\"");
  ExpectTrue("ConvertCase(name, \"lower\") == \"get /health\"");
  ExpectTrue("ConvertCase(\"a_b\", \"camel\") == \"AB\"");
  EXPECT_EQ(ParseError("ConvertCase(name, \"kebab\")"),
            "invalid case: kebab, allowed cases are: lower, upper, snake, camel");
  EXPECT_EQ(EvalError("ToLowerCase(1) == \"1\""), "expected string but got int64");
}

TEST(OttlConverters, Strings) {
  ExpectTrue("Substring(\"hello\", 1, 3) == \"ell\"");
  ExpectTrue("Substring(\"h\xc3\xa9llo\", 1, 2, true) == \"\xc3\xa9l\"");
  EXPECT_EQ(EvalError("Substring(\"hello\", 3, 5) == \"\""),
            "invalid range for substring function, 8 cannot be greater than the length of "
            "target string(5)");
  EXPECT_THAT(EvalError("Substring(\"hello\", -1, 2) == \"\""), HasSubstr("cannot be negative"));
  EXPECT_THAT(EvalError("Substring(\"hello\", 1, 0) == \"\""), HasSubstr("negative or zero"));
  EXPECT_THAT(EvalError("Substring(\"x\", 1, 9223372036854775807) == \"\""),
              HasSubstr("invalid range for substring function, 9223372036854775808"));
  ExpectTrue("Split(\"a,b,c\", \",\") == [\"a\", \"b\", \"c\"]");
  ExpectTrue("Split(\"a,b\", \",\")[1] == \"b\" and Len(Split(\"abc\", \"\")) == 3");
  EXPECT_EQ(EvalError("Split(\"a\", \",\")[\"x\"] == nil"),
            "type, []interface {}, does not support string indexing");
  ExpectTrue("Trim(\"  x  \") == \"x\" and Trim(\"xxaxx\", \"x\") == \"a\"");
  ExpectTrue(
      "TrimPrefix(\"prefix-x\", \"prefix-\") == \"x\" and TrimSuffix(\"a.log\", \".log\") == "
      "\"a\"");
  ExpectTrue("TrimPrefix(\"x\", \"y\") == \"x\"");
  ExpectTrue("Index(\"hello\", \"l\") == 2 and Index(\"hello\", \"z\") == -1");
  ExpectTrue("Index(attributes[\"list\"], \"b\") == 1");
  ExpectTrue("Concat([\"a\", 1, true, 1.5], \"-\") == \"a-1-true-1.5\"");
  ExpectTrue("Concat([name, attributes[\"missing\"]], \"|\") == \"GET /health|nil\"");
  ExpectTrue("Concat([\"a\", attributes[\"map\"], \"b\"], \",\") == \"a,b\"");
  EXPECT_EQ(ParseError("Concat([\"a\"], name)"),
            "invalid argument at position 1: must be a string");
  ExpectTrue("Hex(\"AB\") == \"4142\" and Hex(1) == \"0000000000000001\" and Hex(0xff) == \"ff\"");
  ExpectTrue(
      "SHA256(\"abc\") == "
      "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
  ExpectTrue("ExtractPatterns(name, \"^(?P<method>\\\\w+) (?P<path>.*)$\")[\"method\"] == \"GET\"");
  ExpectTrue(
      "ExtractPatterns(name, \"^(?P<method>\\\\w+) (?P<path>.*)$\") == "
      "{\"method\": \"GET\", \"path\": \"/health\"}");
  ExpectTrue("ExtractPatterns(\"zzz\", \"(?P<a>x)\") == {}");
  EXPECT_EQ(ParseError("ExtractPatterns(name, \"(x)\") == {}"),
            "at least 1 named capture group must be supplied in the given regex");
}

TEST(OttlConverters, IdsAndTime) {
  ExpectTrue("trace_id == TraceID(\"0102030405060708090a0b0c0d0e0f10\")");
  ExpectTrue("span_id == SpanID(\"A1A2A3A4A5A6A7A8\")");
  EXPECT_THAT(EvalError("trace_id == TraceID(0x01)"), HasSubstr("trace ids must be 16 bytes"));
  EXPECT_THAT(EvalError("span_id == SpanID(\"zz\")"), HasSubstr("span ids must be 8 bytes"));
  ExpectTrue("Duration(\"1m30s\") == Duration(\"90s\")");
  EXPECT_EQ(EvalError("Duration(\"abc\") == nil"), "time: invalid duration \"abc\"");
  ExpectTrue("Now() > start_time");
  ExpectTrue("UnixSeconds(start_time) == 1700000000 and UnixMilli(start_time) == 1700000000000");
  ExpectTrue("UnixMicro(start_time) == 1700000000000000");
  ExpectTrue("Unix(1700000000) == start_time and Unix(1700000001, 500000000) == end_time");
  ExpectTrue(
      "Seconds(end_time - start_time) == 1.5 and Milliseconds(end_time - start_time) == "
      "1500");
  ExpectTrue("Minutes(Duration(\"90s\")) == 1.5 and Hours(Duration(\"30m\")) == 0.5");
  ExpectTrue("Nanoseconds(Duration(\"1us\")) == 1000 and Microseconds(Duration(\"1ms\")) == 1000");
  ExpectTrue("UnixSeconds(Time(\"2023-05-01T12:30:45Z\", \"%Y-%m-%dT%H:%M:%SZ\")) == 1682944245");
  ExpectTrue(
      "UnixSeconds(Time(\"2023-05-01T14:30:45+0200\", \"%Y-%m-%dT%H:%M:%S%z\")) == "
      "1682944245");
  ExpectTrue(
      "UnixMilli(Time(\"2023-05-01 12:30:45.123\", \"%Y-%m-%d %H:%M:%S.%L\")) == "
      "1682944245123");
  ExpectTrue("UnixMilli(Time(\"2023-05-01 12:30:45.5\", \"%F %T\")) == 1682944245500");
  ExpectTrue(
      "UnixSeconds(Time(\"Thu Feb 29 11:59:59 PM 2024\", \"%a %b %d %I:%M:%S %p %Y\")) == "
      "1709251199");
  ExpectTrue("UnixSeconds(Time(\"01/05/23 12:30\", \"%d/%m/%y %H:%M\", \"UTC\")) == 1682944200");
  ExpectTrue(
      "UnixSeconds(Time(\"2023-05-01 14:30:45\", \"%Y-%m-%d %H:%M:%S\", "
      "\"Europe/Berlin\")) == 1682944245");
  EXPECT_THAT(EvalError("Time(\"2023-02-30\", \"%Y-%m-%d\") == nil"), HasSubstr("out of range"));
  EXPECT_THAT(EvalError("Time(\"2023-05-01x\", \"%Y-%m-%d\") == nil"), HasSubstr("extra text"));
  // Beyond what int64 nanoseconds hold (year 2262): saturates instead of overflowing.
  ExpectTrue("Time(\"9999-12-31\", \"%Y-%m-%d\") > Now()");
  EXPECT_THAT(ParseError("Time(\"x\", \"%Q\") == nil"), HasSubstr("%Q"));
  EXPECT_THAT(ParseError("Time(\"x\", \"%Y\", \"Mars/Base\") == nil"), HasSubstr("Mars/Base"));
}

TEST(OttlConverters, Collections) {
  ExpectTrue("ContainsValue(attributes[\"list\"], \"a\") and not ContainsValue([1, 2], 3)");
  ExpectTrue("ContainsValue([1, 2], 2.0)");
  EXPECT_THAT(EvalError("ContainsValue(name, \"a\")"), HasSubstr("expected slice"));
  ExpectTrue("Coalesce([nil, attributes[\"missing\"], \"x\", \"y\"]) == \"x\"");
  ExpectTrue("Coalesce([nil]) == nil");
  ExpectTrue("Keys(attributes[\"map\"]) == [\"inner\", \"n\"]");
  EXPECT_THAT(EvalError("Keys(name) == nil"), HasSubstr("expected pcommon.Map"));
  ExpectTrue("ParseJSON(\"{\\\"a\\\": 1, \\\"b\\\": [true, null, \\\"s\\\"]}\")[\"a\"] == 1.0");
  ExpectTrue("ParseJSON(\"{\\\"a\\\": {\\\"b\\\": 2}}\")[\"a\"][\"b\"] == 2.0");
  ExpectTrue("ParseJSON(\"[1, 2]\") == [1.0, 2.0]");
  ExpectTrue("ParseJSON(\"{\\\"b\\\": [true, null, \\\"s\\\"]}\")[\"b\"] == [true, nil, \"s\"]");
  EXPECT_THAT(EvalError("ParseJSON(\"{\") == nil"), StartsWith("ParseJSON: "));
  EXPECT_THAT(EvalError("ParseJSON(\"1\") == nil"), StartsWith("ParseJSON: "));
  EXPECT_THAT(EvalError("ParseJSON(\"{} x\") == nil"), StartsWith("ParseJSON: "));
  EXPECT_EQ(
      EvalError("ParseJSON(\"" + std::string(200, '[') + std::string(200, ']') + "\") == nil"),
      "ParseJSON: nesting deeper than 100 levels");
}

// Functions a component adds come from the registry its parser is given, never from a global
// one: a parser with the standard registry does not know them.
TEST(OttlFunctions, AParserKnowsOnlyTheFunctionsOfItsRegistry) {
  static const FunctionRegistry registry(
      FunctionRegistry::Standard(),
      {{"IsCheckout",
        {},
        [](const FunctionCall&, const EvalContext& ctx) -> absl::StatusOr<Value> {
          return Value::Bool(ctx.span != nullptr && ctx.span->name() == "checkout");
        },
        nullptr,
        ContextKind::kSpan}});
  ParserOptions options;
  EXPECT_EQ(Condition::Parse("IsCheckout()", options).status().message(),
            "undefined function \"IsCheckout\"");
  options.functions = &registry;
  auto parsed = Condition::Parse("IsCheckout() and IsString(name)", options);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  options.context = ContextKind::kLog;
  EXPECT_EQ(Condition::Parse("IsCheckout()", options).status().message(),
            "undefined function \"IsCheckout\"");  // only in the span context
  EXPECT_EQ(FunctionRegistry::Standard().Find("IsCheckout", ContextKind::kSpan), nullptr);
}

TEST(OttlContexts, Names) {
  EXPECT_EQ(ContextName(ContextKind::kSpanEvent), "spanevent");
  EXPECT_EQ(ContextName(ContextKind::kDataPoint), "datapoint");
  EXPECT_EQ(ParseContextName("Log_Record"), ContextKind::kLog);
  EXPECT_EQ(ParseContextName("INSTRUMENTATION_SCOPE"), ContextKind::kScope);
  EXPECT_EQ(ParseContextName("SpanEvent"), ContextKind::kSpanEvent);
  EXPECT_EQ(ParseContextName("profile"), std::nullopt);
  EXPECT_TRUE(ContextContains(ContextKind::kResource, ContextKind::kDataPoint));
  EXPECT_TRUE(ContextContains(ContextKind::kScope, ContextKind::kLog));
  EXPECT_TRUE(ContextContains(ContextKind::kSpan, ContextKind::kSpanEvent));
  EXPECT_TRUE(ContextContains(ContextKind::kSpan, ContextKind::kSpan));
  EXPECT_FALSE(ContextContains(ContextKind::kSpanEvent, ContextKind::kSpan));
  EXPECT_FALSE(ContextContains(ContextKind::kMetric, ContextKind::kLog));
  EXPECT_FALSE(ContextContains(ContextKind::kScope, ContextKind::kResource));
}

ContextKind Infer(std::string_view text, otlp::Signal signal) {
  auto kind = InferContext(text, signal);
  EXPECT_TRUE(kind.ok()) << text << ": " << kind.status();
  return kind.ok() ? *kind : ContextKind::kResource;
}

TEST(OttlContexts, Infer) {
  using otlp::Signal;
  EXPECT_EQ(Infer("span.name == \"a\" and resource.attributes[\"a\"] == \"b\"", Signal::kTraces),
            ContextKind::kSpan);
  EXPECT_EQ(
      Infer("resource.attributes[\"x\"] == \"a\" or spanevent.name == \"b\"", Signal::kTraces),
      ContextKind::kSpanEvent);
  EXPECT_EQ(Infer("resource.attributes[\"x\"] == \"a\"", Signal::kMetrics), ContextKind::kResource);
  EXPECT_EQ(Infer("scope.name == \"a\"", Signal::kLogs), ContextKind::kScope);
  EXPECT_EQ(
      Infer("IsMatch(metric.name, \"a\") and datapoint.attributes[\"x\"] != nil", Signal::kMetrics),
      ContextKind::kDataPoint);
  EXPECT_EQ(Infer("log.attributes[attributes[\"x\"]] == nil", Signal::kLogs), ContextKind::kLog);
  auto bad = InferContext("name == \"a\"", Signal::kTraces);
  EXPECT_EQ(bad.status().message(),
            "unable to infer a valid context ([\"resource\" \"scope\" \"span\" \"spanevent\"]) "
            "from condition \"name == \"a\"\"");
  EXPECT_FALSE(InferContext("metric.name == \"a\"", Signal::kTraces).ok());
  EXPECT_FALSE(InferContext("span.name == \"a\"", Signal::kLogs).ok());
  auto syntax = InferContext("span.name ==", Signal::kTraces);
  EXPECT_THAT(std::string(syntax.status().message()),
              StartsWith("condition has invalid syntax: 1:13:"));
}

// --- evaluation properties ----------------------------------------------------------------------

TEST(OttlEval, PlainComparisonsDoNotAllocate) {
  ParserOptions options;
  auto condition = Condition::Parse(
      "attributes[\"http.target\"] == \"/health\" and name != \"x\" and kind == SPAN_KIND_SERVER "
      "and resource.attributes[\"service.name\"] == \"checkout\" and attributes[\"map\"][\"n\"] "
      ">= 1 and IsMatch(name, \"^GET\") and HasPrefix(name, \"GET\")",
      options);
  ASSERT_TRUE(condition.ok()) << condition.status();
  const EvalContext ctx = TestData().For(ContextKind::kSpan);
  ASSERT_TRUE(*condition->Eval(ctx));
  const int64_t before = g_allocations.load();
  for (int i = 0; i < 100; ++i) {
    auto r = condition->Eval(ctx);
    ASSERT_TRUE(r.ok() && *r);
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
}

TEST(OttlEval, ConcurrentEvaluation) {
  ParserOptions options;
  auto condition = Condition::Parse(
      "IsMatch(ToLowerCase(name), \"^get\") and Split(name, \" \")[1] == \"/health\"", options);
  ASSERT_TRUE(condition.ok()) << condition.status();
  const EvalContext ctx = TestData().For(ContextKind::kSpan);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto r = condition->Eval(ctx);
        if (!r.ok() || !*r) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(OttlEval, CopiesShareTheParsedTree) {
  ParserOptions options;
  auto parsed = Condition::Parse("name == \"GET /health\"", options);
  ASSERT_TRUE(parsed.ok());
  Condition copy = *parsed;
  parsed = Condition::Parse("true", options);
  EXPECT_TRUE(*copy.Eval(TestData().For(ContextKind::kSpan)));
  EXPECT_EQ(copy.text(), "name == \"GET /health\"");
}

TEST(OttlEval, MissingItemsReadAsNil) {
  // A datapoint condition evaluated without a point: paths read nil rather than crash.
  ParserOptions options;
  options.context = ContextKind::kDataPoint;
  auto condition = Condition::Parse("value_double == nil and metric.name == nil", options);
  ASSERT_TRUE(condition.ok());
  EvalContext empty;
  EXPECT_TRUE(*condition->Eval(empty));
}

}  // namespace
}  // namespace sprout::ottl
