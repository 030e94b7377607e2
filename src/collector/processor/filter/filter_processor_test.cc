#include "collector/processor/filter/filter_processor.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "collector/processor/processor_testing.h"

namespace sprout::collector::filterprocessor {
namespace {

using namespace ::sprout::collector::testing;  // NOLINT
namespace pb = otlp::pb;

template <Signal S>
struct Filter {
  std::unique_ptr<ProcessorFactory> factory = NewFactory();
  std::unique_ptr<ComponentConfig> config;
  std::shared_ptr<Capture<S>> sink = std::make_shared<Capture<S>>();
  ConsumerComponentPtr<S> processor;
  MetricsRegistry metrics;

  explicit Filter(const std::string& yaml) {
    auto decoded = DecodeConfig(*factory, yaml);
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    config = std::move(*decoded);
    auto created = CreateProcessor<S>(*factory, *config, sink, &metrics);
    EXPECT_TRUE(created.ok()) << created.status();
    processor = *created;
  }
};

std::string ConfigError(const std::string& yaml) {
  auto factory = NewFactory();
  auto config = DecodeConfig(*factory, yaml);
  return config.ok() ? "" : std::string(config.status().message());
}

void SetAttr(google::protobuf::RepeatedPtrField<pb::common::KeyValue>* attrs,
             const std::string& key, const std::string& value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

// Two resources (service a and b), each with spans GET /, GET /health, POST /x.
otlp::TracesBatch HttpSpans() {
  pb::trace_service::ExportTraceServiceRequest req;
  for (const char* service : {"a", "b"}) {
    auto* rs = req.add_resource_spans();
    SetAttr(rs->mutable_resource()->mutable_attributes(), "service.name", service);
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("lib");
    for (const char* target : {"/", "/health", "/x"}) {
      auto* span = ss->add_spans();
      span->set_name(std::string(service) + target);
      span->set_kind(pb::trace::Span::SPAN_KIND_SERVER);
      SetAttr(span->mutable_attributes(), "http.target", target);
      auto* ev = span->add_events();
      ev->set_name(std::string("event") + target);
    }
  }
  return *otlp::TracesBatch::Parse(req.SerializeAsString());
}

TEST(FilterTest, TheSeedsConditionDropsHealthChecksOnly) {
  Filter<Signal::kTraces> f(
      "error_mode: ignore\ntraces:\n  span:\n    - attributes[\"http.target\"] == \"/health\"\n");
  ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  auto batches = f.sink->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(SpanNames(batches[0]), (std::vector<std::string>{"a/", "a/x", "b/", "b/x"}));
  EXPECT_EQ(
      f.metrics
          .GetCounter("otelcol_processor_filter_spans_filtered_total", "", {{"filter", "filter"}})
          ->value(),
      2);
}

TEST(FilterTest, ReceivedBytesAndDecodedMessagesAreFilteredAlike) {
  // Received bytes take the copy-without-the-dropped-items path, a decoded (changed) request
  // the edit-the-message path; both must give the same data.
  Filter<Signal::kTraces> f("traces: {span: ['attributes[\"http.target\"] != \"/x\"']}");
  otlp::TracesBatch decoded;
  *decoded.mutable_request() = HttpSpans().request();
  ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  ASSERT_TRUE(f.processor->Consume(Context{}, decoded).ok());
  auto batches = f.sink->batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_TRUE(batches[0].wire().has_value());
  EXPECT_EQ(batches[0].item_count(), 2);
  EXPECT_EQ(batches[0].request().SerializeAsString(), batches[1].request().SerializeAsString());
  EXPECT_EQ(SpanNames(batches[0]), (std::vector<std::string>{"a/x", "b/x"}));
}

TEST(FilterTest, ARequestLosingNothingPassesUntouched) {
  Filter<Signal::kTraces> f("traces: {span: ['attributes[\"http.target\"] == \"/nope\"']}");
  otlp::TracesBatch in = HttpSpans();
  const std::string wire(*in.wire());
  ASSERT_TRUE(f.processor->Consume(Context{}, in).ok());
  auto batches = f.sink->batches();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_TRUE(batches[0].wire().has_value());  // the exporter can still forward the bytes
  EXPECT_EQ(*batches[0].wire(), wire);
}

TEST(FilterTest, DroppingEverythingIsSuccessWithoutCallingNext) {
  Filter<Signal::kTraces> f("traces: {span: ['kind == SPAN_KIND_SERVER']}");
  EXPECT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  EXPECT_TRUE(f.sink->batches().empty());
}

TEST(FilterTest, ResourceConditionDropsTheWholeResource) {
  Filter<Signal::kTraces> f("traces: {resource: ['attributes[\"service.name\"] == \"a\"']}");
  ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  auto batches = f.sink->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].request().resource_spans_size(), 1);
  EXPECT_EQ(SpanNames(batches[0]), (std::vector<std::string>{"b/", "b/health", "b/x"}));
}

TEST(FilterTest, SpanEventsGoButTheirSpansStay) {
  Filter<Signal::kTraces> f("traces: {spanevent: ['IsMatch(name, \"^event\")']}");
  ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  auto batches = f.sink->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].item_count(), 6);
  for (const auto& rs : batches[0].request().resource_spans()) {
    for (const auto& span : rs.scope_spans(0).spans()) EXPECT_EQ(span.events_size(), 0);
  }
}

TEST(FilterTest, SpanEventConditionsSeeTheirSpanAndResource) {
  Filter<Signal::kTraces> f(
      "traces: {spanevent: ['span.name == \"a/x\" and resource.attributes[\"service.name\"] == "
      "\"a\"']}");
  ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  int events = 0;
  for (const auto& rs : f.sink->batches()[0].request().resource_spans()) {
    for (const auto& span : rs.scope_spans(0).spans()) {
      events += span.events_size();
      if (span.name() == "a/x") EXPECT_EQ(span.events_size(), 0);
    }
  }
  EXPECT_EQ(events, 5);
}

TEST(FilterTest, ConditionsAreOred) {
  Filter<Signal::kTraces> f(
      "traces:\n  span:\n    - name == \"a/\"\n    - attributes[\"http.target\"] == \"/x\"\n");
  ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  EXPECT_EQ(SpanNames(f.sink->batches()[0]),
            (std::vector<std::string>{"a/health", "b/", "b/health"}));
}

TEST(FilterTest, ContextInferredStyle) {
  Filter<Signal::kTraces> f(
      "trace_conditions:\n"
      "  - 'span.attributes[\"http.target\"] == \"/health\"'\n"
      "  - 'resource.attributes[\"service.name\"] == \"b\"'\n");
  ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  EXPECT_EQ(SpanNames(f.sink->batches()[0]), (std::vector<std::string>{"a/", "a/x"}));
}

TEST(FilterTest, AMixedConditionRunsAtItsInnermostContext) {
  // Dropped are span events only: resource "a" is not removed as a whole.
  Filter<Signal::kTraces> f(
      "trace_conditions:\n"
      "  - 'resource.attributes[\"service.name\"] == \"a\" or spanevent.name == \"event/x\"'\n");
  ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  auto batch = f.sink->batches()[0];
  EXPECT_EQ(batch.item_count(), 6);
  int events = 0;
  for (const auto& rs : batch.request().resource_spans()) {
    for (const auto& span : rs.scope_spans(0).spans()) events += span.events_size();
  }
  EXPECT_EQ(events, 2);  // b's "/" and "/health" events
}

TEST(FilterTest, GroupsWithAContextAndTheirOwnErrorMode) {
  Filter<Signal::kTraces> f(
      "error_mode: propagate\n"
      "trace_conditions:\n"
      "  - context: Span\n"
      "    error_mode: ignore\n"
      "    conditions:\n"
      "      - 'name == \"a/\"'\n"
      "      - 'HasPrefix(attributes[\"missing\"], \"x\")'\n");
  // The second condition errors on every span (nil is not a string), ignored by the group.
  ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok());
  EXPECT_EQ(f.sink->batches()[0].item_count(), 5);
}

TEST(FilterTest, PropagateFailsTheRequest) {
  Filter<Signal::kTraces> f(
      "error_mode: propagate\n"
      "traces: {span: ['HasPrefix(attributes[\"missing\"], \"x\")']}\n");
  absl::Status status = f.processor->Consume(Context{}, HttpSpans());
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::StartsWith(
      status.message(), "failed to eval condition: HasPrefix(attributes[\"missing\"], \"x\")"))
      << status;
  EXPECT_TRUE(f.sink->batches().empty());
}

TEST(FilterTest, IgnoreAndSilentKeepTheItemAndGoOn) {
  for (const char* mode : {"ignore", "silent", "IGNORE"}) {
    Filter<Signal::kTraces> f(std::string("error_mode: ") + mode +
                              "\ntraces: {span: ['HasPrefix(attributes[\"missing\"], \"x\")', "
                              "'name == \"b/x\"']}\n");
    ASSERT_TRUE(f.processor->Consume(Context{}, HttpSpans()).ok()) << mode;
    EXPECT_EQ(f.sink->batches()[0].item_count(), 5) << mode;
  }
}

TEST(FilterTest, ConfigErrors) {
  EXPECT_EQ(ConfigError("error_mode: loud"), "unknown error mode loud");
  const std::string bad = ConfigError("traces: {span: ['name == ']}");
  EXPECT_TRUE(absl::StartsWith(bad,
                               "unable to parse OTTL condition \"name == \": condition has "
                               "invalid syntax: 1:"))
      << bad;
  const std::string escape = ConfigError("traces: {span: ['IsMatch(name, \"^http\\.x\")']}");
  EXPECT_TRUE(absl::StrContains(escape, "invalid quoted string")) << escape;
  EXPECT_EQ(ConfigError("trace_conditions: [{context: nope, conditions: ['true']}]"),
            "unknown context nope");
  EXPECT_NE(ConfigError("spans: {include: {match_type: strict, span_names: [x]}}"), "");
  EXPECT_NE(ConfigError("traces: {spam: ['true']}"), "");
  EXPECT_NE(ConfigError("traces: {span: ['unknownfield == 1']}"), "");
}

otlp::MetricsBatch Metrics() {
  otlp::MetricsBatch batch;
  auto* sm = batch.mutable_request()->add_resource_metrics()->add_scope_metrics();
  auto* requests = sm->add_metrics();
  requests->set_name("http.requests");
  requests->mutable_sum()->set_is_monotonic(true);
  for (const char* route : {"/", "/health"}) {
    auto* dp = requests->mutable_sum()->add_data_points();
    SetAttr(dp->mutable_attributes(), "route", route);
    dp->set_as_int(1);
  }
  auto* health = sm->add_metrics();
  health->set_name("health.only");
  auto* dp = health->mutable_gauge()->add_data_points();
  SetAttr(dp->mutable_attributes(), "route", "/health");
  dp->set_as_double(1);
  auto* empty = sm->add_metrics();
  empty->set_name("no.points");
  empty->mutable_gauge();
  return batch;
}

TEST(FilterTest, MetricsAndDataPoints) {
  Filter<Signal::kMetrics> f(
      "metrics:\n  datapoint:\n    - 'attributes[\"route\"] == \"/health\"'\n");
  ASSERT_TRUE(f.processor->Consume(Context{}, Metrics()).ok());
  const auto& sm = f.sink->batches()[0].request().resource_metrics(0).scope_metrics(0);
  // health.only lost its only point; no.points had none and goes too (datapoint conditions).
  ASSERT_EQ(sm.metrics_size(), 1);
  EXPECT_EQ(sm.metrics(0).name(), "http.requests");
  EXPECT_EQ(sm.metrics(0).sum().data_points_size(), 1);
}

TEST(FilterTest, MetricConditionsAndFilterFunctions) {
  Filter<Signal::kMetrics> f(
      "metrics:\n  metric:\n    - 'name == \"no.points\"'\n"
      "    - 'HasAttrOnDatapoint(\"route\", \"/\")'\n");
  ASSERT_TRUE(f.processor->Consume(Context{}, Metrics()).ok());
  const auto& sm = f.sink->batches()[0].request().resource_metrics(0).scope_metrics(0);
  ASSERT_EQ(sm.metrics_size(), 1);
  EXPECT_EQ(sm.metrics(0).name(), "health.only");
}

TEST(FilterTest, MetricTypeEnumsAndDatapointMetricPaths) {
  Filter<Signal::kMetrics> f(
      "metric_conditions:\n"
      "  - 'metric.type == METRIC_DATA_TYPE_SUM and datapoint.value_int == 1 and "
      "datapoint.attributes[\"route\"] == \"/\"'\n");
  ASSERT_TRUE(f.processor->Consume(Context{}, Metrics()).ok());
  EXPECT_EQ(f.sink->batches()[0].item_count(), 2);
}

TEST(FilterTest, Logs) {
  otlp::LogsBatch batch;
  auto* sl = batch.mutable_request()->add_resource_logs()->add_scope_logs();
  for (int sev : {5, 9, 13, 17}) {
    auto* log = sl->add_log_records();
    log->set_severity_number(static_cast<pb::logs::SeverityNumber>(sev));
    log->mutable_body()->set_string_value("sev " + std::to_string(sev));
  }
  Filter<Signal::kLogs> f("logs:\n  log_record:\n    - 'severity_number < SEVERITY_NUMBER_WARN'\n");
  ASSERT_TRUE(f.processor->Consume(Context{}, batch).ok());
  const auto& logs = f.sink->batches()[0].request().resource_logs(0).scope_logs(0).log_records();
  ASSERT_EQ(logs.size(), 2);
  EXPECT_EQ(logs[0].body().string_value(), "sev 13");

  Filter<Signal::kLogs> g("log_conditions: ['IsMatch(log.body, \"1[37]\")']");
  ASSERT_TRUE(g.processor->Consume(Context{}, batch).ok());
  EXPECT_EQ(g.sink->batches()[0].item_count(), 2);
}

}  // namespace
}  // namespace sprout::collector::filterprocessor
