#include "metrics/ingest/mimir_text.h"

#include <gtest/gtest.h>

#include <string>

namespace sprout::metrics::ingest::text {
namespace {

std::string Quote(std::string_view s) {
  std::string out;
  AppendGoQuote(s, &out);
  return out;
}

TEST(MimirText, Utf8AsGoAcceptsIt) {
  EXPECT_TRUE(ValidUtf8("plain ascii, long enough for the word loop"));
  EXPECT_TRUE(ValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(ValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(ValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(ValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(ValidUtf8("abcdefgh\xe2\x82"));  // truncated after the word loop
}

TEST(MimirText, ToValidUtf8ReplacesEachInvalidRunOnce) {
  EXPECT_EQ(ToValidUtf8("a\xff\xfe"
                        "b\xff"),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
  EXPECT_EQ(ToValidUtf8("ok"), "ok");
}

TEST(MimirText, GoQuote) {
  EXPECT_EQ(Quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quote("\n\t\x01\x7f"), "\"\\n\\t\\x01\\x7f\"");
  EXPECT_EQ(Quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(Quote("\xff"), "\"\\xff\"");
  EXPECT_EQ(Quote("\xc2\x85"), "\"\\u0085\"");  // a C1 control
}

TEST(MimirText, TruncateCountsCharactersNotBytes) {
  EXPECT_EQ(TruncateRunes("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9\xc3\xa9");
  EXPECT_EQ(TruncateRunes("ab", 200), "ab");
  EXPECT_EQ(CountRunes("a\xffz\xc3\xa9"), 4u);
}

TEST(MimirText, SeriesStringPutsTheNameFirst) {
  const Label labels[] = {{"a", "1"}, {"__name__", "up"}, {"b", "x\"y"}};
  EXPECT_EQ(SeriesString(labels), "up{a=\"1\", b=\"x\\\"y\"}");
  const Label name_only[] = {{"__name__", "up"}};
  EXPECT_EQ(SeriesString(name_only), "up");
  EXPECT_EQ(SeriesString({}), "{}");
}

TEST(MimirText, RemoveNonAscii) {
  EXPECT_EQ(RemoveNonAscii("ab\xc3\xa9"), "ab (non-ascii characters removed)");
  EXPECT_EQ(RemoveNonAscii("ab"), "ab");
}

}  // namespace
}  // namespace sprout::metrics::ingest::text
