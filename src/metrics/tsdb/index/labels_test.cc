#include "metrics/tsdb/index/labels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/hash.h"

namespace sprout::metrics::tsdb {
namespace {

std::vector<Label> Collect(const Labels& labels) {
  std::vector<Label> out;
  for (Label l : labels) out.push_back(l);
  return out;
}

TEST(LabelsTest, FromStringsSortsAndIterates) {
  const Labels ls = Labels::FromStrings({"job", "api", "__name__", "up", "instance", "h:9100"});
  ASSERT_EQ(ls.size(), 3u);
  const std::vector<Label> want = {{"__name__", "up"}, {"instance", "h:9100"}, {"job", "api"}};
  EXPECT_EQ(Collect(ls), want);
  EXPECT_EQ(ls.Get("job"), "api");
  EXPECT_EQ(ls.Get("missing"), "");
  EXPECT_TRUE(ls.Has("instance"));
  EXPECT_FALSE(ls.Has("zzz"));
  EXPECT_FALSE(ls.Has("a"));
  EXPECT_EQ(ls.MetricName(), "up");
}

TEST(LabelsTest, EmptySet) {
  const Labels ls;
  EXPECT_TRUE(ls.empty());
  EXPECT_EQ(ls.size(), 0u);
  EXPECT_EQ(ls.begin(), ls.end());
  EXPECT_EQ(ls.bytes(), "");
  EXPECT_EQ(ls.ToString(), "{}");
  EXPECT_EQ(ls.Hash(), 0u);  // HashLabels of no labels is the count, 0
  EXPECT_EQ(ls, Labels::FromSorted({}));
}

TEST(LabelsTest, CanonicalBytesAreLengthPrefixedPairs) {
  const Labels ls = Labels::FromStrings({"b", "", "a", "xyz"});
  // a=xyz then b="" : uvarint lengths before each string.
  EXPECT_EQ(ls.bytes(), std::string("\x01"
                                    "a"
                                    "\x03"
                                    "xyz"
                                    "\x01"
                                    "b"
                                    "\x00",
                                    9));
  // A 200-byte value takes a two-byte varint: 200 = 0xc8 → 0xc8 0x01.
  const std::string long_value(200, 'v');
  const Labels long_ls = Labels::FromStrings({"n", long_value});
  EXPECT_EQ(long_ls.bytes().substr(0, 4), std::string("\x01n\xc8\x01"));
  EXPECT_EQ(long_ls.bytes().size(), 4u + 200u);
  EXPECT_EQ(long_ls.Get("n"), long_value);
}

TEST(LabelsTest, EqualityIsByteEquality) {
  const Labels a = Labels::FromStrings({"x", "1", "y", "2"});
  const Labels b = Labels::FromStrings({"y", "2", "x", "1"});
  const Labels c = Labels::FromStrings({"x", "1", "y", "3"});
  const Labels d = Labels::FromStrings({"x", "12"});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.bytes(), b.bytes());
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  // ("x","1"),("y","2") vs ("x","1y"),... : length prefixes keep boundaries apart.
  EXPECT_NE(Labels::FromStrings({"a", "bc"}), Labels::FromStrings({"ab", "c"}));
}

TEST(LabelsTest, CopiesShareTheBufferAndMovesSteal) {
  Labels a = Labels::FromStrings({"__name__", "up"});
  const char* data = a.bytes().data();
  Labels b = a;
  EXPECT_EQ(b.bytes().data(), data);  // shared, not copied
  Labels c = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is the empty set
  EXPECT_EQ(c.bytes().data(), data);
  a = c;
  EXPECT_EQ(a, b);
  b = Labels();
  EXPECT_EQ(a.Get("__name__"), "up");
  c = std::move(c);  // self-move leaves it intact
  EXPECT_EQ(c.Get("__name__"), "up");
}

TEST(LabelsTest, CopiesAcrossThreads) {
  const Labels shared = Labels::FromStrings({"__name__", "up", "job", "api"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        Labels copy = shared;
        Labels moved = std::move(copy);
        ASSERT_EQ(moved.Get("job"), "api");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(shared.Get("job"), "api");
}

// The hash is base/hash.h's HashLabels, whose values were computed by an independent
// implementation (see base/hash_test.cc); it must never change.
TEST(LabelsTest, HashIsPinned) {
  const Labels request =
      Labels::FromStrings({"__name__", "http_requests_total", "job", "api", "method", "GET"});
  EXPECT_EQ(request.Hash(), 0xb03254555ddcba9aULL);
  const Labels long_value = Labels::FromSorted(
      std::vector<Label>{{"instance", "0f8e5a1c-2b7d-4e36-9a51-6c3d2e1f0a9b"}, {"x", ""}});
  EXPECT_EQ(long_value.Hash(), 0x635658bba1a2619fULL);
}

TEST(LabelsTest, HashEqualsHashLabelsOfTheViews) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    LabelsBuilder b;
    const int n = static_cast<int>(rng() % 10);
    for (int i = 0; i < n; ++i) {
      b.Set(absl::StrCat("n", rng() % 20), std::string(rng() % 40, 'a' + rng() % 26));
    }
    const Labels ls = b.Build();
    std::vector<LabelView> views;
    for (Label l : ls) views.push_back({l.name, l.value});
    EXPECT_EQ(ls.Hash(), HashLabels(views));
  }
}

TEST(LabelsTest, PrometheusOrder) {
  const Labels a1 = Labels::FromStrings({"a", "1"});
  const Labels a1b1 = Labels::FromStrings({"a", "1", "b", "1"});
  const Labels a1c1 = Labels::FromStrings({"a", "1", "c", "1"});
  const Labels a2 = Labels::FromStrings({"a", "2"});
  const Labels aa1 = Labels::FromStrings({"aa", "1"});
  const Labels b1 = Labels::FromStrings({"b", "1"});
  EXPECT_LT(a1, a1b1);    // a prefix sorts first
  EXPECT_LT(a1b1, a1c1);  // names compared before values
  EXPECT_LT(a1c1, a2);
  EXPECT_LT(a2, aa1);
  // Byte-wise the encodings order b1 ("\x01b") before aa1 ("\x02aa"); Prometheus's order does not.
  EXPECT_LT(aa1, b1);
  EXPECT_GT(aa1.bytes(), b1.bytes());
  EXPECT_EQ(Labels::Compare(a1, Labels::FromStrings({"a", "1"})), 0);
  EXPECT_EQ(Labels::Compare(b1, aa1), 1);
  EXPECT_EQ(Labels::Compare(Labels(), a1), -1);
}

TEST(LabelsTest, ToStringPrometheusForm) {
  EXPECT_EQ(Labels::FromStrings({"a", "b", "__name__", "x"}).ToString(),
            R"({__name__="x", a="b"})");
  EXPECT_EQ(Labels::FromStrings({"a", "say \"hi\"\\\n\t"}).ToString(), R"({a="say \"hi\"\\\n\t"})");
  // A name outside the legacy charset is quoted.
  EXPECT_EQ(Labels::FromStrings({"my.name", "v"}).ToString(), R"({"my.name"="v"})");
}

TEST(LabelsTest, GoQuoting) {
  auto quote = [](std::string_view s) {
    std::string out;
    AppendGoQuoted(out, s);
    return out;
  };
  EXPECT_EQ(quote(""), R"("")");
  EXPECT_EQ(quote(std::string("a\0b", 3)), R"("a\x00b")");
  EXPECT_EQ(quote("\a\b\f\r\v\x7f"), R"("\a\b\f\r\v\x7f")");
  EXPECT_EQ(quote("\xff"
                  "ok"),
            R"("\xffok")");                                        // invalid UTF-8 byte
  EXPECT_EQ(quote("\xc3\xa9t\xc3\xa9"), "\"\xc3\xa9t\xc3\xa9\"");  // été printable
  EXPECT_EQ(quote("\xc2\xa0"), R"("\u00a0")");                     // NBSP is not printable in Go
  EXPECT_EQ(quote("\xc2\x85"), R"("\u0085")");                     // C1 control
  EXPECT_EQ(quote("\xe2\x80\xa8"), R"("\u2028")");                 // line separator
  EXPECT_EQ(quote("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");    // emoji printable
  EXPECT_EQ(quote("\xf3\xb0\x80\x80"), R"("\U000f0000")");         // plane 15 private use
  EXPECT_EQ(quote("\xed\xa0\x80"), R"("\xed\xa0\x80")");           // a surrogate is invalid UTF-8
  EXPECT_EQ(quote("\xc0\xaf"), R"("\xc0\xaf")");                   // overlong encoding
}

TEST(LabelsTest, FromBytesRoundTripsAndRefusesBadInput) {
  const Labels ls = Labels::FromStrings({"__name__", "up", "job", "", "zone", "eu-1"});
  absl::StatusOr<Labels> back = Labels::FromBytes(ls.bytes());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, ls);
  EXPECT_EQ(back->size(), 3u);
  EXPECT_TRUE(Labels::FromBytes("")->empty());

  EXPECT_FALSE(Labels::FromBytes(std::string("\x05"
                                             "ab",
                                             3))
                   .ok());  // truncated name
  EXPECT_FALSE(Labels::FromBytes(std::string("\x01"
                                             "a",
                                             2))
                   .ok());  // no value
  EXPECT_FALSE(Labels::FromBytes(std::string("\x01"
                                             "a"
                                             "\x02"
                                             "x",
                                             4))
                   .ok());  // truncated value
  EXPECT_FALSE(Labels::FromBytes(std::string("\x81\x00"
                                             "a"
                                             "\x00",
                                             4))
                   .ok());  // overlong varint
  EXPECT_FALSE(Labels::FromBytes(std::string("\x01"
                                             "b\x00\x01"
                                             "a\x00",
                                             6))
                   .ok());  // unsorted
  EXPECT_FALSE(Labels::FromBytes(std::string("\x01"
                                             "a\x00\x01"
                                             "a\x00",
                                             6))
                   .ok());                                                           // duplicate
  EXPECT_FALSE(Labels::FromBytes(std::string("\xff\xff\xff\xff\xff\x01", 6)).ok());  // huge
}

TEST(LabelsBuilderTest, SetDelSortBuild) {
  LabelsBuilder b(Labels::FromStrings({"__name__", "up", "job", "api"}));
  b.Set("job", "db").Set("zone", "eu").Set("__name__", "").Del("missing");
  EXPECT_EQ(b.Build(), Labels::FromStrings({"job", "db", "zone", "eu"}));
  b.Add("job", "again");
  EXPECT_EQ(b.Get("job"), "again");
  EXPECT_EQ(b.Build().Get("job"), "again");  // of repeated names the last added wins
  b.Del("job");
  EXPECT_EQ(b.Build(), Labels::FromStrings({"zone", "eu"}));
  b.Reset();
  EXPECT_TRUE(b.Build().empty());
  b.Add("b", "1").Add("a", "").Add("c", "3").DropEmptyValues().Sort();
  EXPECT_TRUE(b.Validate({.require_metric_name = false}).ok());
  EXPECT_EQ(b.Build().ToString(), R"({b="1", c="3"})");
}

LabelValidation ValidateAsGiven(std::initializer_list<std::pair<std::string, std::string>> labels,
                                const LabelValidationOptions& options = {}) {
  LabelsBuilder b;
  for (const auto& [n, v] : labels) b.Add(n, v);
  return b.Validate(options);
}

TEST(LabelsBuilderTest, ValidationCases) {
  EXPECT_TRUE(ValidateAsGiven({{"__name__", "up"}, {"job", "api"}}).ok());

  LabelValidation v = ValidateAsGiven({});
  EXPECT_EQ(v.error, LabelError::kNoLabels);

  v = ValidateAsGiven({{"job", "api"}});
  EXPECT_EQ(v.error, LabelError::kMissingMetricName);
  EXPECT_EQ(v.name, "__name__");
  EXPECT_TRUE(ValidateAsGiven({{"job", "api"}}, {.require_metric_name = false}).ok());

  v = ValidateAsGiven({{"__name__", "1up"}}, {.check_names = true});
  EXPECT_EQ(v.error, LabelError::kInvalidMetricName);
  EXPECT_EQ(v.value, "1up");
  EXPECT_TRUE(ValidateAsGiven({{"__name__", "a:b_c"}}, {.check_names = true}).ok());

  v = ValidateAsGiven({{"__name__", "up"}, {"a", "1"}, {"b", "2"}}, {.max_label_names = 2});
  EXPECT_EQ(v.error, LabelError::kTooManyLabels);

  v = ValidateAsGiven({{"", "x"}, {"__name__", "up"}});
  EXPECT_EQ(v.error, LabelError::kEmptyName);
  EXPECT_EQ(v.name, "");

  v = ValidateAsGiven({{"__name__", "up"}, {"my.label", "x"}}, {.check_names = true});
  EXPECT_EQ(v.error, LabelError::kInvalidName);
  EXPECT_EQ(v.name, "my.label");
  EXPECT_TRUE(ValidateAsGiven({{"__name__", "up"}, {"my.label", "x"}}).ok());  // UTF-8 names ok

  v = ValidateAsGiven({{"__name__", "up"}, {"abcdefghi", "x"}}, {.max_name_length = 8});
  EXPECT_EQ(v.error, LabelError::kNameTooLong);
  EXPECT_EQ(v.name, "abcdefghi");

  v = ValidateAsGiven({{"__name__", "up"}, {"a", "123456"}}, {.max_value_length = 5});
  EXPECT_EQ(v.error, LabelError::kValueTooLong);
  EXPECT_EQ(v.name, "a");
  EXPECT_EQ(v.value, "123456");

  v = ValidateAsGiven({{"__name__", "up"}, {"a", ""}});
  EXPECT_EQ(v.error, LabelError::kEmptyValue);
  EXPECT_EQ(v.name, "a");

  v = ValidateAsGiven({{"__name__", "up"}, {"a", "1"}, {"a", "2"}});
  EXPECT_EQ(v.error, LabelError::kDuplicateName);
  EXPECT_EQ(v.name, "a");

  v = ValidateAsGiven({{"job", "x"}, {"__name__", "up"}});
  EXPECT_EQ(v.error, LabelError::kUnsorted);
  EXPECT_EQ(v.name, "__name__");
  EXPECT_EQ(LabelErrorName(v.error), "labels_not_sorted");

  // Sorting fixes order but keeps duplicates adjacent, so they are still reported.
  LabelsBuilder b;
  b.Add("b", "1").Add("__name__", "up").Add("b", "2").Sort();
  v = b.Validate();
  EXPECT_EQ(v.error, LabelError::kDuplicateName);
  EXPECT_EQ(v.name, "b");
}

TEST(LabelsBuilderTest, FirstFailureInMimirOrder) {
  // Unsorted and too long: the length check of the later label comes first, as Mimir checks
  // lengths before comparing with the previous name.
  LabelValidation v =
      ValidateAsGiven({{"__name__", "up"}, {"z", "1"}, {"a", "toolong"}}, {.max_value_length = 3});
  EXPECT_EQ(v.error, LabelError::kValueTooLong);
  // Metric name is checked before anything per label.
  v = ValidateAsGiven({{"", "x"}, {"job", "a"}});
  EXPECT_EQ(v.error, LabelError::kMissingMetricName);
}

TEST(LabelsTest, LegacyCharsets) {
  EXPECT_TRUE(IsLegacyMetricName("a:b_c9"));
  EXPECT_FALSE(IsLegacyMetricName("9a"));
  EXPECT_FALSE(IsLegacyMetricName(""));
  EXPECT_TRUE(IsLegacyLabelName("_a9"));
  EXPECT_FALSE(IsLegacyLabelName("a:b"));
  EXPECT_FALSE(IsLegacyLabelName(""));
}

}  // namespace
}  // namespace sprout::metrics::tsdb
