// Tests of the TraceQL front end: lexer tokens, the tree and printed form of every feature of the
// reference's §2.3, errors with their exact messages and positions, and the round trip.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "traces/traceql/ast.h"
#include "traces/traceql/lexer.h"
#include "traces/traceql/parser.h"
#include "traces/traceql/printer.h"

namespace sprout::traces::traceql {
namespace {

std::vector<Token> LexAll(std::string_view q) {
  Lexer lex(q);
  std::vector<Token> out;
  while (true) {
    Token t = lex.Next();
    if (t.type == Tok::kEof) break;
    out.push_back(t);
    if (t.type == Tok::kError) break;
  }
  return out;
}

std::string Printed(std::string_view q) {
  ParseResult r = Parse(q);
  if (!r.ok()) return "ERROR " + r.error.ToString();
  return Print(r.query);
}

std::string ErrorOf(std::string_view q) {
  ParseResult r = Parse(q);
  if (r.ok()) return "OK " + Print(r.query);
  return r.error.ToString();
}

TEST(TraceqlLexer, LiteralsAndDurations) {
  auto t = LexAll(R"("a\"b\\c\n\x41é" `raw\n` 42 1.5 2e3 1.5s 1h30m 10us 10µs 3ns 250ms 2m)");
  ASSERT_EQ(t.size(), 12u);
  EXPECT_EQ(t[0].type, Tok::kString);
  EXPECT_EQ(t[0].value.s, "a\"b\\c\nAé");
  EXPECT_EQ(t[1].type, Tok::kString);
  EXPECT_EQ(t[1].value.s, "raw\\n");
  EXPECT_EQ(t[2].type, Tok::kInt);
  EXPECT_EQ(t[2].value.i, 42);
  EXPECT_EQ(t[3].type, Tok::kFloat);
  EXPECT_EQ(t[3].value.f, 1.5);
  EXPECT_EQ(t[4].type, Tok::kFloat);
  EXPECT_EQ(t[4].value.f, 2000.0);
  EXPECT_EQ(t[5].type, Tok::kDuration);
  EXPECT_EQ(t[5].value.i, 1'500'000'000);
  EXPECT_EQ(t[6].value.i, 5'400'000'000'000);
  EXPECT_EQ(t[7].value.i, 10'000);
  EXPECT_EQ(t[8].value.i, 10'000);
  EXPECT_EQ(t[9].value.i, 3);
  EXPECT_EQ(t[10].value.i, 250'000'000);
  EXPECT_EQ(t[11].value.i, 120'000'000'000);
}

TEST(TraceqlLexer, KeywordsAndAttributes) {
  auto t = LexAll(
      "nil true false ok error unset server client producer consumer internal unspecified "
      "span.http.status_code resource.service.name .foo span.\"a b\" parent.span.x parent.y "
      "event.e link.l instrumentation.i span.a-b trace:rootService span:id duration rootName "
      "by select coalesce count avg min max sum with most_recent");
  ASSERT_EQ(t.size(), 36u);
  EXPECT_EQ(t[0].type, Tok::kNil);
  EXPECT_EQ(t[1].type, Tok::kTrue);
  EXPECT_EQ(t[2].type, Tok::kFalse);
  EXPECT_EQ(t[3].type, Tok::kStatus);
  EXPECT_EQ(t[3].value.i, static_cast<int64_t>(Status::kOk));
  EXPECT_EQ(t[4].value.i, static_cast<int64_t>(Status::kError));
  EXPECT_EQ(t[6].type, Tok::kKind);
  EXPECT_EQ(t[6].value.i, static_cast<int64_t>(Kind::kServer));
  EXPECT_EQ(t[11].value.i, static_cast<int64_t>(Kind::kUnspecified));
  EXPECT_EQ(t[12].type, Tok::kAttribute);
  EXPECT_EQ(t[12].attr.scope, Scope::kSpan);
  EXPECT_EQ(t[12].attr.name, "http.status_code");
  EXPECT_EQ(t[13].attr.scope, Scope::kResource);
  EXPECT_EQ(t[13].attr.name, "service.name");
  EXPECT_EQ(t[14].attr.scope, Scope::kNone);
  EXPECT_EQ(t[14].attr.name, "foo");
  EXPECT_EQ(t[15].attr.name, "a b");
  EXPECT_TRUE(t[16].attr.parent);
  EXPECT_EQ(t[16].attr.scope, Scope::kSpan);
  EXPECT_EQ(t[16].attr.name, "x");
  EXPECT_TRUE(t[17].attr.parent);
  EXPECT_EQ(t[17].attr.scope, Scope::kNone);
  EXPECT_EQ(t[18].attr.scope, Scope::kEvent);
  EXPECT_EQ(t[19].attr.scope, Scope::kLink);
  EXPECT_EQ(t[20].attr.scope, Scope::kInstrumentation);
  EXPECT_EQ(t[21].attr.name, "a-b");
  EXPECT_EQ(t[22].attr.scope, Scope::kIntrinsic);
  EXPECT_EQ(t[22].attr.intrinsic, Intrinsic::kTraceRootService);
  EXPECT_EQ(t[23].attr.intrinsic, Intrinsic::kSpanID);
  EXPECT_EQ(t[24].attr.intrinsic, Intrinsic::kDuration);
  EXPECT_EQ(t[25].attr.intrinsic, Intrinsic::kTraceRootSpan);
  EXPECT_EQ(t[26].type, Tok::kBy);
  EXPECT_EQ(t[27].type, Tok::kSelect);
  EXPECT_EQ(t[28].type, Tok::kCoalesce);
  EXPECT_EQ(t[29].type, Tok::kCount);
  EXPECT_EQ(t[33].type, Tok::kSum);
  EXPECT_EQ(t[34].type, Tok::kWith);
  EXPECT_EQ(t[35].type, Tok::kIdentifier);
  EXPECT_EQ(t[35].text, "most_recent");
}

TEST(TraceqlLexer, Operators) {
  auto t = LexAll(
      "= != > >= < <= =~ !~ && || ! + - * / % ^ >> << ~ !> !< !>> !<< &> &< &>> &<< &~ | { } ( ) "
      ",");
  const std::vector<Tok> want = {
      Tok::kEq,          Tok::kNeq,       Tok::kGt,        Tok::kGte,       Tok::kLt,
      Tok::kLte,         Tok::kRe,        Tok::kNre,       Tok::kAnd,       Tok::kOr,
      Tok::kNot,         Tok::kAdd,       Tok::kSub,       Tok::kMul,       Tok::kDiv,
      Tok::kMod,         Tok::kPow,       Tok::kDesc,      Tok::kAnce,      Tok::kSibl,
      Tok::kNotChild,    Tok::kNotParent, Tok::kNotDesc,   Tok::kNotAnce,   Tok::kUnionChild,
      Tok::kUnionParent, Tok::kUnionDesc, Tok::kUnionAnce, Tok::kUnionSibl, Tok::kPipe,
      Tok::kLBrace,      Tok::kRBrace,    Tok::kLParen,    Tok::kRParen,    Tok::kComma};
  ASSERT_EQ(t.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(t[i].type, want[i]) << i;
}

TEST(TraceqlLexer, TempoDurationsNumbersComments) {
  // Prometheus-style units first (d w y), then Go's; a number followed by anything else stays a
  // number and the rest is lexed on its own (Tempo's tryScanDuration).
  auto t = LexAll("1d 2w 1y 1d12h 1x .5 1. 5 // comment\n /* block */ 7 /* open");
  ASSERT_EQ(t.size(), 10u);
  EXPECT_EQ(t[0].type, Tok::kDuration);
  EXPECT_EQ(t[0].value.i, 86'400'000'000'000);
  EXPECT_EQ(t[1].value.i, 14 * 86'400'000'000'000);
  EXPECT_EQ(t[2].value.i, 365 * 86'400'000'000'000);
  EXPECT_EQ(t[3].value.i, 36 * 3'600'000'000'000);
  EXPECT_EQ(t[4].type, Tok::kInt);
  EXPECT_EQ(t[5].type, Tok::kIdentifier);
  EXPECT_EQ(t[5].text, "x");
  EXPECT_EQ(t[6].type, Tok::kFloat);
  EXPECT_EQ(t[6].value.f, 0.5);
  EXPECT_EQ(t[7].type, Tok::kFloat);
  EXPECT_EQ(t[7].value.f, 1.0);
  EXPECT_EQ(t[8].type, Tok::kInt);
  EXPECT_EQ(t[8].value.i, 5);
  EXPECT_EQ(t[9].value.i, 7);  // after the comments; the open one runs to the end
}

TEST(TraceqlLexer, TempoAttributeNames) {
  auto t = LexAll(R"(span.a"b c"d span."q\"x\\" span:  name # é)");
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0].attr.name, "ab cd");
  EXPECT_EQ(t[1].attr.name, "q\"x\\");
  EXPECT_EQ(t[2].attr.intrinsic, Intrinsic::kName);
  EXPECT_EQ(t[2].attr.name, "span:name");
  EXPECT_EQ(t[3].type, Tok::kIdentifier);  // any other character is an identifier to Tempo
  EXPECT_EQ(t[4].type, Tok::kIdentifier);
  EXPECT_EQ(t[4].text, "é");
}

TEST(TraceqlLexer, Errors) {
  auto t = LexAll("{ \"abc");
  ASSERT_EQ(t.back().type, Tok::kError);
  EXPECT_EQ(t.back().text, "literal not terminated");  // Go's scanner's word for it
  t = LexAll("`abc");
  EXPECT_EQ(t.back().text, "literal not terminated");
  t = LexAll("\"a\nb\"");
  EXPECT_EQ(t.back().text, "literal not terminated");
  t = LexAll("\"\\x4\"");
  EXPECT_EQ(t.back().text, "invalid char escape");
  t = LexAll("99999999999999999999");
  EXPECT_EQ(t.back().text, "strconv.Atoi: parsing \"99999999999999999999\": value out of range");
  t = LexAll("1e999");
  EXPECT_EQ(t.back().text, "strconv.ParseFloat: parsing \"1e999\": value out of range");
  t = LexAll("1e");
  EXPECT_EQ(t.back().text, "strconv.ParseFloat: parsing \"1e\": invalid syntax");
  t = LexAll("\"\\q\"");
  EXPECT_EQ(t.back().text, "invalid char escape");
  t = LexAll("\"\\'\"");  // \' is no escape in a Go string
  EXPECT_EQ(t.back().text, "invalid char escape");
  t = LexAll(R"(span."a\n")");
  EXPECT_EQ(t.back().text, "invalid escape sequence");
  t = LexAll(R"(span."a)");
  EXPECT_EQ(t.back().text, "unexpected EOF, expecting \"");
}

// Each feature of the reference's §2.3: the input and its canonical print.
TEST(TraceqlParser, FeaturesPrint) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // attribute equality, intrinsics, duration
      {R"({resource.service.name="x"})", R"({ resource.service.name = "x" })"},
      {R"({name="GET /"})", R"({ name = "GET /" })"},
      {"{status=error}", "{ status = error }"},
      {"{kind=server}", "{ kind = server }"},
      {"{duration>1s}", "{ duration > 1s }"},
      {"{trace:duration>1.5m}", "{ trace:duration > 90s }"},
      {"{span:duration >= 1500ms}", "{ span:duration >= 1500ms }"},
      // comparisons and regex
      {"{.a=1&&.b!=2&&.c>3&&.d>=4&&.e<5&&.f<=6}",
       "{ .a = 1 && .b != 2 && .c > 3 && .d >= 4 && .e < 5 && .f <= 6 }"},
      {R"({span.url=~"/api/.*" && span.x !~ `a.*`})",
       R"({ span.url =~ "/api/.*" && span.x !~ "a.*" })"},
      // boolean with parentheses
      // (&& and || share a level, left-associative: these parentheses are not needed.)
      {"{ (.a = 1 || .b = 2) && !(.c = 3) }", "{ .a = 1 || .b = 2 && !(.c = 3) }"},
      {"{ .a = 1 || (.b = 2 && .c = 3) }", "{ .a = 1 || (.b = 2 && .c = 3) }"},
      // the search-builder shape
      {R"({resource.service.name="a" && name="b" && duration>100ms && status=error})",
       R"({ resource.service.name = "a" && name = "b" && duration > 100ms && status = error })"},
      {R"({resource.service.name="x" && span.http.status_code>=500})",
       R"({ resource.service.name = "x" && span.http.status_code >= 500 })"},
      // nil
      {"{ .a = nil }", "{ .a = nil }"},
      {"{ .a != nil }", "{ .a != nil }"},
      // arithmetic
      {"{ span.a * 2 > 10 }", "{ span.a * 2 > 10 }"},
      {"{ span.a + span.b * 2 - 1 / 3 % 4 ^ 2 > 0 }",
       "{ span.a + span.b * 2 - 1 / 3 % 4 ^ 2 > 0 }"},
      {"{ (span.a + 1) * 2 = 4 }", "{ (span.a + 1) * 2 = 4 }"},
      {"{ -span.a < -1.5 }", "{ -span.a < -1.5 }"},
      // spanset operators and structural ones
      {"{ .a = 1 } && { .b = 2 }", "{ .a = 1 } && { .b = 2 }"},
      {"{ .a = 1 } || { .b = 2 }", "{ .a = 1 } || { .b = 2 }"},
      {"{} > {} < {} >> {} << {} ~ {}", "{ } > { } < { } >> { } << { } ~ { }"},
      {"{} !> {} !< {} !>> {} !<< {} !~ {}", "{ } !> { } !< { } !>> { } !<< { } !~ { }"},
      {"{} &> {} &< {} &>> {} &<< {} &~ {}", "{ } &> { } &< { } &>> { } &<< { } &~ { }"},
      // aggregates
      {"{ } | count() > 3", "{ } | count() > 3"},
      {"{ } | avg(duration) > 20ms", "{ } | avg(duration) > 20ms"},
      {"{ } | min(span.a) <= 1 | max(span.b) = 2.5 | sum(span.c) != 0",
       "{ } | min(span.a) <= 1 | max(span.b) = 2.5 | sum(span.c) != 0"},
      {"{ } | count() + 1 > 2 * avg(span.a)", "{ } | count() + 1 > 2 * avg(span.a)"},
      // grouping, coalesce, select
      {"{ } | by(resource.service.name) | coalesce()",
       "{ } | by(resource.service.name) | coalesce()"},
      {"{ } | select(span.a, resource.b, span:id, trace:rootService, name)",
       "{ } | select(span.a, resource.b, span:id, trace:rootService, name)"},
      {"by(.a) | { .b = 1 }", "by(.a) | { .b = 1 }"},
      // scalar filters at the top level
      {"count() > 2", "count() > 2"},
      {"({ .a = 1 } | count()) > 2", "({ .a = 1 } | count()) > 2"},
      {"avg(duration) > -1s", "avg(duration) > -1s"},
      // hints
      {"{ } with (most_recent=true)", "{ } with (most_recent=true)"},
      {"{ } with (sample=true)", "{ } with (sample=true)"},
      {"{ } with (sample=0.1, span_sample=0.5) with (trace_sample=0.25)",
       "{ } with (sample=0.1, span_sample=0.5, trace_sample=0.25)"},
      // every scope and quoted names
      {R"({ span."a b" = 1 && parent.span.c = 2 && parent.resource.d = 3 && parent.e = 4 })",
       R"({ span."a b" = 1 && parent.span.c = 2 && parent.resource.d = 3 && parent.e = 4 })"},
      {"{ event.a = 1 && link.b = 2 && instrumentation.c = 3 }",
       "{ event.a = 1 && link.b = 2 && instrumentation.c = 3 }"},
      // every intrinsic form
      {R"({ event:name = "e" && event:timeSinceStart > 1ms && link:traceID = "t" && link:spanID = "s" })",
       R"({ event:name = "e" && event:timeSinceStart > 1ms && link:traceID = "t" && link:spanID = "s" })"},
      {R"({ instrumentation:name = "n" && instrumentation:version = "v" && trace:id = "x" && span:parentID = "p" })",
       R"({ instrumentation:name = "n" && instrumentation:version = "v" && trace:id = "x" && span:parentID = "p" })"},
      {R"({ rootName = "r" && rootServiceName = "s" && traceDuration > 1h && childCount > 2 && statusMessage = "m" })",
       R"({ rootName = "r" && rootServiceName = "s" && traceDuration > 1h && childCount > 2 && statusMessage = "m" })"},
      {"{ nestedSetLeft > 1 && nestedSetRight < 2 && nestedSetParent = -1 }",
       "{ nestedSetLeft > 1 && nestedSetRight < 2 && nestedSetParent = -1 }"},
      // statics
      {"{ .a = true && .b = false && .c = 1e+20 && .d = ok && .e = unset && .f = internal }",
       "{ .a = true && .b = false && .c = 1e+20 && .d = ok && .e = unset && .f = internal }"},
      {"{ kind = client || kind = producer || kind = consumer || kind = unspecified }",
       "{ kind = client || kind = producer || kind = consumer || kind = unspecified }"},
      {"{ }", "{ }"},
      {"{ .a }", "{ .a }"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(Printed(in), want) << in;
}

TEST(TraceqlParser, Precedence) {
  // && and || share one level, left-associative (Tempo's grammar): a || b && c = (a || b) && c.
  ParseResult r = Parse("{ .a = 1 || .b = 2 && .c = 3 }");
  ASSERT_TRUE(r.ok());
  const Node& f = *r.query.root->lhs;
  EXPECT_EQ(f.op, Op::kAnd);
  EXPECT_EQ(f.lhs->op, Op::kOr);
  EXPECT_EQ(Print(*r.query.root), "{ .a = 1 || .b = 2 && .c = 3 }");

  // Spanset level: && binds looser than structural operators; | is loosest.
  r = Parse("{ .a = 1 } | { .b = 2 } > { .c = 3 } && { .d = 4 }");
  ASSERT_TRUE(r.ok());
  const Node& p = *r.query.root;
  ASSERT_EQ(p.kind, NodeKind::kPipeline);
  ASSERT_EQ(p.items.size(), 2u);
  EXPECT_EQ(p.items[1]->kind, NodeKind::kSpansetOp);
  EXPECT_EQ(p.items[1]->op, Op::kSpansetAnd);
  EXPECT_EQ(p.items[1]->lhs->op, Op::kChild);

  // ^ is right-associative; unary ! binds tighter than comparisons, looser than *.
  r = Parse("{ 2 ^ 3 ^ 2 = .a }");
  ASSERT_TRUE(r.ok());
  const Node& pow = *r.query.root->lhs->lhs;
  EXPECT_EQ(pow.op, Op::kPow);
  EXPECT_EQ(pow.rhs->op, Op::kPow);
  r = Parse("{ !.a = .b }");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.query.root->lhs->op, Op::kEq);
  EXPECT_EQ(r.query.root->lhs->lhs->op, Op::kNot);

  // The AST of a typical filter, field by field.
  const std::string typical = R"({ resource.service.name = "x" && duration > 100ms })";
  r = Parse(typical);
  ASSERT_TRUE(r.ok());
  const Node& and_node = *r.query.root->lhs;
  EXPECT_EQ(and_node.op, Op::kAnd);
  EXPECT_EQ(and_node.lhs->lhs->attr.scope, Scope::kResource);
  EXPECT_EQ(and_node.lhs->lhs->attr.name, "service.name");
  EXPECT_EQ(and_node.lhs->rhs->value.s, "x");
  EXPECT_EQ(and_node.rhs->lhs->attr.intrinsic, Intrinsic::kDuration);
  EXPECT_EQ(and_node.rhs->rhs->value.type, Type::kDuration);
  EXPECT_EQ(and_node.rhs->rhs->value.i, 100'000'000);
  EXPECT_EQ(r.query.root->pos.start, 0);
  EXPECT_EQ(r.query.root->pos.end, static_cast<int32_t>(typical.size()));
  EXPECT_EQ(and_node.rhs->pos.start, static_cast<int32_t>(typical.find("duration")));
}

TEST(TraceqlParser, Errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{ .a = 1 ", "parse error at line 1, col 10: syntax error: unexpected $end"},
      {"{ .a = 1 )", "parse error at line 1, col 10: syntax error: unexpected )"},
      {"{ .a = }", "parse error at line 1, col 8: syntax error: unexpected }"},
      {"{ foo = 1 }", "parse error at line 1, col 3: syntax error: unexpected IDENTIFIER"},
      {"{ span:foo = 1 }", "parse error at line 1, col 8: syntax error: unexpected IDENTIFIER"},
      {"{ .a = 1 } =~ { }", "parse error at line 1, col 12: syntax error: unexpected =~"},
      {"{ } | count()", "parse error at line 1, col 14: syntax error: unexpected $end"},
      {"{ } | count() | { }", "parse error at line 1, col 15: syntax error: unexpected |"},
      {"coalesce() | { }", "parse error at line 1, col 12: syntax error: unexpected |"},
      {"{ } && count() > 1", "parse error at line 1, col 5: syntax error: unexpected &&"},
      {"{ } with (sample)", "parse error at line 1, col 17: syntax error: unexpected )"},
      {"{ .a = 1 }\n  | { .b = 2 } |",
       "parse error at line 2, col 17: syntax error: unexpected $end"},
      {"{ .a = \"é\" } }", "parse error at line 1, col 14: syntax error: unexpected }"},
      {"{ .a + nil }", "parse error at line 1, col 8: syntax error: unexpected nil"},
      {"{ \"abc }", "parse error at line 1, col 3: literal not terminated"},
      {"{ .a = 1x }", "parse error at line 1, col 9: syntax error: unexpected IDENTIFIER"},
      {"{ .a = 1 } id", "parse error at line 1, col 12: syntax error: unexpected id"},
      {"{ .a = 1 } | topk(2)", "parse error at line 1, col 14: syntax error: unexpected topk"},
      {"({ .a = 1 } | rate())", "parse error at line 1, col 15: syntax error: unexpected rate"},
      {"{ } with (id=1)", "parse error at line 1, col 11: syntax error: unexpected id"},
      {"{ span:count = 1 }", "parse error at line 1, col 8: syntax error: unexpected count"},
      {"{ span: }", "parse error at line 1, col 9: syntax error: unexpected }"},
      {"{ span:", "parse error at line 1, col 8: syntax error: unexpected $end"},
      {"{ span:trace:id }", "parse error at line 1, col 8: syntax error: unexpected trace:"},
      {"{ . = 1 }", "parse error at line 1, col 3: syntax error: unexpected END_ATTRIBUTE"},
      {"{ # }", "parse error at line 1, col 3: syntax error: unexpected IDENTIFIER"},
      {"{ .a = 1 } span.b", "parse error at line 1, col 12: syntax error: unexpected span."},
      {"{ .a = 1 } parent.resource.b",
       "parse error at line 1, col 12: syntax error: unexpected parent."},
      {"{ .a = 1 } .b", "parse error at line 1, col 12: syntax error: unexpected ."},
      {"{ .a = 1 } trace:id", "parse error at line 1, col 12: syntax error: unexpected trace:"},
      {"{ .a = 1 } duration", "parse error at line 1, col 12: syntax error: unexpected duration"},
      {"{ .a = 1 } error", "parse error at line 1, col 12: syntax error: unexpected error"},
      {"{ .a = 1 } server", "parse error at line 1, col 12: syntax error: unexpected server"},
      {"{ .a = 1 } \"s\"", "parse error at line 1, col 12: syntax error: unexpected STRING"},
      {"{ .a = 1 } 1.5", "parse error at line 1, col 12: syntax error: unexpected FLOAT"},
      {"{ .a = 1 } by", "parse error at line 1, col 12: syntax error: unexpected by"},
      // type checks
      {R"({ "a" = 1 })",
       R"(parse error at line 1, col 3: binary operations must operate on the same type: "a" = 1)"},
      {R"({ name = 1 })",
       R"(parse error at line 1, col 3: binary operations must operate on the same type: name = 1)"},
      {R"({ status = server })",
       "parse error at line 1, col 3: binary operations must operate on the same type: status = "
       "server"},
      {R"({ "a" + "b" = "ab" })",
       R"(parse error at line 1, col 3: illegal operation for the given types: "a" + "b")"},
      {"{ .a =~ 1 }",
       "parse error at line 1, col 3: illegal operation for the given types: .a =~ 1"},
      {"{ duration =~ \"1s\" }",
       "parse error at line 1, col 3: binary operations must operate on the same type: duration =~ "
       "\"1s\""},
      {"{ 1 && true }",
       "parse error at line 1, col 3: binary operations must operate on the same "
       "type: 1 && true"},
      {"{ !1 = true }", "parse error at line 1, col 3: illegal operation for the given type: !1"},
      {"{ 1 }",
       "parse error at line 1, col 1: span filter field expressions must resolve to a boolean: { 1 "
       "}"},
      {"{ name }",
       "parse error at line 1, col 1: span filter field expressions must resolve to a boolean: { "
       "name }"},
      {"{ } | avg(name) > 1",
       "parse error at line 1, col 7: aggregate field expressions must resolve to a number type: "
       "avg(name)"},
      {"{ } | sum(1 + 2) > 1",
       "parse error at line 1, col 7: aggregate field expressions must reference the span: sum(1 + "
       "2)"},
      {R"({ .a =~ "(" })",
       "parse error at line 1, col 9: error parsing regexp: missing ): ^(?:()$"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(ErrorOf(in), want) << in;
}

TEST(TraceqlParser, DepthLimit) {
  // Long operator chains are built without recursion but still make deep trees: refused too.
  std::string chain_ops = "{ .a";
  for (int i = 0; i < 1000; ++i) chain_ops += " + 1";
  chain_ops += " > 0 }";
  ParseResult r = Parse(chain_ops);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.message, "query nests too deeply");
  std::string spansets = "{ }";
  for (int i = 0; i < 1000; ++i) spansets += " >> { }";
  r = Parse(spansets);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.message, "query nests too deeply");
  // 400 stages of a pipeline are one level each: a flat pipeline is no deep tree.
  std::string stages = "{ }";
  for (int i = 0; i < 400; ++i) stages += " | { }";
  EXPECT_TRUE(Parse(stages).ok());

  // A long chain of scope prefixes is no recursion in the lexer.
  std::string chain = "{ ";
  for (int i = 0; i < 100000; ++i) chain += "span:";
  EXPECT_EQ(ErrorOf(chain), "parse error at line 1, col 8: syntax error: unexpected span:");

  std::string deep(2000, '(');
  deep += "count() > 1";
  deep += std::string(2000, ')');
  r = Parse(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.message, "query nests too deeply");
}

// Parse -> print -> parse gives the same tree, for every query of these tests and some harder
// printing cases (negative literals, nested unary operators, quoted names, parenthesised stages).
TEST(TraceqlParser, RoundTrip) {
  const std::vector<std::string> queries = {
      R"({ resource.service.name = "frontend" && name = "GET /api" })",
      "{ span.a - -1 > 0 && -(-span.b) < 2 && span.c * -span.d = 1 }",
      "{ !!(.a = 1) && !(.b + 1 > 2) }",
      "{ (2 ^ 3) ^ 2 = .x && 2 ^ 3 ^ 2 = .y && (.a - .b) - .c = (.a - (.b - .c)) }",
      R"({ span."a b" = "q\"u\\o\te" && span."{x}" = 1 && parent."span.z" = 2 && .a-b = 3 })",
      "{ } | count() - -1 > (-2) * 3 | avg(span.a) ^ 2 >= -1.5",
      "({ .a = 1 } | by(.b)) && ({ .c = 2 } | coalesce()) ~ { .d = 3 }",
      "{ .a = 1 } | ({ .b = 2 } | { .c = 3 })",
      "({ } | count()) + 1 > 2 with (most_recent=true, exemplars=3, x=\"s\", y=5m)",
      "{ .f = 0.1 && .g = 1e-07 && .h = 123456789.123 && .i = 0s }",
      "select(.a) | { }",
      R"({ span.a"b c"d = 1 && ."5" = 2 && .x\y = 3 && span."q\"\\" = 4 && .é = 5 })",
      "{ span: name = \"x\" } // a comment\n | count() > 1 /* another */",
      "{ .a = 1d } with (#=1)",
  };
  for (const auto& q : queries) {
    ParseResult a = Parse(q);
    ASSERT_TRUE(a.ok()) << q << ": " << a.error.ToString();
    const std::string printed = Print(a.query);
    ParseResult b = Parse(printed);
    ASSERT_TRUE(b.ok()) << printed << ": " << b.error.ToString();
    EXPECT_TRUE(Equal(a.query, b.query)) << q << " -> " << printed;
    EXPECT_EQ(Print(b.query), printed);
  }
}

}  // namespace
}  // namespace sprout::traces::traceql
