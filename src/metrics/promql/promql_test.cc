// Tests of the PromQL front end. The corpus tests compare with answers recorded from a real
// Prometheus 2.42 (testdata/format_query_2.42.txt, written by testdata/record_format_query.js);
// the others check the tree the parser builds against values taken from the query text.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "metrics/promql/ast.h"
#include "metrics/promql/functions.h"
#include "metrics/promql/parser.h"
#include "metrics/promql/printer.h"

namespace sprout::metrics::promql {
namespace {

const char kDir[] = "src/metrics/promql/testdata/";

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct Record {
  std::string query;
  bool ok = false;
  std::string answer;  // formatted query or error message
};

std::vector<Record> LoadRecords() {
  std::ifstream in(std::string(kDir) + "format_query_2.42.txt");
  EXPECT_TRUE(in.good()) << "run the test from the repository root";
  std::vector<Record> out;
  std::string line;
  Record cur;
  while (std::getline(in, line)) {
    if (line.rfind("query: ", 0) == 0) {
      cur = Record{Unescape(line.substr(7))};
    } else if (line.rfind("format: ", 0) == 0) {
      cur.ok = true;
      cur.answer = Unescape(line.substr(8));
      out.push_back(cur);
    } else if (line.rfind("error: ", 0) == 0) {
      cur.ok = false;
      cur.answer = Unescape(line.substr(7));
      out.push_back(cur);
    }
  }
  return out;
}

std::map<std::string, std::string> LoadDifferences() {
  std::ifstream in(std::string(kDir) + "deliberate_differences.txt");
  std::map<std::string, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    out[Unescape(line.substr(0, tab))] = Unescape(line.substr(tab + 1));
  }
  return out;
}

// What /api/v1/format_query answers for `query` (without the envelope).
Record Ours(const std::string& query) {
  ParseResult r = Parse(query);
  if (!r.ok()) return Record{query, false, r.error.ToString()};
  return Record{query, true, Prettify(*r.expr)};
}

TEST(PromqlCorpus, MatchesPrometheus242) {
  const auto records = LoadRecords();
  const auto differences = LoadDifferences();
  ASSERT_GT(records.size(), 1000u);
  int compared = 0, failures = 0, valid = 0, invalid = 0;
  for (const Record& want : records) {
    if (differences.count(want.query)) continue;
    ++compared;
    (want.ok ? valid : invalid)++;
    const Record got = Ours(want.query);
    if (got.ok != want.ok || got.answer != want.answer) {
      ++failures;
      ADD_FAILURE() << "query:  " << want.query << "\nwant:   " << (want.ok ? "format " : "error ")
                    << want.answer << "\ngot:    " << (got.ok ? "format " : "error ") << got.answer;
    }
  }
  EXPECT_EQ(failures, 0) << "of " << compared;
  EXPECT_GT(valid, 700);
  EXPECT_GT(invalid, 150);
}

TEST(PromqlCorpus, DeliberateDifferences) {
  const auto records = LoadRecords();
  std::map<std::string, Record> by_query;
  for (const auto& r : records) by_query[r.query] = r;
  for (const auto& [query, want] : LoadDifferences()) {
    SCOPED_TRACE(query);
    // Every listed difference is in the corpus and answered differently by 2.42.
    ASSERT_TRUE(by_query.count(query));
    EXPECT_FALSE(by_query[query].ok && by_query[query].answer == want);
    const Record got = Ours(query);
    EXPECT_TRUE(got.ok) << got.answer;
    EXPECT_EQ(got.answer, want);
  }
}

// Parse → print → parse gives the same tree and the same text, for every valid query.
TEST(PromqlCorpus, RoundTrip) {
  for (const Record& r : LoadRecords()) {
    ParseResult first = Parse(r.query);
    if (!first.ok()) continue;
    SCOPED_TRACE(r.query);
    for (const std::string& text : {ToString(*first.expr), Prettify(*first.expr)}) {
      ParseResult second = Parse(text);
      ASSERT_TRUE(second.ok()) << text << ": " << second.error.ToString();
      EXPECT_TRUE(SameTree(*first.expr, *second.expr)) << text;
      EXPECT_EQ(ToString(*second.expr), ToString(*first.expr));
    }
  }
}

// Every node's position range is exactly its text: the slice of the query it names parses to the
// same subtree (checked for every node of every valid corpus query).
void CheckPositions(const std::string& query, const Expr& e, int* checked) {
  ASSERT_LE(0, e.pos.start);
  ASSERT_LE(e.pos.start, e.pos.end);
  ASSERT_LE(static_cast<size_t>(e.pos.end), query.size());
  const std::string slice = query.substr(e.pos.start, e.pos.end - e.pos.start);
  ParseResult r = Parse(slice);
  ASSERT_TRUE(r.ok()) << "node text " << slice << " of " << query << ": " << r.error.ToString();
  EXPECT_TRUE(SameTree(*r.expr, e)) << "node text " << slice << " of " << query;
  ++*checked;
  for (const Expr* c : {e.lhs.get(), e.rhs.get(), e.param.get()}) {
    if (c) CheckPositions(query, *c, checked);
  }
  // A range selector's inner selector has no text of its own without the range.
  if (e.expr && e.kind != NodeKind::kMatrixSelector) CheckPositions(query, *e.expr, checked);
  for (const auto& a : e.args) CheckPositions(query, *a, checked);
}

TEST(PromqlCorpus, NodePositionsAreTheirText) {
  int checked = 0;
  for (const Record& r : LoadRecords()) {
    ParseResult parsed = Parse(r.query);
    if (parsed.ok()) CheckPositions(r.query, *parsed.expr, &checked);
  }
  EXPECT_GT(checked, 3000);
}

ExprPtr MustParse(const std::string& q) {
  ParseResult r = Parse(q);
  EXPECT_TRUE(r.ok()) << q << ": " << r.error.ToString();
  return std::move(r.expr);
}

TEST(PromqlParser, SelectorAsData) {
  ExprPtr e = MustParse(
      R"(http_requests_total{job="api", code=~"5..", path!~"/health", env!=""} offset -5m)");
  ASSERT_EQ(e->kind, NodeKind::kVectorSelector);
  EXPECT_EQ(e->metric_name, "http_requests_total");
  ASSERT_EQ(e->matchers.size(), 5u);
  EXPECT_EQ(e->matchers[0], (LabelMatcher{MatchType::kEqual, "job", "api"}));
  EXPECT_EQ(e->matchers[1], (LabelMatcher{MatchType::kRegexMatch, "code", "5.."}));
  EXPECT_EQ(e->matchers[2], (LabelMatcher{MatchType::kRegexNoMatch, "path", "/health"}));
  EXPECT_EQ(e->matchers[3], (LabelMatcher{MatchType::kNotEqual, "env", ""}));
  EXPECT_EQ(e->matchers[4], (LabelMatcher{MatchType::kEqual, "__name__", "http_requests_total"}));
  EXPECT_EQ(e->offset_ms, -5 * 60 * 1000);
  EXPECT_EQ(e->Type(), ValueType::kVector);
  EXPECT_EQ(e->pos.start, 0);
  EXPECT_EQ(e->pos.end, 80);
}

TEST(PromqlParser, Utf8Names) {
  ExprPtr e = MustParse(R"({"http.server.duration", "service.name"="x"})");
  ASSERT_EQ(e->kind, NodeKind::kVectorSelector);
  EXPECT_EQ(e->metric_name, "http.server.duration");
  ASSERT_EQ(e->matchers.size(), 2u);
  EXPECT_EQ(e->matchers[0], (LabelMatcher{MatchType::kEqual, "service.name", "x"}));
  EXPECT_EQ(e->matchers[1], (LabelMatcher{MatchType::kEqual, "__name__", "http.server.duration"}));
  EXPECT_EQ(Parse(R"(foo{"bar"})").error.ToString(),
            R"(1:1: parse error: metric name must not be set twice: "foo" or "bar")");
  // A quoted name that would lex as a number or a keyword stays quoted.
  for (const char* q : {R"({"Inf"})", R"({"on", a="b"})", R"({"NaN"})", R"({"group_left"})"}) {
    EXPECT_EQ(ToString(*MustParse(q)).substr(0, 2), "{\"") << q;
  }
  EXPECT_EQ(ToString(*MustParse(R"({"by"})")), "by");
  EXPECT_EQ(ToString(*MustParse(R"(sum by ("without", "Inf", on) (x))")),
            R"(sum by ("without", "Inf", on) (x))");
  ExprPtr g = MustParse(R"(sum by ("service.name", job) (rate({"a.b"}[5m])))");
  EXPECT_EQ(g->grouping, (std::vector<std::string>{"service.name", "job"}));
  EXPECT_EQ(ToString(*g), R"(sum by ("service.name", job) (rate({"a.b"}[5m])))");
}

TEST(PromqlParser, RangesSubqueriesAndAt) {
  ExprPtr m = MustParse("rate(foo[5m] @ 1609746000.5 offset 1h)");
  ASSERT_EQ(m->kind, NodeKind::kCall);
  EXPECT_EQ(m->func->name, "rate");
  const Expr& ms = *m->args[0];
  ASSERT_EQ(ms.kind, NodeKind::kMatrixSelector);
  EXPECT_EQ(ms.range_ms, 300000);
  EXPECT_EQ(ms.expr->at, AtKind::kTimestamp);
  EXPECT_EQ(ms.expr->at_ms, 1609746000500);
  EXPECT_EQ(ms.expr->offset_ms, 3600000);
  EXPECT_EQ(ms.pos.start, 5);
  EXPECT_EQ(ms.pos.end, 37);
  EXPECT_EQ(ms.Type(), ValueType::kMatrix);

  ExprPtr s = MustParse("max_over_time(rate(x[1m])[1h:30s] @ end() offset -2m)");
  const Expr& sq = *s->args[0];
  ASSERT_EQ(sq.kind, NodeKind::kSubquery);
  EXPECT_EQ(sq.range_ms, 3600000);
  EXPECT_EQ(sq.step_ms, 30000);
  EXPECT_EQ(sq.at, AtKind::kEnd);
  EXPECT_EQ(sq.offset_ms, -120000);
  ExprPtr d = MustParse("foo[5m:]");
  EXPECT_EQ(d->step_ms, 0);
  EXPECT_EQ(MustParse("foo @ start()")->at, AtKind::kStart);
}

TEST(PromqlParser, PrecedenceAndAssociativity) {
  // 2 ^ 3 ^ 2 is 2 ^ (3 ^ 2); 1 - 2 - 3 is (1 - 2) - 3; -1 ^ 2 is -(1 ^ 2).
  ExprPtr pow = MustParse("2 ^ 3 ^ 2");
  EXPECT_EQ(pow->lhs->kind, NodeKind::kNumber);
  EXPECT_EQ(pow->rhs->kind, NodeKind::kBinary);
  ExprPtr sub = MustParse("1 - 2 - 3");
  EXPECT_EQ(sub->lhs->kind, NodeKind::kBinary);
  EXPECT_EQ(sub->rhs->number, 3);
  ExprPtr neg = MustParse("-1 ^ 2");
  ASSERT_EQ(neg->kind, NodeKind::kUnary);
  EXPECT_TRUE(neg->unary_minus);
  EXPECT_EQ(neg->expr->binary_op, BinaryOp::kPow);
  ExprPtr folded = MustParse("- 1");
  EXPECT_EQ(folded->kind, NodeKind::kNumber);
  EXPECT_EQ(folded->number, -1);
  ExprPtr sets = MustParse("a or b and c unless d");  // and/unless bind tighter than or
  EXPECT_EQ(sets->binary_op, BinaryOp::kOr);
  EXPECT_EQ(sets->rhs->binary_op, BinaryOp::kUnless);
}

TEST(PromqlParser, VectorMatching) {
  ExprPtr e = MustParse("a / on(x, y) group_left(z) b");
  ASSERT_NE(e->matching, nullptr);
  EXPECT_TRUE(e->matching->on);
  EXPECT_EQ(e->matching->card, Cardinality::kManyToOne);
  EXPECT_EQ(e->matching->matching_labels, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(e->matching->include, (std::vector<std::string>{"z"}));
  EXPECT_EQ(MustParse("a and b")->matching->card, Cardinality::kManyToMany);
  EXPECT_EQ(MustParse("a + 1")->matching, nullptr);
  ExprPtr b = MustParse("a > bool 1");
  EXPECT_TRUE(b->return_bool);
}

TEST(PromqlParser, Aggregations) {
  for (const char* op : {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"}) {
    ExprPtr e = MustParse(std::string(op) + " without (a) (x)");
    EXPECT_EQ(AggregateOpString(e->aggregate_op), op);
    EXPECT_TRUE(e->without);
    EXPECT_EQ(e->param, nullptr);
  }
  for (const char* op : {"topk", "bottomk", "quantile", "limitk", "limit_ratio"}) {
    ExprPtr e = MustParse(std::string(op) + "(0.5, x) by (a)");
    EXPECT_EQ(AggregateOpString(e->aggregate_op), op);
    ASSERT_NE(e->param, nullptr);
    EXPECT_EQ(e->param->number, 0.5);
    EXPECT_EQ(e->grouping, (std::vector<std::string>{"a"}));
    EXPECT_EQ(e->pos.end, static_cast<int32_t>(std::string(op).size()) + 15);
  }
  ExprPtr cv = MustParse(R"(count_values("v", x))");
  EXPECT_EQ(cv->param->str, "v");
  EXPECT_EQ(Parse("limitk(x, y)").error.ToString(),
            "1:8: parse error: expected type scalar in aggregation parameter, got instant vector");
}

TEST(PromqlParser, Literals) {
  EXPECT_EQ(MustParse("0x1F")->number, 31);
  EXPECT_EQ(MustParse("0755")->number, 493);
  EXPECT_TRUE(std::isinf(MustParse("Inf")->number));
  EXPECT_TRUE(std::isnan(MustParse("nAn")->number));
  EXPECT_EQ(MustParse("1e3")->number, 1000);
  EXPECT_EQ(MustParse(R"("a\tb\x41\u00e9")")->str, "a\tbA\xc3\xa9");
  EXPECT_EQ(MustParse(R"('it\'s')")->str, "it's");
  EXPECT_EQ(MustParse("`raw\\n`")->str, "raw\\n");
  EXPECT_EQ(MustParse(R"("\377")")->str, "\xff");
  EXPECT_EQ(ToString(*MustParse(R"("\377")")), R"("\xff")");
}

TEST(PromqlParser, DurationsAndNumbers) {
  int64_t ms;
  std::string err;
  ASSERT_TRUE(ParsePromDuration("1y2w3d4h5m6s7ms", &ms, &err));
  EXPECT_EQ(ms,
            31536000000 + 2 * 604800000LL + 3 * 86400000LL + 4 * 3600000 + 5 * 60000 + 6000 + 7);
  EXPECT_FALSE(ParsePromDuration("1m1h", &ms, &err));
  EXPECT_EQ(err, R"(not a valid duration string: "1m1h")");
  EXPECT_FALSE(ParsePromDuration("999999999999y", &ms, &err));
  EXPECT_EQ(err, "duration out of range");
  EXPECT_EQ(FormatDuration(90 * 86400000LL), "90d");
  EXPECT_EQ(FormatDuration(14 * 86400000LL), "2w");
  EXPECT_EQ(FormatDuration(5400000), "1h30m");
  EXPECT_EQ(FormatDuration(1), "1ms");
  EXPECT_EQ(FormatNumber(1e6), "1e+06");
  EXPECT_EQ(FormatNumber(123456), "123456");
  EXPECT_EQ(FormatNumber(-INFINITY), "-Inf");
}

TEST(PromqlFunctions, Table) {
  const Function* rate = FindFunction("rate");
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ(rate->arg_types, (std::vector<ValueType>{ValueType::kMatrix}));
  EXPECT_EQ(rate->return_type, ValueType::kVector);
  EXPECT_EQ(FindFunction("time")->return_type, ValueType::kScalar);
  EXPECT_EQ(FindFunction("label_join")->variadic, -1);
  EXPECT_EQ(FindFunction("round")->variadic, 1);
  EXPECT_EQ(FindFunction("RATE"), nullptr);
  EXPECT_TRUE(FindFunction("double_exponential_smoothing")->later);
  EXPECT_FALSE(FindFunction("holt_winters")->later);
  // Every function of 2.42 (70) and the 8 later ones.
  EXPECT_EQ(AllFunctions().size(), 78u);
  int later = 0;
  for (const Function& f : AllFunctions()) later += f.later;
  EXPECT_EQ(later, 8);
  EXPECT_EQ(
      Parse("sort_by_label()").error.ToString(),
      R"(1:1: parse error: expected at least 1 argument(s) in call to "sort_by_label", got 0)");
}

TEST(PromqlParser, NestingIsBounded) {
  std::string deep(5000, '(');
  deep += "1";
  deep += std::string(5000, ')');
  ParseResult r = Parse(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.message.find("nests too deeply"), std::string::npos);
  std::string chain = "1";
  for (int i = 0; i < 3000; ++i) chain += " + 1";
  EXPECT_FALSE(Parse(chain).ok());
  std::string ok = "1";
  for (int i = 0; i < 500; ++i) ok += " + 1";
  EXPECT_TRUE(Parse(ok).ok());
}

TEST(PromqlParser, ErrorPositionsCountLinesAndBytes) {
  ParseResult r = Parse("foo +\n  é bar");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.line, 2);
  EXPECT_EQ(r.error.column, 3);
}

}  // namespace
}  // namespace sprout::metrics::promql
