#include "traces/generator/span_metrics.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "traces/generator/generator_testing.h"
#include "traces/generator/stringify.h"

namespace sprout::traces::generator {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;
using ::testing::ElementsAre;
using ::testing::Pair;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
const uint64_t kNowNs = 1'700'000'000ull * 1'000'000'000ull;

void AddStr(google::protobuf::RepeatedPtrField<KeyValue>* attrs, const std::string& k,
            const std::string& v) {
  KeyValue* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}

ResourceSpans Resource(const std::string& service) {
  ResourceSpans rs;
  if (!service.empty())
    AddStr(rs.mutable_resource()->mutable_attributes(), "service.name", service);
  rs.add_scope_spans();
  return rs;
}

// A span ending `ago` before kNow, lasting `seconds`.
Span* AddSpan(ResourceSpans* rs, const std::string& name, Span::SpanKind kind, double seconds,
              Status::StatusCode code = Status::STATUS_CODE_UNSET,
              absl::Duration ago = absl::Seconds(1)) {
  Span* s = rs->mutable_scope_spans(0)->add_spans();
  s->set_trace_id(
      std::string("\x01\x23\x45\x67\x89\xab\xcd\xef\x00\x11\x22\x33\x44\x55\x66\x77", 16));
  s->set_span_id(std::string("\xaa\xbb\xcc\xdd\xee\xff\x00\x11", 8));
  s->set_name(name);
  s->set_kind(kind);
  const uint64_t end = kNowNs - absl::ToInt64Nanoseconds(ago);
  s->set_end_time_unix_nano(end);
  s->set_start_time_unix_nano(end - static_cast<uint64_t>(seconds * 1e9));
  s->mutable_status()->set_code(code);
  return s;
}

std::unique_ptr<SpanMetricsProcessor> Make(SpanMetricsConfig cfg, Registry* r) {
  auto p = SpanMetricsProcessor::Create(std::move(cfg), r);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : nullptr;
}

const char kServerLabels[] =
    "service=\"api\",span_kind=\"SPAN_KIND_SERVER\",span_name=\"GET /users\","
    "status_code=\"STATUS_CODE_OK\"";

TEST(SpanMetrics, OneServerSpanGivesCallsLatencySizeWithTemposLabels) {
  Registry r(RegistryConfig{});
  auto p = Make(SpanMetricsConfig{}, &r);
  ResourceSpans rs = Resource("api");
  // 3 ms: falls in le="0.004" (0.002 < 0.003 ≤ 0.004).
  Span* span = AddSpan(&rs, "GET /users", Span::SPAN_KIND_SERVER, 0.003, Status::STATUS_CODE_OK);
  const double span_bytes = static_cast<double>(span->ByteSizeLong());
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  auto v = sink.Values();
  const std::string l = kServerLabels;
  EXPECT_EQ(v.at("traces_spanmetrics_calls_total{" + l + "}"), 1);
  EXPECT_EQ(v.at("traces_spanmetrics_size_total{" + l + "}"), span_bytes);
  EXPECT_EQ(v.at("traces_spanmetrics_latency_count{" + l + "}"), 1);
  EXPECT_NEAR(v.at("traces_spanmetrics_latency_sum{" + l + "}"), 0.003, 1e-12);
  EXPECT_EQ(v.at("traces_spanmetrics_latency_bucket{le=\"0.002\"," + l + "}"), 0);
  for (const char* le : {"0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256", "0.512",
                         "1.024", "2.048", "4.096", "8.192", "16.384", "+Inf"}) {
    EXPECT_EQ(v.at(std::string("traces_spanmetrics_latency_bucket{le=\"") + le + "\"," + l + "}"),
              1)
        << le;
  }
  // 3 families: calls 1 + size 1 + latency (14 bounds + +Inf) + _sum + _count = 19 samples.
  EXPECT_EQ(sink.At(kNow).size(), 19u);
  const CollectedSample* b = sink.Find("traces_spanmetrics_latency_bucket{le=\"0.004\"," + l + "}");
  ASSERT_EQ(b->exemplars.size(), 1u);
  EXPECT_EQ(b->exemplars[0].trace_id, "0123456789abcdef0011223344556677");
  EXPECT_NEAR(b->exemplars[0].value, 0.003, 1e-12);
  EXPECT_EQ(b->exemplar_label, "traceID");
  EXPECT_TRUE(sink.Find("traces_spanmetrics_calls_total{" + l + "}")->exemplars.empty());
  EXPECT_EQ(p->stats().spans_received, 1u);
}

TEST(SpanMetrics, EachBucketCarriesTheTraceIdOfItsLastSpanAcrossScopes) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.intrinsic_dimensions = {false, false, false, false, false};
  cfg.count = cfg.size = false;
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  rs.add_scope_spans();
  // Scope 0: 1 ms (le 0.002) trace 01…, then 1.5 ms (le 0.002) trace 02… — last wins.
  // Scope 1: 3 s (le 4.096) trace 03….
  Span* a = AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.001);
  a->set_trace_id(std::string(15, '\0') + "\x01");
  Span* b = AddSpan(&rs, "b", Span::SPAN_KIND_SERVER, 0.0015);
  b->set_trace_id(std::string(15, '\0') + "\x02");
  Span* c = rs.mutable_scope_spans(1)->add_spans();
  *c = *b;
  c->set_trace_id(std::string(15, '\0') + "\x03");
  c->set_start_time_unix_nano(c->end_time_unix_nano() - 3'000'000'000ull);
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_EQ(sink.Values().at("traces_spanmetrics_latency_count{}"), 3);
  const CollectedSample* low = sink.Find("traces_spanmetrics_latency_bucket{le=\"0.002\"}");
  ASSERT_EQ(low->exemplars.size(), 1u);
  EXPECT_EQ(low->exemplars[0].trace_id, "00000000000000000000000000000002");
  const CollectedSample* high = sink.Find("traces_spanmetrics_latency_bucket{le=\"4.096\"}");
  ASSERT_EQ(high->exemplars.size(), 1u);
  EXPECT_EQ(high->exemplars[0].trace_id, "00000000000000000000000000000003");
  EXPECT_DOUBLE_EQ(high->exemplars[0].value, 3);
  EXPECT_EQ(high->exemplars[0].time, kNow);
  int with_exemplar = 0;
  for (const auto& s : sink.samples) with_exemplar += s.exemplars.empty() ? 0 : 1;
  EXPECT_EQ(with_exemplar, 2);
}

TEST(SpanMetrics, KindsAndStatusesAsProtoEnumNames) {
  Registry r(RegistryConfig{});
  auto p = Make(SpanMetricsConfig{}, &r);
  ResourceSpans rs = Resource("svc");
  AddSpan(&rs, "a", Span::SPAN_KIND_CLIENT, 0.001, Status::STATUS_CODE_ERROR);
  AddSpan(&rs, "a", Span::SPAN_KIND_PRODUCER, 0.001);
  AddSpan(&rs, "a", Span::SPAN_KIND_CONSUMER, 0.001);
  AddSpan(&rs, "a", Span::SPAN_KIND_INTERNAL, 0.001);
  AddSpan(&rs, "a", Span::SPAN_KIND_UNSPECIFIED, 0.001);
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  auto v = sink.Values();
  const std::string pre = "traces_spanmetrics_calls_total{service=\"svc\",span_kind=\"";
  EXPECT_EQ(v.at(pre + "SPAN_KIND_CLIENT\",span_name=\"a\",status_code=\"STATUS_CODE_ERROR\"}"), 1);
  for (const char* k : {"SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER", "SPAN_KIND_INTERNAL",
                        "SPAN_KIND_UNSPECIFIED"}) {
    EXPECT_EQ(v.at(pre + k + "\",span_name=\"a\",status_code=\"STATUS_CODE_UNSET\"}"), 1) << k;
  }
}

TEST(SpanMetrics, NegativeDurationCountsAsZero) {
  Registry r(RegistryConfig{});
  auto p = Make(SpanMetricsConfig{}, &r);
  ResourceSpans rs = Resource("svc");
  Span* s = AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0);
  s->set_start_time_unix_nano(s->end_time_unix_nano() + 5'000'000'000ull);
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  const std::string l =
      "service=\"svc\",span_kind=\"SPAN_KIND_SERVER\",span_name=\"a\",status_code=\"STATUS_CODE_"
      "UNSET\"";
  EXPECT_EQ(sink.Values().at("traces_spanmetrics_latency_bucket{le=\"0.002\"," + l + "}"), 1);
  EXPECT_EQ(sink.Values().at("traces_spanmetrics_latency_sum{" + l + "}"), 0);
}

TEST(SpanMetrics, IngestionSlackSkipsSpansEndingOutsideNowPlusMinus30s) {
  Registry r(RegistryConfig{});
  auto p = Make(SpanMetricsConfig{}, &r);
  ResourceSpans rs = Resource("svc");
  AddSpan(&rs, "old", Span::SPAN_KIND_SERVER, 0.01, Status::STATUS_CODE_UNSET, absl::Seconds(31));
  AddSpan(&rs, "recent", Span::SPAN_KIND_SERVER, 0.01, Status::STATUS_CODE_UNSET,
          absl::Seconds(29));
  AddSpan(&rs, "future", Span::SPAN_KIND_SERVER, 0.01, Status::STATUS_CODE_UNSET,
          -absl::Seconds(31));
  AddSpan(&rs, "edge", Span::SPAN_KIND_SERVER, 0.01, Status::STATUS_CODE_UNSET, absl::Seconds(30));
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  std::vector<std::string> names;
  for (const auto& [series, value] : sink.Values()) {
    if (series.rfind("traces_spanmetrics_calls_total", 0) == 0) names.push_back(series);
  }
  ASSERT_EQ(names.size(), 2u);
  EXPECT_NE(names[0].find("span_name=\"edge\""), std::string::npos);
  EXPECT_NE(names[1].find("span_name=\"recent\""), std::string::npos);
  EXPECT_EQ(p->stats().spans_outside_slack, 2u);
  EXPECT_EQ(p->stats().spans_received, 4u);
}

TEST(SpanMetrics, SanitizeLabelName) {
  EXPECT_EQ(SanitizeLabelName("http.method"), "http_method");
  EXPECT_EQ(SanitizeLabelName("k8s.pod-name/x"), "k8s_pod_name_x");
  EXPECT_EQ(SanitizeLabelName("1st"), "1st");  // Tempo keeps a leading digit
  EXPECT_EQ(SanitizeLabelName("ok_Name9"), "ok_Name9");
  EXPECT_EQ(SanitizeLabelName("caf\xc3\xa9.x"), "caf__x");  // é is one character
  EXPECT_EQ(SanitizeLabelName("\xe2\x82\xac"), "_");        // € too
  EXPECT_EQ(SanitizeLabelName(""), "");
}

TEST(SpanMetrics, DimensionsSanitizedCollidingWithIntrinsicsPrefixed) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.intrinsic_dimensions = {true, false, false, false, false};  // service only
  cfg.dimensions = {"http.method", "service", "span.name", "deployment.environment", "absent"};
  auto p = Make(cfg, &r);
  EXPECT_THAT(p->label_names(), ElementsAre("service", "http_method", "__service", "__span_name",
                                            "deployment_environment", "absent"));
  ResourceSpans rs = Resource("api");
  AddStr(rs.mutable_resource()->mutable_attributes(), "deployment.environment", "prod");
  AddStr(rs.mutable_resource()->mutable_attributes(), "http.method", "FROM_RESOURCE");
  Span* s = AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
  AddStr(s->mutable_attributes(), "http.method", "GET");
  AddStr(s->mutable_attributes(), "service", "attr-service");
  AddStr(s->mutable_attributes(), "span.name", "dotted");
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  // The resource attribute is looked up before the span's (Tempo's order); a missing one is
  // "", and a label with an empty value is no label.
  EXPECT_EQ(sink.Values().at("traces_spanmetrics_calls_total{__service=\"attr-service\","
                             "__span_name=\"dotted\",deployment_environment=\"prod\","
                             "http_method=\"FROM_RESOURCE\",service=\"api\"}"),
            1);
}

TEST(SpanMetrics, DimensionMappingsJoinNonEmptyValues) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.intrinsic_dimensions = {false, false, false, false, false};
  cfg.dimension_mappings = {{"http.route-full", {"http.method", "missing", "http.route"}, " "},
                            {"span_kind", {"k"}, "-"}};
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  Span* s = AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
  AddStr(s->mutable_attributes(), "http.method", "GET");
  AddStr(s->mutable_attributes(), "http.route", "/users/:id");
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  // `k` is missing: `__span_kind` is empty, so no label.
  EXPECT_EQ(sink.Values().at("traces_spanmetrics_calls_total{http_route_full=\"GET /users/:id\"}"),
            1);
}

TEST(SpanMetrics, StatusMessageOptionalServiceOff) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.intrinsic_dimensions = {false, true, true, true, true};
  cfg.latency = false;
  cfg.size = false;
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  AddSpan(&rs, "a", Span::SPAN_KIND_CLIENT, 0.01, Status::STATUS_CODE_ERROR)
      ->mutable_status()
      ->set_message("boom");
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_THAT(sink.Values(),
              ElementsAre(Pair("traces_spanmetrics_calls_total{span_kind=\"SPAN_KIND_CLIENT\","
                               "span_name=\"a\",status_code=\"STATUS_CODE_ERROR\","
                               "status_message=\"boom\"}",
                               1)));
}

TEST(SpanMetrics, SubprocessorsSelectTheMetrics) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.count = false;
  cfg.size = false;
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_EQ(sink.At(kNow).size(), 17u);  // latency only: 14 bounds + +Inf + _sum + _count
  for (const auto& s : sink.At(kNow)) {
    EXPECT_EQ(s.series.rfind("traces_spanmetrics_latency_", 0), 0u) << s.series;
  }
}

TEST(SpanMetrics, CustomBuckets) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.intrinsic_dimensions = {false, false, false, false, false};
  cfg.histogram_buckets = {0.5, 1};
  cfg.count = cfg.size = false;
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.75);
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_THAT(sink.Values(), ElementsAre(Pair("traces_spanmetrics_latency_bucket{le=\"+Inf\"}", 1),
                                         Pair("traces_spanmetrics_latency_bucket{le=\"0.5\"}", 0),
                                         Pair("traces_spanmetrics_latency_bucket{le=\"1\"}", 1),
                                         Pair("traces_spanmetrics_latency_count{}", 1),
                                         Pair("traces_spanmetrics_latency_sum{}", 0.75)));
}

TEST(SpanMetrics, SpanMultiplierKeyIsOneOverTheSamplingRatio) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.intrinsic_dimensions = {false, true, false, false, false};
  cfg.span_multiplier_key = "sampling.ratio";
  cfg.size = false;
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  // span attribute 0.25 → 4; resource attribute 0.5 → 2 for spans without their own;
  // an int value is not a ratio → 1 would apply only if the resource had none.
  KeyValue* res_ratio = rs.mutable_resource()->add_attributes();
  res_ratio->set_key("sampling.ratio");
  res_ratio->mutable_value()->set_double_value(0.5);
  Span* a = AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
  KeyValue* kv = a->add_attributes();
  kv->set_key("sampling.ratio");
  kv->mutable_value()->set_double_value(0.25);
  AddSpan(&rs, "b", Span::SPAN_KIND_SERVER, 0.01);
  Span* c = AddSpan(&rs, "c", Span::SPAN_KIND_SERVER, 0.01);
  KeyValue* ikv = c->add_attributes();
  ikv->set_key("sampling.ratio");
  ikv->mutable_value()->set_int_value(10);
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  auto v = sink.Values();
  EXPECT_EQ(v.at("traces_spanmetrics_calls_total{span_name=\"a\"}"), 4);
  EXPECT_EQ(v.at("traces_spanmetrics_calls_total{span_name=\"b\"}"), 2);
  EXPECT_EQ(v.at("traces_spanmetrics_calls_total{span_name=\"c\"}"), 2);
  EXPECT_EQ(v.at("traces_spanmetrics_latency_count{span_name=\"a\"}"), 4);
  EXPECT_EQ(v.at("traces_spanmetrics_latency_bucket{le=\"0.016\",span_name=\"a\"}"), 4);
  EXPECT_NEAR(v.at("traces_spanmetrics_latency_sum{span_name=\"a\"}"), 0.04, 1e-12);
}

TEST(SpanMetrics, SizeIgnoresMultiplier) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.intrinsic_dimensions = {false, false, false, false, false};
  cfg.span_multiplier_key = "ratio";
  cfg.count = cfg.latency = false;
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  Span* s = AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
  KeyValue* kv = s->add_attributes();
  kv->set_key("ratio");
  kv->mutable_value()->set_double_value(0.5);
  const double bytes = static_cast<double>(s->ByteSizeLong());
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_EQ(sink.Values().at("traces_spanmetrics_size_total{}"), bytes);
}

// ---- filter policies ----

std::vector<std::string> KeptNames(const std::vector<FilterPolicy>& policies) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.intrinsic_dimensions = {false, true, false, false, false};
  cfg.latency = cfg.size = false;
  cfg.filter_policies = policies;
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  AddStr(rs.mutable_resource()->mutable_attributes(), "deployment.environment", "prod");
  Span* s1 = AddSpan(&rs, "GET /users", Span::SPAN_KIND_SERVER, 0.01, Status::STATUS_CODE_OK);
  AddStr(s1->mutable_attributes(), "http.url", "/users");
  KeyValue* code = s1->add_attributes();
  code->set_key("http.status_code");
  code->mutable_value()->set_int_value(200);
  Span* s2 = AddSpan(&rs, "GET /health", Span::SPAN_KIND_SERVER, 0.01, Status::STATUS_CODE_OK);
  AddStr(s2->mutable_attributes(), "http.url", "/healthz");
  Span* s3 = AddSpan(&rs, "SELECT", Span::SPAN_KIND_CLIENT, 0.01, Status::STATUS_CODE_ERROR);
  AddStr(s3->mutable_attributes(), "db.system", "postgresql");
  AddSpan(&rs, "work", Span::SPAN_KIND_INTERNAL, 0.01);
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  std::vector<std::string> names;
  for (const auto& s : sink.At(kNow)) {
    size_t a = s.series.find("span_name=\"") + 11;
    names.push_back(s.series.substr(a, s.series.find('"', a) - a));
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(p->stats().spans_filtered, 4u - names.size());
  return names;
}

PolicyMatch Strict(std::vector<PolicyAttribute> attrs) { return {MatchType::kStrict, attrs}; }
PolicyMatch Regex(std::vector<PolicyAttribute> attrs) { return {MatchType::kRegex, attrs}; }

TEST(SpanMetricsFilter, NoPolicyKeepsAll) {
  EXPECT_THAT(KeptNames({}), ElementsAre("GET /health", "GET /users", "SELECT", "work"));
}

TEST(SpanMetricsFilter, IncludeStrictKind) {
  FilterPolicy p;
  p.include = Strict({{"kind", std::string("SPAN_KIND_SERVER")}});
  EXPECT_THAT(KeptNames({p}), ElementsAre("GET /health", "GET /users"));
}

TEST(SpanMetricsFilter, IncludeNeedsEveryAttribute) {
  FilterPolicy p;
  p.include = Strict({{"kind", std::string("SPAN_KIND_SERVER")},
                      {"span.http.url", std::string("/users")},
                      {"resource.deployment.environment", std::string("prod")}});
  EXPECT_THAT(KeptNames({p}), ElementsAre("GET /users"));
}

TEST(SpanMetricsFilter, ExcludeRegexUnanchored) {
  FilterPolicy p;
  p.exclude = Regex({{"span.http.url", std::string("health")}});
  EXPECT_THAT(KeptNames({p}), ElementsAre("GET /users", "SELECT", "work"));
}

TEST(SpanMetricsFilter, IncludeAnyOneAttributeSuffices) {
  FilterPolicy p;
  p.include_any =
      Strict({{"status", std::string("STATUS_CODE_ERROR")}, {"name", std::string("work")}});
  EXPECT_THAT(KeptNames({p}), ElementsAre("SELECT", "work"));
}

TEST(SpanMetricsFilter, StrictIsTyped) {
  FilterPolicy ok;
  ok.include = Strict({{"span.http.status_code", int64_t{200}}});
  EXPECT_THAT(KeptNames({ok}), ElementsAre("GET /users"));
  FilterPolicy as_text;
  as_text.include = Strict({{"span.http.status_code", std::string("200")}});
  EXPECT_THAT(KeptNames({as_text}), ElementsAre());
}

TEST(SpanMetricsFilter, RegexOnIntrinsicsAndEveryPolicyMustPass) {
  FilterPolicy a;
  a.include = Regex({{"kind", std::string("SERVER|CLIENT")}});
  FilterPolicy b;
  b.exclude = Regex({{"name", std::string("^GET /h")}});
  EXPECT_THAT(KeptNames({a, b}), ElementsAre("GET /users", "SELECT"));
}

TEST(SpanMetricsFilter, ResourceScopeMissMatchesNothing) {
  FilterPolicy p;
  p.include = Strict({{"resource.deployment.environment", std::string("dev")}});
  EXPECT_THAT(KeptNames({p}), ElementsAre());
}

TEST(SpanMetricsFilter, InvalidConfigRefused) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig bad_key;
  FilterPolicy p;
  p.include = Strict({{"http.url", std::string("x")}});
  bad_key.filter_policies = {p};
  EXPECT_EQ(SpanMetricsProcessor::Create(bad_key, &r).status().code(),
            absl::StatusCode::kInvalidArgument);
  SpanMetricsConfig bad_re;
  FilterPolicy q;
  q.exclude = Regex({{"name", std::string("(")}});
  bad_re.filter_policies = {q};
  EXPECT_EQ(SpanMetricsProcessor::Create(bad_re, &r).status().code(),
            absl::StatusCode::kInvalidArgument);
  SpanMetricsConfig empty_policy;
  empty_policy.filter_policies = {FilterPolicy{}};
  EXPECT_EQ(SpanMetricsProcessor::Create(empty_policy, &r).status().code(),
            absl::StatusCode::kInvalidArgument);
  SpanMetricsConfig bad_buckets;
  bad_buckets.histogram_buckets = {0.1, 0.1};
  EXPECT_EQ(SpanMetricsProcessor::Create(bad_buckets, &r).status().code(),
            absl::StatusCode::kInvalidArgument);
  SpanMetricsConfig bad_slack;
  bad_slack.ingestion_time_range_slack = absl::Hours(13);
  EXPECT_EQ(SpanMetricsProcessor::Create(bad_slack, &r).status().code(),
            absl::StatusCode::kInvalidArgument);
  SpanMetricsConfig bad_type;
  FilterPolicy t;
  t.include = Regex({{"name", int64_t{3}}});
  bad_type.filter_policies = {t};
  EXPECT_EQ(SpanMetricsProcessor::Create(bad_type, &r).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- target info ----

TEST(SpanMetrics, TargetInfoFromResourceAttributes) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.enable_target_info = true;
  cfg.count = cfg.latency = cfg.size = false;
  cfg.target_info_excluded_dimensions = {"secret"};
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  auto* attrs = rs.mutable_resource()->mutable_attributes();
  AddStr(attrs, "service.namespace", "shop");
  AddStr(attrs, "service.instance.id", "pod-1");
  AddStr(attrs, "host.name", "h1");
  AddStr(attrs, "job", "x");
  AddStr(attrs, "secret", "s");
  AddStr(attrs, "9lives", "skipped: starts with a digit");
  AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_THAT(sink.Values(), ElementsAre(Pair("traces_target_info{__job=\"x\",host_name=\"h1\","
                                              "instance=\"pod-1\",job=\"shop/api\"}",
                                              1)));
}

TEST(SpanMetrics, TargetInfoNeedsAnotherResourceAttribute) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.enable_target_info = true;
  cfg.count = cfg.latency = cfg.size = false;
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");  // only service.name: job alone is not enough
  AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
  p->PushSpans(rs, kNow);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_TRUE(sink.samples.empty());
}

TEST(SpanMetrics, MaxActiveSeriesRefusalCounted) {
  RegistryConfig rc;
  rc.max_active_series = 1;
  Registry r(rc);
  SpanMetricsConfig cfg;
  cfg.latency = cfg.size = false;
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
  AddSpan(&rs, "b", Span::SPAN_KIND_SERVER, 0.01);
  p->PushSpans(rs, kNow);
  EXPECT_EQ(r.series_limited_total(), 1u);
  EXPECT_EQ(p->stats().spans_refused, 1u);
}

TEST(SpanMetrics, TargetInfoAddsJobAndInstanceToSpanSeries) {
  for (bool instance_label : {true, false}) {
    Registry r(RegistryConfig{});
    SpanMetricsConfig cfg;
    cfg.intrinsic_dimensions = {false, true, false, false, false};
    cfg.enable_target_info = true;
    cfg.enable_instance_label = instance_label;
    cfg.latency = cfg.size = false;
    auto p = Make(cfg, &r);
    ResourceSpans rs = Resource("api");
    AddStr(rs.mutable_resource()->mutable_attributes(), "service.instance.id", "pod-1");
    AddStr(rs.mutable_resource()->mutable_attributes(), "host.name", "h1");
    AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
    p->PushSpans(rs, kNow);
    CollectingSink sink;
    r.Collect(kNow, sink);
    if (instance_label) {
      EXPECT_THAT(
          sink.Values(),
          ElementsAre(
              Pair("traces_spanmetrics_calls_total{instance=\"pod-1\",job=\"api\",span_name=\"a\"}",
                   1),
              Pair("traces_target_info{host_name=\"h1\",instance=\"pod-1\",job=\"api\"}", 1)));
    } else {
      EXPECT_THAT(
          sink.Values(),
          ElementsAre(Pair("traces_spanmetrics_calls_total{job=\"api\",span_name=\"a\"}", 1),
                      Pair("traces_target_info{host_name=\"h1\",job=\"api\"}", 1)));
    }
  }
}

TEST(SpanMetrics, InvalidUtf8LabelValueSkipsTheSpan) {
  Registry r(RegistryConfig{});
  SpanMetricsConfig cfg;
  cfg.dimensions = {"bad"};
  auto p = Make(cfg, &r);
  ResourceSpans rs = Resource("api");
  Span* s = AddSpan(&rs, "a", Span::SPAN_KIND_SERVER, 0.01);
  AddStr(s->mutable_attributes(), "bad", std::string("\xff\xfe", 2));
  AddSpan(&rs, "b", Span::SPAN_KIND_SERVER, 0.01);
  p->PushSpans(rs, kNow);
  EXPECT_EQ(p->stats().spans_invalid_utf8, 1u);
  CollectingSink sink;
  r.Collect(kNow, sink);
  EXPECT_EQ(sink.At(kNow).size(), 19u);  // only span b: calls, size, 17 latency samples
  EXPECT_TRUE(ValidUtf8("caf\xc3\xa9"));
  EXPECT_FALSE(ValidUtf8("\xc3"));
  EXPECT_FALSE(ValidUtf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_FALSE(ValidUtf8("\xc0\xaf"));      // overlong
}

TEST(SpanMetrics, StringifyAnyValue) {
  AnyValue v;
  v.set_int_value(-42);
  EXPECT_EQ(StringifyAnyValue(v), "-42");
  v.set_double_value(1.5);
  EXPECT_EQ(StringifyAnyValue(v), "1.5");
  v.set_double_value(100);
  EXPECT_EQ(StringifyAnyValue(v), "100");
  v.set_bool_value(true);
  EXPECT_EQ(StringifyAnyValue(v), "true");
  v.set_string_value("s");
  EXPECT_EQ(StringifyAnyValue(v), "s");
  AnyValue arr;
  arr.mutable_array_value()->add_values()->set_string_value("a");
  arr.mutable_array_value()->add_values()->set_int_value(2);
  EXPECT_EQ(StringifyAnyValue(arr), "[a2]");  // Tempo: no separator
  AnyValue kvl;
  KeyValue* z = kvl.mutable_kvlist_value()->add_values();
  z->set_key("z");
  z->mutable_value()->set_string_value("1");
  KeyValue* a = kvl.mutable_kvlist_value()->add_values();
  a->set_key("a");
  a->mutable_value()->set_bool_value(false);
  EXPECT_EQ(StringifyAnyValue(kvl), "{z:1a:false}");  // Tempo: in order, no separator
  EXPECT_EQ(StringifyAnyValue(AnyValue()), "");
}

}  // namespace
}  // namespace sprout::traces::generator
