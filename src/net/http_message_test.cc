#include "net/http_message.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sprout::net {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(ParseQueryTest, DecodesRepeatedKeysInOrder) {
  auto q = ParseQuery("match[]=up&match%5B%5D=%7Bjob%3D%22a%22%7D&start=1&x=a+b&empty=&flag");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_THAT(q->entries(),
              ElementsAre(Pair("match[]", "up"), Pair("match[]", "{job=\"a\"}"), Pair("start", "1"),
                          Pair("x", "a b"), Pair("empty", ""), Pair("flag", "")));
  EXPECT_THAT(q->GetAll("match[]"), ElementsAre("up", "{job=\"a\"}"));
  EXPECT_EQ(q->Get("match[]"), "up");
  EXPECT_EQ(q->Get("absent"), "");
  EXPECT_TRUE(q->Has("flag"));
  EXPECT_FALSE(q->Has("absent"));
}

TEST(ParseQueryTest, SkipsEmptyPairs) {
  auto q = ParseQuery("&&a=1&&");
  ASSERT_TRUE(q.ok());
  EXPECT_THAT(q->entries(), ElementsAre(Pair("a", "1")));
  EXPECT_TRUE(ParseQuery("")->empty());
}

TEST(ParseQueryTest, ErrorsAreGosAndValidPairsAreKept) {
  QueryParams params;
  absl::Status status = ParseQueryInto("a=1&b=%zz&c=3&d=%4", &params);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "invalid URL escape \"%zz\"");
  EXPECT_THAT(params.entries(), ElementsAre(Pair("a", "1"), Pair("c", "3")));

  EXPECT_EQ(ParseQuery("d=%4").status().message(), "invalid URL escape \"%4\"");
  EXPECT_EQ(ParseQuery("d=%").status().message(), "invalid URL escape \"%\"");
  QueryParams semi;
  status = ParseQueryInto("a=1;b=2&c=3", &semi);
  EXPECT_EQ(status.message(), "invalid semicolon separator in query");
  EXPECT_THAT(semi.entries(), ElementsAre(Pair("c", "3")));
}

TEST(UnescapeTest, QueryAndPathDifferOnPlus) {
  EXPECT_EQ(*QueryUnescape("a+b%2Bc"), "a b+c");
  EXPECT_EQ(*PathUnescape("a+b%2Fc"), "a+b/c");
  EXPECT_FALSE(PathUnescape("%G0").ok());
}

HttpRequest FormRequest(std::string method, std::string content_type, std::string body,
                        std::string query) {
  HttpRequest r;
  r.method = std::move(method);
  r.headers.emplace_back("content-type", std::move(content_type));
  r.body = std::move(body);
  r.query = std::move(query);
  return r;
}

TEST(ParseFormTest, BodyValuesComeBeforeQueryValues) {
  HttpRequest r = FormRequest("POST", "application/x-www-form-urlencoded; charset=utf-8",
                              "query=up&match[]=b", "query=down&match[]=a&time=5");
  ASSERT_TRUE(r.ParseForm().ok());
  EXPECT_EQ(r.form.Get("query"), "up");  // the body wins, as in Go's FormValue
  EXPECT_THAT(r.form.GetAll("match[]"), ElementsAre("b", "a"));
  EXPECT_EQ(r.form.Get("time"), "5");
  ASSERT_TRUE(r.ParseForm().ok());  // a second call adds nothing
  EXPECT_EQ(r.form.GetAll("query").size(), 2u);
}

TEST(ParseFormTest, BodyIsIgnoredForGetAndOtherContentTypes) {
  HttpRequest get = FormRequest("GET", "application/x-www-form-urlencoded", "a=1", "b=2");
  ASSERT_TRUE(get.ParseForm().ok());
  EXPECT_THAT(get.form.entries(), ElementsAre(Pair("b", "2")));
  HttpRequest json = FormRequest("POST", "application/json", "a=1", "");
  ASSERT_TRUE(json.ParseForm().ok());
  EXPECT_TRUE(json.form.empty());
}

TEST(ParseFormTest, ReportsTheFirstErrorAndKeepsTheRest) {
  HttpRequest r = FormRequest("PUT", "application/x-www-form-urlencoded", "a=%x1&b=2", "c=3");
  absl::Status status = r.ParseForm();
  EXPECT_EQ(status.message(), "invalid URL escape \"%x1\"");
  EXPECT_THAT(r.form.entries(), ElementsAre(Pair("b", "2"), Pair("c", "3")));
}

TEST(HttpRequestTest, PathValueAndCancellation) {
  HttpRequest r;
  r.path_params = {{"name", "job"}, {"id", "abc"}};
  EXPECT_EQ(r.PathValue("id"), "abc");
  EXPECT_EQ(r.PathValue("other"), "");
  EXPECT_FALSE(r.Cancelled());
  EXPECT_EQ(r.deadline(), absl::InfiniteFuture());
  const absl::Time deadline = absl::FromUnixSeconds(100);
  r.control = std::make_shared<RequestControl>(deadline);
  EXPECT_EQ(r.deadline(), deadline);
  r.control->Cancel(CancelReason::kClientGone);
  r.control->Cancel(CancelReason::kDeadline);  // the first reason wins
  EXPECT_TRUE(r.Cancelled());
  EXPECT_EQ(r.control->reason(), CancelReason::kClientGone);
}

TEST(HttpResponseTest, WriteWithoutAStreamBuffersIntoTheBody) {
  HttpResponse r;
  EXPECT_TRUE(r.Write("ab"));
  EXPECT_TRUE(r.Write("cd"));
  EXPECT_EQ(r.body, "abcd");
  EXPECT_FALSE(r.streaming());
  r.SetHeader("Content-Type", "a");
  r.SetHeader("content-type", "b");
  EXPECT_EQ(r.Header("CONTENT-TYPE"), "b");
  EXPECT_EQ(r.headers.size(), 1u);
}

}  // namespace
}  // namespace sprout::net
