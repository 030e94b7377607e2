#include "metrics/api/params.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::metrics::api {
namespace {

using Op = MatcherSpec::Op;

std::string ErrorOf(std::string_view selector) {
  auto r = ParseSeriesSelector(selector);
  return r.ok() ? "ok" : std::string(r.status().message());
}

TEST(ParamsTest, TimestampsAsUnixSecondsOrRfc3339) {
  EXPECT_EQ(*ParseTimestamp("1700000000"), 1700000000000);
  EXPECT_EQ(*ParseTimestamp("1700000000.123"), 1700000000123);
  EXPECT_EQ(*ParseTimestamp("1700000000.1236"), 1700000000124);  // rounded to ms
  EXPECT_EQ(*ParseTimestamp("-1.5"), -1500);
  EXPECT_EQ(*ParseTimestamp("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(*ParseTimestamp("2023-11-14T22:13:20.5+01:00"), 1700000000000 - 3600000 + 500);
  EXPECT_EQ(ParseTimestamp("x").status().message(), "cannot parse \"x\" to a valid timestamp");
  EXPECT_EQ(ParseTimestamp("2023-13-01T00:00:00Z").status().message(),
            "cannot parse \"2023-13-01T00:00:00Z\" to a valid timestamp");
}

TEST(ParamsTest, TimeParamErrorNamesTheParameter) {
  EXPECT_EQ(*ParseTimeParam("start", "", kMinTimeMs), kMinTimeMs);
  EXPECT_EQ(*ParseTimeParam("end", "", kMaxTimeMs), kMaxTimeMs);
  EXPECT_EQ(ParseTimeParam("start", "x", kMinTimeMs).status().message(),
            "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp");
  EXPECT_EQ(ParseTimeParam("end", "tomorrow", kMaxTimeMs).status().message(),
            "invalid parameter \"end\": cannot parse \"tomorrow\" to a valid timestamp");
}

TEST(ParamsTest, MinAndMaxTimeAreThoseOfPrometheus) {
  // Prometheus: time.Unix(math.MinInt64/1000+62135596801, 0) and
  // time.Unix(math.MaxInt64/1000-62135596801, 999999999), in milliseconds.
  EXPECT_EQ(kMinTimeMs, (INT64_MIN / 1000 + 62135596801) * 1000);
  EXPECT_EQ(kMaxTimeMs, (INT64_MAX / 1000 - 62135596801) * 1000 + 999);
  EXPECT_EQ(*ParseTimestamp("1e300"), kMaxTimeMs);
}

TEST(ParamsTest, Limit) {
  EXPECT_EQ(*ParseLimitParam(""), 0);
  EXPECT_EQ(*ParseLimitParam("0"), 0);
  EXPECT_EQ(*ParseLimitParam("40000"), 40000);
  EXPECT_EQ(ParseLimitParam("x").status().message(),
            "invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax");
  EXPECT_EQ(ParseLimitParam("1.5").status().message(),
            "invalid parameter \"limit\": strconv.Atoi: parsing \"1.5\": invalid syntax");
  EXPECT_EQ(ParseLimitParam("99999999999999999999").status().message(),
            "invalid parameter \"limit\": strconv.Atoi: parsing \"99999999999999999999\": value "
            "out of range");
  EXPECT_EQ(ParseLimitParam("-1").status().message(),
            "invalid parameter \"limit\": limit must be non-negative");
}

TEST(ParamsTest, GoAtoiBounds) {
  EXPECT_EQ(*GoAtoi("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(*GoAtoi("+9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(GoAtoi("9223372036854775808").ok());
  EXPECT_FALSE(GoAtoi("").ok());
  EXPECT_FALSE(GoAtoi("-").ok());
}

TEST(ParamsTest, SelectorsParse) {
  auto r = ParseSeriesSelector(R"(up{job="a", instance=~"b.*",x!="",y!~'z',})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, (MatcherSpecSet{{Op::kEqual, "__name__", "up"},
                                {Op::kEqual, "job", "a"},
                                {Op::kRegexMatch, "instance", "b.*"},
                                {Op::kNotEqual, "x", ""},
                                {Op::kRegexNoMatch, "y", "z"}}));
  EXPECT_EQ(*ParseSeriesSelector("  node_cpu:rate5m  "),
            (MatcherSpecSet{{Op::kEqual, "__name__", "node_cpu:rate5m"}}));
  EXPECT_EQ(
      *ParseSeriesSelector(R"({"http.status"="200", "my.metric"})"),
      (MatcherSpecSet{{Op::kEqual, "http.status", "200"}, {Op::kEqual, "__name__", "my.metric"}}));
  EXPECT_EQ(*ParseSeriesSelector(R"({a="\"q\"\n\u00e9", b=`\d+`})"),
            (MatcherSpecSet{{Op::kEqual, "a", "\"q\"\n\xc3\xa9"}, {Op::kEqual, "b", "\\d+"}}));
}

TEST(ParamsTest, SelectorErrorsAsPrometheusWordsThem) {
  EXPECT_EQ(ErrorOf("some{"), "1:6: parse error: unexpected end of input inside braces");
  EXPECT_EQ(ErrorOf("some_metric{a=b}"),
            "1:15: parse error: unexpected identifier \"b\" in label matching, expected string");
  EXPECT_EQ(ErrorOf(R"(some_metric{a:b="b"})"),
            "1:14: parse error: unexpected character inside braces: ':'");
  EXPECT_EQ(ErrorOf(R"(foo{a*"b"})"), "1:6: parse error: unexpected character inside braces: '*'");
  EXPECT_EQ(ErrorOf("up{, namespace}"),
            "1:4: parse error: unexpected \",\" in label matching, expected identifier or \"}\"");
  EXPECT_EQ(ErrorOf("{a}"),
            "1:3: parse error: unexpected \"}\" in label matching, expected label matching "
            "operator");
  EXPECT_EQ(ErrorOf(R"({a="b" c="d"})"),
            "1:8: parse error: unexpected identifier \"c\" in label matching, expected \",\" or "
            "\"}\"");
  EXPECT_EQ(ErrorOf("{}"),
            "1:1: parse error: vector selector must contain at least one non-empty matcher");
  EXPECT_EQ(ErrorOf(R"({a=~".*"})"),
            "1:1: parse error: vector selector must contain at least one non-empty matcher");
  EXPECT_EQ(ErrorOf(R"({a="b)"), "1:4: parse error: unterminated quoted string");
  EXPECT_EQ(ErrorOf("some}"), "1:5: parse error: could not parse remaining input \"}\"...");
  EXPECT_EQ(ErrorOf(R"(up{__name__="x"})"),
            "1:1: parse error: metric name must not be set twice: \"up\" or \"x\"");
  EXPECT_THAT(ErrorOf(R"({a=~"("})"),
              ::testing::StartsWith("1:5: parse error: error parsing regexp: "));
}

TEST(ParamsTest, MatchParamNeedsANonEmptyMatcherInEverySet) {
  auto ok = ParseMatchersParam({"up", R"({job="x"})"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_EQ(ParseMatchersParam({"up", "{"}).status().message(),
            "1:2: parse error: unexpected end of input inside braces");
  EXPECT_TRUE(ParseMatchersParam({}).ok());
}

TEST(ParamsTest, MatchesEmpty) {
  EXPECT_TRUE((MatcherSpec{Op::kEqual, "a", ""}).MatchesEmpty());
  EXPECT_FALSE((MatcherSpec{Op::kEqual, "a", "x"}).MatchesEmpty());
  EXPECT_TRUE((MatcherSpec{Op::kNotEqual, "a", "x"}).MatchesEmpty());
  EXPECT_TRUE((MatcherSpec{Op::kRegexMatch, "a", "x|"}).MatchesEmpty());
  EXPECT_FALSE((MatcherSpec{Op::kRegexMatch, "a", "x+"}).MatchesEmpty());
  EXPECT_TRUE((MatcherSpec{Op::kRegexNoMatch, "a", "x+"}).MatchesEmpty());
}

TEST(ParamsTest, LabelNameUnescaping) {
  EXPECT_EQ(*UnescapeLabelNameParam("job"), "job");
  EXPECT_EQ(*UnescapeLabelNameParam("U__http_2e_status__code"), "http.status_code");
  EXPECT_EQ(*UnescapeLabelNameParam("U__a_20_b"), "a b");
  EXPECT_EQ(UnescapeLabelNameParam("").status().message(), "invalid label name: \"\"");
  EXPECT_EQ(UnescapeLabelNameParam("U__a_zz_").status().message(),
            "invalid label name: \"U__a_zz_\"");
}

}  // namespace
}  // namespace sprout::metrics::api
