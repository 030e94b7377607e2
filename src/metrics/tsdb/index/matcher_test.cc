#include "metrics/tsdb/index/matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "metrics/tsdb/index/labels.h"
#include "re2/re2.h"

namespace sprout::metrics::tsdb {
namespace {

using Type = Matcher::Type;
using Strategy = Matcher::Strategy;

Matcher M(Type t, std::string_view value) { return Matcher::MustCreate(t, "a", value); }

// Whether the matcher selects a series, given the series' labels (absent label → "").
bool Selects(const Matcher& m, const Labels& series) { return m.Matches(series.Get(m.name())); }

TEST(MatcherTest, EmptyValueRules) {
  const Labels without = Labels::FromStrings({"__name__", "up"});
  const Labels with_x = Labels::FromStrings({"__name__", "up", "a", "x"});

  EXPECT_TRUE(Selects(M(Type::kEqual, ""), without));  // {a=""}: series without a
  EXPECT_FALSE(Selects(M(Type::kEqual, ""), with_x));
  EXPECT_FALSE(Selects(M(Type::kNotEqual, ""), without));  // {a!=""}: series that have it
  EXPECT_TRUE(Selects(M(Type::kNotEqual, ""), with_x));
  EXPECT_TRUE(Selects(M(Type::kRegexMatch, ".*"), without));  // everything
  EXPECT_TRUE(Selects(M(Type::kRegexMatch, ".*"), with_x));
  EXPECT_FALSE(Selects(M(Type::kRegexMatch, ".+"), without));  // only series having it
  EXPECT_TRUE(Selects(M(Type::kRegexMatch, ".+"), with_x));
  EXPECT_TRUE(Selects(M(Type::kNotEqual, "x"), without));  // absent "" != "x"
  EXPECT_FALSE(Selects(M(Type::kNotEqual, "x"), with_x));
  EXPECT_TRUE(Selects(M(Type::kRegexNoMatch, "x|y"), without));
  EXPECT_FALSE(Selects(M(Type::kRegexNoMatch, ".*"), without));
  EXPECT_TRUE(Selects(M(Type::kRegexNoMatch, ".+"), without));
  EXPECT_FALSE(Selects(M(Type::kRegexNoMatch, ".+"), with_x));
  EXPECT_TRUE(Selects(M(Type::kRegexMatch, "x|"), without));  // alternation with ""

  EXPECT_TRUE(M(Type::kEqual, "").matches_empty());
  EXPECT_FALSE(M(Type::kNotEqual, "").matches_empty());
  EXPECT_TRUE(M(Type::kRegexMatch, "a*").matches_empty());
  EXPECT_FALSE(M(Type::kRegexMatch, "a+").matches_empty());
}

TEST(MatcherTest, SemanticsTable) {
  struct Case {
    Type type;
    std::string value;
    std::vector<std::string> yes;
    std::vector<std::string> no;
  };
  const std::vector<Case> cases = {
      {Type::kEqual, "foo", {"foo"}, {"", "fo", "foo2", "FOO"}},
      {Type::kNotEqual, "foo", {"", "fo", "foo2"}, {"foo"}},
      {Type::kRegexMatch, "fo", {"fo"}, {"foo", "xfo", ""}},  // fully anchored
      {Type::kRegexMatch, "foo|bar", {"foo", "bar"}, {"foobar", "fo", ""}},
      {Type::kRegexMatch, "(?:foo|bar)", {"foo", "bar"}, {"foobar"}},
      {Type::kRegexMatch, "foo.*", {"foo", "foobar", "foo\nbar"}, {"fo", "xfoo", ""}},
      {Type::kRegexMatch, "a.b", {"a\nb", "axb"}, {"ab", "a\n\nb"}},  // . matches newline
      {Type::kRegexMatch, "a|b.*", {"a", "b", "bcd"}, {"ab", "c"}},   // anchors the alternation
      {Type::kRegexMatch, "foo\\.bar", {"foo.bar"}, {"fooxbar"}},
      {Type::kRegexMatch, "[0-9]+", {"0", "123"}, {"", "1a"}},
      {Type::kRegexMatch, "(?i)abc", {"abc", "ABC", "aBc"}, {"abcd"}},
      {Type::kRegexNoMatch, "foo|bar", {"", "baz", "foobar"}, {"foo", "bar"}},
      {Type::kRegexNoMatch, "foo.*", {"", "fo", "xfoo"}, {"foo", "foox"}},
      {Type::kRegexMatch, "\\d+", {"42"}, {"", "x"}},
      {Type::kRegexMatch, "\xc3\xa9t\xc3\xa9|x", {"\xc3\xa9t\xc3\xa9", "x"}, {"ete"}},
  };
  for (const Case& c : cases) {
    const Matcher m = M(c.type, c.value);
    for (const std::string& v : c.yes) EXPECT_TRUE(m.Matches(v)) << m.ToString() << " vs " << v;
    for (const std::string& v : c.no) EXPECT_FALSE(m.Matches(v)) << m.ToString() << " vs " << v;
  }
}

TEST(MatcherTest, FastPathsAreChosen) {
  struct Case {
    std::string pattern;
    Strategy strategy;
    std::vector<std::string> set;  // for kSet
    std::string prefix;            // for kPrefix
  };
  const std::vector<Case> cases = {
      {"foo", Strategy::kSet, {"foo"}, ""},
      {"a|b|c", Strategy::kSet, {"a", "b", "c"}, ""},
      {"c|a|a", Strategy::kSet, {"a", "c"}, ""},
      {"(?:node|api)", Strategy::kSet, {"api", "node"}, ""},
      {"(node|api)", Strategy::kSet, {"api", "node"}, ""},
      {"foo\\.bar|x\\|y", Strategy::kSet, {"foo.bar", "x|y"}, ""},
      {"a|", Strategy::kSet, {"", "a"}, ""},
      {"", Strategy::kSet, {""}, ""},
      {"foo.*", Strategy::kPrefix, {}, "foo"},
      {"foo\\..*", Strategy::kPrefix, {}, "foo."},
      {".*", Strategy::kAny, {}, ""},
      {".+", Strategy::kNonEmpty, {}, ""},
      {"foo\\.*", Strategy::kRegex, {}, ""},  // repeated literal dot
      {"(a)|(b)", Strategy::kRegex, {}, ""},
      {"(?i)abc", Strategy::kRegex, {}, ""},
      {"a.b", Strategy::kRegex, {}, ""},
      {"\\d", Strategy::kRegex, {}, ""},
      {"a|b.*", Strategy::kRegex, {}, ""},
      {"x{2}", Strategy::kRegex, {}, ""},
  };
  for (const Case& c : cases) {
    const Matcher m = M(Type::kRegexMatch, c.pattern);
    EXPECT_EQ(m.strategy(), c.strategy) << c.pattern;
    if (c.strategy == Strategy::kSet) {
      EXPECT_EQ(m.set_values(), c.set) << c.pattern;
    }
    if (c.strategy == Strategy::kPrefix) {
      EXPECT_EQ(m.prefix(), c.prefix) << c.pattern;
    }
  }
  EXPECT_EQ(M(Type::kEqual, "x").strategy(), Strategy::kEqual);
  EXPECT_EQ(M(Type::kEqual, "x").set_values(), std::vector<std::string>{"x"});
}

// Every fast path must agree with RE2 on the anchored pattern.
TEST(MatcherTest, FastPathsAgreeWithRe2) {
  const std::vector<std::string> patterns = {
      "foo",    "a|b|c",   "(?:node|api)", "(node|api)", "foo\\.bar|x\\|y",
      "a|",     "",        "foo.*",        "foo\\..*",   ".*",
      ".+",     "foo\\.*", "f\\(o\\)o",    "\\[x\\]|y",  "a\\\\.*",
      "a\\\\|b"};
  const std::vector<std::string> values = {"",     "a",       "b",       "c",     "ab",       "foo",
                                           "foo.", "foo.bar", "fooxbar", "foo..", "foobar",   "x|y",
                                           "x",    "y",       "node",    "api",   "f(o)o",    "[x]",
                                           "a\\",  "a\\b",    "a\\\\",   "b",     "foo\nbar", "\n"};
  RE2::Options options;
  options.set_dot_nl(true);
  for (const std::string& p : patterns) {
    const RE2 re("^(?s:" + p + ")$", options);
    ASSERT_TRUE(re.ok()) << p;
    const Matcher pos = M(Type::kRegexMatch, p);
    const Matcher neg = M(Type::kRegexNoMatch, p);
    for (const std::string& v : values) {
      const bool want = RE2::FullMatch(v, re);
      EXPECT_EQ(pos.Matches(v), want) << p << " vs " << v;
      EXPECT_EQ(neg.Matches(v), !want) << p << " vs " << v;
    }
  }
}

TEST(MatcherTest, InvalidRegexIsAnErrorWithRe2sMessage) {
  absl::StatusOr<Matcher> m = Matcher::Create(Type::kRegexMatch, "a", "a(b");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(), "invalid regular expression \"a(b\": missing ): a(b");
  // Would compile inside the wrapping group, but not on its own.
  m = Matcher::Create(Type::kRegexNoMatch, "a", "x)|(y");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("x)|(y"), std::string_view::npos);
  EXPECT_FALSE(Matcher::Create(Type::kRegexMatch, "a", "*").ok());
  // Equality matchers take any value.
  EXPECT_TRUE(Matcher::Create(Type::kEqual, "a", "a(b").ok());
}

TEST(MatcherTest, ToStringIsPrometheusText) {
  EXPECT_EQ(Matcher::MustCreate(Type::kEqual, "job", "api").ToString(), R"(job="api")");
  EXPECT_EQ(Matcher::MustCreate(Type::kNotEqual, "job", "").ToString(), R"(job!="")");
  EXPECT_EQ(Matcher::MustCreate(Type::kRegexMatch, "job", "a\\.b").ToString(), R"(job=~"a\\.b")");
  EXPECT_EQ(Matcher::MustCreate(Type::kRegexNoMatch, "my.label", "x").ToString(),
            R"("my.label"!~"x")");
}

TEST(MatcherTest, CopiesShareTheRegex) {
  const Matcher a = M(Type::kRegexMatch, "[a-c]+");
  const Matcher b = a;
  EXPECT_TRUE(b.Matches("abc"));
  EXPECT_FALSE(b.Matches("abd"));
  EXPECT_EQ(b.strategy(), Strategy::kRegex);
}

}  // namespace
}  // namespace sprout::metrics::tsdb
