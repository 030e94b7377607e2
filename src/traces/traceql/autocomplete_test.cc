// Tests of ExtractMatchers: the `q` of the tag endpoints as Grafana's editor sends it, narrowed
// to its matchers (autocomplete.h). Expected filters are written from each input by the rules
// of autocomplete.h, in the printer's canonical form.
#include "traces/traceql/autocomplete.h"

#include <string>

#include "gtest/gtest.h"
#include "traces/traceql/parser.h"

namespace sprout::traces::traceql {
namespace {

struct Case {
  std::string_view in;
  std::string_view want;
};

void Check(const Case& c) {
  const std::string got = ExtractMatchers(c.in);
  EXPECT_EQ(got, c.want) << "input: " << c.in;
  if (!got.empty()) {
    EXPECT_TRUE(Parse(got).ok()) << got;
  }
}

TEST(ExtractMatchers, NoFilter) {
  for (const Case& c : std::initializer_list<Case>{
           {"", ""},
           {"   ", ""},
           {"{}", ""},
           {" { } ", ""},
           {"{", ""},
           {"{ span.foo =", ""},
           {"{ statusMessage = }", ""},
           {"garbage", ""},
           {"{ invalid syntax }", ""},
           {"}}} && ((", ""},
           {"\"unterminated", ""},
           {"{ .a = \"x\" } && { .b = 1 }", ""},
           {"{ .a = \"x\" } >> { .b = }", ""},
           {"{ .a = \"x\" && .c = } >> { .b = 1 }", ""},
           {"count() > 2", ""},
           {"{ true }", ""},
           {"{ .a }", ""},
           {"{ .a != nil }", ""},
           {"{ .a = .b }", ""},
           {"{ .a + 1 > 2 }", ""},
           {"{ !(.a = 1) }", ""},
           {"{ .a = 1 || .b }", ""},
           {"{ .a = 1 || .b + 1 = 2 }", ""},
       }) {
    Check(c);
  }
}

TEST(ExtractMatchers, CompleteQueriesKeepTheirMatchers) {
  for (const Case& c : std::initializer_list<Case>{
           {R"({ resource.service.name = "a" })", R"({ resource.service.name = "a" })"},
           {R"({resource.service.name="a"&&span.http.method="GET"})",
            R"({ resource.service.name = "a" && span.http.method = "GET" })"},
           {R"({ .a = "x" || .b = 1 })", R"({ .a = "x" || .b = 1 })"},
           // `&&` and `||` are one precedence level, left-associative: no parentheses needed.
           {R"({ (.a = "x" || .b = 1) && duration > 1s })",
            R"({ .a = "x" || .b = 1 && duration > 1s })"},
           {R"({ duration > 1s && (.a = "x" || .b = 1) })",
            R"({ duration > 1s && (.a = "x" || .b = 1) })"},
           {R"({ name = "x" })", R"({ name = "x" })"},
           {"{ kind = server && status = error }", "{ kind = server && status = error }"},
           {R"({ event:name = "exception" })", R"({ event:name = "exception" })"},
           {R"({ span."foo bar" = "baz" })", R"({ span."foo bar" = "baz" })"},
           {R"({ span.foo-bar = "<>:b5[]" })", R"({ span.foo-bar = "<>:b5[]" })"},
           {R"q({ .foo =~ "(a|b)" && .bar !~ "c.*" })q",
            R"q({ .foo =~ "(a|b)" && .bar !~ "c.*" })q"},
           {"{ .a = nil }", "{ .a = nil }"},
           {"{ .a >= -1 }", "{ .a >= -1 }"},
           {"{ 2 = .b }", "{ 2 = .b }"},
           {R"({ .a = " b a r " }   )", R"({ .a = " b a r " })"},
           // Non-matchers drop out of an &&.
           {R"({ .a = 1 && .b + 1 > 2 })", "{ .a = 1 }"},
           {R"({ .a != nil && .b = "x" })", R"({ .b = "x" })"},
           {R"({ !(.a = 1) && .b = "x" })", R"({ .b = "x" })"},
           {R"({ .a = 1 && (.b || .c = 2) })", "{ .a = 1 }"},
           // The first filter of a pipeline.
           {R"({ name = "x" } | count() > 1)", R"({ name = "x" })"},
           {R"({ .a = "x" } | select(.b))", R"({ .a = "x" })"},
           {R"({ .a = "x" } | { .b = "y" })", R"({ .a = "x" })"},
       }) {
    Check(c);
  }
}

TEST(ExtractMatchers, UnfinishedQueries) {
  for (const Case& c : std::initializer_list<Case>{
           {R"({ resource.service.name="a" && span.foo=)", R"({ resource.service.name = "a" })"},
           {"{ .http.status_code = 200 && .http.method = }", "{ .http.status_code = 200 }"},
           {"{ 2 = .b ", "{ 2 = .b }"},
           {R"({ .s = "foo" && .code = 200 && .m = "GET" && .cluster = })",
            R"({ .s = "foo" && .code = 200 && .m = "GET" })"},
           {"{ duration > 5s && .success = true && .cluster = }",
            "{ duration > 5s && .success = true }"},
           {R"({ span.foo = "<>:b5[]" && resource.service.name = })",
            R"({ span.foo = "<>:b5[]" })"},
           {R"({ .a = "x" || .b = })", R"({ .a = "x" })"},
           {R"({ .b = || .a = "x" })", R"({ .a = "x" })"},
           {R"({ (resource.foo = "bar" && .baz = ) && .qux = "quux" })",
            R"({ resource.foo = "bar" && .qux = "quux" })"},
           {R"({ (resource.foo = && .baz = ) && .qux = "quux" })", R"({ .qux = "quux" })"},
           {R"({ (.a = "x" && .b = )", R"({ .a = "x" })"},
           {R"({ .a = "x" && .b = "unterminated)", R"({ .a = "x" })"},
           {R"({ .a = "x" && span. )", R"({ .a = "x" })"},
           {R"({ .a = "x" && .b })", R"({ .a = "x" })"},
           // Everything after the first pipe is ignored when the query does not parse.
           {R"({ .s = "foo" && .foo = } | rate() by (.bar))", R"({ .s = "foo" })"},
           {R"({ .s = "foo" && .foo = } | select(.bar, .baz))", R"({ .s = "foo" })"},
           {R"({ .a = "x" } | count())", R"({ .a = "x" })"},
       }) {
    Check(c);
  }
}

// Every prefix of queries as they are typed, character by character: the filter parses, is a
// fixed point (narrowing it again gives it back), and never holds a matcher the prefix does not
// complete.
TEST(ExtractMatchers, EveryPrefixWhileTyping) {
  for (
      std::string_view q : {
          R"({ resource.service.name = "frontend" && span.http.status_code >= 500 || (name =~ "GET.*" && kind = server) } | count() > 2)",
          R"({ .a = "x\"y" && span."team name" != nil && duration > 1.5s && event:name = `raw` } >> { .b = -1 })",
          R"({ status = error && !(.a = 1) && .b + 2 > .c && trace:rootService = "r" } with (most_recent=true))",
      }) {
    for (size_t n = 0; n <= q.size(); ++n) {
      const std::string prefix(q.substr(0, n));
      const std::string got = ExtractMatchers(prefix);
      if (got.empty()) continue;
      EXPECT_TRUE(Parse(got).ok()) << prefix << " -> " << got;
      EXPECT_EQ(ExtractMatchers(got), got) << prefix;
    }
  }
  // Spot checks along the first query.
  EXPECT_EQ(ExtractMatchers(R"({ resource.service.name = "frontend" && span.http.status_code >)"),
            R"({ resource.service.name = "frontend" })");
  EXPECT_EQ(
      ExtractMatchers(R"({ resource.service.name = "frontend" && span.http.status_code >= 5)"),
      R"({ resource.service.name = "frontend" && span.http.status_code >= 5 })");
  EXPECT_EQ(
      ExtractMatchers(
          R"({ resource.service.name = "frontend" && span.http.status_code >= 500 || (name =~ "GE)"),
      R"({ resource.service.name = "frontend" && span.http.status_code >= 500 })");
}

}  // namespace
}  // namespace sprout::traces::traceql
