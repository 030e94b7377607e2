#include "config/decoder.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace sprout::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The message of d.Finish(); "" when OK.
std::string FinishMessage(Decoder& d) { return std::string(d.Finish().message()); }

TEST(DecoderTest, UnknownKeysWithFullPathThreeLevelsDown) {
  YAML::Node root = YAML::Load(R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
        zeta: 1
        alpha: 2
)");
  Decoder d(root, "");
  Decoder grpc = d.Child("receivers").Child("otlp").Child("protocols").Child("grpc");
  std::string endpoint;
  grpc.Read("endpoint", &endpoint);
  EXPECT_EQ(endpoint, "localhost:4317");
  EXPECT_EQ(grpc.path(), "receivers::otlp::protocols::grpc");
  EXPECT_EQ(FinishMessage(d), "'receivers::otlp::protocols::grpc' has invalid keys: alpha, zeta");
}

TEST(DecoderTest, RootUnknownKeyMatchesTheCollector) {
  Decoder d(YAML::Load("foo: 1\nreceivers: {}\n"), "");
  d.Child("receivers");
  EXPECT_EQ(FinishMessage(d), "'' has invalid keys: foo");
}

TEST(DecoderTest, ErrorsJoinedInReadingOrderWithChildrenInPlace) {
  YAML::Node root = YAML::Load("a: x\nsub: {b: y, extra: 1}\nc: z\nunknown: 0\n");
  Decoder d(root, "");
  bool a = false;
  d.Read("a", &a);
  Decoder sub = d.Child("sub");
  int c = 0;
  d.Read("c", &c);
  bool b = false;
  sub.Read("b", &b);
  EXPECT_EQ(FinishMessage(d),
            "'a' expected type 'bool', got unconvertible type 'string', value: 'x'\n"
            "'sub::b' expected type 'bool', got unconvertible type 'string', value: 'y'\n"
            "'sub' has invalid keys: extra\n"
            "'c' expected type 'int', got unconvertible type 'string', value: 'z'\n"
            "'' has invalid keys: unknown");
}

TEST(DecoderTest, FinishedChildIsNotReportedAgain) {
  Decoder d(YAML::Load("component: {bad: 1}\n"), "");
  Decoder component = d.Child("component");
  EXPECT_EQ(FinishMessage(component), "'component' has invalid keys: bad");
  EXPECT_TRUE(d.Finish().ok());
}

TEST(DecoderTest, ChildTwiceSharesState) {
  Decoder d(YAML::Load("c: {x: 1, y: 2}\n"), "");
  int x = 0, y = 0;
  d.Child("c").Read("x", &x);
  d.Child("c").Read("y", &y);
  EXPECT_EQ(x + y, 3);
  EXPECT_TRUE(d.Finish().ok()) << d.Finish();
}

TEST(DecoderTest, Strings) {
  Decoder d(YAML::Load("s: hello\nq: \"8\"\nn: 8\nm: {a: 1}\nnull_value:\n"), "x");
  std::string s, q, n, m = "default", null_value = "default", absent = "default";
  d.Read("s", &s);
  d.Read("q", &q);
  d.Read("n", &n);  // any scalar reads as its text
  d.Read("m", &m);
  d.Read("null_value", &null_value);
  d.Read("absent", &absent);
  EXPECT_EQ(s, "hello");
  EXPECT_EQ(q, "8");
  EXPECT_EQ(n, "8");
  EXPECT_EQ(m, "default");
  EXPECT_EQ(null_value, "default");
  EXPECT_EQ(absent, "default");
  EXPECT_EQ(FinishMessage(d),
            "'x::m' expected type 'string', got unconvertible type 'map[string]interface {}', "
            "value: 'map[a:1]'");
}

TEST(DecoderTest, Bools) {
  Decoder d(YAML::Load("t: true\nf: False\nyes_: yes\none: 1\n"), "p");
  bool t = false, f = true, yes = false, one = false;
  d.Read("t", &t);
  d.Read("f", &f);
  d.Read("yes_", &yes);
  d.Read("one", &one);
  EXPECT_TRUE(t);
  EXPECT_FALSE(f);
  EXPECT_FALSE(yes);
  EXPECT_EQ(FinishMessage(d),
            "'p::yes_' expected type 'bool', got unconvertible type 'string', value: 'yes'\n"
            "'p::one' expected type 'bool', got unconvertible type 'int', value: '1'");
}

TEST(DecoderTest, Integers) {
  Decoder d(YAML::Load(R"(
i: -42
hex: 0x10
big: 9000000000
str: abc
quoted: "5"
float: 1.5
neg: -1
)"),
            "p");
  int i = 0, str = 7, quoted = 7, flt = 7, big_int = 7;
  int64_t hex = 0, big = 0;
  uint32_t neg = 3;
  d.Read("i", &i);
  d.Read("hex", &hex);
  d.Read("big", &big);
  d.Read("str", &str);
  d.Read("quoted", &quoted);
  d.Read("float", &flt);
  d.Read("big", &big_int);
  d.Read("neg", &neg);
  EXPECT_EQ(i, -42);
  EXPECT_EQ(hex, 16);
  EXPECT_EQ(big, 9000000000);
  EXPECT_EQ(str, 7);  // untouched on error
  EXPECT_EQ(quoted, 7);
  EXPECT_EQ(flt, 7);
  EXPECT_EQ(big_int, 7);
  EXPECT_EQ(neg, 3u);
  EXPECT_EQ(FinishMessage(d),
            "'p::str' expected type 'int', got unconvertible type 'string', value: 'abc'\n"
            "'p::quoted' expected type 'int', got unconvertible type 'string', value: '5'\n"
            "'p::float' expected type 'int', got unconvertible type 'float64', value: '1.5'\n"
            "'p::big' value 9000000000 overflows 'int'\n"
            "'p::neg' value -1 overflows 'uint32'");
}

TEST(DecoderTest, Uint32AndInt64) {
  Decoder d(YAML::Load("u: 4294967295\nl: [1]\n"), "");
  uint32_t u = 0;
  int64_t l = 0;
  d.Read("u", &u);
  d.Read("l", &l);
  EXPECT_EQ(u, 4294967295u);
  EXPECT_EQ(FinishMessage(d),
            "'l' expected type 'int64', got unconvertible type '[]interface {}', value: '[1]'");
}

TEST(DecoderTest, Doubles) {
  Decoder d(YAML::Load("i: 2\nf: 0.5\ne: 1e3\ns: half\n"), "");
  double i = 0, f = 0, e = 0, s = 9;
  d.Read("i", &i);
  d.Read("f", &f);
  d.Read("e", &e);
  d.Read("s", &s);
  EXPECT_EQ(i, 2.0);
  EXPECT_EQ(f, 0.5);
  EXPECT_EQ(e, 1000.0);
  EXPECT_EQ(s, 9.0);
  EXPECT_EQ(FinishMessage(d),
            "'s' expected type 'float64', got unconvertible type 'string', value: 'half'");
}

TEST(DecoderTest, Durations) {
  Decoder d(YAML::Load("str: 1m30s\nnanos: 1500\nbad: abc\nunitless: \"5\"\nflag: true\n"),
            "processors::batch");
  absl::Duration str, nanos, bad = absl::Seconds(1), unitless, flag;
  d.Read("str", &str);
  d.Read("nanos", &nanos);
  d.Read("bad", &bad);
  d.Read("unitless", &unitless);
  d.Read("flag", &flag);
  EXPECT_EQ(str, absl::Seconds(90));
  EXPECT_EQ(nanos, absl::Nanoseconds(1500));
  EXPECT_EQ(bad, absl::Seconds(1));
  EXPECT_EQ(FinishMessage(d),
            "'processors::batch::bad' time: invalid duration \"abc\"\n"
            "'processors::batch::unitless' time: missing unit in duration \"5\"\n"
            "'processors::batch::flag' expected type 'time.Duration', got unconvertible type "
            "'bool', value: 'true'");
}

TEST(DecoderTest, StringLists) {
  Decoder d(YAML::Load(R"(
list: [a, 2, b]
csv: a,b, c
empty: ""
nested: [x, {a: 1}]
)"),
            "");
  std::vector<std::string> list, csv, empty = {"default"}, nested = {"default"}, absent = {"d"};
  d.Read("list", &list);
  d.Read("csv", &csv);
  d.Read("empty", &empty);
  d.Read("nested", &nested);
  d.Read("absent", &absent);
  EXPECT_THAT(list, ElementsAre("a", "2", "b"));
  EXPECT_THAT(csv, ElementsAre("a", "b", " c"));  // split on ',' only, like mapstructure
  EXPECT_THAT(empty, IsEmpty());
  EXPECT_THAT(nested, ElementsAre("default"));
  EXPECT_THAT(absent, ElementsAre("d"));
  EXPECT_EQ(FinishMessage(d),
            "'nested[1]' expected type 'string', got unconvertible type "
            "'map[string]interface {}', value: 'map[a:1]'");
}

TEST(DecoderTest, StringMaps) {
  Decoder d(YAML::Load("headers: {X-Key: k, X-Num: 5}\nnot_map: text\nbad: {a: [1]}\n"), "e");
  std::map<std::string, std::string> headers = {{"X-Default", "d"}, {"X-Key", "old"}};
  std::map<std::string, std::string> not_map, bad;
  d.Read("headers", &headers);
  d.Read("not_map", &not_map);
  d.Read("bad", &bad);
  EXPECT_EQ(headers, (std::map<std::string, std::string>{
                         {"X-Default", "d"}, {"X-Key", "k"}, {"X-Num", "5"}}));
  EXPECT_THAT(bad, IsEmpty());
  EXPECT_EQ(FinishMessage(d),
            "'e::not_map' expected a map, got 'string'\n"
            "'e::bad::a' expected type 'string', got unconvertible type '[]interface {}', "
            "value: '[1]'");
}

TEST(DecoderTest, PresentButNullKey) {
  YAML::Node root = YAML::Load("protocols:\n  grpc:\n");
  Decoder protocols = Decoder(root, "").Child("protocols");
  EXPECT_TRUE(protocols.Has("grpc"));
  EXPECT_FALSE(protocols.Has("http"));
  Decoder grpc = protocols.Child("grpc");
  EXPECT_TRUE(grpc.IsNull());
  EXPECT_THAT(grpc.Keys(), IsEmpty());
  std::string endpoint = "localhost:4317";
  grpc.Read("endpoint", &endpoint);
  EXPECT_EQ(endpoint, "localhost:4317");
  EXPECT_TRUE(protocols.Child("http").IsNull());
  EXPECT_FALSE(protocols.IsNull());
  EXPECT_TRUE(protocols.Finish().ok());
}

TEST(DecoderTest, KeysInDocumentOrder) {
  Decoder d(YAML::Load("receivers:\n  zipkin:\n  otlp/2:\n  otlp:\n  jaeger:\n"), "");
  EXPECT_THAT(d.Child("receivers").Keys(), ElementsAre("zipkin", "otlp/2", "otlp", "jaeger"));
}

TEST(DecoderTest, NonMapNodes) {
  Decoder d(YAML::Load("exporters: debug\n"), "");
  Decoder exporters = d.Child("exporters");
  EXPECT_THAT(exporters.Keys(), IsEmpty());
  EXPECT_EQ(FinishMessage(d), "'exporters' expected a map, got 'string'");

  Decoder list(YAML::Load("[1, 2]"), "");
  EXPECT_EQ(FinishMessage(list), "'' expected a map, got 'slice'");
}

TEST(DecoderTest, RawAndAddError) {
  Decoder d(YAML::Load("storage: file_storage\nwait_for_result: false\n"), "exporters::otlp");
  YAML::Node storage = d.Raw("storage");
  EXPECT_EQ(storage.Scalar(), "file_storage");
  EXPECT_FALSE(d.Raw("absent").IsDefined());
  d.Raw("wait_for_result");
  d.AddError("storage", "persistent queue storage is not supported yet");
  d.AddError("", "needs an endpoint");
  EXPECT_EQ(FinishMessage(d),
            "'exporters::otlp::storage' persistent queue storage is not supported yet\n"
            "'exporters::otlp' needs an endpoint");
  EXPECT_EQ(d.node()["storage"].Scalar(), "file_storage");
}

TEST(DecoderTest, KeysAreCaseSensitive) {
  Decoder d(YAML::Load("Endpoint: x\n0x10: hex\nTrue: 1\n"), "");
  std::string endpoint = "default";
  d.Read("endpoint", &endpoint);
  EXPECT_EQ(endpoint, "default");
  EXPECT_FALSE(d.Has("endpoint"));
  EXPECT_THAT(d.Keys(), ElementsAre("Endpoint", "0x10", "True"));  // keys as written
  EXPECT_EQ(FinishMessage(d), "'' has invalid keys: 0x10, Endpoint, True");
}

}  // namespace
}  // namespace sprout::config
