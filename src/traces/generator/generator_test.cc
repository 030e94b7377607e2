#include "traces/generator/generator.h"

#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "traces/config/traces_config.h"
#include "traces/generator/generator_testing.h"
#include "yaml-cpp/yaml.h"

namespace sprout::traces::generator {
namespace {

using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
const uint64_t kT0 = 1'699'999'990ull * 1'000'000'000ull;  // 10 s before kNow
constexpr uint64_t kMs = 1'000'000;
const std::string kTrace = std::string(16, '\x07');

ResourceSpans Resource(const std::string& service) {
  ResourceSpans rs;
  KeyValue* kv = rs.mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value(service);
  rs.add_scope_spans();
  return rs;
}

Span* AddSpan(ResourceSpans* rs, Span::SpanKind kind, const std::string& name,
              const std::string& span_id, const std::string& parent, uint64_t start_ms,
              uint64_t end_ms) {
  Span* s = rs->mutable_scope_spans(0)->add_spans();
  s->set_trace_id(kTrace);
  s->set_span_id(span_id);
  s->set_parent_span_id(parent);
  s->set_name(name);
  s->set_kind(kind);
  s->set_start_time_unix_nano(kT0 + start_ms * kMs);
  s->set_end_time_unix_nano(kT0 + end_ms * kMs);
  return s;
}

// frontend (CLIENT "GET /api", 0–300 ms) calls backend (SERVER "handle", 100–250 ms), in kTrace
// 10 s before kNow.
void PushPair(TenantGenerator& g) {
  const auto request = ClientServerPair("frontend", "backend", kNow - absl::Seconds(10), '\x07');
  for (const ResourceSpans& rs : request.resource_spans()) g.PushSpans(rs, kNow);
}

// The metric names collected at `t` (without labels).
std::set<std::string> Names(const CollectingSink& sink, absl::Time t) {
  std::set<std::string> out;
  for (const auto& s : sink.At(t)) out.insert(s.series.substr(0, s.series.find('{')));
  return out;
}

std::unique_ptr<TenantGenerator> MustCreate(const traces::GeneratorConfig& config,
                                            const traces::GeneratorOverrides& overrides) {
  auto g = TenantGenerator::Create("tenant-a", config, overrides);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *std::move(g) : nullptr;
}

TEST(TenantGeneratorTest, BothProcessorsCollectTheirSeries) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics", "service-graphs"};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->enabled());
  ASSERT_NE(g->span_metrics(), nullptr);
  ASSERT_NE(g->service_graphs(), nullptr);
  PushPair(*g);
  CollectingSink sink;
  g->Collect(kNow, sink);

  // Span metrics: calls, latency, size. Service graphs (bare name): request + latency; no failed
  // series (neither span has status ERROR), no connection_info (opt-in), no messaging histogram.
  EXPECT_EQ(Names(sink, kNow), (std::set<std::string>{
                                   "traces_spanmetrics_calls_total",
                                   "traces_spanmetrics_latency_bucket",
                                   "traces_spanmetrics_latency_count",
                                   "traces_spanmetrics_latency_sum",
                                   "traces_spanmetrics_size_total",
                                   "traces_service_graph_request_total",
                                   "traces_service_graph_request_server_seconds_bucket",
                                   "traces_service_graph_request_server_seconds_count",
                                   "traces_service_graph_request_server_seconds_sum",
                                   "traces_service_graph_request_client_seconds_bucket",
                                   "traces_service_graph_request_client_seconds_count",
                                   "traces_service_graph_request_client_seconds_sum",
                               }));
  auto values = sink.Values();
  EXPECT_EQ(values["traces_spanmetrics_calls_total{service=\"frontend\",span_kind=\"SPAN_KIND_"
                   "CLIENT\",span_name=\"GET /api\",status_code=\"STATUS_CODE_UNSET\"}"],
            1);
  EXPECT_EQ(values["traces_spanmetrics_calls_total{service=\"backend\",span_kind=\"SPAN_KIND_"
                   "SERVER\",span_name=\"handle\",status_code=\"STATUS_CODE_UNSET\"}"],
            1);
  EXPECT_EQ(values["traces_service_graph_request_total{client=\"frontend\",server=\"backend\"}"],
            1);
  // Server span 100–250 ms, client span 0–300 ms.
  EXPECT_DOUBLE_EQ(values["traces_service_graph_request_server_seconds_sum{client=\"frontend\","
                          "server=\"backend\"}"],
                   0.15);
  EXPECT_DOUBLE_EQ(values["traces_service_graph_request_client_seconds_sum{client=\"frontend\","
                          "server=\"backend\"}"],
                   0.3);
  EXPECT_EQ(values["traces_spanmetrics_latency_count{service=\"backend\",span_kind=\"SPAN_KIND_"
                   "SERVER\",span_name=\"handle\",status_code=\"STATUS_CODE_UNSET\"}"],
            1);
  const TenantGeneratorStats stats = g->stats();
  EXPECT_EQ(stats.spans_received, 2u);
  EXPECT_EQ(stats.spans_outside_slack, 0u);
  EXPECT_EQ(stats.series_limited, 0u);
  EXPECT_EQ(stats.collections, 1u);
  EXPECT_EQ(g->span_metrics()->stats().spans_received, 2u);
  EXPECT_EQ(g->service_graphs()->stats().edges_recorded, 1u);
}

TEST(TenantGeneratorTest, NoProcessorsNothingCollected) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;  // processors: []
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  EXPECT_FALSE(g->enabled());
  EXPECT_EQ(g->span_metrics(), nullptr);
  EXPECT_EQ(g->service_graphs(), nullptr);
  PushPair(*g);
  CollectingSink sink;
  g->Collect(kNow, sink);
  EXPECT_THAT(sink.samples, IsEmpty());
  EXPECT_EQ(g->stats().active_series, 0u);
}

TEST(TenantGeneratorTest, LocalBlocksAndHostInfoAloneEnableNothing) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"local-blocks", "host-info"};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  EXPECT_FALSE(g->enabled());
  PushPair(*g);
  CollectingSink sink;
  g->Collect(kNow, sink);
  EXPECT_THAT(sink.samples, IsEmpty());
}

TEST(TenantGeneratorTest, MaxActiveSeriesFromOverridesLimits) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  // Count only: one counter series per span name, each counting 1 towards the limit.
  overrides.processors = {"span-metrics-count"};
  overrides.max_active_series = 2;
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  ResourceSpans rs = Resource("svc");
  AddSpan(&rs, Span::SPAN_KIND_INTERNAL, "one", std::string(8, '1'), "", 0, 10);
  AddSpan(&rs, Span::SPAN_KIND_INTERNAL, "two", std::string(8, '2'), "", 0, 10);
  AddSpan(&rs, Span::SPAN_KIND_INTERNAL, "three", std::string(8, '3'), "", 0, 10);
  AddSpan(&rs, Span::SPAN_KIND_INTERNAL, "one", std::string(8, '4'), "", 0, 10);
  g->PushSpans(rs, kNow);
  CollectingSink sink;
  g->Collect(kNow, sink);
  EXPECT_THAT(sink.At(kNow), ::testing::SizeIs(2));
  auto values = sink.Values();
  EXPECT_EQ(values["traces_spanmetrics_calls_total{service=\"svc\",span_kind=\"SPAN_KIND_"
                   "INTERNAL\",span_name=\"one\",status_code=\"STATUS_CODE_UNSET\"}"],
            2);
  EXPECT_EQ(values["traces_spanmetrics_calls_total{service=\"svc\",span_kind=\"SPAN_KIND_"
                   "INTERNAL\",span_name=\"two\",status_code=\"STATUS_CODE_UNSET\"}"],
            1);
  EXPECT_EQ(values.count("traces_spanmetrics_calls_total{service=\"svc\",span_kind=\"SPAN_KIND_"
                         "INTERNAL\",span_name=\"three\",status_code=\"STATUS_CODE_UNSET\"}"),
            0u);
  EXPECT_EQ(g->stats().series_limited, 1u);
  EXPECT_EQ(g->stats().active_series, 2u);
  EXPECT_EQ(g->span_metrics()->stats().spans_refused, 1u);
}

TEST(TenantGeneratorTest, ExternalLabelsAndTenantLabelOnEverySeries) {
  traces::GeneratorConfig config;
  config.external_labels = {{"cluster", "eu-1"}, {"tenant", "overwritten"}};
  config.inject_tenant_id_as = "tenant";
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics", "service-graphs"};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  PushPair(*g);
  CollectingSink sink;
  g->Collect(kNow, sink);
  ASSERT_FALSE(sink.samples.empty());
  for (const auto& s : sink.samples) {
    EXPECT_TRUE(absl::StrContains(s.series, "cluster=\"eu-1\"")) << s.series;
    EXPECT_TRUE(absl::StrContains(s.series, "tenant=\"tenant-a\"")) << s.series;
    EXPECT_FALSE(absl::StrContains(s.series, "overwritten")) << s.series;
  }
}

TEST(TenantGeneratorTest, SubprocessorNamesSelectFamilies) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics-size", "service-graphs-connection-info"};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->processors().span_metrics_size);
  EXPECT_FALSE(g->processors().span_metrics_count);
  EXPECT_FALSE(g->processors().service_graphs_request);
  PushPair(*g);
  CollectingSink sink;
  g->Collect(kNow, sink);
  EXPECT_EQ(Names(sink, kNow), (std::set<std::string>{"traces_spanmetrics_size_total",
                                                      "traces_service_graph_connection_info"}));
  EXPECT_EQ(
      sink.Values()["traces_service_graph_connection_info{client=\"frontend\",server=\"backend\"}"],
      1);
}

TEST(TenantGeneratorTest, BareServiceGraphsPlusConnectionInfo) {
  const EnabledProcessors e = ParseProcessors({"service-graphs", "service-graphs-connection-info"});
  EXPECT_TRUE(e.service_graphs);
  EXPECT_TRUE(e.service_graphs_request);
  EXPECT_TRUE(e.service_graphs_latency);
  EXPECT_TRUE(e.service_graphs_connection_info);
  EXPECT_FALSE(e.span_metrics);
  const EnabledProcessors only_latency = ParseProcessors({"span-metrics-latency"});
  EXPECT_TRUE(only_latency.span_metrics);
  EXPECT_TRUE(only_latency.span_metrics_latency);
  EXPECT_FALSE(only_latency.span_metrics_count);
  EXPECT_FALSE(only_latency.span_metrics_size);
  EXPECT_TRUE(only_latency.span_metrics_default_buckets);
  const EnabledProcessors all = ParseProcessors({"span-metrics", "span-metrics-latency"});
  EXPECT_TRUE(all.span_metrics_count && all.span_metrics_latency && all.span_metrics_size);
  EXPECT_FALSE(all.span_metrics_default_buckets);
}

TEST(TenantGeneratorTest, LatencySubprocessorAloneUsesDefaultBuckets) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.span_metrics.histogram_buckets = {1, 2};
  overrides.processors = {"span-metrics-latency"};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  PushPair(*g);
  CollectingSink sink;
  g->Collect(kNow, sink);
  // Tempo's default 14 bounds + Inf per series (two series: frontend, backend).
  int buckets = 0;
  for (const auto& s : sink.At(kNow)) {
    if (absl::StartsWith(s.series, "traces_spanmetrics_latency_bucket")) ++buckets;
  }
  EXPECT_EQ(buckets, 2 * 15);
}

TEST(TenantGeneratorTest, TenantSpanMetricsSettingsApply) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics"};
  overrides.span_metrics.histogram_buckets = {0.1, 1};
  overrides.span_metrics.intrinsic_dimensions.span_kind = false;
  overrides.span_metrics.dimensions = {"http.method"};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  ResourceSpans rs = Resource("svc");
  Span* s = AddSpan(&rs, Span::SPAN_KIND_SERVER, "op", std::string(8, '1'), "", 0, 50);
  KeyValue* kv = s->add_attributes();
  kv->set_key("http.method");
  kv->mutable_value()->set_string_value("GET");
  g->PushSpans(rs, kNow);
  CollectingSink sink;
  g->Collect(kNow, sink);
  // Labels sorted by name, `le` among them.
  const std::string rest = "service=\"svc\",span_name=\"op\",status_code=\"STATUS_CODE_UNSET\"";
  auto values = sink.Values();
  EXPECT_EQ(values["traces_spanmetrics_calls_total{http_method=\"GET\"," + rest + "}"], 1);
  for (const char* le : {"0.1", "1", "+Inf"}) {
    EXPECT_EQ(values["traces_spanmetrics_latency_bucket{http_method=\"GET\",le=\"" +
                     std::string(le) + "\"," + rest + "}"],
              1)
        << le;
  }
  int buckets = 0;
  for (const auto& s : sink.At(kNow)) {
    if (absl::StartsWith(s.series, "traces_spanmetrics_latency_bucket")) ++buckets;
  }
  EXPECT_EQ(buckets, 3);  // 0.1, 1, +Inf
}

TEST(TenantGeneratorTest, RefusedSettingsAreInvalidArgument) {
  traces::GeneratorConfig config;
  {
    traces::GeneratorOverrides overrides;
    overrides.processors = {"span-metrics"};
    overrides.span_metrics.histogram_buckets = {1, 0.5};
    auto g = TenantGenerator::Create("t", config, overrides);
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  }
  {
    traces::GeneratorOverrides overrides;
    overrides.processors = {"service-graphs"};
    overrides.service_graphs.histogram_buckets = {};
    auto g = TenantGenerator::Create("t", config, overrides);
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  }
  {
    traces::GeneratorOverrides overrides;
    overrides.processors = {"span-metrics"};
    traces::FilterPolicy policy;
    policy.include.present = true;
    policy.include.match_type = "strict";
    policy.include.attributes = {{"unscoped.key", "x"}};
    overrides.span_metrics.filter_policies = {policy};
    auto g = TenantGenerator::Create("t", config, overrides);
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  }
  {
    // Settings of a processor that is off are not looked at.
    traces::GeneratorOverrides overrides;
    overrides.processors = {"service-graphs"};
    overrides.span_metrics.histogram_buckets = {1, 0.5};
    EXPECT_TRUE(TenantGenerator::Create("t", config, overrides).ok());
  }
  {
    traces::GeneratorOverrides overrides;
    overrides.processors = {"span-metrics"};
    overrides.ingestion_time_range_slack = absl::Hours(13);
    auto g = TenantGenerator::Create("t", config, overrides);
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(TenantGeneratorTest, FilterPolicyValuesTypedAsYamlScalars) {
  EXPECT_EQ(TypePolicyValue("200"),
            (std::variant<std::string, int64_t, double, bool>(int64_t{200})));
  EXPECT_EQ(TypePolicyValue("-3"), (std::variant<std::string, int64_t, double, bool>(int64_t{-3})));
  EXPECT_EQ(TypePolicyValue("0x1F"),
            (std::variant<std::string, int64_t, double, bool>(int64_t{31})));
  EXPECT_EQ(TypePolicyValue("1.5"), (std::variant<std::string, int64_t, double, bool>(1.5)));
  EXPECT_EQ(TypePolicyValue("2e3"), (std::variant<std::string, int64_t, double, bool>(2000.0)));
  EXPECT_EQ(TypePolicyValue("true"), (std::variant<std::string, int64_t, double, bool>(true)));
  EXPECT_EQ(TypePolicyValue("False"), (std::variant<std::string, int64_t, double, bool>(false)));
  // yaml.v2 (Tempo's config loader): YAML 1.1 booleans, Go's integer prefixes, underscores.
  EXPECT_EQ(TypePolicyValue("yes"), (std::variant<std::string, int64_t, double, bool>(true)));
  EXPECT_EQ(TypePolicyValue("off"), (std::variant<std::string, int64_t, double, bool>(false)));
  EXPECT_EQ(TypePolicyValue("0755"),
            (std::variant<std::string, int64_t, double, bool>(int64_t{493})));
  EXPECT_EQ(TypePolicyValue("1_000"),
            (std::variant<std::string, int64_t, double, bool>(int64_t{1000})));
  EXPECT_EQ(TypePolicyValue("08"), (std::variant<std::string, int64_t, double, bool>(8.0)));
  EXPECT_EQ(TypePolicyValue("a_b"),
            (std::variant<std::string, int64_t, double, bool>(std::string("a_b"))));
  EXPECT_EQ(
      TypePolicyValue("-.inf"),
      (std::variant<std::string, int64_t, double, bool>(-std::numeric_limits<double>::infinity())));
  EXPECT_EQ(TypePolicyValue("SPAN_KIND_SERVER"),
            (std::variant<std::string, int64_t, double, bool>(std::string("SPAN_KIND_SERVER"))));
  EXPECT_EQ(TypePolicyValue("1.2.3"),
            (std::variant<std::string, int64_t, double, bool>(std::string("1.2.3"))));
  EXPECT_EQ(TypePolicyValue(""), (std::variant<std::string, int64_t, double, bool>(std::string())));
}

TEST(TenantGeneratorTest, StrictIntPolicyMatchesIntAttribute) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics-count"};
  traces::FilterPolicy policy;
  policy.include.present = true;
  policy.include.match_type = "strict";
  policy.include.attributes = {{"span.http.status_code", "200"}};
  overrides.span_metrics.filter_policies = {policy};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  ResourceSpans rs = Resource("svc");
  Span* ok = AddSpan(&rs, Span::SPAN_KIND_SERVER, "ok", std::string(8, '1'), "", 0, 10);
  KeyValue* kv = ok->add_attributes();
  kv->set_key("http.status_code");
  kv->mutable_value()->set_int_value(200);
  Span* other = AddSpan(&rs, Span::SPAN_KIND_SERVER, "other", std::string(8, '2'), "", 0, 10);
  kv = other->add_attributes();
  kv->set_key("http.status_code");
  kv->mutable_value()->set_int_value(500);
  g->PushSpans(rs, kNow);
  CollectingSink sink;
  g->Collect(kNow, sink);
  std::vector<std::string> series;
  for (const auto& s : sink.At(kNow)) series.push_back(s.series);
  EXPECT_THAT(series, ElementsAre("traces_spanmetrics_calls_total{service=\"svc\",span_kind="
                                  "\"SPAN_KIND_SERVER\",span_name=\"ok\",status_code=\"STATUS_"
                                  "CODE_UNSET\"}"));
  EXPECT_EQ(g->span_metrics()->stats().spans_filtered, 1u);
}

TEST(TenantGeneratorTest, SpansOutsideSlackReachNoProcessor) {
  traces::GeneratorConfig config;  // slack 30 s
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics-count", "service-graphs"};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->ingestion_slack(), absl::Seconds(30));
  // A client span that ended an hour ago and a server span within the slack: only the server
  // span is counted, and it pairs with nothing.
  ResourceSpans client = Resource("frontend");
  Span* old = AddSpan(&client, Span::SPAN_KIND_CLIENT, "old", std::string(8, 'a'), "", 0, 300);
  old->set_start_time_unix_nano(kT0 - 3600ull * 1'000'000'000ull);
  old->set_end_time_unix_nano(kT0 - 3600ull * 1'000'000'000ull + 300 * kMs);
  AddSpan(&client, Span::SPAN_KIND_INTERNAL, "fresh", std::string(8, 'c'), "", 0, 10);
  ResourceSpans server = Resource("backend");
  AddSpan(&server, Span::SPAN_KIND_SERVER, "handle", std::string(8, 'b'), std::string(8, 'a'), 100,
          250);
  g->PushSpans(client, kNow);
  g->PushSpans(server, kNow);
  CollectingSink sink;
  g->Collect(kNow, sink);
  EXPECT_EQ(Names(sink, kNow), (std::set<std::string>{"traces_spanmetrics_calls_total"}));
  auto values = sink.Values();
  EXPECT_EQ(values.size(), 2u);  // frontend "fresh" and backend "handle"
  EXPECT_EQ(values["traces_spanmetrics_calls_total{service=\"frontend\",span_kind=\"SPAN_KIND_"
                   "INTERNAL\",span_name=\"fresh\",status_code=\"STATUS_CODE_UNSET\"}"],
            1);
  EXPECT_EQ(g->stats().spans_received, 3u);
  EXPECT_EQ(g->stats().spans_outside_slack, 1u);
  EXPECT_EQ(g->service_graphs()->stats().edges_recorded, 0u);
}

TEST(TenantGeneratorTest, TenantSlackOverridesTheGenerators) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics-count"};
  overrides.ingestion_time_range_slack = absl::Hours(2);
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  ResourceSpans rs = Resource("svc");
  Span* old = AddSpan(&rs, Span::SPAN_KIND_INTERNAL, "old", std::string(8, '1'), "", 0, 1);
  old->set_end_time_unix_nano(kT0 - 3600ull * 1'000'000'000ull);
  g->PushSpans(rs, kNow);
  EXPECT_EQ(g->stats().spans_outside_slack, 0u);
  EXPECT_EQ(g->span_metrics()->stats().spans_received, 1u);
}

TEST(TenantGeneratorTest, ServiceGraphEdgesExpireAtCollect) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"service-graphs-request"};
  overrides.service_graphs.wait = absl::Seconds(10);
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  // A root server span with no client: after `wait` a virtual-node edge from "user".
  ResourceSpans server = Resource("backend");
  AddSpan(&server, Span::SPAN_KIND_SERVER, "handle", std::string(8, 'b'), "", 100, 250);
  g->PushSpans(server, kNow);
  CollectingSink early;
  g->Collect(kNow, early);
  EXPECT_THAT(early.samples, IsEmpty());
  const absl::Time later = kNow + absl::Seconds(11);
  CollectingSink sink;
  g->Collect(later, sink);
  EXPECT_EQ(sink.Values()["traces_service_graph_request_total{client=\"user\",connection_type="
                          "\"virtual_node\",server=\"backend\"}"],
            1);
}

TEST(TenantGeneratorTest, DisableCollectionAppendsNothing) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics"};
  overrides.disable_collection = true;
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  PushPair(*g);
  CollectingSink sink;
  g->Collect(kNow, sink);
  EXPECT_THAT(sink.samples, IsEmpty());
  EXPECT_GT(g->stats().active_series, 0u);
  EXPECT_EQ(g->stats().collections, 0u);
}

// The settings as the config reads them from Tempo's YAML: generator block, tenant overrides
// (processors, max_active_series, a tenant filter policy) → the series.
TEST(TenantGeneratorTest, FromTempoYaml) {
  const YAML::Node root = YAML::Load(R"(
metrics_generator:
  registry:
    external_labels: {source: tempo}
    inject_tenant_id_as: org
  processor:
    span_metrics:
      dimensions: [http.method]
overrides:
  defaults:
    metrics_generator:
      processors: [service-graphs, span-metrics]
      max_active_series: 1000
      processor:
        span_metrics:
          filter_policies:
            - include:
                match_type: strict
                attributes:
                  - key: kind
                    value: SPAN_KIND_SERVER
)");
  auto decoded = traces::DecodeTracesConfig(root, traces::LocalDefaults());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const traces::TracesConfig& c = decoded->config;
  auto created =
      TenantGenerator::Create("single-tenant", c.metrics_generator, c.generator_overrides);
  ASSERT_TRUE(created.ok()) << created.status();
  TenantGenerator& g = **created;
  EXPECT_EQ(g.registry().config().max_active_series, 1000u);
  PushPair(g);
  CollectingSink sink;
  g.Collect(kNow, sink);
  auto values = sink.Values();
  // The span-metrics filter keeps the SERVER span only; the edge is recorded (no service-graphs
  // filter). No http_method label: the spans have no such attribute.
  EXPECT_EQ(values["traces_spanmetrics_calls_total{org=\"single-tenant\",service=\"backend\","
                   "source=\"tempo\",span_kind=\"SPAN_KIND_SERVER\",span_name=\"handle\","
                   "status_code=\"STATUS_CODE_UNSET\"}"],
            1);
  EXPECT_EQ(values.count("traces_spanmetrics_calls_total{org=\"single-tenant\",service="
                         "\"frontend\",source=\"tempo\",span_kind=\"SPAN_KIND_CLIENT\",span_"
                         "name=\"GET /api\",status_code=\"STATUS_CODE_UNSET\"}"),
            0u);
  EXPECT_EQ(values["traces_service_graph_request_total{client=\"frontend\",org=\"single-"
                   "tenant\",server=\"backend\",source=\"tempo\"}"],
            1);
  EXPECT_EQ(g.span_metrics()->stats().spans_filtered, 1u);
}

// The native histogram series' names (without labels).
std::set<std::string> HistogramNames(const CollectingSink& sink) {
  std::set<std::string> out;
  for (const auto& h : sink.histograms) out.insert(h.series.substr(0, h.series.find('{')));
  return out;
}

// PushPair's latency histograms, and its edge's server latency series.
const std::set<std::string> kPairLatencyHistograms = {
    "traces_spanmetrics_latency",
    "traces_service_graph_request_server_seconds",
    "traces_service_graph_request_client_seconds",
};
const char kPairServerLatency[] =
    "traces_service_graph_request_server_seconds{client=\"frontend\",server=\"backend\"}";

TEST(TenantGeneratorTest, NativeHistogramsFromTempoYaml) {
  const YAML::Node root = YAML::Load(R"(
metrics_generator:
  processor:
    service_graphs:
      enable_messaging_system_latency_histogram: true
overrides:
  defaults:
    metrics_generator:
      processors: [service-graphs, span-metrics]
      generate_native_histograms: native
)");
  auto decoded = traces::DecodeTracesConfig(root, traces::LocalDefaults());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const traces::TracesConfig& c = decoded->config;
  auto created = TenantGenerator::Create("t", c.metrics_generator, c.generator_overrides);
  ASSERT_TRUE(created.ok()) << created.status();
  TenantGenerator& g = **created;
  EXPECT_EQ(g.histogram_mode(), HistogramMode::kNative);
  EXPECT_EQ(g.registry().config().native_histogram_bucket_factor, 1.1);
  EXPECT_EQ(g.registry().config().native_histogram_max_bucket_number, 100u);
  EXPECT_EQ(g.registry().config().native_histogram_min_reset_duration, absl::Minutes(15));
  PushPair(g);
  CollectingSink sink;
  g.Collect(kNow, sink);
  // No classic _bucket/_sum/_count anywhere; one native series per latency label set (the
  // messaging histogram has no series: the edge is not a messaging one).
  EXPECT_EQ(Names(sink, kNow), (std::set<std::string>{"traces_spanmetrics_calls_total",
                                                      "traces_spanmetrics_size_total",
                                                      "traces_service_graph_request_total"}));
  EXPECT_EQ(HistogramNames(sink), kPairLatencyHistograms);
  // Factor 1.1 → schema 3. Server span 150 ms: 8 × log2(0.15) = -21.9 → bucket -21
  // ((0.1487, 0.1621]); client span 300 ms: 8 × log2(0.3) = -13.9 → bucket -13
  // ((0.2973, 0.3242]).
  const CollectedHistogram* server = sink.FindHistogram(kPairServerLatency);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->histogram.schema, 3);
  EXPECT_EQ(server->histogram.count, 1u);
  EXPECT_DOUBLE_EQ(server->histogram.sum, 0.15);
  ASSERT_EQ(server->histogram.positive_spans.size(), 1u);
  EXPECT_EQ(server->histogram.positive_spans[0].offset, -21);
  EXPECT_EQ(server->histogram.positive_spans[0].length, 1u);
  ASSERT_EQ(server->exemplars.size(), 1u);
  EXPECT_EQ(server->exemplars[0].trace_id, "07070707070707070707070707070707");
  const CollectedHistogram* client = sink.FindHistogram(
      "traces_spanmetrics_latency{service=\"frontend\",span_kind=\"SPAN_KIND_CLIENT\",span_name="
      "\"GET /api\",status_code=\"STATUS_CODE_UNSET\"}");
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->histogram.positive_spans.size(), 1u);
  EXPECT_EQ(client->histogram.positive_spans[0].offset, -13);
  ASSERT_EQ(client->exemplars.size(), 1u);
  // Active series: calls 2 + size 2 + request_total 1 + 4 native latency series.
  EXPECT_EQ(g.stats().active_series, 9u);
}

TEST(TenantGeneratorTest, NativeHistogramsBothAndTenantSettings) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics-latency", "service-graphs-latency"};
  overrides.generate_native_histograms = "both";
  overrides.native_histogram_bucket_factor = 2;  // schema 0
  overrides.native_histogram_max_bucket_number = 7;
  overrides.native_histogram_min_reset_duration = absl::Minutes(5);
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->registry().config().native_histogram_max_bucket_number, 7u);
  EXPECT_EQ(g->registry().config().native_histogram_min_reset_duration, absl::Minutes(5));
  PushPair(*g);
  CollectingSink sink;
  g->Collect(kNow, sink);
  EXPECT_EQ(Names(sink, kNow), (std::set<std::string>{
                                   "traces_spanmetrics_latency_bucket",
                                   "traces_spanmetrics_latency_count",
                                   "traces_spanmetrics_latency_sum",
                                   "traces_service_graph_request_server_seconds_bucket",
                                   "traces_service_graph_request_server_seconds_count",
                                   "traces_service_graph_request_server_seconds_sum",
                                   "traces_service_graph_request_client_seconds_bucket",
                                   "traces_service_graph_request_client_seconds_count",
                                   "traces_service_graph_request_client_seconds_sum",
                               }));
  EXPECT_EQ(HistogramNames(sink), kPairLatencyHistograms);
  // Schema 0: 0.15 s is in (1/8, 1/4] → bucket -2.
  const CollectedHistogram* server = sink.FindHistogram(kPairServerLatency);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->histogram.schema, 0);
  ASSERT_EQ(server->histogram.positive_spans.size(), 1u);
  EXPECT_EQ(server->histogram.positive_spans[0].offset, -2);
  // Span metrics' latency series: default buckets (14) → 17 classic + 1 native, ×2 spans;
  // service graphs: 8 bounds → 11 + 1, × 2 histograms.
  EXPECT_EQ(g->stats().active_series, 2u * 18u + 2u * 12u);
}

TEST(TenantGeneratorTest, ClassicIsTheDefaultAndBadModesAreRefused) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics"};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->histogram_mode(), HistogramMode::kClassic);
  PushPair(*g);
  CollectingSink sink;
  g->Collect(kNow, sink);
  EXPECT_TRUE(sink.histograms.empty());
  overrides.generate_native_histograms = "sparse";
  EXPECT_EQ(TenantGenerator::Create("t", config, overrides).status().code(),
            absl::StatusCode::kInvalidArgument);
  overrides.generate_native_histograms = "native";
  overrides.native_histogram_bucket_factor = 1;
  EXPECT_EQ(TenantGenerator::Create("t", config, overrides).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Ingest threads push client/server pairs (each its own trace) while a collector thread
// collects; the final collection holds every span and every edge once.
TEST(TenantGeneratorTest, ConcurrentPushAndCollect) {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;
  overrides.processors = {"span-metrics-count", "service-graphs-request"};
  auto g = MustCreate(config, overrides);
  ASSERT_NE(g, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPairs = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&g, t] {
      for (int i = 0; i < kPairs; ++i) {
        const std::string trace = std::string(12, '\0') + std::string(1, static_cast<char>(t)) +
                                  std::string(1, static_cast<char>(i >> 8)) +
                                  std::string(1, static_cast<char>(i & 0xff)) + "x";
        ResourceSpans client = Resource("frontend");
        AddSpan(&client, Span::SPAN_KIND_CLIENT, "GET /api", std::string(8, 'a'), "", 0, 300)
            ->set_trace_id(trace);
        ResourceSpans server = Resource("backend");
        AddSpan(&server, Span::SPAN_KIND_SERVER, "handle", std::string(8, 'b'), std::string(8, 'a'),
                100, 250)
            ->set_trace_id(trace);
        g->PushSpans(client, kNow);
        g->PushSpans(server, kNow);
      }
    });
  }
  std::thread collector([&g] {
    for (int i = 0; i < 50; ++i) {
      CollectingSink sink;
      g->Collect(kNow, sink);
    }
  });
  for (auto& t : threads) t.join();
  collector.join();
  CollectingSink sink;
  g->Collect(kNow, sink);
  auto values = sink.Values();
  EXPECT_EQ(values["traces_spanmetrics_calls_total{service=\"frontend\",span_kind=\"SPAN_KIND_"
                   "CLIENT\",span_name=\"GET /api\",status_code=\"STATUS_CODE_UNSET\"}"],
            kThreads * kPairs);
  EXPECT_EQ(values["traces_service_graph_request_total{client=\"frontend\",server=\"backend\"}"],
            kThreads * kPairs);
  EXPECT_EQ(g->stats().spans_received, 2u * kThreads * kPairs);
}

}  // namespace
}  // namespace sprout::traces::generator
