#include "config/config.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "config/yaml_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace sprout::config {
namespace {

using internal::KindOf;
using internal::ValueKind;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// An environment that exists only in the test.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string WriteTempFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/sprout_config_test_" + name;
  std::ofstream(path) << text;
  return path;
}

// The node at "a::b::c", or an undefined node.
YAML::Node At(const YAML::Node& root, const std::string& path) {
  YAML::Node node = root;
  for (const auto& part : absl::StrSplit(path, "::")) {
    std::optional<YAML::Node> next = internal::FindValue(node, std::string(part));
    if (!next) return YAML::Node(YAML::NodeType::Undefined);
    node.reset(*next);  // `=` would overwrite the node itself
  }
  return node;
}

std::vector<std::string> KeysOf(const YAML::Node& map) {
  std::vector<std::string> keys;
  for (auto it = map.begin(); it != map.end(); ++it) keys.push_back(it->first.Scalar());
  return keys;
}

absl::StatusOr<Loaded> LoadWith(std::vector<std::string> uris, std::vector<std::string> sets = {},
                                std::map<std::string, std::string> env = {}) {
  LoadOptions options;
  options.uris = std::move(uris);
  options.set_overrides = std::move(sets);
  options.env = FakeEnv(std::move(env));
  return Load(options);
}

// Loads `yaml` (a single inline source) with `env` and returns the expanded root.
absl::StatusOr<Loaded> Expanded(const std::string& yaml, std::map<std::string, std::string> env) {
  absl::StatusOr<YAML::Node> root = ParseYaml(yaml, "test");
  if (!root.ok()) return root.status();
  Loaded loaded{*root, {}};
  absl::Status status = Expand(loaded.root, FakeEnv(std::move(env)), &loaded.warnings);
  if (!status.ok()) return status;
  return loaded;
}

// --- sources -------------------------------------------------------------------------------

TEST(LoadTest, FileUriAndBarePath) {
  const std::string path = WriteTempFile("a.yaml", "receivers:\n  otlp:\n    protocols: {}\n");
  for (const std::string& uri : {"file:" + path, path}) {
    absl::StatusOr<Loaded> loaded = LoadWith({uri});
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(At(loaded->root, "receivers::otlp::protocols").IsMap()) << uri;
    EXPECT_THAT(loaded->warnings, IsEmpty());
  }
}

TEST(LoadTest, MissingFileNamesThePath) {
  absl::StatusOr<Loaded> loaded = LoadWith({"file:/nonexistent/x.yaml"});
  EXPECT_EQ(std::string(loaded.status().message()),
            "cannot read config file \"/nonexistent/x.yaml\": No such file or directory");
  EXPECT_TRUE(absl::IsNotFound(loaded.status()));
}

TEST(LoadTest, ParseErrorNamesSourceLineAndColumn) {
  const std::string path = WriteTempFile("bad.yaml", "a: [1,\nb: 2");
  absl::StatusOr<Loaded> loaded = LoadWith({path});
  EXPECT_EQ(std::string(loaded.status().message()),
            "cannot parse config \"" + path +
                "\": yaml: line 2, column 1: end of sequence flow not found");
}

TEST(LoadTest, DuplicateKeyIsAnError) {
  absl::StatusOr<YAML::Node> node = ParseYaml("a: 1\nb: 2\na: 3\n", "x.yaml");
  EXPECT_EQ(std::string(node.status().message()),
            "cannot parse config \"x.yaml\": yaml: line 3, column 1: mapping key \"a\" already "
            "defined at line 1");
}

TEST(LoadTest, SelfReferencingAliasAndAliasBombAreRejected) {
  EXPECT_THAT(std::string(ParseYaml("a: &x [*x]\n", "s").status().message()),
              HasSubstr("an alias refers to itself"));
  std::string bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 6; ++i) {
    bomb += absl::StrCat("l", i, ": &l", i, " [");
    for (int j = 0; j < 10; ++j) bomb += absl::StrCat(j ? ", " : "", "*l", i - 1);
    bomb += "]\n";
  }
  EXPECT_THAT(std::string(ParseYaml(bomb, "b").status().message()),
              HasSubstr("expands to more than 100000 nodes"));
}

TEST(LoadTest, EmptyDocumentsAreEmptyMaps) {
  const std::string path = WriteTempFile("empty.yaml", "# only a comment\n");
  absl::StatusOr<Loaded> loaded = LoadWith({path, "yaml:", "yaml:a: 1"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(KeysOf(loaded->root), ElementsAre("a"));
}

TEST(LoadTest, TopLevelMustBeAMap) {
  absl::StatusOr<Loaded> loaded = LoadWith({"yaml:[a, b]"});
  EXPECT_EQ(std::string(loaded.status().message()),
            "cannot parse config \"yaml:[a, b]\": the top level must be a map, got 'slice'");
}

TEST(LoadTest, EnvUriHoldsYaml) {
  absl::StatusOr<Loaded> loaded =
      LoadWith({"env:CFG"}, {}, {{"CFG", "exporters:\n  debug:\n    verbosity: detailed\n"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(At(loaded->root, "exporters::debug::verbosity").Scalar(), "detailed");
}

TEST(LoadTest, UnsetEnvUriIsEmptyWithWarning) {
  absl::StatusOr<Loaded> loaded = LoadWith({"env:NOPE"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->root.IsMap());
  EXPECT_EQ(loaded->root.size(), 0u);
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_EQ(loaded->warnings[0].message, "Configuration references unset environment variable");
  EXPECT_EQ(loaded->warnings[0].name, "NOPE");
}

TEST(LoadTest, EnvUriWithInvalidName) {
  absl::StatusOr<Loaded> loaded = LoadWith({"env:1X"});
  EXPECT_EQ(std::string(loaded.status().message()),
            "environment variable \"1X\" has invalid name: must match regex "
            "^[a-zA-Z_][a-zA-Z0-9_]*$");
}

TEST(LoadTest, YamlUriWithKeyPath) {
  absl::StatusOr<Loaded> loaded = LoadWith({"yaml:processors::batch::timeout: 2s"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(At(loaded->root, "processors::batch::timeout").Scalar(), "2s");
  EXPECT_THAT(KeysOf(loaded->root), ElementsAre("processors"));
}

TEST(LoadTest, UnsupportedUriScheme) {
  absl::StatusOr<Loaded> loaded = LoadWith({"http://example.com/c.yaml"});
  EXPECT_THAT(loaded.status().message(), HasSubstr("unsupported scheme \"http\""));
}

TEST(LoadTest, NoSourcesIsAnEmptyMap) {
  absl::StatusOr<Loaded> loaded = LoadWith({});
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->root.IsMap());
  EXPECT_EQ(loaded->root.size(), 0u);
}

// --- merge ---------------------------------------------------------------------------------

TEST(MergeTest, MapsMergeListsAndScalarsAreReplaced) {
  const std::string first = WriteTempFile("first.yaml", R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
      http:
exporters:
  debug: {verbosity: basic}
service:
  pipelines:
    traces:
      receivers: [otlp, zipkin]
      exporters: [debug]
)");
  const std::string second = WriteTempFile("second.yaml", R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
        max_recv_msg_size_mib: 8
service:
  pipelines:
    traces:
      receivers: [otlp]
)");
  absl::StatusOr<Loaded> loaded = LoadWith({first, second});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const YAML::Node& root = loaded->root;
  EXPECT_EQ(At(root, "receivers::otlp::protocols::grpc::endpoint").Scalar(), "0.0.0.0:4317");
  EXPECT_EQ(At(root, "receivers::otlp::protocols::grpc::max_recv_msg_size_mib").Scalar(), "8");
  EXPECT_TRUE(At(root, "receivers::otlp::protocols::http").IsNull());  // kept from the first
  EXPECT_EQ(At(root, "exporters::debug::verbosity").Scalar(), "basic");
  YAML::Node receivers = At(root, "service::pipelines::traces::receivers");
  ASSERT_TRUE(receivers.IsSequence());
  ASSERT_EQ(receivers.size(), 1u);  // replaced, not appended
  EXPECT_EQ(receivers[0].Scalar(), "otlp");
  EXPECT_EQ(At(root, "service::pipelines::traces::exporters")[0].Scalar(), "debug");
  // Keys keep the position of their first appearance.
  EXPECT_THAT(KeysOf(root), ElementsAre("receivers", "exporters", "service"));
  EXPECT_THAT(KeysOf(At(root, "receivers::otlp::protocols")), ElementsAre("grpc", "http"));
}

TEST(MergeTest, LaterScalarReplacesMapAndMapReplacesScalar) {
  YAML::Node base = YAML::Load("a: {x: 1}\nb: 2\n");
  MergeInto(base, YAML::Load("a: off\nb: {y: 3}\n"));
  EXPECT_EQ(At(base, "a").Scalar(), "off");
  EXPECT_EQ(At(base, "b::y").Scalar(), "3");
}

TEST(MergeTest, MergedTreeDoesNotAliasTheOverlay) {
  YAML::Node base = YAML::Load("a: {x: 1}\n");
  YAML::Node overlay = YAML::Load("a: {y: 2}\nb: [1]\n");
  MergeInto(base, overlay);
  overlay["a"]["y"] = "changed";
  overlay["b"].push_back(2);
  EXPECT_EQ(At(base, "a::y").Scalar(), "2");
  EXPECT_EQ(At(base, "b").size(), 1u);
}

// --- --set ---------------------------------------------------------------------------------

TEST(SetTest, NestedPathWithTypedValueAfterAllSources) {
  absl::StatusOr<Loaded> loaded = LoadWith(
      {"yaml:processors::batch::timeout: 2s", "yaml:processors::batch::send_batch_size: 5"},
      {"processors::batch::send_batch_size=100",
       "service::pipelines::traces::receivers=[otlp, x]"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  YAML::Node size = At(loaded->root, "processors::batch::send_batch_size");
  EXPECT_EQ(size.Scalar(), "100");
  EXPECT_EQ(KindOf(size), ValueKind::kInt);
  EXPECT_EQ(At(loaded->root, "processors::batch::timeout").Scalar(), "2s");  // merged, kept
  YAML::Node receivers = At(loaded->root, "service::pipelines::traces::receivers");
  ASSERT_TRUE(receivers.IsSequence());
  EXPECT_EQ(receivers.size(), 2u);
  EXPECT_EQ(receivers[1].Scalar(), "x");
}

TEST(SetTest, LaterSetWinsAndValueMayContainEquals) {
  YAML::Node root(YAML::NodeType::Map);
  ASSERT_TRUE(ApplySet(root, "a::b=1").ok());
  ASSERT_TRUE(ApplySet(root, " a::b = x=y ").ok());
  EXPECT_EQ(At(root, "a::b").Scalar(), "x=y");
  ASSERT_TRUE(ApplySet(root, "a::c=true").ok());
  EXPECT_EQ(KindOf(At(root, "a::c")), ValueKind::kBool);
  ASSERT_TRUE(ApplySet(root, "a::d=").ok());
  EXPECT_TRUE(At(root, "a::d").IsNull());
}

TEST(SetTest, MissingEqualsSign) {
  absl::StatusOr<Loaded> loaded = LoadWith({}, {"a"});
  EXPECT_EQ(std::string(loaded.status().message()), "invalid --set \"a\": missing \"=\"");
}

TEST(SetTest, EmptyKeyAndBadYaml) {
  YAML::Node root(YAML::NodeType::Map);
  EXPECT_EQ(std::string(ApplySet(root, "=1").message()), "invalid --set \"=1\": empty key");
  EXPECT_EQ(std::string(ApplySet(root, "a::::b=1").message()),
            "invalid --set \"a::::b=1\": empty key");
  EXPECT_THAT(std::string(ApplySet(root, "a=[1").message()),
              HasSubstr("invalid --set \"a=[1\": yaml: line 1"));
}

// --- expansion -----------------------------------------------------------------------------

TEST(ExpandTest, EnvAndDefaultSchemeForms) {
  absl::StatusOr<Loaded> loaded = Expanded(R"(
a: ${env:HOST}
b: ${HOST}
c: ${env:MISSING:-fallback}
d: ${env:HOST:-fallback}
e: ${env:EMPTY:-fallback}
)",
                                           {{"HOST", "collector"}, {"EMPTY", ""}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(At(loaded->root, "a").Scalar(), "collector");
  EXPECT_EQ(At(loaded->root, "b").Scalar(), "collector");
  EXPECT_EQ(At(loaded->root, "c").Scalar(), "fallback");
  EXPECT_EQ(At(loaded->root, "d").Scalar(), "collector");
  EXPECT_TRUE(At(loaded->root, "e").IsNull());  // set but empty: the default does not apply
  EXPECT_THAT(loaded->warnings, IsEmpty());
}

TEST(ExpandTest, DollarDollarIsALiteralDollar) {
  absl::StatusOr<Loaded> loaded = Expanded(R"(
a: $${env:X}
b: "cost: $$5"
c: a$b
d: $
e: ${env:X
f: "$$$${X}"
)",
                                           {{"X", "x"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(At(loaded->root, "a").Scalar(), "${env:X}");
  EXPECT_EQ(At(loaded->root, "b").Scalar(), "cost: $5");
  EXPECT_EQ(At(loaded->root, "c").Scalar(), "a$b");  // `$` not followed by `{` or `$`
  EXPECT_EQ(At(loaded->root, "d").Scalar(), "$");
  EXPECT_EQ(At(loaded->root, "e").Scalar(), "${env:X");  // unterminated: left alone
  EXPECT_EQ(At(loaded->root, "f").Scalar(), "$${X}");
}

TEST(ExpandTest, WholeValueKeepsItsYamlType) {
  absl::StatusOr<Loaded> loaded = Expanded(R"(
port: ${env:PORT}
enabled: ${env:ON}
list: ${env:LIST}
map: ${env:MAP}
quoted: ${env:QUOTED}
broken: ${env:BROKEN}
)",
                                           {{"PORT", "8"},
                                            {"ON", "true"},
                                            {"LIST", "[a, b]"},
                                            {"MAP", "{x: 1, y::z: 2}"},
                                            {"QUOTED", "\"8\""},
                                            {"BROKEN", "[a"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const YAML::Node& root = loaded->root;
  EXPECT_EQ(KindOf(At(root, "port")), ValueKind::kInt);
  EXPECT_EQ(At(root, "port").Scalar(), "8");
  EXPECT_EQ(KindOf(At(root, "enabled")), ValueKind::kBool);
  ASSERT_EQ(KindOf(At(root, "list")), ValueKind::kList);
  EXPECT_EQ(At(root, "list").size(), 2u);
  EXPECT_EQ(At(root, "list")[1].Scalar(), "b");
  ASSERT_EQ(KindOf(At(root, "map")), ValueKind::kMap);
  EXPECT_EQ(KindOf(At(root, "map::x")), ValueKind::kInt);
  EXPECT_EQ(At(root, "map::y::z").Scalar(), "2");
  EXPECT_EQ(KindOf(At(root, "quoted")), ValueKind::kString);
  EXPECT_EQ(At(root, "broken").Scalar(), "[a");  // not YAML: stays a string
  EXPECT_EQ(KindOf(At(root, "broken")), ValueKind::kString);
}

TEST(ExpandTest, EmbeddedReferenceIsTextSubstitution) {
  absl::StatusOr<Loaded> loaded = Expanded(R"(
endpoint: ${env:HOST}:${env:PORT}
digits: ${env:PORT}${env:PORT}
spaced: " ${env:PORT}"
list: ["x-${env:HOST}", "${env:PORT}"]
${env:HOST}: key is not expanded
)",
                                           {{"HOST", "collector"}, {"PORT", "8"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const YAML::Node& root = loaded->root;
  EXPECT_EQ(At(root, "endpoint").Scalar(), "collector:8");
  EXPECT_EQ(At(root, "digits").Scalar(), "88");
  EXPECT_EQ(KindOf(At(root, "digits")), ValueKind::kString);  // substitution: never an int
  EXPECT_EQ(At(root, "spaced").Scalar(), " 8");
  EXPECT_EQ(At(root, "list")[0].Scalar(), "x-collector");
  EXPECT_EQ(KindOf(At(root, "list")[1]), ValueKind::kInt);
  EXPECT_EQ(At(root, "${env:HOST}").Scalar(), "key is not expanded");
}

TEST(ExpandTest, NestedDefault) {
  absl::StatusOr<Loaded> loaded = Expanded(R"(
a: ${env:A:-${env:B}}
b: ${env:A:-${env:C:-${env:B}}}
c: ${env:B:-${env:A}}
d: "x${env:A:-${env:B}}y"
)",
                                           {{"B", "9"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(At(loaded->root, "a").Scalar(), "9");
  EXPECT_EQ(KindOf(At(loaded->root, "a")), ValueKind::kInt);
  EXPECT_EQ(At(loaded->root, "b").Scalar(), "9");
  EXPECT_EQ(At(loaded->root, "c").Scalar(), "9");
  EXPECT_EQ(At(loaded->root, "d").Scalar(), "x9y");
  // The inner reference of `c` is expanded even though B is set, as in the Collector.
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_EQ(loaded->warnings[0].name, "A");
}

TEST(ExpandTest, UnsetVariableIsEmptyWithOneWarning) {
  absl::StatusOr<Loaded> loaded = Expanded(R"(
whole: ${env:UNSET}
text: "a${UNSET}b"
again: ${env:UNSET}
)",
                                           {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(At(loaded->root, "whole").IsNull());
  EXPECT_EQ(At(loaded->root, "text").Scalar(), "ab");
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_EQ(loaded->warnings[0].message, "Configuration references unset environment variable");
  EXPECT_EQ(loaded->warnings[0].name, "UNSET");
}

TEST(ExpandTest, InvalidVariableName) {
  absl::StatusOr<Loaded> loaded = Expanded("a:\n  b: [x, \"${env:1X}\"]\n", {});
  EXPECT_EQ(std::string(loaded.status().message()),
            "expanding 'a::b[1]': environment variable \"1X\" has invalid name: must match "
            "regex ^[a-zA-Z_][a-zA-Z0-9_]*$");
  EXPECT_FALSE(Expanded("a: ${env:A-B}", {}).ok());
  EXPECT_FALSE(Expanded("a: ${}", {}).ok());
}

TEST(ExpandTest, UnsupportedScheme) {
  absl::StatusOr<Loaded> loaded = Expanded("a: x${foo:bar}", {});
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("expanding 'a': unsupported scheme \"foo\" in \"${foo:bar}\""));
  // `${VAR:-x}` has a scheme part ("VAR"), so like the Collector it is not the env scheme.
  EXPECT_THAT(Expanded("a: ${HOME:-x}", {}).status().message(),
              HasSubstr("unsupported scheme \"HOME\""));
  EXPECT_THAT(Expanded("a: ${env:A:-$$}", {}).status().message(),
              HasSubstr("contains unsupported characters ('$')"));
}

TEST(ExpandTest, VariableValuesAreExpandedToo) {
  absl::StatusOr<Loaded> loaded =
      Expanded("a: ${env:A}\nb: x${env:A}\n", {{"A", "${env:B}"}, {"B", "7"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(At(loaded->root, "a").Scalar(), "7");
  EXPECT_EQ(KindOf(At(loaded->root, "a")), ValueKind::kInt);
  EXPECT_EQ(At(loaded->root, "b").Scalar(), "x7");
}

TEST(ExpandTest, SelfReferenceStopsAtTheRecursionCap) {
  EXPECT_THAT(Expanded("a: ${env:A}", {{"A", "${env:A}"}}).status().message(),
              HasSubstr("too many recursive expansions"));
  EXPECT_THAT(Expanded("a: x${env:A}", {{"A", "x${env:A}"}}).status().message(),
              HasSubstr("too many recursive expansions"));
}

TEST(ExpandTest, FileScheme) {
  const std::string path = WriteTempFile("secret", "s3cr3t\n");
  absl::StatusOr<Loaded> loaded = Expanded("a: ${file:" + path + "}\n", {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(At(loaded->root, "a").Scalar(), "s3cr3t");
}

TEST(ExpandTest, AliasedValuesAreExpandedOnce) {
  absl::StatusOr<Loaded> loaded = Expanded("a: &x \"$${y}\"\nb: *x\n", {{"y", "no"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(At(loaded->root, "a").Scalar(), "${y}");
  EXPECT_EQ(At(loaded->root, "b").Scalar(), "${y}");
}

TEST(ExpandTest, LoadExpandsAfterMergeAndSet) {
  absl::StatusOr<Loaded> loaded =
      LoadWith({"yaml:a: ${env:A}", "yaml:b: plain"}, {"b=${env:B}"}, {{"A", "1"}, {"B", "[x]"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(KindOf(At(loaded->root, "a")), ValueKind::kInt);
  EXPECT_EQ(KindOf(At(loaded->root, "b")), ValueKind::kList);
}

TEST(ExpandTest, ProcessEnvReadsTheEnvironment) {
  // PATH is set wherever tests run.
  EXPECT_TRUE(ProcessEnv()("PATH").has_value());
  EXPECT_FALSE(ProcessEnv()("SPROUT_CONFIG_TEST_SURELY_UNSET").has_value());
}

}  // namespace
}  // namespace sprout::config
